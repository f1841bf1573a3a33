#!/usr/bin/env bash
# Windows behaviour, proven under Wine on this Linux machine.
#
# 1. A fresh Wine prefix (64-bit) in a temporary directory, with the
#    test-only bcryptprimitives.dll shim (tests/wine/bcryptprimitives.c says
#    which Wine gap it fills; it is never shipped).
# 2. The shipped Windows binaries, built with mingw-w64 by the one release
#    build (release/binaries.sh: `cargo auditable build --release --locked
#    --target x86_64-pc-windows-gnu -p docker-credential-scalr -p scalr-oci`
#    with release/targets.sh's settings, which the tests below share).
# 3. Under Wine, as cargo's runner: the unit tests of both crates and the
#    in-process integration tests that hold on Windows (helper: protocol,
#    registry_props, diagnostics; scalr-oci: golden, corpus). Release
#    profile and the same packages, so they share the binaries' compiled
#    dependencies. (Release binaries for the end-to-end run also because
#    Wine 8's CredEnumerateW returns CREDENTIALW records at odd addresses,
#    packed after each odd-sized blob, which Windows never does; a debug
#    build's alignment check then panics in `list` and `status`.)
# 4. End to end, each program a fresh Windows process in a clean
#    environment: docker-credential-scalr.exe store/get/list/erase through
#    the Credential Manager (CredWriteW/CredReadW/CredEnumerateW/CredDeleteW)
#    with the Docker Hub and `https://` spellings; terraform-credentials-
#    scalr.exe store/get/forget; scalr-oci.exe migrate of a planted
#    plain-text %APPDATA%\tofu.rc, configure tofu (also --credentials-
#    helper: the .exe plugin copy in %APPDATA%\terraform.d\plugins),
#    configure docker (%USERPROFILE%\.docker\config.json), status.
# 5. Every file under the temporary directory (the whole prefix with its
#    registry and C:\users, the Unix HOME and TMPDIR of the Windows
#    programs) is searched for every secret used, in every encoding
#    tests/wine/secrets.py lists. Nothing is excluded: Wine keeps the
#    Credential Manager's blobs in user.reg ARC4-encrypted under a key stored
#    beside them (obfuscation, not protection; Windows uses DPAPI), so no
#    plain form of a secret is there either. A check decrypts that blob to
#    show that the secret really is in the Credential Manager.
#
# The end-to-end checks are this shell script rather than a Rust test: they
# are one sequence of processes against one Wine prefix (state carries from
# store to get to erase), every step is a command line with an exact
# expected output, and they need the prefix this script makes anyway.
#
# Prints one line per check and `wine: N passed, N failed`; exits non-zero
# on any failure. Without wine or mingw-w64 it skips loudly, unless CI is
# set: then it installs them (Debian) and a missing tool is a failure.
# KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=x86_64-pc-windows-gnu
started=$SECONDS

check_prefix=wine
# shellcheck source=tests/lib.sh
. tests/lib.sh

# ---- tools -------------------------------------------------------------------
tools=(wine wineboot wineserver winepath x86_64-w64-mingw32-gcc python3)
missing() {
    local tool
    for tool in "${tools[@]}"; do command -v "$tool" >/dev/null || printf '%s ' "$tool"; done
}
if [[ -n $(missing) && -n ${CI:-} ]] && command -v apt-get >/dev/null; then
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq wine wine64 mingw-w64 >&2 || true
fi
if [[ -n $(missing) ]]; then
    if [[ -n ${CI:-} ]]; then
        bad "tools: missing $(missing)(Debian: wine wine64 mingw-w64 python3); CI is set, so this fails"
        finish
    fi
    printf '\n*** SKIPPED tests/wine.sh: missing %s(Debian: wine wine64 mingw-w64 python3).\n*** With CI set this would be a failure.\n\n' "$(missing)" >&2
    exit 0
fi
add_targets "$target"

