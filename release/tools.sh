#!/bin/sh
# The tools release/build.sh needs beyond a Rust toolchain, from crates.io,
# pinned and --locked (their own lock files), into a cache of their own:
#   cargo-auditable  embeds the dependency list in each binary (`cargo audit bin`)
#   cargo-cyclonedx  writes the CycloneDX SBOM
# Prints the directory holding them. Safe to run again: a tool at the pinned
# version is not rebuilt.
set -eu

CARGO_AUDITABLE_VERSION=0.7.7
CARGO_CYCLONEDX_VERSION=0.5.9
root=${SCALR_OCI_RELEASE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/scalr-oci-release-tools}
bin=$root/bin

have() { # NAME VERSION: the pinned version is installed (cargo install's record)
    [ -x "$bin/$1" ] && grep -q "^\"$1 $2 " "$root/.crates.toml" 2>/dev/null
}
install_tool() { # NAME VERSION
    have "$1" "$2" && return 0
    printf 'release/tools.sh: cargo install %s %s\n' "$1" "$2" >&2
    cargo install --quiet --locked --version "$2" --root "$root" "$1" >&2
    have "$1" "$2" || { printf 'release/tools.sh: %s %s did not install\n' "$1" "$2" >&2; exit 1; }
}
install_tool cargo-auditable "$CARGO_AUDITABLE_VERSION"
install_tool cargo-cyclonedx "$CARGO_CYCLONEDX_VERSION"
printf '%s\n' "$bin"
