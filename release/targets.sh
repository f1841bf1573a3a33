# Sourced by release/binaries.sh (and anything else that builds the release
# binaries): the one place that says how each release target is built on a
# Linux x86_64 machine with Debian's cross tools, and the flags that make the
# binaries reproducible. Sets and exports variables only.
#
#   x86_64-unknown-linux-musl   rustc's self-contained musl; cc for ring's C
#   aarch64-unknown-linux-musl  gcc-aarch64-linux-gnu links (rustc brings the
#                               musl crt and libc) and compiles ring's C
#   x86_64-pc-windows-gnu       mingw-w64 (rustc's default linker name)
#   *-apple-darwin              on macOS runners only (Xcode's cc)
#
# Reproducible: SOURCE_DATE_EPOCH is the commit's time unless set; the
# checkout and the cargo home are remapped to fixed names, so two checkouts
# of one commit in different directories build the same bytes. (Paths with
# spaces cannot be remapped this way: rustflags are split on spaces.)

scalr_oci_root=$(CDPATH='' cd -- "$(dirname -- "${SCALR_OCI_ROOT:-.}/Cargo.toml")" && pwd -P)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$scalr_oci_root" log -1 --format=%ct 2>/dev/null) || SOURCE_DATE_EPOCH=""
fi
export SOURCE_DATE_EPOCH

scalr_oci_remap="--remap-path-prefix=$scalr_oci_root=/build/scalr-oci --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$scalr_oci_remap"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$scalr_oci_remap"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
# GNU ld stamps the link time into a PE header unless told not to.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="$scalr_oci_remap -C link-arg=-Wl,--no-insert-timestamp"
export CARGO_TARGET_X86_64_APPLE_DARWIN_RUSTFLAGS="$scalr_oci_remap"
export CARGO_TARGET_AARCH64_APPLE_DARWIN_RUSTFLAGS="$scalr_oci_remap"
unset scalr_oci_remap

# The release targets this machine can build: the rustup target is installed
# and its linker is on PATH. Prints one a line.
scalr_oci_buildable_targets() {
    for t in ${SCALR_OCI_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin}; do
        case $t in
            *-linux-musl) [ "$(uname -s)" = Linux ] || continue ;;
            *-apple-darwin) [ "$(uname -s)" = Darwin ] || continue ;;
        esac
        rustup target list --installed 2>/dev/null | grep -qx "$t" || continue
        case $t in
            aarch64-unknown-linux-musl) command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || continue ;;
            x86_64-pc-windows-gnu) command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || continue ;;
        esac
        printf '%s\n' "$t"
    done
}
