#!/bin/sh
# tests/deb.sh DEB: the Debian package test (a step of tests/run.sh; needs root
# and the peers on PATH). Installs DEB with dpkg -i, checks what it put where
# (dpkg -L), runs the Docker CLI + registry + Secret Service round trip
# (tests/tests/docker_cli.rs) against the installed /usr/bin binaries, then
# dpkg -r and checks that every file the package listed is gone and that the
# package is no longer known.
set -eu
cd "$(dirname -- "$0")/.."
deb=${1:?usage: tests/deb.sh DEB}
fail() { echo "tests/deb.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "dpkg -i needs root"
if dpkg -s scalr-oci >/dev/null 2>&1; then fail "scalr-oci is already installed; remove it first"; fi

dpkg -i "$deb"
listed=$(mktemp)
trap 'rm -f "$listed"; dpkg -r scalr-oci >/dev/null 2>&1 || true' EXIT
dpkg -L scalr-oci >"$listed"
for want in /usr/bin/docker-credential-scalr /usr/bin/terraform-credentials-scalr /usr/bin/scalr-oci \
    /usr/share/man/man1/scalr-oci.1.gz /usr/share/man/man1/docker-credential-scalr.1.gz \
    /usr/share/man/man1/terraform-credentials-scalr.1.gz /usr/share/bash-completion/completions/scalr-oci \
    /usr/share/zsh/vendor-completions/_scalr-oci /usr/share/fish/vendor_completions.d/scalr-oci.fish \
    /usr/share/doc/scalr-oci/copyright; do
    grep -qx "$want" "$listed" || fail "the package does not list $want"
    [ -e "$want" ] || fail "$want is listed but not installed"
done
[ "$(command -v docker-credential-scalr)" = /usr/bin/docker-credential-scalr ] \
    || fail "docker-credential-scalr on PATH is $(command -v docker-credential-scalr), not the package's"
/usr/bin/docker-credential-scalr version
man -l /usr/share/man/man1/scalr-oci.1.gz >/dev/null 2>&1 || zcat /usr/share/man/man1/scalr-oci.1.gz | grep -q '^.TH'
# The helpers' pages: their verbs and the variables they read.
zcat /usr/share/man/man1/docker-credential-scalr.1.gz | grep -q '^\.SH ENVIRONMENT' \
    || fail "docker-credential-scalr.1 has no ENVIRONMENT section"
zcat /usr/share/man/man1/terraform-credentials-scalr.1.gz | grep -q '^\.B forget HOST' \
    || fail "terraform-credentials-scalr.1 does not list forget"

# The round trip, with the package's binaries as the binaries under test.
SCALR_OCI_HELPER_BIN=/usr/bin/docker-credential-scalr SCALR_OCI_BIN=/usr/bin/scalr-oci \
    cargo test --quiet -p scalr-oci-e2e --test docker_cli -- --include-ignored

dpkg -r scalr-oci
dpkg -s scalr-oci >/dev/null 2>&1 && fail "dpkg still knows scalr-oci after dpkg -r"
left=""
while IFS= read -r path; do
    # Directories the package shares with the system (/usr, /usr/share/man…)
    # stay; its own (/usr/share/doc/scalr-oci) must go.
    if [ -d "$path" ]; then
        case $path in */scalr-oci) left="$left $path/" ;; esac
    elif [ -e "$path" ] || [ -L "$path" ]; then
        left="$left $path"
    fi
done <"$listed"
[ -z "$left" ] || fail "dpkg -r left behind:$left"
echo "tests/deb.sh: installed, round trip passed against /usr/bin, removed without a trace ($(wc -l <"$listed") paths checked)"
