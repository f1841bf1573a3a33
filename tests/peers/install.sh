#!/usr/bin/env bash
# Install or build every real peer the end-to-end tests talk to, pinned and
# verified, into a reusable cache directory.
#
#   tests/peers/install.sh            install what is missing, then summarise
#   tests/peers/install.sh --check    install nothing; fail listing what is missing
#
# Peers come from two places only, because the test machines can reach nothing
# but package registries (no GitHub release downloads, no prebuilt binaries):
#   * Debian 12 packages: docker-registry, skopeo, gnome-keyring, dbus,
#     htpasswd, docker-credential-secretservice, keyctl, hyperfine, ...
#   * crates.io, `cargo install --locked`: hyperfine and cargo-fuzz (plus the
#     nightly toolchain through rustup, when the machine reaches it).
#   * Go modules built from source via the Go module proxy: OpenTofu and ORAS.
#     Each module is pinned by version and by its go.sum hash (h1:...), so a
#     retagged or tampered release fails loudly instead of being built.
# The Docker CLI (client only) is expected to be preinstalled; it is checked.
#
# Everything built lands in $SCALR_OCI_PEERS_DIR (default
# ~/.cache/scalr-oci-peers). A stamp file next to each binary records what was
# built, so a second run only re-verifies and finishes in seconds. Source
# $SCALR_OCI_PEERS_DIR/env.sh to put the peers on PATH.
set -euo pipefail

# Pins. OpenTofu v1.12.6 is the newest release on the module proxy; its go.mod
# wants go 1.26.6. ORAS v1.3.2 is the newest stable v1.x (go 1.26.2). The sums
# are the module zip hashes recorded in sum.golang.org.
readonly OPENTOFU_MODULE=github.com/opentofu/opentofu
readonly OPENTOFU_VERSION=v1.12.6
readonly OPENTOFU_SUM='h1:0VT4P8pMmGcCUnQ9JDrJ+Qg2d35Vzm4FFd/9+H7oF98='
readonly ORAS_MODULE=oras.land/oras
readonly ORAS_VERSION=v1.3.2
readonly ORAS_SUM='h1:gUJgkTt3iSTiqxr66RDm6DGFFEovvLZkW3b/EEHYOGo='
# Debian's hyperfine 1.15 has no --input, so a benchmark of a credential
# helper (which reads stdin) would time a shell too. 1.20 from crates.io,
# locked to its own Cargo.lock, into $BIN.
readonly HYPERFINE_VERSION=1.20.0
# fuzz/run.sh (a step of tests/run.sh) needs cargo-fuzz, locked to its own
# Cargo.lock, into $BIN, and the nightly toolchain libFuzzer builds need.
readonly CARGO_FUZZ_VERSION=0.13.1

readonly APT_PACKAGES=(
  docker-registry skopeo gnome-keyring dbus apache2-utils
  golang-docker-credential-helpers keyutils hyperfine libsecret-tools
  openssl ca-certificates jq zip
  bubblewrap curl
)
# dbus-x11 only adds dbus-launch, a fallback for starting a session bus; the
# tests use dbus-run-session, so a distribution without it is not an error.
readonly APT_OPTIONAL_PACKAGES=(dbus-x11)

# The binaries the tests execute, each with the package that ships it (used
# to report its version). dbus-run-session comes from dbus-daemon, a
# dependency of dbus.
readonly SYSTEM_TOOLS=(
  /usr/bin/docker-registry:docker-registry
  htpasswd:apache2-utils
  skopeo:skopeo
  gnome-keyring-daemon:gnome-keyring
  dbus-run-session:dbus-daemon
  docker-credential-secretservice:golang-docker-credential-helpers
  keyctl:keyutils
  hyperfine:hyperfine
  secret-tool:libsecret-tools
  openssl:openssl
  bwrap:bubblewrap
)

CACHE=${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}
BIN=$CACHE/bin

