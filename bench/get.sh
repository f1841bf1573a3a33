#!/usr/bin/env bash
# How fast a `get` answered from the Secret Service is: docker-credential-scalr
# (release build) against docker-credential-secretservice (Go + libsecret, the
# Debian package golang-docker-credential-helpers), side by side in ONE
# hyperfine run inside ONE private keyring session (dbus-run-session plus an
# unlocked gnome-keyring in a throw-away HOME), so both see the same machine
# at the same moment. Also bare start-up (`version`) of both.
#
#   bench/get.sh                  # prints hyperfine's table and the ratios
#   RUNS=300 bench/get.sh         # more runs (default 100 per command)
#
# Our helper normally keeps answers in a short-lived kernel-keyring cache;
# the comparison that matters ("answered from the Secret Service") turns it
# off with SCALR_OCI_CACHE_TTL=0. The cached get is measured too, for
# information, as its own row.
#
# Not a test: timing depends on the machine. Peers: tests/peers/install.sh.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[[ ${1:-} == --in-session ]] || run_in_private_session docker-credential-scalr

# ---- inside the private session bus -----------------------------------------
# gnome-keyring forks into the background once it is up and exits with the bus.
printf '%s' bench-keyring-password |
  gnome-keyring-daemon --unlock --components=secrets >/dev/null

host=bench.example.com:5000
secret="bench-secret-$RANDOM$RANDOM"
printf '%s' "$host" > "$TMP/url"
# The secret travels on stdin only (printf is a shell builtin: no argv).
for helper in "$OURS" "$THEIRS"; do
  printf '{"ServerURL":"%s","Username":"bench","Secret":"%s"}' "$host" "$secret" | "$helper" store
done
# Both must really answer from the keychain, or the timing means nothing.
for helper in "$OURS" "$THEIRS"; do
  answer=$(SCALR_OCI_CACHE_TTL=0 "$helper" get < "$TMP/url")
  [[ $answer == *"\"Secret\":\"$secret\""* ]] ||
    { echo "bench/get.sh: $helper get did not answer the stored secret" >&2; exit 1; }
done

# -N: no shell between hyperfine and the helper. `env` turns our cache off
# for one row; its own exec is counted against us, not against the Go helper.
hyperfine -N --warmup 10 --min-runs "$RUNS" --style basic --export-json "$TMP/result.json" \
  --input "$TMP/url" \
  -n "scalr get (no cache)" "env SCALR_OCI_CACHE_TTL=0 $OURS get" \
  -n "secretservice get" "$THEIRS get" \
  -n "scalr version" "$OURS version" \
  -n "secretservice version" "$THEIRS version" \
  -n "scalr get (cached)" "$OURS get"

report_means "$TMP/result.json" '
  "",
  "mean ms: scalr get (no cache) \(ms("scalr get (no cache)")), secretservice get \(ms("secretservice get")), scalr get (cached) \(ms("scalr get (cached)"))",
  "mean ms: scalr version \(ms("scalr version")), secretservice version \(ms("secretservice version"))",
  "ratio ours/theirs, get from the Secret Service: \(ratio("scalr get (no cache)"; "secretservice get"))",
  "ratio ours/theirs, bare start-up (version):    \(ratio("scalr version"; "secretservice version"))",
  "ratio ours/theirs, cached get:                 \(ratio("scalr get (cached)"; "secretservice get"))"
'
