#!/usr/bin/env bash
# The whole test suite on a fresh machine: install the real peers (cached
# after the first run), check formatting and lints, then run every test with
# the peers required, then each fuzz target for a few seconds. This is the
# README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/peers/install.sh
# shellcheck source=/dev/null
. "${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/env.sh"

# The peers were just installed, so a missing one is a failure, not a skip.
export CI="${CI:-1}"
# One set of build settings for every cargo call below (release/targets.sh:
# SOURCE_DATE_EPOCH, the cross linkers, per-target path remapping), so the
# release binaries are built once and every test of them shares their
# compiled dependencies.
# shellcheck source=release/targets.sh
. release/targets.sh
# Some machines export TF_CLI_CONFIG_FILE pointing at a file that does not
# exist; every test sets its own, and none may inherit the user's.
unset TF_CLI_CONFIG_FILE

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The fuzz crate is a workspace of its own, so neither clippy nor cargo test
# compiles it: build it now, so that an API change its targets call fails in
# minutes rather than at the end (fuzz/run.sh below reuses this build).
echo "==> cargo fuzz build"
(cd fuzz && nice cargo +nightly fuzz build -s none)
bash tests/cross.sh
echo "==> cargo test"
# The end-to-end tests that need peers are #[ignore = "needs peers"] (so a
# plain `cargo test` lists them as ignored, not passed); here they run.
cargo test --workspace --no-fail-fast -- --include-ignored
# The release (release/build.sh): the archives installed by install.sh and
# the Scalr pre-init hook from a local HTTPS release host, the .deb installed
# and removed with dpkg, and two builds in different directories compared
# byte for byte (release/reproducible.sh, one target: two release builds).
echo "==> release"
# Every Linux-buildable release target, so none is skipped on a fresh machine.
# shellcheck source=tests/lib.sh
. tests/lib.sh
add_targets x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu
dist=$(sh release/build.sh | tail -n 1)
SCALR_OCI_RELEASE_DIR=$dist cargo test -p scalr-oci-e2e --test install_release --test scalr_run_hook -- --include-ignored
debs=("$dist"/scalr-oci_*_"$(dpkg --print-architecture)".deb)
sh tests/deb.sh "${debs[0]}"
# In a clean checkout (CI's), this checkout's build above is one of the two.
if [[ -z $(git status --porcelain --untracked-files=no) ]]; then
  sh release/reproducible.sh --here
else
  sh release/reproducible.sh
fi
# The release binaries built above, proven: the Windows build under Wine
# (its tests and the Credential Manager end to end), the static musl
# binaries on x86_64 with the real peers and on aarch64 under qemu-user.
bash tests/wine.sh
bash tests/static.sh
# Each fuzz target briefly, from the committed corpora; a crash fails the run
# (fuzz/README.md). The long runs are done by hand: fuzz/run.sh all 600.
echo "==> fuzz"
bash fuzz/run.sh all "${SCALR_OCI_FUZZ_SECONDS:-20}"