usage() {
  cat <<EOF
Usage: $0 [--check | --help]

Installs the peers needed by the scalr-oci end-to-end tests: Debian packages
(via apt-get, as root or through sudo) plus OpenTofu ${OPENTOFU_VERSION} and
ORAS ${ORAS_VERSION} built from the Go module proxy into:
  ${CACHE}/bin
(override with SCALR_OCI_PEERS_DIR). Writes ${CACHE}/env.sh, which exports
SCALR_OCI_PEERS_BIN and prepends it to PATH.

  --check   install nothing; exit 1 listing whatever is missing or stale
  --help    show this text
EOF
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

pkg_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null
}

has_candidate() {
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
  [[ -n $candidate && $candidate != "(none)" ]]
}

# Another apt job (e.g. image provisioning) may hold the dpkg lock; wait for it
# rather than fail.
apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@"
}

install_debian_packages() {
  local pkg
  local -a missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    pkg_installed "$pkg" || missing+=("$pkg")
  done
  # Refresh the lists only when something must be installed, so that a run
  # on a provisioned machine never touches the network for apt.
  if ((${#missing[@]})); then
    log "apt-get update (missing: ${missing[*]})"
    apt_get update -qq
  fi
  # Optional packages are added only when the (possibly just refreshed) lists
  # know them; this never triggers an update on its own.
  for pkg in "${APT_OPTIONAL_PACKAGES[@]}"; do
    pkg_installed "$pkg" || ! has_candidate "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    # Recommends pull in a desktop's worth of packages the tests do not use.
    apt_get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# --- Go-built peers ---------------------------------------------------------

go_bin() {
  if command -v go >/dev/null; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    die "Go not found (need go on PATH or /usr/local/go/bin/go)"
  fi
}

# The Go module and build caches live under the peers cache rather than the
# user's defaults: the whole toolchain state is then one directory that CI
# can cache and restore, a rebuild after a pin bump reuses the downloaded
# dependencies (and the ~1.6 GB build cache turns a rebuild into a re-link),
# and the user's own Go environment is left alone. Budget ~3 GB. GOPROXY and
# GOSUMDB are deliberately not overridden, so a configured mirror still works.
setup_go_env() {
  GO=$(go_bin)
  export GOPATH=$CACHE/go
  export GOMODCACHE=$CACHE/go/pkg/mod
  export GOCACHE=$CACHE/go/cache
  # Module cache files are read-only by default; -modcacherw lets a plain
  # `rm -rf "$SCALR_OCI_PEERS_DIR"` reset everything.
  export GOFLAGS=-modcacherw
  # Build with the installed Go only: never fetch another toolchain behind
  # our back, fail clearly instead (see require_go).
  export GOTOOLCHAIN=local
  # Static binaries, as upstream releases are; also needs no C compiler.
  export CGO_ENABLED=0
}

# Print the string value of a top-level key from `go mod download -json`
# output (one key per line; jq is not available on a fresh Debian).
json_field() {
  sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p"
}

# Fail clearly when the module's go.mod asks for a newer Go than installed.
require_go() {
  local gomod=$1 need have
  need=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")
  have=$("$GO" env GOVERSION)
  have=${have#go}
  printf '%s\n%s\n' "$need" "$have" | sort -V -C ||
    die "$gomod requires go >= $need, but $GO is go $have"
}

# Version actually reported by a built peer, normalised to "vX.Y.Z".
peer_version() {
  local name=$1 out
  case $name in
    tofu)
      # A line "OpenTofu v1.12.6" ("-dev" appended if built without dev=no).
      # Not necessarily the first: CLI config warnings (e.g. TF_CLI_CONFIG_FILE
      # naming a missing file) are printed to stdout before it.
      out=$("$BIN/tofu" version 2>/dev/null) || return 1
      [[ $out =~ (^|$'\n')OpenTofu[[:space:]]+(v[^[:space:]]+) ]] || return 1
      printf '%s\n' "${BASH_REMATCH[2]}"
      ;;
    hyperfine)
      out=$("$BIN/hyperfine" --version 2>/dev/null) || return 1
      printf '%s\n' "${out#hyperfine }"
      ;;
    cargo-fuzz)
      out=$("$BIN/cargo-fuzz" --version 2>/dev/null) || return 1
      printf '%s\n' "${out#cargo-fuzz }"
      ;;
    nightly)
      cargo +nightly --version 2>/dev/null || return 1
      ;;
    oras)
      # "Version:        1.3.2" on the first line.
      out=$("$BIN/oras" version 2>/dev/null) || return 1
      [[ $out =~ Version:[[:space:]]+([^[:space:]]+) ]] || return 1
      printf 'v%s\n' "${BASH_REMATCH[1]}"
      ;;
  esac
}

