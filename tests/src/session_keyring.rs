//! A login session's keyring for the helpers a test starts.
//!
//! The helper caches keychain answers only under a secret kept in a session
//! keyring of its own (as `pam_keyinit` gives each login); a process without
//! one shares the user-default session keyring with every process of the
//! uid, and then keychain answers are not cached. Test runners usually have
//! no login session, so a test that wants the keychain cache calls
//! [`join_fresh`]: the calling thread (credentials are per thread on Linux)
//! and every process it starts from then on share a new, private one.

/// Joins a new anonymous session keyring; panics if the kernel refuses.
#[cfg(target_os = "linux")]
pub fn join_fresh() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) reads no memory of ours.
    let id = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0usize) };
    assert!(
        id >= 0,
        "join a new session keyring: {}",
        std::io::Error::last_os_error()
    );
}

#[cfg(not(target_os = "linux"))]
pub fn join_fresh() {}
