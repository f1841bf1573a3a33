#!/bin/sh
# release/hook.sh DIR: prints install/scalr-run-hook.sh with the version and
# the SHA-256 of each static Linux archive filled in from DIR/SHA256SUMS (the
# hook a release publishes as scalr-oci-pre-init-VERSION.sh).
set -eu
[ $# = 1 ] && [ -f "$1/SHA256SUMS" ] || { echo "usage: release/hook.sh DIR" >&2; exit 2; }
sums=$(CDPATH='' cd -- "$1" && pwd -P)/SHA256SUMS
cd "$(dirname -- "$0")/.."
sum_of() { sed -n "s/^\([0-9a-f]\{64\}\)  scalr-oci-[^ ]*-$1\.tar\.gz\$/\1/p" "$sums" | head -n 1; }
name=$(sed -n 's/^[0-9a-f]\{64\}  \(scalr-oci-[^ ]*-[a-z0-9_]*-unknown-linux-musl\.tar\.gz\)$/\1/p' "$sums" | head -n 1)
[ -n "$name" ] || { echo "release/hook.sh: $sums lists no static Linux archive" >&2; exit 1; }
version=${name#scalr-oci-}
version=${version%%-x86_64-*}
version=${version%%-aarch64-*}
x86=$(sum_of x86_64-unknown-linux-musl)
arm=$(sum_of aarch64-unknown-linux-musl)
sed -e "s/@VERSION@/$version/" \
    -e "s/@SHA256_x86_64-unknown-linux-musl@/${x86:-none}/" \
    -e "s/@SHA256_aarch64-unknown-linux-musl@/${arm:-none}/" \
    install/scalr-run-hook.sh
