# Sourced by the bench scripts (not run): the setup they share, so each script
# holds only what it measures. Every function reports under $bench (the
# script's name, set here from $0) and leaves its results in the globals its
# comment names; a function that sets an EXIT trap replaces the caller's.
bench=$(basename "$0")

# Exits non-zero naming the first of the tools $@ not on PATH.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      { echo "bench/$bench: $tool is missing; run tests/peers/install.sh" >&2; exit 1; }
  done
}

# The helper caches keychain answers only under a secret in a session
# keyring of the process's own, which a desktop login has (pam_keyinit); a
# CI job's or a container's shell shares the user-default one
# (`_uid_ses.UID`), and there every keychain `get` goes to the Secret Service
# (README, Security). So a bench whose rows say "cached" re-runs itself in a
# new session keyring, as a login would have, when it has none of its own.
# Call it first, with the script's arguments.
in_a_login_session() {
  # Without keyctl the check below would pass silently and "cached" rows
  # would time the Secret Service.
  need_tools keyctl
  [[ $(keyctl rdescribe @s 2>/dev/null) == *";_uid_ses."* ]] || return 0
  if keyctl session - true >/dev/null 2>&1; then
    exec keyctl session - bash "$0" "$@"
  fi
  echo "bench/$bench: the kernel refuses a session keyring here; keychain answers are not cached in this run" >&2
}

# ---- the side-by-side hyperfine benches (module-publish.sh, tofu-init.sh) ----

# The options both take (--runs, --rounds, --warmup, --export-json, --help),
# parsed from "$@" into runs (default 10), rounds_n (4), warmup (the value
# the script set before, else 2) and export_json (none). An option of the
# script's own goes to script_option "$@" when the script defines one
# (which returns non-zero for an option it does not know). --help prints the
# script's opening comment; anything else unknown exits 2.
rounds_options() {
  runs=10 rounds_n=4 warmup=${warmup:-2} export_json=
  while (($#)); do
    if declare -F script_option >/dev/null && script_option "$@"; then
      shift 2
      continue
    fi
    case $1 in
      --runs) runs=$2 ;;
      --rounds) rounds_n=$2 ;;
      --warmup) warmup=$2 ;;
      --export-json) export_json=$2 ;;
      -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$bench: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
  done
}

# Sets $root (the workspace) and $target ($CARGO_TARGET_DIR, default
# target/ of the workspace), and sources the peers' env.sh when it is there.
load_peers_env() {
  root=$(cd "$(dirname "$0")/.." && pwd)
  target=${CARGO_TARGET_DIR:-$root/target}
  local peers_env=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/env.sh
  # shellcheck source=/dev/null
  [[ -f $peers_env ]] && source "$peers_env"
  return 0
}

# Builds the helper, scalr-oci and the set-up binary bench-env
# (tests/src/bin/bench-env/) with --release into $target, exports
# SCALR_OCI_HELPER_BIN and SCALR_OCI_BIN, makes $work (mktemp, prefix $2) and
# starts `bench-env $1 --dir $work/env ARGS...` (the rest of the arguments).
# Returns once the setup printed `ready`; sets
# $env_dir. The EXIT trap stops the setup (by closing its stdin) and removes
# $work. Needs $root and $target.
start_setup_env() {
  local kind=$1 prefix=$2
  shift 2
  echo "==> building (release) docker-credential-scalr, scalr-oci and bench-env" >&2
  (cd "$root" && cargo build --quiet --release --target-dir "$target" \
    -p docker-credential-scalr -p scalr-oci -p scalr-oci-e2e \
    --bin docker-credential-scalr --bin scalr-oci --bin bench-env)
  export SCALR_OCI_HELPER_BIN=$target/release/docker-credential-scalr
  # --helper-target TRIPLE (tofu-init.sh): that build of the helper instead,
  # e.g. the static x86_64-unknown-linux-musl one the Linux release ships.
  if [[ -n ${helper_target:-} ]]; then
    (cd "$root" && cargo build --quiet --release --target-dir "$target" \
      --target "$helper_target" -p docker-credential-scalr --bin docker-credential-scalr)
    SCALR_OCI_HELPER_BIN=$target/$helper_target/release/docker-credential-scalr
  fi
  export SCALR_OCI_BIN=$target/release/scalr-oci

  work=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
  setup_pid=
  trap stop_setup_env EXIT
  trap 'exit 130' INT TERM

  mkfifo "$work/stdin"
  "$target/release/bench-env" "$kind" --dir "$work/env" "$@" <"$work/stdin" >"$work/ready" 2>"$work/setup.log" &
  setup_pid=$!
  exec 3>"$work/stdin"
  for _ in $(seq 1200); do
    grep -qx ready "$work/ready" 2>/dev/null && break
    kill -0 "$setup_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -qx ready "$work/ready" 2>/dev/null; then
    echo "$bench: the setup did not become ready:" >&2
    cat "$work/setup.log" >&2
    exit 1
  fi
  env_dir=$work/env
}