stamp_text() { printf '%s %s\n' "$1" "$2"; }

# A peer is current when its stamp names the pinned version and sum and the
# binary runs and reports that version.
peer_current() {
  local name=$1 version=$2 sum=$3 stamp=$BIN/.$1.stamp
  [[ -x $BIN/$name && -f $stamp ]] &&
    [[ $(<"$stamp") == "$(stamp_text "$version" "$sum")" ]] &&
    [[ $(peer_version "$name") == "$version" ]]
}

# Download module@version through the proxy, check its pinned hash, and build
# pkg inside the module's own directory. Building there (rather than with
# `go install module/pkg@version`) honours the module's replace directives,
# which `go install` refuses; OpenTofu has one. -o must point outside the
# read-only module cache.
build_go_peer() {
  local name=$1 module=$2 version=$3 sum=$4 pkg=$5 ldflags=$6
  local json dir got_sum partial=$BIN/.$1.partial

  if peer_current "$name" "$version" "$sum"; then
    log "$name $version already built"
    return
  fi
  log "building $name $version from $module (this can take minutes)"
  # On failure the JSON carries the "Error"; show it.
  json=$("$GO" mod download -json "$module@$version") ||
    die "go mod download $module@$version failed: $json"
  got_sum=$(json_field Sum <<<"$json")
  [[ $got_sum == "$sum" ]] ||
    die "$module@$version has sum '$got_sum', pinned '$sum'"
  dir=$(json_field Dir <<<"$json")
  require_go "$(json_field GoMod <<<"$json")"

  # -trimpath and -s -w shrink the link step and the binary; neither matters
  # for the tests.
  (cd "$dir" && "$GO" build -trimpath -ldflags "-s -w $ldflags" -o "$partial" "./$pkg")
  mv -f "$partial" "$BIN/$name"

  local got
  got=$(peer_version "$name") || die "$BIN/$name does not run"
  [[ $got == "$version" ]] || die "$BIN/$name reports $got, expected $version"
  stamp_text "$version" "$sum" >"$BIN/.$name.stamp"
}

# --- OpenTofu's test provider, for the provider-mirror tests ----------------
# internal/provider-simple-v6/main from the same pinned OpenTofu module,
# cross-built (CGO_ENABLED=0) and packed as the official release zips,
# terraform-provider-simple_VERSION_OS_ARCH.zip, each holding one executable
# terraform-provider-simple_vVERSION (.exe on Windows), the layout provider
# releases use. Zip entries get a fixed time (TZ=UTC, touch) so a rebuild
# gives the same bytes; the stamp names the OpenTofu pin and the platforms.
readonly PROVIDER_SIMPLE_VERSION=1.0.0
readonly PROVIDER_SIMPLE_PLATFORMS=(linux_amd64 linux_arm64 darwin_arm64 windows_amd64)
PROVIDER_DIR=$CACHE/provider-simple

provider_simple_stamp() {
  stamp_text "$OPENTOFU_VERSION $PROVIDER_SIMPLE_VERSION ${PROVIDER_SIMPLE_PLATFORMS[*]}" "$OPENTOFU_SUM"
}

