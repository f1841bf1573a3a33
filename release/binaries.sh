#!/bin/sh
# release/binaries.sh TARGET...: the one build of the release binaries, used
# by release/build.sh and by every test of the static binaries, so the tests
# test what ships. Per target, exactly:
#     cargo auditable build --release --locked --target TARGET \
#         -p docker-credential-scalr -p scalr-oci
# with release/targets.sh's settings, into the workspace's target directory
# (target/TARGET/release/). `cargo auditable` embeds the dependency list, so
# `cargo audit bin` can scan an installed helper. Prints each target's
# directory of binaries.
set -eu
cd "$(dirname -- "$0")/.."
# shellcheck source=release/targets.sh
. release/targets.sh
[ $# -gt 0 ] || { echo "usage: release/binaries.sh TARGET..." >&2; exit 2; }
tools=$(sh release/tools.sh)
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
for target in "$@"; do
    PATH="$tools:$PATH" cargo auditable build --release --locked --target "$target" \
        -p docker-credential-scalr -p scalr-oci >&2
    printf '%s\n' "$target_dir/$target/release"
done
