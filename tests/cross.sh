#!/usr/bin/env bash
# Lints the whole workspace, tests included, for every platform we ship,
# from this Linux machine: `cargo clippy --workspace --all-targets -- -D
# warnings` once per target, all in the workspace's one target directory.
# Prints one line per target (clean / FAILED) and exits non-zero if any
# failed. Installs what it needs, only when missing: the rustup targets and
# Debian's cross C compilers (ring's build script compiles C for the target).
#
# This is a type check: nothing is linked, and nothing runs. For macOS there
# is no SDK on Linux, so ring's C code is compiled by clang against its own
# freestanding headers plus tests/cross/macos-stub/TargetConditionals.h
# (see that file). Windows binaries are run under Wine and static musl
# binaries are built elsewhere in tests/run.sh; macOS and Windows run their
# tests natively in .github/workflows/ci.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(
    x86_64-pc-windows-gnu
    aarch64-apple-darwin
    x86_64-apple-darwin
    aarch64-unknown-linux-gnu
    x86_64-unknown-linux-musl
)

# Rust's standard library for each target.
# shellcheck source=tests/lib.sh
. tests/lib.sh
add_targets "${targets[@]}"

# A C compiler per target for ring (program:Debian package).
missing_packages=()
for need in clang:clang llvm-ar:llvm x86_64-w64-mingw32-gcc:mingw-w64 \
    aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu musl-gcc:musl-tools; do
    command -v "${need%%:*}" >/dev/null || missing_packages+=("${need#*:}")
done
if ((${#missing_packages[@]})); then
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${missing_packages[@]}"
fi

# macOS: clang (cc-rs adds --target), llvm-ar, no system headers.
stub="$PWD/tests/cross/macos-stub"
macos_cflags="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -I$stub"
export CC_aarch64_apple_darwin=clang AR_aarch64_apple_darwin=llvm-ar
export CFLAGS_aarch64_apple_darwin="$macos_cflags"
export CC_x86_64_apple_darwin=clang AR_x86_64_apple_darwin=llvm-ar
# x86 intrinsics headers pull in <mm_malloc.h>, which wants <stdlib.h>.
export CFLAGS_x86_64_apple_darwin="$macos_cflags -D__MM_MALLOC_H"

results=()
failed=0
for target in "${targets[@]}"; do
    echo "==> cargo clippy --target $target"
    started=$SECONDS
    if cargo clippy --workspace --all-targets --quiet --target "$target" -- -D warnings; then
        results+=("cross: $target clean ($((SECONDS - started)) s)")
    else
        results+=("cross: $target FAILED ($((SECONDS - started)) s)")
        failed=1
    fi
done
printf '%s\n' "${results[@]}"
exit "$failed"
