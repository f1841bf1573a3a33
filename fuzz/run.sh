#!/usr/bin/env bash
# Runs fuzz targets for a given time each, from the committed corpora.
#
#   fuzz/run.sh TARGET|all SECONDS [libFuzzer flags...]
#
#   fuzz/run.sh all 20                       what tests/run.sh (CI) does
#   nice -n 19 fuzz/run.sh all 600 -jobs=1   the long run
#
# Needs the nightly toolchain and cargo-fuzz (tests/peers/install.sh puts a
# pinned one in the peers' cache). New inputs the fuzzer finds go to a
# scratch corpus ($FUZZ_WORK, default a temporary directory), never into
# fuzz/corpus/: the committed corpora stay small and reviewed (add one with
# `cargo +nightly fuzz cmin`). A crash is saved under
# fuzz/artifacts/TARGET/ and fails the run; reproduce it with
#   cargo +nightly fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-...
# and, when the bug is in someone else's module, keep the minimised input
# under fuzz/regressions/TARGET/ (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"

readonly TARGETS=(registry_host store_json settings token_files config_edits oci_challenge oci_link oci_reference module_zip)

usage() {
  echo "usage: $0 TARGET|all SECONDS [libFuzzer flags...]; targets: ${TARGETS[*]}" >&2
  exit 2
}
(($# >= 2)) || usage
target=$1 seconds=$2
shift 2
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage
case $target in
  all) targets=("${TARGETS[@]}") ;;
  *)
    [[ " ${TARGETS[*]} " == *" $target "* ]] || usage
    targets=("$target")
    ;;
esac

die() {
  echo "fuzz/run.sh: $*" >&2
  exit 1
}
cargo +nightly --version >/dev/null 2>&1 ||
  die "no nightly toolchain (cargo +nightly fails); tests/peers/install.sh installs it where rustup can"
cargo +nightly fuzz --version >/dev/null 2>&1 ||
  die "no cargo-fuzz on PATH; run tests/peers/install.sh and source the peers' env.sh"

# No sanitizer: the code under test is safe Rust (no unsafe of ours), so
# AddressSanitizer would only slow every input down; panics, overflow checks
# (debug assertions are on) and the targets' own invariants are the oracle.
build=(-s none)
echo "==> cargo fuzz build"
nice cargo +nightly fuzz build "${build[@]}"

work=${FUZZ_WORK:-$(mktemp -d)}
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  flags=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1)
  echo "==> fuzz $t for ${seconds}s from fuzz/corpus/$t ($(find "corpus/$t" -type f | wc -l) inputs)"
  # libFuzzer prints a line per new input: keep its output in a log and
  # show the end (the final stats, or the crash with its stack and input).
  status=0
  cargo +nightly fuzz run "${build[@]}" "$t" "$work/$t" "corpus/$t" \
    -- "${flags[@]}" "$@" >"$work/$t.log" 2>&1 || status=$?
  for log in fuzz-*.log; do # written instead when -jobs is given
    [[ -f $log ]] || continue
    cat "$log" >>"$work/$t.log"
    rm -f "$log"
  done
  # (dropped: the per-input lines and the recommended-dictionary entries, not
  # a panic message, which may start with a quoted input too)
  grep -v -E -e '^#[0-9]' -e '^".*" # Uses: [0-9]+$' "$work/$t.log" | tail -n 40
  after=$(find "artifacts/$t" -type f | wc -l)
  if ((status != 0 || after > before)); then
    echo "==> $t FAILED (exit $status); new artifacts:" >&2
    find "artifacts/$t" -type f -newer "$work/$t" >&2 || true
    failed+=("$t")
  else
    echo "==> $t: no crash in ${seconds}s"
  fi
done
if ((${#failed[@]})); then
  die "crashes in: ${failed[*]}"
fi
echo "fuzz: ${#targets[@]} passed, 0 failed"
