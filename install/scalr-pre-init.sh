#!/bin/sh
# Scalr pre-init hook: makes `tofu init` in a Scalr run ask docker-credential-scalr
# for OCI registry credentials, and terraform-credentials-scalr for the Scalr host
# token (the private module registry, the remote backend). Both read SCALR_HOSTNAME
# and SCALR_TOKEN from the run's environment when asked, so no token file
# (credentials.tfrc.json, TF_TOKEN_*) is needed and no secret is written to disk.
#
# Source it from the hook so that PATH and TF_CLI_CONFIG_FILE reach `tofu`:
#     . ./install/scalr-pre-init.sh
# Sourcing changes exactly two variables of the caller's shell, PATH and
# TF_CLI_CONFIG_FILE (both exported), and leaves no function or other variable
# behind. The current directory never goes on PATH.
# Options (as environment variables):
#     SCALR_OCI_BIN_DIR    directory holding docker-credential-scalr and
#                          terraform-credentials-scalr (made absolute; default:
#                          the helper already on PATH)
#     TF_CLI_CONFIG_FILE   the CLI config to edit. Unset: ~/.tofurc or ~/.terraformrc
#                          when one exists, else a new $HOME/.scalr-oci/tofurc that
#                          this script exports as TF_CLI_CONFIG_FILE

# Does the work in a subshell, so nothing it sets reaches the caller; prints
# the two assignments for the caller to evaluate, then `#ok`. Messages go to
# stderr.
scalr_pre_init_work() (
    exec 3>&1 1>&2
    if [ -z "${SCALR_HOSTNAME:-}" ] || [ -z "${SCALR_TOKEN:-}" ]; then
        echo "scalr-pre-init: SCALR_HOSTNAME and SCALR_TOKEN must be set (a Scalr run sets both)"
        exit 2
    fi

    # 1. The helper on PATH (OpenTofu looks for docker-credential-scalr only there).
    # Only a directory named in SCALR_OCI_BIN_DIR, made absolute: never the
    # current directory, never "this script's directory" (when sourced, $0 is
    # the shell, so that would be the current directory again).
    if [ -n "${SCALR_OCI_BIN_DIR:-}" ]; then
        bin_dir=$(CDPATH='' cd -- "$SCALR_OCI_BIN_DIR" 2>/dev/null && pwd -P) || {
            echo "scalr-pre-init: SCALR_OCI_BIN_DIR=$SCALR_OCI_BIN_DIR is not a directory"
            exit 2
        }
        if [ ! -x "$bin_dir/docker-credential-scalr" ]; then
            echo "scalr-pre-init: $bin_dir/docker-credential-scalr is missing or not executable"
            exit 2
        fi
        case ":$PATH:" in
            *":$bin_dir:"*) ;;
            *) PATH="$bin_dir:$PATH" ;;
        esac
    fi
    helper=$(command -v docker-credential-scalr 2>/dev/null) || helper=""
    case $helper in
        /*) ;;
        *) echo "scalr-pre-init: docker-credential-scalr was not found on PATH; set SCALR_OCI_BIN_DIR to its directory"
           exit 2 ;;
    esac

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
    case $config in
        /*) ;;
        *) config=$(pwd -P)/$config ;;
    esac
    mkdir -p "$(dirname -- "$config")" || exit 2
    umask 077
    # With scalr-oci: format-preserving, never a duplicate block, idempotent.
    # Without: appended when the file has no block of that kind at all.
    # add_block OPTION ANY-BLOCK-RE OURS-RE TEXT WHAT
    add_block() {
        if command -v scalr-oci >/dev/null 2>&1; then
            TF_CLI_CONFIG_FILE="$config" scalr-oci configure tofu "$1" || return $?
        elif ! grep -q "$2" "$config" 2>/dev/null; then
            { [ -s "$config" ] && printf '\n'; printf '%s\n' "$4"; } >>"$config"
        elif ! grep -q "$3" "$config"; then
            echo "scalr-pre-init: $config already has $5 for another helper; left as it is"
        fi
    }
    add_block --default '^[[:space:]]*oci_default_credentials' \
        'docker_credentials_helper *= *"scalr"' \
        'oci_default_credentials {
  docker_credentials_helper = "scalr"
}' "an oci_default_credentials block" || exit $?

    # 3. The host-token helper, where OpenTofu looks for it (its plugin
    # directory, never PATH), and the credentials_helper block naming it.
    host_helper=$(command -v terraform-credentials-scalr 2>/dev/null) || host_helper=""
    case $host_helper in
        /*)
            mkdir -p "$HOME/.terraform.d/plugins" || exit 2
            ln -sfn "$host_helper" "$HOME/.terraform.d/plugins/terraform-credentials-scalr" || exit 2
            # OpenTofu allows one credentials_helper block in all.
            add_block --credentials-helper '^[[:space:]]*credentials_helper' \
                '^[[:space:]]*credentials_helper *"scalr"' \
                'credentials_helper "scalr" {}' "a credentials_helper block" || exit $? ;;
        *) echo "scalr-pre-init: terraform-credentials-scalr was not found; the Scalr module registry will get no token" ;;
    esac
    echo "scalr-pre-init: tofu will ask $helper for registry credentials (config: $config)"

    # Single-quoted for the caller's eval: ' becomes '\''.
    quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
    printf 'PATH=%s; export PATH; TF_CLI_CONFIG_FILE=%s; export TF_CLI_CONFIG_FILE #ok\n' \
        "$(quote "$PATH")" "$(quote "$config")" >&3
)

# The caller's side: positional parameters are the function's own, so the
# work's answer needs no variable; both functions are gone before it returns.
scalr_pre_init() {
    set -- "$(scalr_pre_init_work)"
    unset -f scalr_pre_init_work scalr_pre_init
    case $1 in
        *'#ok') eval "$1" ;;
        *) return 2 ;;
    esac
}

scalr_pre_init
