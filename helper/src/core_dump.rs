//! Keeping secrets out of core dumps: both helper binaries call [`forbid`]
//! first thing, before they read any input, so that a crash or a Ctrl-\
//! (SIGQUIT) while a secret is in memory writes no core file holding it.
//!
//! Linux: `prctl(PR_SET_DUMPABLE, 0)` (through rustix's safe wrapper, already
//! in the tree), which also keeps other processes of the same user from
//! attaching with ptrace or reading `/proc/<pid>/mem`. Elsewhere there is
//! nothing to call here: macOS and Windows write no core files by default,
//! and the platform module is a null implementation.

/// Makes this process non-dumpable. An error means the kernel refused; the
/// caller goes on (a refusal must not stop a `get`), and says so when asked
/// for diagnostics.
pub fn forbid() -> std::io::Result<()> {
    platform::forbid()
}

#[cfg(target_os = "linux")]
mod platform {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};

    pub fn forbid() -> std::io::Result<()> {
        set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(std::io::Error::from)
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    pub fn forbid() -> std::io::Result<()> {
        Ok(())
    }
}
