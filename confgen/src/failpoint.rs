//! Test-only interruption points. In a debug build, the environment variable
//! `SCALR_OCI_FAILPOINT=<name>:<n>` makes the process exit abruptly (as if
//! killed) the n-th time the named point is reached. Release builds compile
//! this to nothing, so no environment variable can make a shipped binary
//! stop half-way.

#[cfg(debug_assertions)]
pub fn hit(name: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let Ok(spec) = std::env::var("SCALR_OCI_FAILPOINT") else {
        return;
    };
    let Some((point, n)) = spec.split_once(':') else {
        return;
    };
    if point != name {
        return;
    }
    let seen = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n.parse() == Ok(seen) {
        // Like a kill -9: no destructors, no buffered output flushed.
        std::process::exit(86);
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_name: &str) {}
