//! Drives a program that insists on a terminal (`tofu login` reads its token
//! with echo off, and only from a terminal) through a pseudo-terminal: wait
//! for a prompt, type an answer, as a person would.
//!
//! Built on `nix`'s `openpty` and `tcgetattr` (already in the dependency tree
//! through zbus) rather than util-linux `script` or an expect crate: a secret
//! answer is typed only after the terminal's ECHO flag is seen off, so the
//! test can prove the token never appears on the screen, and `script` would
//! need the answers up front, before any prompt.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::pty::openpty;
use nix::sys::termios::{LocalFlags, tcgetattr};

use crate::peers;

/// One step of a conversation.
pub enum Step<'a> {
    /// Wait until the output (since the previous match) contains this.
    Expect(&'a str),
    /// Type this line (a newline is added).
    Type(&'a str),
    /// Type this line once the terminal no longer echoes input.
    TypeSecret(&'a str),
}

/// What came out: the exit status and everything the program wrote to the
/// terminal (stdout and stderr, as a user saw them).
pub struct Transcript {
    pub status: Option<ExitStatus>,
    pub screen: String,
}

/// Runs `cmd` with a pseudo-terminal as its stdin, stdout and stderr and
/// plays `steps`; panics (with the screen so far) when an expected text does
/// not come within `timeout`. The program is killed if it outlives
/// `timeout`.
pub fn converse(cmd: &mut Command, steps: &[Step<'_>], timeout: Duration) -> Transcript {
    let pty = openpty(None, None).expect("open a pseudo-terminal");
    let slave = |pty: &OwnedFd| Stdio::from(pty.try_clone().expect("clone the terminal"));
    let mut child = cmd
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave))
        .spawn()
        .expect("start the program on the terminal");
    let mut writer = File::from(pty.master.try_clone().expect("clone the master"));
    let mut reader = File::from(pty.master);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once the program and our copy of the slave are gone.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + timeout;
    let mut screen = Vec::new();
    let mut seen = 0;
    let pump = |screen: &mut Vec<u8>, until: Instant| -> bool {
        let wait = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait.min(Duration::from_millis(100))) {
            Ok(chunk) => {
                screen.extend_from_slice(&chunk);
                true
            }
            Err(_) => false,
        }
    };
    for step in steps {
        match step {
            Step::Expect(text) => loop {
                let tail = String::from_utf8_lossy(&screen[seen..]).into_owned();
                if let Some(at) = tail.find(text) {
                    seen += tail[..at + text.len()].len();
                    break;
                }
                if Instant::now() >= deadline || matches!(child.try_wait(), Ok(Some(_))) {
                    // One last drain before giving up.
                    while pump(&mut screen, Instant::now()) {}
                    let tail = String::from_utf8_lossy(&screen[seen..]).into_owned();
                    if tail.contains(text) {
                        continue;
                    }
                    peers::kill(&mut child);
                    panic!(
                        "{text:?} did not appear on the terminal; the screen:\n{}",
                        String::from_utf8_lossy(&screen)
                    );
                }
                pump(&mut screen, deadline);
            },
            Step::Type(line) => {
                writer
                    .write_all(format!("{line}\n").as_bytes())
                    .expect("type into the terminal");
            }
            Step::TypeSecret(line) => {
                let quiet = peers::poll(timeout.min(Duration::from_secs(30)), || {
                    let attrs = tcgetattr(&pty.slave).ok()?;
                    (!attrs.local_flags.contains(LocalFlags::ECHO)).then_some(())
                });
                if quiet.is_none() {
                    peers::kill(&mut child);
                    panic!(
                        "the terminal still echoes input at the secret prompt; the screen:\n{}",
                        String::from_utf8_lossy(&screen)
                    );
                }
                writer
                    .write_all(format!("{line}\n").as_bytes())
                    .expect("type into the terminal");
            }
        }
    }
    let status = peers::wait_until(&mut child, deadline);
    if status.is_none() {
        peers::kill(&mut child);
    }
    drop(pty.slave);
    drop(writer);
    // The rest of the output, until the reader sees the terminal close.
    let drain_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < drain_until {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(chunk) => screen.extend_from_slice(&chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    Transcript {
        status,
        screen: String::from_utf8_lossy(&screen).into_owned(),
    }
}
