//! `docker-credential-scalr`: a Docker credential helper that answers from the
//! OS keychain or, on demand, from the Scalr control plane.
//!
//! The `get` path reads top to bottom:
//! [`run`] → [`protocol`] (verb, bounded stdin) → [`registry`] (canonical
//! host) → [`settings`] → [`resolve`] (sources in order, each behind the
//! [`cache`]) → [`keychain`] | [`control_plane`] → [`protocol`] (the JSON
//! answer).
//!
//! The library never prints: diagnostics go to the stderr [`run`] is given,
//! through [`diagnostics::Diagnostics`].

pub mod cache;
pub mod control_plane;
pub mod diagnostics;
pub mod error;
pub mod https;
pub mod keychain;
pub mod protocol;
mod random;
pub mod registry;
pub mod resolve;
pub mod scalr_access;
pub mod settings;

use std::io::{Read, Write};

pub use error::{Error, Result};

use resolve::Resolver;
use settings::Settings;

/// One helper invocation with its I/O passed in; returns the exit status.
pub fn run(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    protocol::serve(args, stdin, stdout, stderr, |diagnostics| {
        Ok(Resolver::new(Settings::load()?, diagnostics))
    })
}
