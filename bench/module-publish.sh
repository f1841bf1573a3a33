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
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds_n=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --size-mib) size_mib=$2; shift 2 ;;
    --export-json) export_json=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "module-publish.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
peers_env=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/env.sh
# shellcheck source=/dev/null
[[ -f $peers_env ]] && source "$peers_env"
for tool in hyperfine jq zip; do
  command -v "$tool" >/dev/null || { echo "module-publish.sh: $tool not found; run tests/peers/install.sh" >&2; exit 1; }
done

echo "==> building (release) docker-credential-scalr, scalr-oci and module-bench-env" >&2
(cd "$root" && cargo build --quiet --release --target-dir "$target" \
  -p docker-credential-scalr -p scalr-oci -p scalr-oci-e2e \
  --bin docker-credential-scalr --bin scalr-oci --bin module-bench-env)
export SCALR_OCI_HELPER_BIN=$target/release/docker-credential-scalr
export SCALR_OCI_BIN=$target/release/scalr-oci

work=$(mktemp -d "${TMPDIR:-/tmp}/scalr-module-bench.XXXXXX")
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
"$target/release/module-bench-env" --dir "$work/env" --size-mib "$size_mib" <"$work/stdin" >"$work/ready" 2>"$work/setup.log" &
setup_pid=$!
exec 3>"$work/stdin"
for _ in $(seq 1200); do
  grep -qx ready "$work/ready" 2>/dev/null && break
  kill -0 "$setup_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qx ready "$work/ready" 2>/dev/null; then
  echo "module-publish.sh: the setup did not become ready:" >&2
  cat "$work/setup.log" >&2
  exit 1
fi

env_dir=$work/env
echo "==> $("$SCALR_OCI_BIN" --version); $("$env_dir/bin/oras" version 2>/dev/null | head -1); $size_mib MiB module" >&2

# The machine is shared and its load drifts: rounds alternate the order,
# and the ratio is taken over all of them.
declare -A name command
command[ours]=$env_dir/ours.sh
command[theirs]=$env_dir/theirs.sh
name[ours]='scalr-oci module publish'
name[theirs]='zip + oras push'
rounds=()
for ((round = 1; round <= rounds_n; round++)); do
  if ((round % 2)); then first=ours second=theirs; else first=theirs second=ours; fi
  echo "==> round $round of $rounds_n" >&2
  hyperfine --style basic --warmup "$warmup" --runs "$runs" \
    --prepare "$env_dir/prepare.sh" \
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
  (stats("scalr-oci module publish")) as $o | (stats("zip + oras push")) as $t
  | {ours: $o, theirs: $t, ratio_mean: ($o.mean / $t.mean), ratio_median: ($o.median / $t.median)}
' "${rounds[@]}")
[[ -n $export_json ]] && printf '%s\n' "$summary" >"$export_json"
jq -r '
  def ms: . * 10000 | round / 10;
  "publishing a module, \(.ours.runs) runs each:",
  "  scalr-oci module publish:  mean \(.ours.mean | ms) ms, median \(.ours.median | ms) ms, min \(.ours.min | ms) ms",
  "  zip + oras push:           mean \(.theirs.mean | ms) ms, median \(.theirs.median | ms) ms, min \(.theirs.min | ms) ms",
  "  ratio ours/theirs: median \(.ratio_median * 1000 | round / 1000), mean \(.ratio_mean * 1000 | round / 1000) (goal: <= 1.0)"
' <<<"$summary"