# ---- a fresh prefix with the shim ----------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/scalr-oci-wine.XXXXXX")
export WINEPREFIX=$work/prefix WINEARCH=win64 WINEDEBUG=-all
# No Mono or Gecko installer: nothing here needs .NET or a browser engine.
export WINEDLLOVERRIDES='mscoree,mshtml='
cleanup() {
    wineserver -k 2>/dev/null || true
    if [[ -n ${KEEP:-} ]]; then echo "wine: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/home" "$work/tmp" "$work/io"

echo "==> wine: a fresh prefix ($(wine --version 2>/dev/null))" >&2
# One wineserver for the whole run (it stays 30 s after its last client).
mkdir -p "$WINEPREFIX"
wineserver -p30
if ! wineboot -i >"$work/wineboot.log" 2>&1; then
    bad "wineboot -i makes a fresh prefix" "$(tail -5 "$work/wineboot.log")"
    finish
fi
system32=$WINEPREFIX/drive_c/windows/system32
if x86_64-w64-mingw32-gcc -O2 -shared -s -o "$system32/bcryptprimitives.dll" \
    tests/wine/bcryptprimitives.c tests/wine/bcryptprimitives.def -ladvapi32 2>"$work/shim.log"; then
    ok "shim: bcryptprimitives.dll (ProcessPrng, a Wine 8 gap) built with mingw-w64 into the prefix"
else
    bad "shim: bcryptprimitives.dll builds" "$(cat "$work/shim.log")"
    finish
fi
# ---- build -----------------------------------------------------------------------
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/$target/release
echo "==> wine: release/binaries.sh $target" >&2
# shellcheck source=release/targets.sh
. release/targets.sh
if ! sh release/binaries.sh "$target" >/dev/null; then
    bad "release/binaries.sh $target"
    finish
fi

# ---- unit and in-process tests under Wine -----------------------------------------
# One cargo invocation with the same two packages and profile as the build
# above, so the tests reuse its compiled dependencies (selecting one package
# would unify other features and rebuild a third of them). One line per test
# executable, from cargo's "Running" and "test result" lines.
echo "==> wine: cargo test --release --target $target (runner: wine)" >&2
test_status=0
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
    cargo test --release --locked --no-fail-fast --target "$target" -p docker-credential-scalr -p scalr-oci \
    --lib --test protocol --test registry_props --test diagnostics --test golden --test corpus \
    >"$work/test.log" 2>&1 || test_status=$?
awk '
    /^ *Running / { name = $0; sub(/.*\//, "", name); sub(/-[0-9a-f]+(\.exe)?\)$/, "", name); next }
    /^test result: / && name != "" {
        result = $0; sub(/^test result: /, "", result); sub(/; [0-9]+ measured.*/, "", result)
        print (result ~ /^ok/ ? "ok" : "FAIL") "\t" name "\t" result; name = ""
    }' "$work/test.log" >"$work/test-results"
while IFS=$'\t' read -r verdict name result; do
    if [[ $verdict == ok ]]; then
        ok "cargo test under Wine: $name: $result"
    else
        bad "cargo test under Wine: $name: $result" \
            "$(grep -E '^test .* FAILED|panicked at|^    left|^   right' "$work/test.log" | head -20)"
    fi
done <"$work/test-results"
if [[ $test_status != 0 ]] && ! grep -q FAIL "$work/test-results"; then
    bad "cargo test --target $target under Wine" "$(grep -E '^error' "$work/test.log" | head -20)"
fi
if [[ $(wc -l <"$work/test-results") -lt 7 ]]; then
    bad "cargo test under Wine ran all 7 test executables" "$(cut -f2 "$work/test-results")"
fi

# ---- end to end ---------------------------------------------------------------
helper=$bin/docker-credential-scalr.exe
host_token=$bin/terraform-credentials-scalr.exe
scalr_oci=$bin/scalr-oci.exe
for exe in "$helper" "$host_token" "$scalr_oci"; do
    [[ -f $exe ]] || { bad "$exe was built"; finish; }
done

# Runs a Windows program under Wine with $1 on stdin, in a clean environment
# (nothing of the caller's HOME, XDG_*, TF_CLI_CONFIG_FILE or SSL_* reaches
# it; Wine adds the Windows variables: APPDATA, USERPROFILE, ...), with the
# release binaries' directory on the Windows PATH. Leaves the exit code in
# $rc and the output in $work/io/out and $work/io/err.
win() {
    local input=$1
    shift
    rc=0
    printf '%s' "$input" | env -i PATH=/usr/bin:/bin HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 \
        WINEPREFIX="$WINEPREFIX" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="$WINEDLLOVERRIDES" \
        WINEPATH="$windows_bin" timeout 120 wine "$@" >"$work/io/out" 2>"$work/io/err" || rc=$?
}
windows_bin=$(winepath -w "$bin")

secret_hub=s3cr3t-wine-hub-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
secret_reg=s3cr3t-wine-reg-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
secret_migrated=s3cr3t-wine-migrated-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
host_token_secret=s3cr3t-wine-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

# What a failed check shows: the run's exit code and output, with every
# secret replaced by its name (bash expansions: no secret in any argv).
shown() {
    local out err
    out=$(head -c 2000 "$work/io/out") err=$(head -c 2000 "$work/io/err")
    for pair in "hub:$secret_hub" "reg:$secret_reg" "migrated:$secret_migrated" "token:$host_token_secret"; do
        out=${out//"${pair#*:}"/<secret ${pair%%:*}>}
        err=${err//"${pair#*:}"/<secret ${pair%%:*}>}
    done
    printf 'exit %s\nstdout: %s\nstderr: %s' "$rc" "$out" "$err"
}

# expect NAME CODE STDOUT: the last run exited CODE and printed exactly STDOUT.
expect() {
    if [[ $rc == "$2" ]] && cmp -s <(printf '%s' "$3") "$work/io/out"; then
        ok "$1"
    else
        bad "$1" "$(shown)"
    fi
}

# The Password value of Credential Manager entry $1 (generic), decrypted as
# Wine stores it (tests/wine/secrets.py); empty when there is no such entry.
credential_manager_blob() {
    local key blob
    win "" reg query 'HKCU\Software\Wine\Credential Manager' /v EncryptionKey
    key=$(awk '$1 == "EncryptionKey" {print $3}' "$work/io/out")
    win "" reg query "HKCU\\Software\\Wine\\Credential Manager\\Generic: $1" /v Password
    blob=$(awk '$1 == "Password" {print $3}' "$work/io/out")
    [[ -n $key && -n $blob ]] && python3 tests/wine/secrets.py wine-credential "$key" "$blob"
    return 0
}

not_found='credentials not found in native keychain
'
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)

echo "==> wine: end to end" >&2
win "" "$helper" version
expect "docker-credential-scalr.exe version" 0 "docker-credential-scalr (scalr.io/docker-credential-scalr) $version
"
win "https://index.docker.io/v1/" "$helper" get
expect "get before any store: the exact not-found message, exit 1" 1 "$not_found"

win "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"alice\",\"Secret\":\"$secret_hub\"}" "$helper" store
expect "store https://index.docker.io/v1/ (docker login to Docker Hub)" 0 ""
blob=$(credential_manager_blob docker.io.docker-credential-scalr)
if [[ $blob == "{\"Username\":\"alice\",\"Secret\":\"$secret_hub\"}" ]]; then
    ok "the Credential Manager holds it: entry docker.io.docker-credential-scalr, {Username, Secret}"
else
    bad "the Credential Manager holds entry docker.io.docker-credential-scalr" "decrypted: ${blob//"$secret_hub"/<secret hub>}"
fi
win "https://index.docker.io/v1/" "$helper" get
expect "get https://index.docker.io/v1/ (Docker CLI's Docker Hub spelling)" 0 \
    "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"alice\",\"Secret\":\"$secret_hub\"}
"
win "docker.io" "$helper" get
expect "get docker.io (skopeo's spelling): the same entry" 0 \
    "{\"ServerURL\":\"docker.io\",\"Username\":\"alice\",\"Secret\":\"$secret_hub\"}
"

win "{\"ServerURL\":\"reg.example.test:5000\",\"Username\":\"bob\",\"Secret\":\"$secret_reg\"}" "$helper" store
expect "store reg.example.test:5000 (bare host, as the Docker CLI sends it)" 0 ""
win "https://reg.example.test:5000" "$helper" get
expect "get https://reg.example.test:5000 (OpenTofu's spelling): the same entry" 0 \
    "{\"ServerURL\":\"https://reg.example.test:5000\",\"Username\":\"bob\",\"Secret\":\"$secret_reg\"}
"
win "https://reg.example.test:5001" "$helper" get
expect "get https://reg.example.test:5001: another port is another registry" 1 "$not_found"

win "unused" "$helper" list
if [[ $rc == 0 ]] && python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1])) != {"https://index.docker.io/v1/": "alice", "reg.example.test:5000": "bob"})
' "$work/io/out"; then
    ok "list (CredEnumerateW): {\"https://index.docker.io/v1/\":\"alice\",\"reg.example.test:5000\":\"bob\"}"
