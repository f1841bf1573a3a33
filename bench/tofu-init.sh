#!/usr/bin/env bash
# `tofu init` of one private oci:// module, side by side in one run:
#   helper  credentials through docker-credential-scalr (OS keychain, cached)
#   plain   plain-text `oci_credentials { username password }` in the CLI config
# Every run starts from a fresh working directory (no .terraform, no lock
# file). Prints hyperfine's tables and the ratio helper/plain of the medians
# and means over all runs; the goal is within 2 % (ratio <= 1.02).
#
#   bench/tofu-init.sh [--rounds N] [--runs N] [--warmup N] [--export-json FILE]
#                      [--helper-target TRIPLE]
#
# --rounds (default 4) hyperfine rounds of --runs (default 10) runs of each
# command, alternating which goes first; --export-json writes the summary;
# --helper-target benches that build of the helper (e.g.
# x86_64-unknown-linux-musl, the static binary of the Linux release).
#
# Needs the peers of tests/peers/install.sh (OpenTofu, ORAS, docker-registry,
# gnome-keyring, dbus, docker CLI, hyperfine). Builds the helper and
# scalr-oci with --release (the binaries users get), and the bench-env
# setup binary, into $CARGO_TARGET_DIR (default: target/ of the workspace).
set -euo pipefail

warmup=3
helper_target=
script_option() {
  [[ $1 == --helper-target ]] || return 1
  helper_target=$2
}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
in_a_login_session "$@"
rounds_options "$@"
load_peers_env
need_tools hyperfine jq

start_setup_env tofu scalr-tofu-bench
tofu_version=$(TF_CLI_CONFIG_FILE=/dev/null "$env_dir/bin/tofu" version 2>/dev/null | grep -m1 '^OpenTofu' || true)
echo "==> $tofu_version; $("$SCALR_OCI_HELPER_BIN" version)" >&2

declare -A name prepare command
for kind in helper plain; do
  prepare[$kind]="rm -rf '$env_dir/$kind/.terraform' '$env_dir/$kind/.terraform.lock.hcl'"
  command[$kind]=$env_dir/$kind/run.sh
done
name[helper]='helper (keychain, cached)'
name[plain]='plain-text oci_credentials'
compare_rounds helper plain "tofu init" 1.02
