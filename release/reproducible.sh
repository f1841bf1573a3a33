#!/bin/sh
# release/reproducible.sh [TARGET]: the reproducibility check. Clones this
# checkout's HEAD twice, into two directories of different names and depths,
# runs release/build.sh for TARGET (default x86_64-unknown-linux-musl) in
# each, each with its own target directory, and compares every file the two
# builds wrote byte for byte: the archive, the .deb, the SBOMs, the pre-init
# hook and SHA256SUMS. Exits 1 naming each file that differs. Slow (two
# release builds from scratch); a step of tests/run.sh.
set -eu
cd "$(dirname -- "$0")/.."
target=${1:-x86_64-unknown-linux-musl}
commit=$(git rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
a=$work/a
b=$work/second/checkout-in-another-place
mkdir -p "$b"
git clone --quiet --no-local . "$a"
git clone --quiet --no-local . "$b"
git -C "$a" checkout --quiet "$commit"
git -C "$b" checkout --quiet "$commit"
echo "release/reproducible.sh: building $commit for $target in $a and in $b" >&2
out_a=$(sh "$a/release/build.sh" "$target" | tail -n 1)
out_b=$(sh "$b/release/build.sh" "$target" | tail -n 1)
status=0
for file in "$out_a"/*; do
    name=$(basename "$file")
    if [ ! -f "$out_b/$name" ]; then
        echo "only the first build wrote $name"; status=1
    elif cmp -s "$file" "$out_b/$name"; then
        printf 'identical  %s  %s\n' "$(wc -c <"$file" | tr -d ' ')" "$name"
    else
        echo "DIFFERS    $name"; status=1
    fi
done
for file in "$out_b"/*; do
    [ -f "$out_a/$(basename "$file")" ] || { echo "only the second build wrote $(basename "$file")"; status=1; }
done
[ "$status" = 0 ] && echo "release/reproducible.sh: the two builds of $commit are byte-identical"
exit "$status"