else
    bad "list (CredEnumerateW) names both registries and users" "$(shown)"
fi

win '{"ServerURL":"reg.example.test:5000","Username":"","Secret":"x"}' "$helper" store
expect "store with an empty Username: 'no credentials username', exit 1" 1 "no credentials username
"

win "https://index.docker.io/v1/" "$helper" erase
expect "erase https://index.docker.io/v1/" 0 ""
win "docker.io" "$helper" get
expect "get docker.io after erase: not found" 1 "$not_found"
if [[ -z $(credential_manager_blob docker.io.docker-credential-scalr) ]]; then
    ok "erase removed the Credential Manager entry (CredDeleteW)"
else
    bad "erase removed the Credential Manager entry" "entry docker.io.docker-credential-scalr is still there"
fi
win "https://index.docker.io/v1/" "$helper" erase
expect "erase again: the exact not-found message, exit 1" 1 "$not_found"

# terraform-credentials-scalr: OpenTofu's credentials_helper protocol.
win "{\"token\":\"$host_token_secret\"}" "$host_token" store example.scalr.test
expect "terraform-credentials-scalr.exe store example.scalr.test" 0 ""
win "" "$host_token" get example.scalr.test
expect "terraform-credentials-scalr.exe get example.scalr.test" 0 "{\"token\":\"$host_token_secret\"}
"
win "" "$host_token" get EXAMPLE.Scalr.test
expect "terraform-credentials-scalr.exe get EXAMPLE.Scalr.test: host names compare case-insensitively" 0 \
    "{\"token\":\"$host_token_secret\"}
