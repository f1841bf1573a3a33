#!/bin/sh
# release/reproducible.sh [--here] [TARGET]: the reproducibility check. Clones
# this checkout's HEAD twice, into two directories of different names and
# depths, runs release/build.sh for TARGET (default x86_64-unknown-linux-musl)
# in each, each with its own target directory, and compares every file the
# two builds wrote byte for byte: the archive, the .deb, the SBOMs, the
# pre-init hook and SHA256SUMS. Exits 1 naming each file that differs. Slow
# (two release builds from scratch); a step of tests/run.sh.
#   --here  one of the two builds is this checkout itself (it must be clean:
#           no change against HEAD), the other a fresh clone: half the time.
#           It reuses this checkout's target/ for compiling but writes its
#           files to a temporary directory: target/dist, which the release
#           step wrote for every target, is left as it was (checked).
set -eu
cd "$(dirname -- "$0")/.."
# Each build in its own checkout's target directory.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
here=0
if [ "${1:-}" = --here ]; then here=1; shift; fi
target=${1:-x86_64-unknown-linux-musl}
commit=$(git rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
b=$work/second/checkout-in-another-place
mkdir -p "$b"
if [ "$here" = 1 ]; then
    [ -z "$(git status --porcelain --untracked-files=no)" ] \
        || { echo "release/reproducible.sh: --here needs a checkout without changes against HEAD" >&2; exit 2; }
    a=$(pwd -P)
else
    a=$work/a
    git clone --quiet --no-local . "$a"
    git -C "$a" checkout --quiet "$commit"
fi
git clone --quiet --no-local . "$b"
git -C "$b" checkout --quiet "$commit"
echo "release/reproducible.sh: building $commit for $target in $a and in $b" >&2
# What a checkout's target/dist holds (path, size and CRC of each file).
dist_listing() { (cd "$1" && find target/dist -type f -exec cksum {} + 2>/dev/null | sort) || true; }
dist_before=$(dist_listing "$a")
# Both builds write elsewhere (--out): never over a checkout's target/dist.
out_a=$(sh "$a/release/build.sh" --out "$work/first-out" "$target" | tail -n 1)
out_b=$(sh "$b/release/build.sh" --out "$work/second-out" "$target" | tail -n 1)
[ "$(dist_listing "$a")" = "$dist_before" ] \
    || { echo "release/reproducible.sh: $a/target/dist changed during the check" >&2; exit 1; }
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
