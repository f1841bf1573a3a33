#!/bin/sh
# Scalr pre-init hook that fetches the helpers: no custom runner image needed.
# It downloads the pinned release's static Linux archive for this runner's
# architecture into a writable directory, checks it against the SHA-256
# pinned below (nothing is unpacked before that), then runs the archive's
# scalr-pre-init.sh: both helpers where `tofu` finds them (PATH and
# OpenTofu's plugin directory) and a CLI config naming them.
#
# Each release publishes this file with its version and checksums filled in
# (scalr-oci-pre-init-VERSION.sh); release/hook.sh fills it from a release's
# SHA256SUMS. Paste that into a workspace's pre-init hook, or keep it in the
# hooks registry, and SOURCE it, so that PATH and TF_CLI_CONFIG_FILE reach
# `tofu` in the same shell:
#     . ./scalr-oci-pre-init.sh
# When SCALR_AGENT_ENV names a file, the two variables are also appended to it
# as NAME=VALUE lines (the agent's way of passing a hook's variables on; its
# format is not documented publicly, so sourcing is the sure way).
#
# Sourcing changes PATH and TF_CLI_CONFIG_FILE only, and leaves no function
# or other variable behind. Written to disk: the binaries (in a new directory
# under $SCALR_OCI_INSTALL_DIR, default $TMPDIR or /tmp), the CLI config and
# the plugin link. No token is written anywhere.
# Options (environment): SCALR_OCI_INSTALL_DIR; SCALR_OCI_RELEASE_URL, a
# mirror holding the same files (the checksums pinned here still decide).

scalr_oci_hook_work() (
    exec 3>&1 1>&2
    version='@VERSION@'
    sha256_x86_64='@SHA256_x86_64-unknown-linux-musl@'
    sha256_aarch64='@SHA256_aarch64-unknown-linux-musl@'
    refuse() { echo "scalr-oci hook: $*; tofu is left unconfigured"; exit 1; }

    case $(uname -m) in
        x86_64|amd64) arch=x86_64; pinned=$sha256_x86_64 ;;
        aarch64|arm64) arch=aarch64; pinned=$sha256_aarch64 ;;
        *) refuse "no release archive for $(uname -m)" ;;
    esac
    case $pinned in
        [0-9a-f]*) [ ${#pinned} = 64 ] || refuse "the checksum pinned for $arch is not a SHA-256" ;;
        *) refuse "this hook has no checksum pinned for $arch (fill it with release/hook.sh)" ;;
    esac
    name=scalr-oci-$version-$arch-unknown-linux-musl
    url=${SCALR_OCI_RELEASE_URL:-https://github.com/Scalr/docker-credential-scalr/releases/download/v$version}
    url=${url%/}
    case $url in https://*) ;; *) refuse "refusing $url: the release URL must be https://" ;; esac
    # A fresh directory of our own (mktemp: mode 0700), so nothing planted
    # in a shared /tmp is ever run.
    parent=${SCALR_OCI_INSTALL_DIR:-${TMPDIR:-/tmp}}
    dir=$(mktemp -d "$parent/scalr-oci-$version.XXXXXX") || refuse "cannot create a directory in $parent"
    bin_dir=$dir/$name
    part=$dir/$name.tar.gz
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https' --proto-redir '=https' --retry 2 -o "$part" "$url/$name.tar.gz"
    else
        wget -q -O "$part" "$url/$name.tar.gz"
    fi || { rm -rf "$dir"; refuse "cannot download $url/$name.tar.gz"; }
    if command -v sha256sum >/dev/null 2>&1; then
        actual=$(sha256sum "$part" | cut -d' ' -f1)
    else
        actual=$(openssl dgst -sha256 -r "$part" | cut -d' ' -f1)
    fi
    if [ "$actual" != "$pinned" ]; then
        rm -rf "$dir"
        refuse "$name.tar.gz does not match the checksum pinned in this hook (expected $pinned, got $actual)"
    fi
    tar -xzf "$part" -C "$dir" || { rm -rf "$dir"; refuse "cannot unpack $name.tar.gz"; }
    rm -f "$part"
    [ -f "$bin_dir/scalr-pre-init.sh" ] || refuse "$bin_dir/scalr-pre-init.sh is missing"
    # The archive's own pre-init script, told where the binaries are; it
    # prints the two assignments. (SCALR_OCI_BIN_DIR is set for it alone.)
    answer=$(SCALR_OCI_BIN_DIR=$bin_dir sh -c '. "$1" >&2 && printf "%s\n%s" "$PATH" "$TF_CLI_CONFIG_FILE"' \
        scalr-pre-init "$bin_dir/scalr-pre-init.sh") || exit 2
    new_path=${answer%%"
"*}
    new_config=${answer#*"
"}
    if [ -n "${SCALR_AGENT_ENV:-}" ]; then
        printf 'PATH=%s\nTF_CLI_CONFIG_FILE=%s\n' "$new_path" "$new_config" >>"$SCALR_AGENT_ENV" \
            || refuse "cannot write $SCALR_AGENT_ENV"
    fi
    quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
    printf 'PATH=%s; export PATH; TF_CLI_CONFIG_FILE=%s; export TF_CLI_CONFIG_FILE #ok\n' \
        "$(quote "$new_path")" "$(quote "$new_config")" >&3
)

scalr_oci_hook() {
    set -- "$(scalr_oci_hook_work)"
    unset -f scalr_oci_hook_work scalr_oci_hook
    case $1 in
        *'#ok') eval "$1" ;;
        *) return 1 ;;
    esac
}

scalr_oci_hook