"
win "" "$host_token" forget example.scalr.test
expect "terraform-credentials-scalr.exe forget example.scalr.test" 0 ""
win "" "$host_token" get example.scalr.test
expect "terraform-credentials-scalr.exe get after forget: {}" 0 "{}
"

# scalr-oci on the Windows paths. Where Windows (Wine) puts them:
win "" cmd /c 'echo %APPDATA%\tofu.rc'
tofu_rc_windows=$(tr -d '\r\n' <"$work/io/out")
win "" cmd /c 'echo %USERPROFILE%\.docker\config.json'
docker_config_windows=$(tr -d '\r\n' <"$work/io/out")
tofu_rc=$(winepath -u "$tofu_rc_windows")
docker_config=$(winepath -u "$docker_config_windows")
case $tofu_rc in "$WINEPREFIX"/*) ;; *) bad "%APPDATA%\\tofu.rc is inside the prefix" "$tofu_rc"; finish ;; esac

# migrate: a plain-text password in %APPDATA%\tofu.rc moves to the Credential Manager.
planted="# planted by tests/wine.sh
oci_credentials \"mig.example.test\" {
  username = \"carol\"
  password = \"$secret_migrated\"
}
"
printf '%s' "$planted" >"$tofu_rc"
win "" "$scalr_oci" migrate --dry-run
if [[ $rc == 0 ]] && cmp -s <(printf '%s' "$planted") "$tofu_rc" &&
    grep -qF "would move the credentials of mig.example.test (user carol) from $tofu_rc_windows into the keychain" "$work/io/out"; then
    ok "scalr-oci.exe migrate --dry-run names $tofu_rc_windows and writes nothing"
else
    bad "scalr-oci.exe migrate --dry-run names $tofu_rc_windows and writes nothing" "$(shown)"
fi
win "" "$scalr_oci" migrate
expected_rc='# planted by tests/wine.sh
oci_credentials "mig.example.test" {
  docker_credentials_helper = "scalr"
}
'
if [[ $rc == 0 ]] && cmp -s <(printf '%s' "$expected_rc") "$tofu_rc"; then
    ok "scalr-oci.exe migrate rewrote $tofu_rc_windows to docker_credentials_helper = \"scalr\""
else
    bad "scalr-oci.exe migrate rewrites $tofu_rc_windows" "$(shown)
file now: $(rc_now=$(cat "$tofu_rc" 2>&1); printf '%s' "${rc_now//"$secret_migrated"/<secret migrated>}")"
fi
win "https://mig.example.test" "$helper" get
expect "get https://mig.example.test after migrate: the secret is in the Credential Manager" 0 \
    "{\"ServerURL\":\"https://mig.example.test\",\"Username\":\"carol\",\"Secret\":\"$secret_migrated\"}
"

# configure tofu / docker on the Windows paths.
win "" "$scalr_oci" configure tofu --default
expected_rc="$expected_rc
oci_default_credentials {
  docker_credentials_helper = \"scalr\"
}
"
if [[ $rc == 0 ]] && cmp -s <(printf '%s' "$expected_rc") "$tofu_rc"; then
    ok "scalr-oci.exe configure tofu --default wrote oci_default_credentials into $tofu_rc_windows"
else
    bad "scalr-oci.exe configure tofu --default writes $tofu_rc_windows" "$(shown)
file now: $(cat "$tofu_rc" 2>&1)"
fi
win "" "$scalr_oci" configure docker --registry reg.example.test:5000 --registry docker.io
if [[ $rc == 0 ]] && [[ -f $docker_config ]] && python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1])) != {"credHelpers": {"reg.example.test:5000": "scalr", "https://index.docker.io/v1/": "scalr"}})
' "$docker_config"; then
    ok "scalr-oci.exe configure docker wrote credHelpers into $docker_config_windows"
else
    bad "scalr-oci.exe configure docker writes $docker_config_windows" "$(shown)
file now: $(cat "$docker_config" 2>&1)"
fi

# configure tofu --credentials-helper: OpenTofu runs the host-token plugin
# from %APPDATA%\terraform.d\plugins, by its .exe name; a copy (a symbolic
# link needs a privilege on Windows).
win "" cmd /c 'echo %APPDATA%\terraform.d\plugins\terraform-credentials-scalr.exe'
plugin_windows=$(tr -d '\r\n' <"$work/io/out")
plugin=$(winepath -u "$plugin_windows")
win "" "$scalr_oci" configure tofu --credentials-helper
if [[ $rc == 0 ]] && cmp -s "$host_token" "$plugin" && grep -qx 'credentials_helper "scalr" {}' "$tofu_rc"; then
    ok "scalr-oci.exe configure tofu --credentials-helper: credentials_helper block, plugin copied to $plugin_windows"
else
    bad "scalr-oci.exe configure tofu --credentials-helper copies the plugin to $plugin_windows" "$(shown)
tofu.rc now: $(cat "$tofu_rc" 2>&1)"
fi
win "" "$plugin" get example.scalr.test
expect "the plugin copy runs: get example.scalr.test (forgotten above) answers {}" 0 "{}
"

win "" "$scalr_oci" status
status_ok=1
for line in \
    "  $tofu_rc_windows" \
    "  $docker_config_windows" \
    "  plugin $plugin_windows (a copy of" \
    "OS keychain: reachable (Windows Credential Manager" \
    "  mig.example.test: the keychain (user carol)" \
    "  reg.example.test:5000: the keychain (user bob)"; do
    grep -qF -- "$line" "$work/io/out" || { status_ok=; missing_line=$line; break; }
done
if [[ $rc == 0 && -n $status_ok ]]; then
    ok "scalr-oci.exe status: both Windows config paths, the Credential Manager, who answers each registry"
else
    bad "scalr-oci.exe status (missing: ${missing_line:-})" "$(shown)"
fi

# ---- no secret in any file ----------------------------------------------------
# Wine writes its registry (user.reg) when the server stops.
wineserver -k 2>/dev/null || true
wineserver -w 2>/dev/null || true
mkdir -p "$work/canary"
printf '%s' "$secret_reg" | iconv -t UTF-16LE >"$work/canary/wide"
if printf '\t%s\n' "$secret_reg" | python3 tests/wine/secrets.py search "$work/canary" >/dev/null; then
    bad "the search finds a UTF-16 copy of a secret (control)"
else
    ok "the search finds a UTF-16 copy of a secret (control)"
fi
rm -r "$work/canary"
if printf 'alice\t%s\nbob\t%s\ncarol\t%s\n\t%s\n' "$secret_hub" "$secret_reg" "$secret_migrated" "$host_token_secret" |
    python3 tests/wine/secrets.py search "$WINEPREFIX" "$work/home" "$work/tmp" >"$work/search.log"; then
    ok "no secret in any file of the prefix, HOME or TMPDIR ($(tail -1 "$work/search.log"))"
else
    bad "no secret in any file of the prefix, HOME or TMPDIR" "$(cat "$work/search.log")"
fi

finish
