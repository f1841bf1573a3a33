//! A child run with its wall time and its peak resident memory, read from
//! the kernel's accounting of that one child (`wait4`'s rusage), not from
//! every child the test process ever reaped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::{self, Output, Started};

pub struct Measured {
    pub output: Output,
    pub elapsed: Duration,
    /// `ru_maxrss`: KiB on Linux.
    pub peak_rss_kib: u64,
}

impl Measured {
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// Runs `cmd` with empty stdin; kills it after `timeout` (and panics: a
/// test must never hang a run).
// The child is reaped by wait4 (which std's Child cannot see), or killed
// and waited for on the timeout path.
#[allow(clippy::zombie_processes)]
pub fn run(cmd: &mut Command, timeout: Duration) -> Measured {
    let started = Instant::now();
    let Started {
        mut child,
        shown,
        outputs,
    } = peers::start(cmd, Stdio::null());
    let pid = child.id() as libc::pid_t;
    let mut pause = Duration::from_millis(1);
    let (status, usage) = loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data, zeroed is a valid value; wait4 only
        // writes into the two out-parameters we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert!(
            reaped == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {timeout:?}; killed it");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    use std::os::unix::process::ExitStatusExt;
    Measured {
        output: outputs.collect(std::process::ExitStatus::from_raw(status)),
        elapsed,
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    }
}
