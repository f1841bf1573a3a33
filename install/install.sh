#!/bin/sh
# Installs docker-credential-scalr, terraform-credentials-scalr and scalr-oci,
# links terraform-credentials-scalr into OpenTofu's plugin directory, then points
# OpenTofu and Docker at the helpers. Safe to run again: unchanged binaries are
# left alone and `scalr-oci configure` changes nothing that is already right.
#
#   install/install.sh [--prefix DIR] [--from DIR] [--no-configure] [--dry-run]
#   install/install.sh --uninstall [--prefix DIR] [--dry-run]
#
#   --prefix DIR    where the binaries go (default: ~/.local/bin)
#   --from DIR      take ready-built binaries from DIR instead of building them
#                   with `cargo install --path`
#   --no-configure  install only; do not run `scalr-oci configure`
#   --dry-run       print what would be done (configure shows its diffs); change nothing
#   --uninstall     remove the binaries and the plugin link (configuration files are left as they are)
set -eu

prefix="${HOME}/.local/bin"
from=""
dry_run=0
uninstall=0
configure=1
binaries="docker-credential-scalr terraform-credentials-scalr scalr-oci"
host_helper=terraform-credentials-scalr

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --from) [ $# -ge 2 ] || die "--from needs a directory"; from=$2; shift 2 ;;
        --from=*) from=${1#--from=}; shift ;;
        --dry-run) dry_run=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --no-configure) configure=0; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done

# Absolute paths from here on: the plugin link must name the binary wherever
# OpenTofu runs from, and a relative one would dangle from the plugin directory.
absolute() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd -P)" "$1" ;;
    esac
}
[ -n "$prefix" ] || die "--prefix needs a directory"
prefix=$(absolute "$prefix")
[ -z "$from" ] || from=$(absolute "$from")

run() {
    if [ "$dry_run" = 1 ]; then say "would run: $*"; else "$@"; fi
}
# Says what was done, after `run` did it (a dry run has said "would run:").
did() { [ "$dry_run" = 1 ] || say "$*"; }

# Where OpenTofu finds terraform-credentials-scalr (cmd/tofu/plugins.go): it
# searches ~/.terraform.d/plugins, and $XDG_DATA_HOME/opentofu/plugins only when
# that variable is set. Creating ~/.terraform.d would move OpenTofu's
# configuration directory away from $XDG_CONFIG_HOME/opentofu, so a setup that
# lives there gets the XDG data directory instead.
plugin_dir() {
    if [ ! -d "$HOME/.terraform.d" ] && [ -n "${XDG_CONFIG_HOME:-}" ] && [ -n "${XDG_DATA_HOME:-}" ] \
        && [ -d "$XDG_CONFIG_HOME/opentofu" ]; then
        printf '%s\n' "$XDG_DATA_HOME/opentofu/plugins"
    else
        printf '%s\n' "$HOME/.terraform.d/plugins"
    fi
}
plugins=$(plugin_dir)
link="$plugins/$host_helper"
# The plugin link is ours when it points at the helper in $prefix: only then
# is it up to date on install, and removed on uninstall.
link_is_ours() { [ -L "$link" ] && [ "$(readlink -- "$link")" = "$prefix/$host_helper" ]; }

# One install or uninstall at a time per prefix: a directory made with mkdir
# (atomic everywhere, unlike flock(1), which macOS lacks), removed on exit.
# Each step below is also atomic on its own (a temporary name of this
# process's, then a rename), so installs into other prefixes never see half a file.
lock="$prefix/.scalr-oci-install.lock"
locked=0
unlock() { [ "$locked" = 0 ] || rmdir -- "$lock" 2>/dev/null || true; }
take_lock() {
    [ "$dry_run" = 0 ] || return 0
    [ "$uninstall" = 0 ] || [ -d "$prefix" ] || return 0
    mkdir -p "$prefix" || die "cannot create $prefix"
    waited=0
    until mkdir -- "$lock" 2>/dev/null; do
        [ -d "$lock" ] || die "cannot create the lock $lock"
        if [ "$waited" -ge "${SCALR_OCI_INSTALL_LOCK_WAIT:-300}" ]; then
            die "another install into $prefix has held $lock for ${waited}s; if none is running, remove that directory"
        fi
        [ "$waited" -gt 0 ] || say "waiting for another install into $prefix to finish"
        sleep 1
        waited=$((waited + 1))
    done
    locked=1
}
trap 'unlock' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
take_lock