provider_simple_current() {
  local platform
  [[ -f $PROVIDER_DIR/.stamp && $(<"$PROVIDER_DIR/.stamp") == "$(provider_simple_stamp)" ]] || return 1
  for platform in "${PROVIDER_SIMPLE_PLATFORMS[@]}"; do
    [[ -f $PROVIDER_DIR/terraform-provider-simple_${PROVIDER_SIMPLE_VERSION}_${platform}.zip ]] || return 1
  done
}

build_provider_simple() {
  if provider_simple_current; then
    log "provider-simple-v6 $PROVIDER_SIMPLE_VERSION zips already built"
    return
  fi
  local json dir platform os arch exe work
  json=$("$GO" mod download -json "$OPENTOFU_MODULE@$OPENTOFU_VERSION") ||
    die "go mod download $OPENTOFU_MODULE@$OPENTOFU_VERSION failed: $json"
  [[ $(json_field Sum <<<"$json") == "$OPENTOFU_SUM" ]] || die "$OPENTOFU_MODULE@$OPENTOFU_VERSION: sum mismatch"
  dir=$(json_field Dir <<<"$json")
  rm -rf "$PROVIDER_DIR.partial"
  mkdir -p "$PROVIDER_DIR.partial"
  for platform in "${PROVIDER_SIMPLE_PLATFORMS[@]}"; do
    os=${platform%_*}
    arch=${platform#*_}
    exe=terraform-provider-simple_v$PROVIDER_SIMPLE_VERSION
    [[ $os == windows ]] && exe+=.exe
    log "building provider-simple-v6 for $os/$arch"
    work=$PROVIDER_DIR.partial/$platform
    mkdir -p "$work"
    (cd "$dir" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -ldflags "-s -w" \
      -o "$work/$exe" ./internal/provider-simple-v6/main)
    TZ=UTC touch -t 202001010000 "$work/$exe"
    (cd "$work" && TZ=UTC zip -q -X "../terraform-provider-simple_${PROVIDER_SIMPLE_VERSION}_${platform}.zip" "$exe")
    rm -rf "$work"
  done
  provider_simple_stamp >"$PROVIDER_DIR.partial/.stamp"
  rm -rf "$PROVIDER_DIR"
  mv "$PROVIDER_DIR.partial" "$PROVIDER_DIR"
}

write_env_sh() {
  local tmp=$CACHE/.env.sh.partial
  {
    echo "# Generated by tests/peers/install.sh; source it to use the peers."
    printf 'export SCALR_OCI_PEERS_BIN=%q\n' "$BIN"
    # shellcheck disable=SC2016 # expanded when env.sh is sourced
    printf '%s\n' \
      'case ":$PATH:" in' \
      '  *":$SCALR_OCI_PEERS_BIN:"*) ;;' \
      '  *) export PATH="$SCALR_OCI_PEERS_BIN:$PATH" ;;' \
      'esac'
  } >"$tmp"
  mv -f "$tmp" "$CACHE/env.sh"
}

# --- Checking and reporting -------------------------------------------------

# Everything that is missing or stale, one item per line; empty when all good.
list_missing() {
  local pkg entry tool
  for pkg in "${APT_PACKAGES[@]}"; do
    pkg_installed "$pkg" || echo "Debian package $pkg"
  done
  for entry in "${SYSTEM_TOOLS[@]}"; do
    tool=${entry%%:*}
    command -v "$tool" >/dev/null || echo "binary $tool"
  done
  docker --version >/dev/null 2>&1 || echo "Docker CLI (docker --version fails; expected preinstalled at /usr/local/bin/docker)"
  peer_current tofu "$OPENTOFU_VERSION" "$OPENTOFU_SUM" || echo "OpenTofu $OPENTOFU_VERSION in $BIN"
  peer_current oras "$ORAS_VERSION" "$ORAS_SUM" || echo "ORAS $ORAS_VERSION in $BIN"
  provider_simple_current || echo "OpenTofu's provider-simple-v6 zips in $PROVIDER_DIR"
  [[ $(peer_version hyperfine) == "$HYPERFINE_VERSION" ]] || echo "hyperfine $HYPERFINE_VERSION in $BIN"
  [[ $(peer_version cargo-fuzz) == "$CARGO_FUZZ_VERSION" ]] || echo "cargo-fuzz $CARGO_FUZZ_VERSION in $BIN"
  peer_version nightly >/dev/null || echo "the nightly Rust toolchain (cargo +nightly), for the fuzz targets"
}

build_hyperfine() {
  [[ $(peer_version hyperfine) == "$HYPERFINE_VERSION" ]] && return
  log "cargo install hyperfine $HYPERFINE_VERSION"
  cargo install --quiet --locked --version "$HYPERFINE_VERSION" --root "$CACHE" hyperfine
}

build_cargo_fuzz() {
  [[ $(peer_version cargo-fuzz) == "$CARGO_FUZZ_VERSION" ]] && return
  log "cargo install cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" --root "$CACHE" cargo-fuzz
}

# rustup fetches toolchains from the Rust project's own server, which not
# every machine reaches; when it fails, list_missing names the toolchain and
# the run fails: the fuzz step is never skipped quietly.
install_nightly() {
  peer_version nightly >/dev/null && return
  log "rustup toolchain install nightly --profile minimal"
  rustup toolchain install nightly --profile minimal ||
    log "could not install the nightly toolchain; install it by hand (rustup toolchain install nightly)"
}

summary() {
  local entry tool pkg
  for entry in "${SYSTEM_TOOLS[@]}"; do
    tool=${entry%%:*}
    pkg=${entry#*:}
    printf '%-33s %-28s %s\n' "${tool##*/}" "$(pkg_version "$pkg")" "$(command -v "$tool")"
  done
  printf '%-33s %-28s %s\n' docker "$(docker --version)" "$(command -v docker)"
  printf '%-33s %-28s %s\n' tofu "$(peer_version tofu)" "$BIN/tofu"
  printf '%-33s %-28s %s\n' oras "$(peer_version oras)" "$BIN/oras"
  printf '%-33s %-28s %s\n' provider-simple-v6 "$PROVIDER_SIMPLE_VERSION" "$PROVIDER_DIR"
  printf '%-33s %-28s %s\n' hyperfine "$(peer_version hyperfine)" "$BIN/hyperfine"
  printf '%-33s %-28s %s\n' cargo-fuzz "$(peer_version cargo-fuzz)" "$BIN/cargo-fuzz"
  printf '%-33s %-28s %s\n' nightly "$(peer_version nightly)" "$(rustup which --toolchain nightly cargo 2>/dev/null)"
}

main() {
  local mode=install
  case ${1:-} in
    '') ;;
    --check) mode=check ;;
    -h | --help) usage; return ;;
    *) usage >&2; return 2 ;;
  esac
  (($# <= 1)) || { usage >&2; return 2; }

  if [[ $mode == install ]]; then
    install_debian_packages
    docker --version >/dev/null 2>&1 ||
      die "Docker CLI missing or broken: 'docker --version' failed (expected preinstalled at /usr/local/bin/docker)"
    mkdir -p "$BIN"
    setup_go_env
    build_go_peer tofu "$OPENTOFU_MODULE" "$OPENTOFU_VERSION" "$OPENTOFU_SUM" cmd/tofu \
      "-X $OPENTOFU_MODULE/version.dev=no" # drop the "-dev" suffix, as releases do
    build_go_peer oras "$ORAS_MODULE" "$ORAS_VERSION" "$ORAS_SUM" cmd/oras ""
    build_provider_simple
    build_hyperfine
    build_cargo_fuzz
    install_nightly
    write_env_sh
  fi

  local missing
  missing=$(list_missing)
  if [[ -n $missing ]]; then
    printf 'install.sh: missing peers:\n' >&2
    sed 's/^/  /' <<<"$missing" >&2
    return 1
  fi
  summary
  [[ $mode == check ]] || log "source $CACHE/env.sh to put the peers on PATH"
}

main "$@"
