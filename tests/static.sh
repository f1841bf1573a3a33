#!/usr/bin/env bash
# The static Linux binaries (musl, release profile) for x86_64 and aarch64,
# the ones install/ and releases use on Linux, built by the one release
# command and proven:
#
#   release/binaries.sh T   (cargo auditable build --release --locked
#                            --target T -p docker-credential-scalr -p scalr-oci)
#
# with release/targets.sh's settings, which this script also uses for its
# own `cargo test`s so they share the release build's dependencies (aarch64:
# Debian's gcc-aarch64-linux-gnu links and compiles C; rustc brings musl's
# crt objects and libc). After tests/run.sh's release step, the build here
# finds everything built.
#
# - each binary is statically linked (`file`), and its size is shown;
# - x86_64: the real-peer end-to-end tests of tests/ run against the static
#   binaries (SCALR_OCI_BIN_DIR, tests/src/peers.rs): the helper protocol on
#   a real Secret Service, the Docker CLI and skopeo against a real registry,
#   scalr-oci with the fake control plane, OpenTofu's host-token helper;
# - aarch64, under qemu-user (Debian's qemu-user-static): the helper's unit
#   and in-process protocol tests (cargo's runner), and the Secret Service
#   and Docker CLI end-to-end tests against the aarch64 binaries, each run
#   through a one-line wrapper that starts it under qemu (this machine has no
#   binfmt_misc registration to run them directly).
#
# Uses the peers of tests/peers/install.sh (on PATH via its env.sh). Prints
# one line per check and `static: N passed, N failed`; exits non-zero on
# any failure. Without a target's cross tools it skips that target loudly,
# unless CI is set: then it installs them (Debian) and a missing tool is a
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# shellcheck source=release/targets.sh
. release/targets.sh

check_prefix=static
# shellcheck source=tests/lib.sh
. tests/lib.sh

peers_env=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/env.sh
# shellcheck source=/dev/null
[[ -f $peers_env ]] && . "$peers_env"
unset TF_CLI_CONFIG_FILE

# Debian packages per tool; installed under CI when missing.
declare -A package=([musl-gcc]=musl-tools [aarch64-linux-gnu-gcc]=gcc-aarch64-linux-gnu
    [qemu-aarch64-static]=qemu-user-static [file]=file)
missing=()
for tool in "${!package[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})) && [[ -n ${CI:-} ]] && command -v apt-get >/dev/null; then
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    packages=()
    for tool in "${missing[@]}"; do packages+=("${package[$tool]}"); done
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${packages[@]}" >&2 || true
    missing=()
    for tool in "${!package[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
fi
if ((${#missing[@]})); then
    if [[ -n ${CI:-} ]]; then
        bad "tools: missing ${missing[*]}; CI is set, so this fails"
        finish
    fi
    printf '\n*** SKIPPED tests/static.sh: missing %s (Debian packages: %s).\n*** With CI set this would be a failure.\n\n' \
        "${missing[*]}" "$(for t in "${missing[@]}"; do printf '%s ' "${package[$t]}"; done)" >&2
    exit 0
fi

x86=x86_64-unknown-linux-musl
arm=aarch64-unknown-linux-musl
add_targets $x86 $arm
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
work=$(mktemp -d "${TMPDIR:-/tmp}/scalr-oci-static.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build TARGET: the one release command; reports each binary's size and type.
build() {
    local t=$1 dir=$target_dir/$1/release bin info
    echo "==> static: release/binaries.sh $t" >&2
    if ! sh release/binaries.sh "$t" >/dev/null; then
        bad "release/binaries.sh $t"
        return 1
    fi
    for bin in docker-credential-scalr terraform-credentials-scalr scalr-oci; do
        info=$(file -b "$dir/$bin")
        printf 'static: %s %s bytes: %s\n' "$t/$bin" "$(stat -c %s "$dir/$bin")" "$info"
        if [[ $info == *"static-pie linked"* || $info == *"statically linked"* ]] && [[ $info != *interpreter* ]]; then
            ok "$t/$bin is statically linked, no dynamic loader"
        else
            bad "$t/$bin is statically linked" "$info"
        fi
    done
}

# check_version NAME COMMAND...: `COMMAND version` prints the helper's one line.
check_version() {
    local name=$1 out
    shift
    out=$("$@" version 2>&1) || true
    if [[ $out == "docker-credential-scalr (scalr.io/docker-credential-scalr) $version" ]]; then
        ok "$name"
    else
        bad "$name" "$out"
    fi
}

# cargo_test NAME ENV... -- CARGO-TEST-ARGS...: one check line with the test
# counts; the failing tests' names (and cargo's errors) when it fails.
cargo_test() {
    local name=$1 summary
    shift
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    echo "==> static: $name: cargo test $*" >&2
    if env "${envs[@]}" cargo test --locked "$@" >"$work/test.log" 2>&1; then
        summary=$(grep -h '^test result:' "$work/test.log" | sed 's/^test result: //; s/; finished in .*//' |
            awk -F'[ ;]+' '{p += $2; f += $4; i += $6} END {printf "%d passed, %d failed, %d ignored", p, f, i}')
        ok "$name ($summary)"
    else
        # A panic's message is on the lines after "panicked at".
        bad "$name" "$(grep -E -A3 '^(test .* FAILED|error(\[|:))|panicked|SKIPPED|known abort' "$work/test.log" |
            grep -v '^stack backtrace:' | head -60)"
    fi
}

# The end-to-end tests with real peers that each static binary answers in.
e2e_tests=(--test helper_keychain --test docker_cli --test skopeo --test scalr_oci --test tofu_host_token)

# ---- x86_64 -----------------------------------------------------------------------
if build $x86; then
    dir=$target_dir/$x86/release
    check_version "$x86: docker-credential-scalr version" "$dir/docker-credential-scalr"
    # CI=1: a missing peer fails these tests instead of skipping them.
    cargo_test "$x86: real-peer end-to-end tests against the static binaries" \
        CI=1 SCALR_OCI_BIN_DIR="$dir" -- -p scalr-oci-e2e "${e2e_tests[@]}" -- --include-ignored
fi

# ---- aarch64, under qemu-user ----------------------------------------------------
if build $arm; then
    dir=$target_dir/$arm/release
    qemu=$(command -v qemu-aarch64-static)
    check_version "$arm: docker-credential-scalr version under qemu-user" "$qemu" "$dir/docker-credential-scalr"
    # Release and the same two packages as the binaries' build, so the tests
    # reuse its compiled dependencies (another package selection would
    # unify other features and rebuild a third of them).
    cargo_test "$arm: unit tests of both crates and the helper's in-process protocol tests under qemu-user" \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER="$qemu" -- \
        --release --target $arm -p docker-credential-scalr -p scalr-oci --lib --test protocol --test registry_props
    # Peers (Docker, skopeo) and the tests run an executable by path; these
    # start the aarch64 binary under qemu.
    mkdir "$work/aarch64"
    for bin in docker-credential-scalr terraform-credentials-scalr scalr-oci; do
        printf '#!/bin/sh\nexec %s %s "$@"\n' "$qemu" "$dir/$bin" >"$work/aarch64/$bin"
        chmod +x "$work/aarch64/$bin"
    done
    cargo_test "$arm: Secret Service and Docker CLI end-to-end tests against the aarch64 binaries under qemu-user" \
        CI=1 SCALR_OCI_BIN_DIR="$work/aarch64" -- -p scalr-oci-e2e --test helper_keychain --test docker_cli -- --include-ignored
fi

finish
