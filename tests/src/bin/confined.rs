//! `confined [OPTIONS] [-- PROGRAM ARGS...]`: runs PROGRAM in the confinements
//! the cache tests need, then execs it (so the PROGRAM's exit status, stdout
//! and stderr are the test's to read). Options, applied in this order:
//!
//! - `--uid N`: become uid and gid N with no supplementary groups (needs
//!   root). A uid of its own has its own key quota (200 keys, 20,000 bytes by
//!   default), so filling it disturbs no other test on this machine.
//! - `--new-session`: join a fresh anonymous session keyring, as
//!   `pam_keyinit` gives a login session.
//! - `--fill-key-quota`: add keys to the user keyring until the kernel
//!   refuses one (EDQUOT) for lack of keys or of bytes; they expire after
//!   10 minutes should `--clear-user-keyring` never run.
//! - `--clear-user-keyring`: unlink everything in the user keyring.
//! - `--deny-keyctl`: a seccomp filter that fails `add_key`, `keyctl` and
//!   `request_key` with EPERM, as Docker's default profile does in a
//!   container (so in a Scalr run).
//!
//! Test support only, Linux only: every failure panics with what failed.

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    panic!("confined: kernel keyrings and seccomp are Linux only");
}

#[cfg(target_os = "linux")]
mod linux {

    use std::ffi::CString;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    const KEYCTL_SET_TIMEOUT: libc::c_long = 15;
    const KEYCTL_CLEAR: libc::c_long = 7;
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;

    fn keyctl(op: libc::c_long, a: libc::c_long, b: libc::c_long) -> libc::c_long {
        // SAFETY: keyctl with integer (or NULL) arguments reads no memory of ours.
        unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                op,
                a,
                b,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        }
    }

    fn errno() -> std::io::Error {
        std::io::Error::last_os_error()
    }

    fn become_uid(uid: libc::uid_t) {
        // SAFETY: plain syscalls on integers; this process is single-threaded.
        unsafe {
            assert_eq!(
                libc::setgroups(0, std::ptr::null()),
                0,
                "setgroups: {}",
                errno()
            );
            assert_eq!(libc::setresgid(uid, uid, uid), 0, "setresgid: {}", errno());
            assert_eq!(libc::setresuid(uid, uid, uid), 0, "setresuid: {}", errno());
        }
    }

    /// Adds `user` keys of `size` bytes until the kernel says EDQUOT; returns how many.
    fn add_until_refused(size: usize, serial: &mut usize) -> usize {
        let payload = vec![b'f'; size];
        let kind = CString::new("user").expect("no NUL");
        let mut added = 0;
        loop {
            let description = CString::new(format!("scalr-e2e-filler-{serial}")).expect("no NUL");
            *serial += 1;
            // SAFETY: valid C strings and a buffer of `size` bytes.
            let id = unsafe {
                libc::syscall(
                    libc::SYS_add_key,
                    kind.as_ptr(),
                    description.as_ptr(),
                    payload.as_ptr(),
                    payload.len(),
                    KEY_SPEC_USER_KEYRING,
                )
            };
            if id < 0 {
                let e = errno();
                assert_eq!(e.raw_os_error(), Some(libc::EDQUOT), "add_key: {e}");
                return added;
            }
            keyctl(KEYCTL_SET_TIMEOUT, id, 600);
            added += 1;
        }
    }

    fn fill_key_quota() {
        let mut serial = 0;
        let mut added = 0;
        // Big keys use up the bytes, then ever smaller ones the rest, so that
        // neither a key nor a byte is left.
        for size in [4096, 512, 64, 8, 1] {
            added += add_until_refused(size, &mut serial);
        }
        eprintln!("confined: the user keyring is full after {added} keys");
    }

    fn deny_keyctl() {
        use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
        let rules = [libc::SYS_add_key, libc::SYS_keyctl, libc::SYS_request_key]
            .into_iter()
            .map(|nr| (nr, Vec::new()))
            .collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EPERM as u32),
            std::env::consts::ARCH
                .try_into()
                .expect("a seccomp architecture"),
        )
        .expect("a seccomp filter");
        let program: BpfProgram = filter.try_into().expect("compile the seccomp filter");
        seccompiler::apply_filter(&program).expect("install the seccomp filter");
    }

    pub fn main() {
        let mut args = std::env::args().skip(1);
        let mut program = Vec::new();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--uid" => become_uid(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--uid takes a number"),
                ),
                "--new-session" => assert!(
                    keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0) >= 0,
                    "join a new session keyring: {}",
                    errno()
                ),
                "--fill-key-quota" => fill_key_quota(),
                "--clear-user-keyring" => assert_eq!(
                    keyctl(KEYCTL_CLEAR, KEY_SPEC_USER_KEYRING, 0),
                    0,
                    "clear the user keyring: {}",
                    errno()
                ),
                "--deny-keyctl" => deny_keyctl(),
                "--" => {
                    program.extend(args.by_ref());
                    break;
                }
                other => panic!("confined: unknown option {other:?}"),
            }
        }
        let Some((name, rest)) = program.split_first() else {
            return;
        };
        let e = Command::new(name).args(rest).exec();
        panic!("confined: exec {name}: {e}");
    }
}
