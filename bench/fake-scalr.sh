# Sourced by the bench scripts (not run): starts the release fake Scalr
# control plane (tests/src/bin/fake-scalr.rs) with one integration for
# bench.registry.example:5000.
#
# Needs $FAKE (the binary) and $work (a private temporary directory). Sets
# $password (made here; it reaches the fake only through a 0600 file, never
# argv) and $fake_pid (the caller's EXIT trap kills it), writes the host to
# $work/host, and exports SCALR_HOSTNAME, SCALR_TOKEN and SSL_CERT_FILE.
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
