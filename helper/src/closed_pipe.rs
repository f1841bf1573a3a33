//! A closed stdout or stderr ends a command quietly, as command-line tools
//! do: `scalr-oci status | head -1`, `docker-credential-scalr list 2>&-`.
//!
//! Rust programs ignore SIGPIPE, so a write to a pipe whose reader has gone
//! returns `BrokenPipe` instead of killing the process. The binaries wrap
//! their stdout and stderr in [`Watched`], which remembers that the reader
//! went away; the command then stops (its writes fail), prints nothing more,
//! and the process exits with [`EXIT_STATUS`], 141 = 128 + SIGPIPE, the
//! status a shell reports for a program that SIGPIPE ended. The same number
//! is used on Windows, where there is no signal to imitate.
//!
//! This is process plumbing for the binaries; the library itself never
//! prints and never exits.

use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;

/// The exit status of a command whose stdout or stderr was closed early.
pub const EXIT_STATUS: u8 = 141;

/// A writer that remembers whether its reader went away.
pub struct Watched<W> {
    inner: W,
    closed: Rc<Cell<bool>>,
}

impl<W: Write> Watched<W> {
    pub fn new(inner: W) -> Watched<W> {
        Watched {
            inner,
            closed: Rc::default(),
        }
    }

    /// Whether a write or flush found the reader gone (of this writer, or
    /// of the one it was [`pair`]ed with).
    pub fn closed(&self) -> bool {
        self.closed.get()
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && is_closed_pipe(e)
        {
            self.closed.set(true);
        }
        result
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let result = self.inner.flush();
        self.note(result)
    }
}

/// stdout and stderr watched together: once either finds its reader gone,
/// both refuse to write, so a failed answer on stdout is not followed by a
/// complaint on stderr (as if SIGPIPE had ended the process at that write).
pub fn pair<O: Write, E: Write>(stdout: O, stderr: E) -> (Watched<O>, Watched<E>) {
    let closed: Rc<Cell<bool>> = Rc::default();
    (
        Watched {
            inner: stdout,
            closed: closed.clone(),
        },
        Watched {
            inner: stderr,
            closed,
        },
    )
}

/// Whether an I/O error means the reader of a pipe went away.
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader has gone.
    struct Gone;

    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_remembered_and_later_writes_fail_without_trying() {
        let mut w = Watched::new(Gone);
        assert!(!w.closed());
        assert!(writeln!(w, "one").is_err());
        assert!(w.closed());
        assert_eq!(
            w.write(b"two").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[test]
    fn a_pair_falls_silent_together() {
        let (mut out, mut err) = pair(Gone, Vec::new());
        assert!(out.write(b"answer").is_err());
        assert!(err.closed());
        assert!(writeln!(err, "cannot write the answer").is_err());
        assert!(err.inner.is_empty());
    }

    #[test]
    fn other_errors_are_not_a_closed_pipe() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = Watched::new(Full);
        assert!(w.write(b"x").is_err());
        assert!(!w.closed());
        let mut ok = Watched::new(Vec::new());
        writeln!(ok, "fine").unwrap();
        assert!(!ok.closed());
        assert_eq!(ok.inner, b"fine\n");
    }
}
