# shellcheck shell=bash
# What the test scripts share (sourced by tests/static.sh, tests/wine.sh,
# tests/cross.sh and tests/run.sh): one line per check, the summary, and
# the rustup targets.
#
# The caller sets `check_prefix` (the first word of its lines) and
# `started` (SECONDS at its start) before calling ok/bad/finish.

passed=0 failed=0

# ok TEXT: one passed check.
ok() {
    passed=$((passed + 1))
    printf '%s: ok   %s\n' "$check_prefix" "$1"
}

# bad TEXT [DETAIL]: one failed check, DETAIL indented below it.
bad() {
    failed=$((failed + 1))
    printf '%s: FAIL %s\n' "$check_prefix" "$1"
    if [[ -n ${2:-} ]]; then printf '%s\n' "$2" | sed 's/^/        /'; fi
}

# finish: the summary line; exits non-zero when a check failed.
finish() {
    printf '%s: %d passed, %d failed (%d s)\n' "$check_prefix" "$passed" "$failed" "$((SECONDS - started))"
    exit $((failed > 0))
}

# add_targets TARGET...: adds the rustup targets not yet installed, in one
# call (none when all are there).
add_targets() {
    local installed missing=() t
    installed=$(rustup target list --installed 2>/dev/null)
    for t in "$@"; do grep -qx "$t" <<<"$installed" || missing+=("$t"); done
    if ((${#missing[@]})); then rustup target add "${missing[@]}"; fi
}
