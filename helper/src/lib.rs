//! `docker-credential-scalr`: a Docker credential helper that answers from the
//! OS keychain or, on demand, from the Scalr control plane.
//!
//! The `get` path reads top to bottom:
//! [`main`](crate::run) → [`protocol`] (verb, bounded stdin) → [`registry`]
//! (canonical host) → [`resolve`] (sources in order) → [`keychain`] →
//! [`protocol`] (the JSON answer).

pub mod error;
pub mod keychain;
pub mod protocol;
pub mod registry;
pub mod resolve;

use std::io::{Read, Write};
use std::sync::Arc;

pub use error::{Error, Result};

use keychain::Keychain;
use resolve::{Resolver, Source};

/// One helper invocation with its I/O passed in; returns the exit status.
pub fn run(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    protocol::serve(args, stdin, stdout, stderr, build_resolver)
}

fn build_resolver() -> Result<Resolver> {
    let keychain = Arc::new(Keychain::new());
    let verbose = std::env::var_os("SCALR_OCI_DEBUG").is_some_and(|v| !v.is_empty() && v != "0");
    let sources: Vec<Box<dyn Source>> = vec![Box::new(keychain.clone())];
    Ok(Resolver::new(sources, keychain, verbose))
}
