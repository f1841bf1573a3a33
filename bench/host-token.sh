#!/usr/bin/env bash
# How fast OpenTofu's host-token lookup is: `terraform-credentials-scalr get HOST`
# answered from the Secret Service (release build), against
# `docker-credential-secretservice get` (Go + libsecret, Debian's
# golang-docker-credential-helpers) reading an entry of the same size, side by
# side in ONE hyperfine run inside ONE private keyring session
# (dbus-run-session plus an unlocked gnome-keyring in a throw-away HOME).
# Also the Scalr-run path (`get` answered from SCALR_TOKEN, no keychain opened).
#
#   bench/host-token.sh           # prints hyperfine's table and the ratios
#   RUNS=300 bench/host-token.sh  # more runs (default 100 per command)
#
# Not a test: timing depends on the machine. Peers: tests/peers/install.sh.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[[ ${1:-} == --in-session ]] || run_in_private_session terraform-credentials-scalr --bin terraform-credentials-scalr

# ---- inside the private session bus -----------------------------------------
printf '%s' bench-keyring-password |
  gnome-keyring-daemon --unlock --components=secrets >/dev/null

host=acme.scalr.io
token="bench-token-$RANDOM$RANDOM$RANDOM"
printf '%s' "$host" > "$TMP/url"
# Secrets travel on stdin only (printf is a shell builtin: no argv).
printf '{"token":"%s"}' "$token" | "$OURS" store "$host"
printf '{"ServerURL":"%s","Username":"bench","Secret":"%s"}' "$host" "$token" | "$THEIRS" store
# Both must really answer from the keychain, or the timing means nothing.
[[ $("$OURS" get "$host") == "{\"token\":\"$token\"}" ]] ||
  { echo "bench/host-token.sh: $OURS get did not answer the stored token" >&2; exit 1; }
[[ $("$THEIRS" get < "$TMP/url") == *"\"Secret\":\"$token\""* ]] ||
  { echo "bench/host-token.sh: $THEIRS get did not answer the stored secret" >&2; exit 1; }
[[ $(SCALR_HOSTNAME=$host SCALR_TOKEN=$token "$OURS" get "$host") == "{\"token\":\"$token\"}" ]] ||
  { echo "bench/host-token.sh: the environment did not answer" >&2; exit 1; }

# -N: no shell between hyperfine and the helper. The environment row runs
# through `env`, whose exec is counted against us.
# --input is for every command; ours does not read stdin on `get`.
hyperfine -N --warmup 10 --min-runs "$RUNS" --style basic --export-json "$TMP/result.json" \
  --input "$TMP/url" \
  -n "host-token get (keychain)" "$OURS get $host" \
  -n "secretservice get" "$THEIRS get" \
  -n "host-token get (SCALR_TOKEN)" "env SCALR_HOSTNAME=$host SCALR_TOKEN=not-a-real-token $OURS get $host"

report_means "$TMP/result.json" '
  "",
  "mean ms: host-token get (keychain) \(ms("host-token get (keychain)")), secretservice get \(ms("secretservice get")), host-token get (SCALR_TOKEN) \(ms("host-token get (SCALR_TOKEN)"))",
  "ratio ours/theirs, get from the Secret Service: \(ratio("host-token get (keychain)"; "secretservice get"))",
  "ratio ours/theirs, get from the environment:    \(ratio("host-token get (SCALR_TOKEN)"; "secretservice get"))"
'
