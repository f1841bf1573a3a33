#!/usr/bin/env bash
# Benchmark: docker-credential-scalr answering from the Scalr control plane
# (a local fake over TLS), cold and cached, side by side in one run with the
# Go reference helper docker-credential-secretservice reading gnome-keyring;
# the cold row also under the system store (bundle + SSL_CERT_DIR).
#
#   bench/control-plane.sh            # release build, 50 runs each
#   RUNS=200 bench/control-plane.sh
#
# Needs the peers (tests/peers/install.sh): hyperfine >= 1.16 (for --input),
# gnome-keyring, dbus, docker-credential-secretservice. Prints hyperfine's
# table and the ratios; a benchmark, never a test.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-50}
PEERS_BIN=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/bin
HYPERFINE=$PEERS_BIN/hyperfine
[[ -x $HYPERFINE ]] || { echo "bench: $HYPERFINE missing; run tests/peers/install.sh" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. bench/lib.sh
fake_work

start_fake

# Trust only the fake's CA: a caller's SSL_CERT_DIR (often /etc/ssl/certs)
# would add every system root to each cold row (bench/cold-path.sh measures that).
unset SSL_CERT_DIR
# The system store as CI images name it (issue 21): the system bundle with the
# fake's CA appended as SSL_CERT_FILE, plus SSL_CERT_DIR=/etc/ssl/certs.
system_bundle=$(ls /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt 2>/dev/null | head -1 || true)
[[ -n $system_bundle && -d /etc/ssl/certs ]] || { echo "bench: no system CA bundle and /etc/ssl/certs" >&2; exit 1; }
cat "$system_bundle" "$SSL_CERT_FILE" >"$work/bundle.pem"
export HOME=$work/home XDG_RUNTIME_DIR=$work/run HYPERFINE HELPER RUNS work password
dbus-run-session -- bash -c '
  set -euo pipefail
  printf %s pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  printf "{\"ServerURL\":\"bench.registry.example:5000\",\"Username\":\"bench\",\"Secret\":\"%s\"}" "$password" |
    docker-credential-secretservice store
  # Sanity: both answer, with the same secret.
  for cmd in "$HELPER get" "docker-credential-secretservice get"; do
    $cmd <"$work/host" | grep -q "\"Secret\":\"$password\"" || { echo "bench: $cmd did not answer" >&2; exit 1; }
  done
  # The control plane is the only source: no keychain lookups in our numbers.
  export SCALR_OCI_SOURCES=control-plane
  "$HYPERFINE" -N --warmup 5 --runs "$RUNS" --input "$work/host" --export-json "$work/result.json" \
    -n "scalr get (control plane, cached)" "$HELPER get" \
    -n "scalr get (control plane, cold: list + credentials)" "env SCALR_OCI_CACHE_TTL=0 $HELPER get" \
    -n "scalr get (control plane, cold, system store: bundle + SSL_CERT_DIR)" \
      "env SCALR_OCI_CACHE_TTL=0 SSL_CERT_FILE=$work/bundle.pem SSL_CERT_DIR=/etc/ssl/certs $HELPER get" \
    -n "secretservice get (Go + libsecret)" "docker-credential-secretservice get"
'
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
names = list(r)
cached, cold, cold_system, go = (r[n]["mean"] for n in names)
print(f"\nratio secretservice / scalr cached: {go / cached:.1f}x faster (goal: >= 5x)")
print(f"ratio cached / cold:                 {cached / cold:.2f} (goal: <= 0.2)")
print(f"ratio scalr cold / secretservice:    {cold / go:.2f} (goal: <= 1.0)")
print(f"ratio scalr cold, system store / secretservice: {cold_system / go:.2f}")
print("instruction counts (stable on a loaded machine): bench/cold-path.sh")
PY
