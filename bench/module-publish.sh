#!/usr/bin/env bash
# Publishing a 5 MiB OpenTofu module, side by side in one run:
#   ours    scalr-oci module publish DIR oci://HOST/REPO (packages and pushes;
#           credentials from the OS keychain, in-process)
#   theirs  the guide's recipe: zip -qr of the same tree, then oras push
#           --artifact-type application/vnd.opentofu.modulepkg pkg.zip:archive/zip
#           (credentials from the plain-text auths `oras login` leaves)
# Before every run the module gets new random data (files/data.bin), so both
# upload the whole package every time. Prints hyperfine's tables and the
# ratio ours/theirs of the medians and means over all runs; the goal is at
# most the same time (ratio <= 1.0).
#
#   bench/module-publish.sh [--rounds N] [--runs N] [--warmup N] [--size-mib N] [--export-json FILE]
#
# --rounds (default 4) hyperfine rounds of --runs (default 10) runs of each
# command, alternating which goes first; --export-json writes the summary.
#
# Needs the peers of tests/peers/install.sh (ORAS, docker-registry,
# gnome-keyring, dbus, zip, hyperfine, jq). Builds the helper and scalr-oci
# with --release, and the module-bench-env setup binary.
set -euo pipefail

runs=10
rounds_n=4
warmup=2
size_mib=5
export_json=
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  case $1 in
    --size-mib) size_mib=$2; shift 2 ;;
    *) rounds_option "$@"; shift 2 ;;
  esac
done
load_peers_env
for tool in hyperfine jq zip; do
  command -v "$tool" >/dev/null || { echo "module-publish.sh: $tool not found; run tests/peers/install.sh" >&2; exit 1; }
done

start_setup_env module-bench-env scalr-module-bench --size-mib "$size_mib"
echo "==> $("$SCALR_OCI_BIN" --version); $("$env_dir/bin/oras" version 2>/dev/null | head -1); $size_mib MiB module" >&2

declare -A name prepare command
command[ours]=$env_dir/ours.sh
command[theirs]=$env_dir/theirs.sh
prepare[ours]=$env_dir/prepare.sh
prepare[theirs]=$env_dir/prepare.sh
name[ours]='scalr-oci module publish'
name[theirs]='zip + oras push'
run_rounds ours theirs
summary=$(rounds_summary ours theirs)
[[ -n $export_json ]] && printf '%s\n' "$summary" >"$export_json"
jq -r '
  def ms: . * 10000 | round / 10;
  "publishing a module, \(.ours.runs) runs each:",
  "  scalr-oci module publish:  mean \(.ours.mean | ms) ms, median \(.ours.median | ms) ms, min \(.ours.min | ms) ms",
  "  zip + oras push:           mean \(.theirs.mean | ms) ms, median \(.theirs.median | ms) ms, min \(.theirs.min | ms) ms",
  "  ratio ours/theirs: median \(.ratio_median * 1000 | round / 1000), mean \(.ratio_mean * 1000 | round / 1000) (goal: <= 1.0)"
' <<<"$summary"
