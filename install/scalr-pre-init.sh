#!/bin/sh
# Scalr pre-init hook: makes `tofu init` in a Scalr run ask docker-credential-scalr
# for OCI registry credentials, and terraform-credentials-scalr for the Scalr host
# token (the private module registry, the remote backend). Both read SCALR_HOSTNAME
# and SCALR_TOKEN from the run's environment when asked, so no token file
# (credentials.tfrc.json, TF_TOKEN_*) is needed and no secret is written to disk.
#
# Source it from the hook so that PATH and TF_CLI_CONFIG_FILE reach `tofu`:
#     . ./install/scalr-pre-init.sh
# Options (as environment variables):
#     SCALR_OCI_BIN_DIR    directory holding docker-credential-scalr and
#                          terraform-credentials-scalr (default: this script's
#                          directory, then PATH)
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
    # With scalr-oci: format-preserving, never a duplicate block, idempotent.
    # Without: appended when the file has no block of that kind at all.
    # add_block OPTION ANY-BLOCK-RE OURS-RE TEXT WHAT
    add_block() {
        if command -v scalr-oci >/dev/null 2>&1; then
            TF_CLI_CONFIG_FILE="$config" scalr-oci configure tofu "$1" || return $?
        elif ! grep -q "$2" "$config" 2>/dev/null; then
            # A subshell: the umask must not outlive it in the sourcing shell.
            ( umask 077; { [ -s "$config" ] && printf '\n'; printf '%s\n' "$4"; } >>"$config" )
        elif ! grep -q "$3" "$config"; then
            echo "scalr-pre-init: $config already has $5 for another helper; left as it is" >&2
        fi
    }
    add_block --default '^[[:space:]]*oci_default_credentials' \
        'docker_credentials_helper *= *"scalr"' \
        'oci_default_credentials {
  docker_credentials_helper = "scalr"
}' "an oci_default_credentials block" || return $?

    # 3. The host-token helper, where OpenTofu looks for it (its plugin
    # directory, never PATH), and the credentials_helper block naming it.
    host_helper=$(command -v terraform-credentials-scalr 2>/dev/null || true)
    if [ -z "$host_helper" ]; then
        echo "scalr-pre-init: terraform-credentials-scalr was not found; the Scalr module registry will get no token" >&2
    else
        mkdir -p "$HOME/.terraform.d/plugins"
        ln -sfn "$host_helper" "$HOME/.terraform.d/plugins/terraform-credentials-scalr"
        # OpenTofu allows one credentials_helper block in all.
        add_block --credentials-helper '^[[:space:]]*credentials_helper' \
            '^[[:space:]]*credentials_helper *"scalr"' \
            'credentials_helper "scalr" {}' "a credentials_helper block" || return $?
    fi
    TF_CLI_CONFIG_FILE=$config
    export TF_CLI_CONFIG_FILE
    echo "scalr-pre-init: tofu will ask $(command -v docker-credential-scalr) for registry credentials (config: $config)"
}

scalr_pre_init