if [ "$uninstall" = 1 ]; then
    for bin in $binaries; do
        if [ -e "$prefix/$bin" ]; then
            run rm -f "$prefix/$bin"
            did "removed $prefix/$bin"
        else
            say "$prefix/$bin is not installed; nothing to remove"
        fi
    done
    # The plugin link, only when it is ours.
    if link_is_ours; then
        run rm -f "$link"
        did "removed $link"
    elif [ -e "$link" ] || [ -L "$link" ]; then
        say "$link is not a link to $prefix/$host_helper; left as it is"
    fi
    say "Configuration files were left as they are. OpenTofu and Docker entries that name"
    say "\"scalr\" (oci_credentials / oci_default_credentials / credentials_helper in ~/.tofurc, credHelpers or"
    say "credsStore in ~/.docker/config.json) now point at a missing helper: remove them by hand."
    say "Credentials stay in the OS keychain; \`scalr-oci registry remove HOST\` before uninstalling removes them."
    exit 0
fi

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
staging=""
cleanup() { [ -z "$staging" ] || rm -rf "$staging"; unlock; }
trap cleanup EXIT

if [ -z "$from" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed; build elsewhere and pass --from DIR"
    if [ "$dry_run" = 1 ]; then
        say "would run: cargo install --locked --path $repo/helper and --path $repo/confgen"
    else
        staging=$(mktemp -d)
        for crate in helper confgen; do
            cargo install --quiet --locked --path "$repo/$crate" --root "$staging" \
                || cargo install --quiet --path "$repo/$crate" --root "$staging"
        done
        from="$staging/bin"
    fi
fi

if [ -n "$from" ]; then
    for bin in $binaries; do
        [ -x "$from/$bin" ] || die "$from/$bin is missing or not executable"
    done
fi

run mkdir -p "$prefix"
for bin in $binaries; do
    if [ -n "$from" ] && [ -e "$prefix/$bin" ] && cmp -s "$from/$bin" "$prefix/$bin"; then
        say "$prefix/$bin is up to date"
    elif [ -n "$from" ]; then
        # Copy next to the target under a name of this process's, then rename:
        # a running `get` never sees half a binary.
        run cp "$from/$bin" "$prefix/.$bin.new.$$"
        run chmod 0755 "$prefix/.$bin.new.$$"
        run mv -f "$prefix/.$bin.new.$$" "$prefix/$bin"
        did "installed $prefix/$bin"
    else
        say "would install $prefix/$bin"
    fi
done

# OpenTofu runs terraform-credentials-NAME from its plugin directory, never from
# PATH. A link rather than a copy: the next install replaces one file and the
# plugin follows, and `--uninstall` can tell the link is ours.
if link_is_ours; then
    say "$link is up to date"
elif [ -d "$link" ] || { [ -e "$link" ] && [ ! -L "$link" ]; }; then
    say "warning: $link exists and is not our link; left as it is"
else
    run mkdir -p "$plugins"
    # A new link under a name of our own, renamed over the old one: `ln -sf`
    # unlinks first, so two runs at once could both fail on "File exists".
    run ln -s "$prefix/$host_helper" "$link.new.$$"
    run mv -f "$link.new.$$" "$link"
    did "linked $link -> $prefix/$host_helper"
fi

case ":${PATH}:" in
    *":$prefix:"*) ;;
    *) say "warning: $prefix is not on your PATH. OpenTofu and Docker find docker-credential-scalr only there;"
       say "         add  export PATH=\"$prefix:\$PATH\"  to your shell profile." ;;
esac

[ "$configure" = 1 ] || exit 0

scalr_oci="$prefix/scalr-oci"
if [ ! -x "$scalr_oci" ]; then
    if [ -n "$from" ] && [ -x "$from/scalr-oci" ]; then scalr_oci="$from/scalr-oci"; else
        say "would run: scalr-oci configure tofu --default"
        say "would run: scalr-oci configure tofu --credentials-helper"
        say "would run: scalr-oci configure docker"
        exit 0
    fi
fi
extra=""
[ "$dry_run" = 1 ] && extra="--dry-run"
status=0
# shellcheck disable=SC2086 # $extra is one optional word
"$scalr_oci" configure tofu --default $extra || status=$?
# shellcheck disable=SC2086
"$scalr_oci" configure tofu --credentials-helper $extra || status=$?
# shellcheck disable=SC2086
"$scalr_oci" configure docker $extra || status=$?
if [ "$status" != 0 ]; then
    say "Some settings were left as they were (see above); the binaries are installed."
fi
say "Next: \`scalr-oci registry add HOST --username NAME\` or \`scalr-oci login\`, then \`scalr-oci doctor\`."
