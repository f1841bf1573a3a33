#!/usr/bin/env bash
# Publishing a 5 MiB OpenTofu module, side by side in one run:
#   ours    scalr-oci module publish DIR oci://HOST/REPO (packages and pushes;
#           credentials from the OS keychain, in-process)
#   theirs  the guide's recipe: zip -qr of the same tree, then oras push
#           --artifact-type application/vnd.opentofu.modulepkg pkg.zip:archive/zip
#           (credentials from the plain-text auths `oras login` leaves)
# Before every run the module gets new random data (files/data.bin), so both
# upload the whole package every time. Prints hyperfine's tables and the
# ratio ours/theirs of the medians and means over all runs; the goal is at
# most the same time (ratio <= 1.0).
#
#   bench/module-publish.sh [--rounds N] [--runs N] [--warmup N] [--size-mib N] [--export-json FILE]
#
# --rounds (default 4) hyperfine rounds of --runs (default 10) runs of each
# command, alternating which goes first; --export-json writes the summary.
#
# Needs the peers of tests/peers/install.sh (ORAS, docker-registry,
# gnome-keyring, dbus, zip, hyperfine, jq). Builds the helper and scalr-oci
# with --release, and the bench-env set-up binary.
set -euo pipefail

warmup=2
size_mib=5
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
in_a_login_session "$@"
script_option() { [[ $1 == --size-mib ]] && size_mib=$2; }
rounds_options "$@"
load_peers_env
need_tools hyperfine jq zip

start_setup_env module scalr-module-bench --size-mib "$size_mib"
compare_ours_theirs 'scalr-oci module publish' 'zip + oras push' "publishing a module" 1.0 \
  "$size_mib MiB module"
