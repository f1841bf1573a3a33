//! What every command prints goes through [`say!`]: one line to the writer
//! the command was given (stdout in the binary, a buffer in tests), with a
//! failed write turned into the crate's error instead of a panic (a closed
//! pipe, `scalr-oci status | head`, is an ordinary error).

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Writes one formatted line: `say!(out, "moved {n} credential(s)")?`.
macro_rules! say {
    ($out:expr, $($fmt:tt)+) => {
        $crate::output::line(&mut *$out, format_args!($($fmt)+))
    };
}
pub(crate) use say;

/// The function behind [`say!`].
pub fn line(out: &mut dyn Write, text: fmt::Arguments<'_>) -> Result<()> {
    writeln!(out, "{text}").map_err(Error::io("stdout", "write to"))
}

/// Writes text as it is (a diff), with the same error.
pub fn raw(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(Error::io("stdout", "write to"))
}

/// The line a removal from the OS keychain ends with (`logout`, `registry
/// remove`): the `what` (`Scalr token`, `credentials`) for `host` was
/// removed, or the keychain held none.
pub fn keychain_removal(out: &mut dyn Write, removed: bool, what: &str, host: &str) -> Result<()> {
    if removed {
        say!(out, "Removed the {what} for {host} from the OS keychain.")
    } else {
        say!(
            out,
            "The OS keychain held no {what} for {host}; nothing to remove."
        )
    }
}

static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// A progress line on stderr (the one place a command writes there itself).
/// A closed stderr is remembered for the binary ([`stderr_closed`]) and
/// otherwise ignored: progress is not worth failing an upload for.
pub fn progress(text: fmt::Arguments<'_>) {
    if let Err(e) = writeln!(std::io::stderr(), "scalr-oci: {text}")
        && docker_credential_scalr::closed_pipe::is_closed_pipe(&e)
    {
        STDERR_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether a progress line found stderr closed.
pub fn stderr_closed() -> bool {
    STDERR_CLOSED.load(Ordering::Relaxed)
}
