#!/usr/bin/env bash
# `tofu init` of one private oci:// module, side by side in one run:
#   helper  credentials through docker-credential-scalr (OS keychain, cached)
#   plain   plain-text `oci_credentials { username password }` in the CLI config
# Every run starts from a fresh working directory (no .terraform, no lock
# file). Prints hyperfine's tables and the ratio helper/plain of the medians
# and means over all runs; the goal is within 5 % (ratio <= 1.05).
#
#   bench/tofu-init.sh [--rounds N] [--runs N] [--warmup N] [--export-json FILE]
#
# --rounds (default 4) hyperfine rounds of --runs (default 10) runs of each
# command, alternating which goes first; --export-json writes the summary.
#
# Needs the peers of tests/peers/install.sh (OpenTofu, ORAS, docker-registry,
# gnome-keyring, dbus, docker CLI, hyperfine). Builds the helper and
# scalr-oci with --release (the binaries users get), and the tofu-bench-env
# setup binary, into $CARGO_TARGET_DIR (default: target/ of the workspace).
set -euo pipefail

runs=10
rounds_n=4
warmup=3
export_json=
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds_n=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --export-json) export_json=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tofu-init.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
peers_env=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/env.sh
# shellcheck source=/dev/null
[[ -f $peers_env ]] && source "$peers_env"
command -v hyperfine >/dev/null || { echo "tofu-init.sh: hyperfine not found; run tests/peers/install.sh" >&2; exit 1; }

echo "==> building (release) docker-credential-scalr, scalr-oci and tofu-bench-env" >&2
(cd "$root" && cargo build --quiet --release --target-dir "$target" \
  -p docker-credential-scalr -p scalr-oci -p scalr-oci-e2e \
  --bin docker-credential-scalr --bin scalr-oci --bin tofu-bench-env)
export SCALR_OCI_HELPER_BIN=$target/release/docker-credential-scalr
export SCALR_OCI_BIN=$target/release/scalr-oci

work=$(mktemp -d "${TMPDIR:-/tmp}/scalr-tofu-bench.XXXXXX")
setup_pid=
cleanup() {
  # Closing the setup's stdin stops it; it then stops the registry and the
  # keyring it started. Bounded: killed after 20 s.
  exec 3>&- 2>/dev/null || true
  if [[ -n $setup_pid ]]; then
    for _ in $(seq 200); do kill -0 "$setup_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$setup_pid" 2>/dev/null || true
    wait "$setup_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$work/stdin"
"$target/release/tofu-bench-env" --dir "$work/env" <"$work/stdin" >"$work/ready" 2>"$work/setup.log" &
setup_pid=$!
exec 3>"$work/stdin"
for _ in $(seq 1200); do
  grep -qx ready "$work/ready" 2>/dev/null && break
  kill -0 "$setup_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qx ready "$work/ready" 2>/dev/null; then
  echo "tofu-init.sh: the setup did not become ready:" >&2
  cat "$work/setup.log" >&2
  exit 1
fi

env_dir=$work/env
tofu_version=$(TF_CLI_CONFIG_FILE=/dev/null "$env_dir/bin/tofu" version 2>/dev/null | grep -m1 '^OpenTofu' || true)
echo "==> $tofu_version; $("$SCALR_OCI_HELPER_BIN" version)" >&2

# The machine is shared and its load drifts: hyperfine times all runs of one
# command before the other, so the runs are split into rounds that alternate
# the order, and the ratio is taken over all of them.
declare -A name prepare command
for kind in helper plain; do
  prepare[$kind]="rm -rf '$env_dir/$kind/.terraform' '$env_dir/$kind/.terraform.lock.hcl'"
  command[$kind]=$env_dir/$kind/run.sh
done
name[helper]='helper (keychain, cached)'
name[plain]='plain-text oci_credentials'
rounds=()
for ((round = 1; round <= rounds_n; round++)); do
  if ((round % 2)); then first=helper second=plain; else first=plain second=helper; fi
  echo "==> round $round of $rounds_n" >&2
  hyperfine --style basic --warmup "$warmup" --runs "$runs" \
    --prepare "${prepare[$first]}" --prepare "${prepare[$second]}" \
    -n "${name[$first]}" -n "${name[$second]}" \
    "${command[$first]}" "${command[$second]}" \
    --export-json "$work/round-$round.json" >&2
  rounds+=("$work/round-$round.json")
done

summary=$(jq -s '
  def stats($name): [.[].results[] | select(.command == $name) | .times[]] | sort as $t
    | {runs: ($t | length), mean: (add / length),
       median: (if ($t | length) % 2 == 1 then $t[($t | length - 1) / 2]
                else ($t[($t | length) / 2 - 1] + $t[($t | length) / 2]) / 2 end),
       min: $t[0], max: $t[-1]};
  (stats("helper (keychain, cached)")) as $h | (stats("plain-text oci_credentials")) as $p
  | {helper: $h, plain: $p, ratio_mean: ($h.mean / $p.mean), ratio_median: ($h.median / $p.median)}
' "${rounds[@]}")
[[ -n $export_json ]] && printf '%s\n' "$summary" >"$export_json"
jq -r '
  def ms: . * 10000 | round / 10;
  "tofu init, \(.helper.runs) runs each:",
  "  helper (keychain, cached):   mean \(.helper.mean | ms) ms, median \(.helper.median | ms) ms, min \(.helper.min | ms) ms",
  "  plain-text oci_credentials:  mean \(.plain.mean | ms) ms, median \(.plain.median | ms) ms, min \(.plain.min | ms) ms",
  "  ratio helper/plain: median \(.ratio_median * 1000 | round / 1000), mean \(.ratio_mean * 1000 | round / 1000) (goal: <= 1.05)"
' <<<"$summary"