stop_setup_env() {
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

# Runs $rounds_n hyperfine rounds of $runs runs (after $warmup) of the kinds
# $1 and $2, alternating which goes first: the machine is shared and its load
# drifts, so the ratio is taken over all rounds. Reads the caller's arrays
# name, prepare and command (indexed by kind); appends each round's JSON
# (in $work) to the array rounds.
run_rounds() {
  local a=$1 b=$2 first second round
  rounds=()
  for ((round = 1; round <= rounds_n; round++)); do
    if ((round % 2)); then first=$a second=$b; else first=$b second=$a; fi
    echo "==> round $round of $rounds_n" >&2
    hyperfine --style basic --warmup "$warmup" --runs "$runs" \
      --prepare "${prepare[$first]}" --prepare "${prepare[$second]}" \
      -n "${name[$first]}" -n "${name[$second]}" \
      "${command[$first]}" "${command[$second]}" \
      --export-json "$work/round-$round.json" >&2
    rounds+=("$work/round-$round.json")
  done
}

# Prints the summary over all $rounds as JSON: {$1: stats, $2: stats,
# ratio_mean, ratio_median} with the stats (runs, mean, median, min, max) of
# the commands named name[$1] and name[$2]; the ratios are $1/$2.
rounds_summary() {
  jq -s --arg a "$1" --arg b "$2" --arg na "${name[$1]}" --arg nb "${name[$2]}" '
    def stats($name): [.[].results[] | select(.command == $name) | .times[]] | sort as $t
      | {runs: ($t | length), mean: (add / length),
         median: (if ($t | length) % 2 == 1 then $t[($t | length - 1) / 2]
                  else ($t[($t | length) / 2 - 1] + $t[($t | length) / 2]) / 2 end),
         min: $t[0], max: $t[-1]};
    (stats($na)) as $x | (stats($nb)) as $y
    | {($a): $x, ($b): $y, ratio_mean: ($x.mean / $y.mean), ratio_median: ($x.median / $y.median)}
  ' "${rounds[@]}"
}

# Runs the rounds of the kinds $1 and $2 (run_rounds), writes their summary
# (rounds_summary) to $export_json when that is set, and prints it: "$3, N
# runs each:", each kind's mean, median and min in ms under its name, and the
# ratio $1/$2 of the medians and the means against the goal "<= $4".
compare_rounds() {
  local a=$1 b=$2 summary
  run_rounds "$a" "$b"
  summary=$(rounds_summary "$a" "$b")
  [[ -n $export_json ]] && printf '%s\n' "$summary" >"$export_json"
  jq -r --arg a "$a" --arg b "$b" --arg na "${name[$a]}" --arg nb "${name[$b]}" \
    --arg title "$3" --arg goal "$4" '
    def ms: . * 10000 | round / 10;
    def width: [$na, $nb] | map(length) | max + 3;
    def row($name; $s): "  \($name):\([range(width - ($name | length) - 1)] | map(" ") | add)mean \($s.mean | ms) ms, median \($s.median | ms) ms, min \($s.min | ms) ms";
    "\($title), \(.[$a].runs) runs each:",
    row($na; .[$a]),
    row($nb; .[$b]),
    "  ratio \($a)/\($b): median \(.ratio_median * 1000 | round / 1000), mean \(.ratio_mean * 1000 | round / 1000) (goal: <= \($goal))"
  ' <<<"$summary"
}

# Compares the set-up's ours.sh (named $1) with its theirs.sh (named $2),
# both after its prepare.sh (compare_rounds: title $3, goal ours/theirs <=
# $4), after printing the versions of scalr-oci and ORAS and $5. Needs
# $env_dir (start_setup_env).
compare_ours_theirs() {
  echo "==> $("$SCALR_OCI_BIN" --version); $("$env_dir/bin/oras" version 2>/dev/null | head -1); $5" >&2
  declare -gA name prepare command
  local kind
  for kind in ours theirs; do
    command[$kind]=$env_dir/$kind.sh
    prepare[$kind]=$env_dir/prepare.sh
  done
  name[ours]=$1
  name[theirs]=$2
  compare_rounds ours theirs "$3" "$4"
}

# ---- the keychain benches in a private session (get.sh, host-token.sh) ------

# Puts the peers' bin first on PATH when it holds hyperfine: >= 1.16 for
# --input, with which no shell is timed, only the helpers
# (tests/peers/install.sh builds 1.20 into the peers' bin).
peers_bin_first() {
  local peers_bin=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/bin
  [[ -x $peers_bin/hyperfine ]] && PATH=$peers_bin:$PATH
  return 0
}

# The script's first step, unless it is already the run inside (its first
# argument is --in-session): in a login session keyring of its own
# (in_a_login_session), checks the tools, builds our binary $1 (release; the
# rest of the arguments go to cargo build) as $OURS, takes
# docker-credential-secretservice as $THEIRS, then runs
# `bash SCRIPT --in-session` under dbus-run-session in a clean environment
# (nothing of the caller's own session or settings) with a throw-away HOME:
# makes $TMP (removed on exit) and passes OURS, THEIRS, TMP and RUNS
# (default 100) through; then exits.
run_in_private_session() {
  local bin=$1
  shift
  in_a_login_session
  local self
  self=$(realpath "$0")
  cd "$(dirname "$self")/.."
  peers_bin_first
  need_tools hyperfine dbus-run-session gnome-keyring-daemon \
    docker-credential-secretservice jq cargo
  cargo build --release --quiet -p docker-credential-scalr "$@"
  OURS=$(realpath "${CARGO_TARGET_DIR:-target}/release/$bin")
  THEIRS=$(command -v docker-credential-secretservice)
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  mkdir -p "$TMP/home/.local/share" "$TMP/home/.config" "$TMP/home/.cache" "$TMP/run"
  chmod 700 "$TMP/run"
  env -i PATH="$PATH" LANG=C.UTF-8 OURS="$OURS" THEIRS="$THEIRS" TMP="$TMP" RUNS="${RUNS:-100}" \
    HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run" XDG_CONFIG_HOME="$TMP/home/.config" \
    XDG_DATA_HOME="$TMP/home/.local/share" XDG_CACHE_HOME="$TMP/home/.cache" \
    timeout 900 dbus-run-session -- bash "$self" --in-session
  exit
}

# Prints the jq filter $2 over hyperfine's --export-json file $1, where
# ms($name) is the mean of the command named $name in ms and ratio($a; $b)
# the mean of $a over the mean of $b (both to 2 decimals).
report_means() {
  jq -r '
    (.results | map({key: .command, value: .}) | from_entries) as $r
    | def ms($n): $r[$n].mean * 1000 | . * 100 | round / 100;
      def ratio($a; $b): $r[$a].mean / $r[$b].mean | . * 100 | round / 100;
  '"$2" "$1"
}

# ---- the loopback fake Scalr control plane (cold-path.sh, control-plane.sh) --

# Builds the release helper and the fake (tests/src/bin/fake-scalr.rs) into
# target/ (run from the workspace root), sets $HELPER and $FAKE, and makes
# $work (mktemp; removed on exit, the fake killed) with private home/ and run/.
fake_work() {
  cargo build --release --quiet -p docker-credential-scalr -p scalr-oci-e2e --bin docker-credential-scalr --bin fake-scalr
  HELPER=$PWD/target/release/docker-credential-scalr
  FAKE=$PWD/target/release/fake-scalr
  work=$(mktemp -d)
  trap 'kill "${fake_pid:-}" 2>/dev/null; rm -rf "$work"' EXIT
  mkdir -m 700 "$work/home" "$work/run"
}

# Starts the fake with one integration for bench.registry.example:5000.
# Needs $FAKE and $work (fake_work). Sets $password (made here; it reaches the
# fake only through a 0600 file, never argv) and $fake_pid (the EXIT trap of
# fake_work kills it), writes the host to $work/host, and exports
# SCALR_HOSTNAME, SCALR_TOKEN and SSL_CERT_FILE.
start_fake() {
  mkdir -m 700 "$work/fake"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  (umask 077; printf '[{"registry-url":"https://bench.registry.example:5000","username":"bench","password":"%s"}]\n' "$password" >"$work/spec.json")
  "$FAKE" --dir "$work/fake" --spec "$work/spec.json" >"$work/fake.out" 2>"$work/fake.err" </dev/null &
  fake_pid=$!
  for _ in $(seq 100); do grep -q ready "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$work/fake.out" || { cat "$work/fake.err" >&2; return 1; }
  set -a; . "$work/fake/env"; set +a
  printf %s bench.registry.example:5000 >"$work/host"
}
