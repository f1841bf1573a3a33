#!/usr/bin/env bash
# Mirroring one provider version for 4 platforms (OpenTofu's provider-simple-v6,
# about 60 MiB of official zips), side by side in one run on the same registry:
#   ours    scalr-oci provider push ZIP… oci://HOST/REPO      (1 command; keychain)
#   theirs  the documentation's recipe: oras push per platform into an OCI
#           layout, oras manifest index create, oras cp       (6 commands)
# Every run pushes to a new repository, so both upload every zip each time.
# Prints hyperfine's tables and the ratio ours/theirs of the medians and means
# over all runs; the goal is at most the same time (ratio <= 1.0).
#
#   bench/provider-mirror.sh [--rounds N] [--runs N] [--warmup N] [--export-json FILE]
#
# --rounds (default 2) hyperfine rounds of --runs (default 3) runs of each.
#
# Needs the peers of tests/peers/install.sh (ORAS, docker-registry,
# gnome-keyring, dbus, hyperfine, jq, the provider-simple-v6 zips). Builds the
# helper, scalr-oci and the bench-env set-up binary with --release.
set -euo pipefail

warmup=1
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
in_a_login_session "$@"
rounds_options --runs 3 --rounds 2 "$@"
load_peers_env
need_tools hyperfine jq

start_setup_env provider scalr-provider-bench
echo "==> commands a user types: ours 1 (provider push), theirs 6 (4 oras push, oras manifest index create, oras cp)" >&2
compare_ours_theirs 'scalr-oci provider push' 'oras push x4 + index create + cp' \
  "mirroring a provider version (4 platforms)" 1.0 "4 platforms"
