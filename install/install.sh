#!/bin/sh
# Installs docker-credential-scalr, terraform-credentials-scalr and scalr-oci.
# `install.sh --help` says what it does and how (the text is usage() below).
set -eu

# Everything is in main, called on the last line: a download cut short runs nothing.
main() {

prefix="${HOME}/.local/bin"
from=""
source_build=0
version=${SCALR_OCI_VERSION:-}
release_url=${SCALR_OCI_RELEASE_URL:-}
# Where releases are published; a release's files are under
# $releases/download/vVERSION/ and the newest under $releases/latest/download/.
releases=https://github.com/Scalr/docker-credential-scalr/releases
dry_run=0
uninstall=0
configure=1
binaries="docker-credential-scalr terraform-credentials-scalr scalr-oci"
host_helper=terraform-credentials-scalr

say() { printf '%s\n' "$*"; }
usage() {
    cat <<'USAGE'
install.sh: installs docker-credential-scalr, terraform-credentials-scalr and scalr-oci,
links terraform-credentials-scalr into OpenTofu's plugin directory, then runs
`scalr-oci configure`: OpenTofu sends every oci:// registry to docker-credential-scalr
and asks terraform-credentials-scalr for the Scalr host token; Docker sends the
registries already known (from the OpenTofu configuration or the keychain) to
docker-credential-scalr, and is left as it is while none is known.
Safe to run again: unchanged binaries are left alone and `scalr-oci configure`
changes nothing that is already right.

No Rust toolchain needed: by default it downloads the release archive for this OS
and architecture and checks it against the release's SHA256SUMS before unpacking
anything.

Usage:
  install.sh [--prefix DIR] [--version V] [--from-url URL | --from DIR | --source]
             [--no-configure] [--dry-run]
  install.sh --uninstall [--prefix DIR] [--dry-run]
  curl -sSf URL/install.sh | sh -s -- [OPTIONS]

Options:
  --prefix DIR    where the binaries go (default: ~/.local/bin)
  --version V     the release to install (default: the latest)
  --from-url URL  the release directory to download from, holding SHA256SUMS and the
                  archives (default: the project's GitHub releases; also
                  $SCALR_OCI_RELEASE_URL); https:// or file:// only
  --from DIR      take ready-built binaries from DIR; download nothing
  --source        build this checkout with cargo (one release build of the workspace,
                  cargo's progress shown; minutes the first time, needs a Rust toolchain)
  --no-configure  install only; do not run `scalr-oci configure`
  --dry-run       print what would be done (configure shows its diffs); change nothing
  --uninstall     remove the binaries and the plugin link (configuration files are
                  left as they are)
  -h, --help      print this text

Examples:
  install.sh                                   # the latest release into ~/.local/bin
  install.sh --version 0.1.0 --no-configure    # pinned, for a CI job
  install.sh --source --prefix /usr/local/bin  # build this checkout
  install.sh --dry-run                         # show every step and diff first
USAGE
}
die() { printf 'install.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --from) [ $# -ge 2 ] || die "--from needs a directory"; from=$2; shift 2 ;;
        --from=*) from=${1#--from=}; shift ;;
        --from-url) [ $# -ge 2 ] || die "--from-url needs a URL"; release_url=$2; shift 2 ;;
        --from-url=*) release_url=${1#--from-url=}; shift ;;
        --version) [ $# -ge 2 ] || die "--version needs a version"; version=${2#v}; shift 2 ;;
        --version=*) version=${1#--version=}; version=${version#v}; shift ;;
        --source) source_build=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --no-configure) configure=0; shift ;;
        -h|--help) usage; exit 0 ;;
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
[ -z "$from" ] || [ "$source_build" = 0 ] || die "--from and --source exclude each other"

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
    missing=0
    until mkdir -- "$lock" 2>/dev/null; do
        if [ ! -d "$lock" ]; then
            # Released between our mkdir and this test: try again at once.
            # Only a lock that can never be made (an unwritable prefix) is an error.
            missing=$((missing + 1))
            [ "$missing" -lt 20 ] || die "cannot create the lock $lock"
            continue
        fi
        missing=0
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

# The release target of this machine: the archives' last name part.
release_target() {
    case $(uname -s) in
        Linux) os=unknown-linux-musl ;;
        Darwin) os=apple-darwin ;;
        *) die "no release archive for $(uname -s) here; on Windows run install.ps1" ;;
    esac
    case $(uname -m) in
        x86_64|amd64) arch=x86_64 ;;
        aarch64|arm64) arch=aarch64 ;;
        *) die "no release archive for $(uname -m); build from source with --source" ;;
    esac
    printf '%s-%s\n' "$arch" "$os"
}

# fetch URL FILE: https (or file) only, redirects only to https.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https,file' --proto-redir '=https' --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        case $1 in https://*) wget -q -O "$2" "$1" ;; *) cp -- "${1#file://}" "$2" ;; esac
    else
        die "neither curl nor wget is installed"
    fi
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum -- "$1"
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -- "$1"
    else openssl dgst -sha256 -r -- "$1"; fi | { read -r sum _ && printf '%s\n' "$sum"; }
}

