#!/usr/bin/env bash
# The static musl helper against the glibc one, both release builds of
# docker-credential-scalr, for the three calls that matter:
#   - `version`: bare start-up (a static-pie binary has no dynamic loader to
#     run and no shared libraries to map);
#   - `get` answered from the cache (the kernel keyring; what most calls are);
#   - a cold control-plane `get` against the loopback fake
#     (tests/src/bin/fake-scalr.rs; cache off: TLS handshake, list request,
#     credentials request).
# Instruction counts (valgrind --tool=callgrind, one process each, clean
# environment; stable on a loaded machine), then wall time side by side in
# one hyperfine run per call (-N --input: no shell measured), min and median
# (a shared machine's load only adds time), as ratios static/glibc (lower:
# static is faster).
#
#   bench/static.sh               # 100 runs per command
#   RUNS=300 bench/static.sh
#
# The static binary comes from the one release command (tests/static.sh,
# release/): cargo build --release --locked --target x86_64-unknown-linux-musl
# -p docker-credential-scalr -p scalr-oci, or is $SCALR_OCI_STATIC_HELPER.
# Builds into $CARGO_TARGET_DIR (default target/). Needs valgrind and
# hyperfine (tests/peers/install.sh). A benchmark, never a test.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-100}

# shellcheck source=bench/lib.sh
. bench/lib.sh
peers_bin_first
need_tools valgrind hyperfine jq file
target=${CARGO_TARGET_DIR:-$PWD/target}
# The glibc helper by the same command as the static one, minus --target (other
# packages in one build would unify other dependency features into it).
cargo build --release --locked --quiet -p docker-credential-scalr -p scalr-oci
cargo build --release --locked --quiet -p scalr-oci-e2e --bin fake-scalr
GLIBC=$target/release/docker-credential-scalr
FAKE=$target/release/fake-scalr
# $SCALR_OCI_STATIC_HELPER: an already built static helper (a release's) instead.
STATIC=${SCALR_OCI_STATIC_HELPER:-}
if [[ -z $STATIC ]]; then
  cargo build --release --locked --quiet --target x86_64-unknown-linux-musl \
    -p docker-credential-scalr -p scalr-oci
  STATIC=$target/x86_64-unknown-linux-musl/release/docker-credential-scalr
fi
work=$(mktemp -d)
trap 'kill "${fake_pid:-}" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -m 700 "$work/home" "$work/run"
start_fake
echo "==> $(file -b "$GLIBC" | cut -d, -f1-2,4) vs $(file -b "$STATIC" | cut -d, -f1-2,4)" >&2

# The environment of every measured call: the fake's CA only (a caller's
# SSL_CERT_DIR would add every system root), the control plane as the only
# source, private HOME and runtime directory.
base_env=(PATH="$PATH" HOME="$work/home" XDG_RUNTIME_DIR="$work/run" SCALR_HOSTNAME="$SCALR_HOSTNAME"
  SCALR_TOKEN="$SCALR_TOKEN" SSL_CERT_FILE="$SSL_CERT_FILE" SCALR_OCI_SOURCES=control-plane)

# instructions BINARY VERB [VAR=VALUE...]: callgrind's whole-process count of one call.
instructions() {
  local binary=$1 verb=$2 file=$work/callgrind.out
  shift 2
  env -i "${base_env[@]}" "$@" valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$binary" "$verb" <"$work/host" >"$work/answer" 2>"$work/valgrind.err" ||
    { cat "$work/answer" "$work/valgrind.err" >&2; exit 1; }
  if [[ $verb == get ]] && ! grep -q "\"Secret\":\"$password\"" "$work/answer"; then
    echo "bench/static.sh: $binary get did not answer" >&2
    exit 1
  fi
  awk '/^summary:/ {print $2}' "$file"
}

# A get fills the cache (both builds read the same sealed entries).
env -i "${base_env[@]}" "$GLIBC" get <"$work/host" >/dev/null

declare -A count
for build in GLIBC STATIC; do
  count[$build,version]=$(instructions "${!build}" version)
  count[$build,cached]=$(instructions "${!build}" get)
  count[$build,cold]=$(instructions "${!build}" get SCALR_OCI_CACHE_TTL=0)
done

# wall ROW [VAR=VALUE...]: one hyperfine run of both builds; prints the row.
declare -A label=([version]="version" [cached]="get (cached)" [cold]="get (cold control plane)")
wall() {
  local row=$1 verb=get
  shift
  [[ $row == version ]] && verb=version
  env -i "${base_env[@]}" "$@" hyperfine -N --warmup 5 --runs "$RUNS" --style none \
    --input "$work/host" --export-json "$work/$row.json" \
    -n glibc "$GLIBC $verb" -n static "$STATIC $verb" >/dev/null
  jq -r --arg row "${label[$row]}" '
    def ms: . * 1000 | . * 100 | round / 100 | tostring + " ms";
    def ratio: . * 100 | round / 100;
    (.results | map({key: .command, value: .}) | from_entries) as $m
    | "\($row)\t\($m.glibc.min | ms) / \($m.glibc.median | ms)\t\($m.static.min | ms) / \($m.static.median | ms)\t\($m.static.min / $m.glibc.min | ratio) / \($m.static.median / $m.glibc.median | ratio)"
  ' "$work/$row.json"
}

{
  printf 'instructions (callgrind)\tglibc\tstatic\tstatic/glibc\n'
  for row in version cached cold; do
    awk -v row="${label[$row]}" -v g="${count[GLIBC,$row]}" -v s="${count[STATIC,$row]}" \
      'BEGIN {printf "%s\t%d\t%d\t%.2f\n", row, g, s, s / g}'
  done
  printf 'wall time min / median (hyperfine, %d runs)\tglibc\tstatic\tstatic/glibc\n' "$RUNS"
  wall version
  wall cached
  wall cold SCALR_OCI_CACHE_TTL=0
} | column -t -s $'\t'
