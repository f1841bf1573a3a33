#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of one process each, release
# build: an instruction count is stable on a loaded machine, a wall time is
# not. Rows:
#   - cold control-plane `get` against the loopback fake (tests/src/bin/fake-scalr.rs;
#     cache off, so: TLS handshake, list request, credentials request);
#   - the same under three trust set-ups side by side: the fake's CA only
#     (SSL_CERT_FILE); the system bundle with the fake's CA appended
#     (SSL_CERT_FILE, ~150 real roots); that bundle plus SSL_CERT_DIR=/etc/ssl/certs,
#     as many CI images (and this machine) set them: every root named twice
#     (the directory's files are listed and bounded, but read only when the
#     bundle does not anchor the chain: helper/src/https/root_files.rs);
#   - `version` (bare start-up);
#   - keychain `get` with the cache off, when gnome-keyring and dbus are here.
# Also checks that no release binary links aws-lc-rs (helper/src/https/mod.rs says why).
#
#   bench/cold-path.sh                 # prints one line per row
#   KEEP=1 bench/cold-path.sh          # keeps callgrind.out.* in bench/out/ for callgrind_annotate
#   KEEP=1 HELPER_BIN=path bench/cold-path.sh   # measures that helper binary instead, e.g. one built
#       with CARGO_PROFILE_RELEASE_DEBUG=true CARGO_PROFILE_RELEASE_STRIP=none (same code, symbols kept)
#
# Compare binaries built by the same command: the helper built together with
# other packages (the workspace, or scalr-oci-e2e as here) unifies their
# dependency features into it, and a bare start-up alone then differs by
# ~80,000 instructions (more relocations, libm). The rows here build
# `-p docker-credential-scalr -p scalr-oci-e2e`.
#
# Needs valgrind. A benchmark, never a test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "bench: valgrind is missing" >&2; exit 1; }

# One provider: the release binaries must not link aws-lc-rs at all.
for pkg in docker-credential-scalr scalr-oci; do
  if cargo tree -q -e features,normal -p "$pkg" -i aws-lc-rs 2>/dev/null | grep -q .; then
    echo "bench: $pkg depends on aws-lc-rs:" >&2
    cargo tree -e features,normal -p "$pkg" -i aws-lc-rs >&2
    exit 1
  fi
done
echo "cargo tree -e features -i aws-lc-rs: no release binary depends on aws-lc-rs"

# shellcheck source=bench/lib.sh
. bench/lib.sh
fake_work
HELPER=${HELPER_BIN:-$HELPER}
out=${KEEP:+$PWD/bench/out}
out=${out:-$work}
mkdir -p "$out"

start_fake

# Instructions of one run: callgrind's "summary:" line (the whole process,
# threads included). A clean environment: a caller's SSL_CERT_DIR (often
# /etc/ssl/certs) would add every root of the system to each row.
count() {
  local name=$1; shift
  local file=$out/callgrind.out.${name//[^A-Za-z0-9]/_}
  env -i PATH="$PATH" SCALR_HOSTNAME="$SCALR_HOSTNAME" SCALR_TOKEN="$SCALR_TOKEN" \
    SSL_CERT_FILE="$fake_ca" "$@" valgrind --tool=callgrind --callgrind-out-file="$file" --trace-children=no \
    "$HELPER" "${verb:-get}" <"$work/host" >"$work/answer" 2>"$work/valgrind.err" ||
    { cat "$work/answer" "$work/valgrind.err" >&2; exit 1; }
  printf '%-58s %14s instructions\n' "$name" \
    "$(awk '/^summary:/ {print $2}' "$file" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')"
}

fake_ca=$SSL_CERT_FILE
common=(HOME="$work/home" XDG_RUNTIME_DIR="$work/run" SCALR_OCI_SOURCES=control-plane SCALR_OCI_CACHE_TTL=0)
cold_answered() {
  grep -q "\"Secret\":\"$password\"" "$work/answer" || { echo "bench: the cold get ($1) did not answer" >&2; exit 1; }
}

# ---- the three trust set-ups of a cold get (issue 21) ----
count "cold control-plane get (1: fake CA only as SSL_CERT_FILE)" "${common[@]}"
cold_answered 1
system_bundle=$(ls /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt 2>/dev/null | head -1 || true)
if [[ -n $system_bundle ]]; then
  cat "$system_bundle" "$fake_ca" >"$work/bundle.pem"
  count "cold control-plane get (2: system bundle + fake CA, $(grep -c 'BEGIN CERT' "$work/bundle.pem") roots)" \
    "${common[@]}" SSL_CERT_FILE="$work/bundle.pem"
  cold_answered 2
  if [[ -d /etc/ssl/certs ]]; then
    count "cold control-plane get (3: 2 + SSL_CERT_DIR=/etc/ssl/certs, $(find /etc/ssl/certs -maxdepth 1 | wc -l) entries)" \
      "${common[@]}" SSL_CERT_FILE="$work/bundle.pem" SSL_CERT_DIR=/etc/ssl/certs
    cold_answered 3
  fi
else
  echo "cold control-plane get (2, 3): not measured (no system CA bundle)"
fi

# The cache as main has it (kernel keyring): one get fills it, the next is
# answered from it.
count "control-plane get, filling the cache" HOME="$work/home" XDG_RUNTIME_DIR="$work/run" SCALR_OCI_SOURCES=control-plane
count "control-plane get, cached" HOME="$work/home" XDG_RUNTIME_DIR="$work/run" SCALR_OCI_SOURCES=control-plane
grep -q "\"Secret\":\"$password\"" "$work/answer" || { echo "bench: the cached get did not answer" >&2; exit 1; }

verb=version count "version" HOME="$work/home"

if command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null; then
  export HELPER work out password fake_ca
  export -f count
  HOME=$work/home XDG_RUNTIME_DIR=$work/run dbus-run-session -- bash -c '
    set -euo pipefail
    printf %s pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    printf "{\"ServerURL\":\"bench.registry.example:5000\",\"Username\":\"bench\",\"Secret\":\"%s\"}" "$password" | "$HELPER" store
    count "keychain get (Secret Service, cache off)" DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" \
      HOME="$HOME" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" SCALR_OCI_SOURCES=keychain SCALR_OCI_CACHE_TTL=0
  ' || echo "keychain get: not measured (no working gnome-keyring session)"
else
  echo "keychain get: not measured (gnome-keyring-daemon or dbus-run-session missing)"
fi