# Downloads this machine's archive, checks it against SHA256SUMS, unpacks it;
# sets $from to the unpacked binaries. Nothing is unpacked before the check.
download_release() {
    target=$(release_target)
    if [ -z "$release_url" ]; then
        if [ -n "$version" ]; then release_url=$releases/download/v$version
        else release_url=$releases/latest/download; fi
    fi
    release_url=${release_url%/}
    case $release_url in
        https://*|file:///*) ;;
        *) die "refusing $release_url: release URLs must be https:// (or file:// for a local copy)" ;;
    esac
    staging=$(mktemp -d)
    fetch "$release_url/SHA256SUMS" "$staging/SHA256SUMS" \
        || die "cannot download $release_url/SHA256SUMS; nothing was installed"
    if [ -n "$version" ]; then
        archive=scalr-oci-$version-$target.tar.gz
    else
        archive=$(sed -n "s/^[0-9a-f]\{64\} [ *]\(scalr-oci-[0-9][^ /]*-$target\.tar\.gz\)\$/\1/p" "$staging/SHA256SUMS" | head -n 1)
        [ -n "$archive" ] || die "$release_url/SHA256SUMS has no entry for a scalr-oci-VERSION-$target.tar.gz; nothing was installed"
    fi
    expected=$(sed -n "s/^\([0-9a-f]\{64\}\) [ *]$(printf '%s' "$archive" | sed 's/[.]/[.]/g')\$/\1/p" "$staging/SHA256SUMS" | head -n 1)
    [ -n "$expected" ] || die "$release_url/SHA256SUMS has no entry for $archive; nothing was installed"
    fetch "$release_url/$archive" "$staging/$archive" \
        || die "cannot download $release_url/$archive; nothing was installed"
    actual=$(sha256 "$staging/$archive")
    [ "$actual" = "$expected" ] \
        || die "$archive does not match SHA256SUMS (expected $expected, got $actual); nothing was installed"
    say "verified $archive against SHA256SUMS ($expected)"
    mkdir "$staging/unpacked"
    tar -xzf "$staging/$archive" -C "$staging/unpacked" || die "cannot unpack $archive; nothing was installed"
    from=$staging/unpacked/${archive%.tar.gz}
}

if [ "$source_build" = 1 ]; then
    [ -f "$repo/helper/Cargo.toml" ] || die "--source needs a checkout of the repository (run install/install.sh from it)"
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed; leave out --source to download a release"
    # One cargo invocation for the whole workspace, with cargo's own progress
    # (one line per crate compiled) on stderr.
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    build="cargo build --release --locked --manifest-path $repo/Cargo.toml --target-dir $target_dir -p docker-credential-scalr -p scalr-oci"
    if [ "$dry_run" = 1 ]; then
        say "would run: $build"
    else
        say "building the workspace with cargo (a few minutes the first time, seconds after that):"
        say "  $build"
        started=$(date +%s)
        cargo build --release --locked --manifest-path "$repo/Cargo.toml" --target-dir "$target_dir" \
            -p docker-credential-scalr -p scalr-oci \
            || die "cargo build failed (see above); nothing was installed"
        say "built in $(( $(date +%s) - started ))s"
        from="$target_dir/release"
    fi
elif [ -z "$from" ]; then
    download_release
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
# scalr-oci links the plugin to the terraform-credentials-scalr beside itself.
# A dry run runs the not yet installed copy in $from, so its lines name $from
# where the install will put $prefix: say what the install will really do.
configure() {
    if [ "$scalr_oci" = "$prefix/scalr-oci" ]; then
        # shellcheck disable=SC2086 # $extra is one optional word
        PATH="$prefix:$PATH" "$scalr_oci" configure "$@" $extra
    else
        shown=$(mktemp)
        code=0
        # shellcheck disable=SC2086
        PATH="$prefix:$PATH" "$scalr_oci" configure "$@" $extra >"$shown" || code=$?
        FROM="$from/" TO="$prefix/" awk '{
            line = $0; out = ""
            while ((i = index(line, ENVIRON["FROM"])) > 0) {
                out = out substr(line, 1, i - 1) ENVIRON["TO"]
                line = substr(line, i + length(ENVIRON["FROM"]))
            }
            print out line
        }' "$shown"
        rm -f "$shown"
        return "$code"
    fi
}
status=0
configure tofu --default || status=$?
configure tofu --credentials-helper || status=$?
configure docker || status=$?
if [ "$status" != 0 ]; then
    say "Some settings were left as they were (see above); the binaries are installed."
fi
say "Next: \`scalr-oci registry add HOST --username NAME\` (or \`scalr-oci login\` for the Scalr"
say "      integrations), \`scalr-oci configure docker --registry HOST\` for Docker, then \`scalr-oci doctor\`."
}

main "$@"
