#!/bin/sh
# Scalr pre-init hook: makes `tofu init` in a Scalr run ask docker-credential-scalr
# for OCI registry credentials. The helper reads SCALR_HOSTNAME and SCALR_TOKEN from
# the run's environment at `get` time, so no secret is ever written to disk.
#
# Source it from the hook so that PATH and TF_CLI_CONFIG_FILE reach `tofu`:
#     . ./install/scalr-pre-init.sh
# Options (as environment variables):
#     SCALR_OCI_BIN_DIR    directory holding docker-credential-scalr (default: this
#                          script's directory, then PATH)
#     TF_CLI_CONFIG_FILE   the CLI config to edit. Unset: ~/.tofurc or ~/.terraformrc
#                          when one exists, else a new $HOME/.scalr-oci/tofurc that
#                          this script exports as TF_CLI_CONFIG_FILE

scalr_pre_init() {
    if [ -z "${SCALR_HOSTNAME:-}" ] || [ -z "${SCALR_TOKEN:-}" ]; then
        echo "scalr-pre-init: SCALR_HOSTNAME and SCALR_TOKEN must be set (a Scalr run sets both)" >&2
        return 2
    fi

    # 1. The helper on PATH (OpenTofu looks for docker-credential-scalr only there).
    here=$(CDPATH='' cd -- "$(dirname -- "${0:-.}")" 2>/dev/null && pwd || pwd)
    for dir in "${SCALR_OCI_BIN_DIR:-}" "$here"; do
        if [ -n "$dir" ] && [ -x "$dir/docker-credential-scalr" ]; then
            case ":$PATH:" in
                *":$dir:"*) ;;
                *) PATH="$dir:$PATH"; export PATH ;;
            esac
            break
        fi
    done
    if ! command -v docker-credential-scalr >/dev/null 2>&1; then
        echo "scalr-pre-init: docker-credential-scalr was not found; set SCALR_OCI_BIN_DIR to its directory" >&2
        return 2
    fi

    # 2. A CLI config that sends every OCI registry to the helper.
    config=${TF_CLI_CONFIG_FILE:-}
    if [ -z "$config" ]; then
        for existing in "$HOME/.tofurc" "$HOME/.terraformrc"; do
            if [ -f "$existing" ]; then config=$existing; break; fi
        done
    fi
    # A new file of our own: setting TF_CLI_CONFIG_FILE replaces the default set,
    # which is empty here anyway.
    config=${config:-$HOME/.scalr-oci/tofurc}
    mkdir -p "$(dirname -- "$config")"
    if command -v scalr-oci >/dev/null 2>&1; then
        # Format-preserving, never duplicates a block, idempotent.
        TF_CLI_CONFIG_FILE="$config" scalr-oci configure tofu --default || return $?
    elif ! grep -q '^[[:space:]]*oci_default_credentials' "$config" 2>/dev/null; then
        umask 077
        {
            [ -s "$config" ] && printf '\n'
            printf 'oci_default_credentials {\n  docker_credentials_helper = "scalr"\n}\n'
        } >>"$config"
    elif ! grep -q 'docker_credentials_helper *= *"scalr"' "$config"; then
        echo "scalr-pre-init: $config already has an oci_default_credentials block for another helper; left as it is" >&2
    fi
    TF_CLI_CONFIG_FILE=$config
    export TF_CLI_CONFIG_FILE
    echo "scalr-pre-init: tofu will ask $(command -v docker-credential-scalr) for registry credentials (config: $config)"
}

scalr_pre_init
