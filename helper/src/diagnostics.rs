//! Where the library's human diagnostics go: the stderr that
//! `protocol::serve` was given, never the process's own.
//!
//! The library never prints. A `get` running inside `scalr-oci status`, or in
//! a test with its stderr captured, must not leak stray lines to fd 2, and
//! clients show the helper's real stderr to the user unfiltered. So every
//! diagnostic line goes through a [`Diagnostics`] handle that the caller
//! made from its own writer (amazon-ecr-credential-helper's `WithLogger`,
//! gix-credentials' injected I/O).
//!
//! The handle is cheap to clone: the protocol keeps one for its hints, the
//! backend another for warnings and debug lines, both writing to one stream
//! in the order things happen.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::rc::Rc;

#[derive(Clone)]
pub struct Diagnostics<'w> {
    out: Rc<RefCell<&'w mut dyn Write>>,
    /// Opens every line: the program's name, as Unix tools say who speaks.
    prefix: &'static str,
}

impl<'w> Diagnostics<'w> {
    pub fn new(out: &'w mut dyn Write, prefix: &'static str) -> Diagnostics<'w> {
        Diagnostics {
            out: Rc::new(RefCell::new(out)),
            prefix,
        }
    }

    /// One line, after the prefix. A write that fails is ignored: a
    /// diagnostic must never turn an answer into a failure.
    pub fn line(&self, text: fmt::Arguments<'_>) {
        let mut out = self.out.borrow_mut();
        let _ = writeln!(out, "{}: {text}", self.prefix);
        let _ = out.flush();
    }
}

impl fmt::Debug for Diagnostics<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Diagnostics")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_write_to_one_stream_in_order() {
        let mut sink = Vec::new();
        {
            let a = Diagnostics::new(&mut sink, "docker-credential-scalr");
            let b = a.clone();
            a.line(format_args!("first"));
            b.line(format_args!("second {}", 2));
        }
        assert_eq!(
            String::from_utf8(sink).unwrap(),
            "docker-credential-scalr: first\ndocker-credential-scalr: second 2\n"
        );
    }
}
