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
# Some machines export TF_CLI_CONFIG_FILE pointing at a file that does not
# exist; every test sets its own, and none may inherit the user's.
unset TF_CLI_CONFIG_FILE

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
bash tests/cross.sh
echo "==> cargo test"
cargo test --workspace --no-fail-fast
bash tests/wine.sh    # the Windows build: its tests and the Credential Manager end to end, under Wine
bash tests/static.sh  # static musl binaries, x86_64 (real peers) and aarch64 (qemu-user)
# Each fuzz target briefly, from the committed corpora; a crash fails the run
# (fuzz/README.md). The long runs are done by hand: fuzz/run.sh all 600.
echo "==> fuzz"
bash fuzz/run.sh all "${SCALR_OCI_FUZZ_SECONDS:-20}"
