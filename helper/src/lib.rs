//! `docker-credential-scalr`: a Docker credential helper that answers from the
//! OS keychain or, on demand, from the Scalr control plane.
//!
//! The `get` path reads top to bottom:
//! [`run`] → [`protocol`] (verb, bounded stdin) → [`registry`] (canonical
//! host) → [`settings`] → [`resolve`] (sources in order, each behind the
//! [`cache`]) → [`keychain`] | [`control_plane`] → [`protocol`] (the JSON
//! answer).
//!
//! The same library serves `terraform-credentials-scalr`, OpenTofu's
//! credentials helper for the Scalr host token: [`host_token`] (protocol)
//! → [`service_host`] → [`keychain`].
//!
//! The library never prints: diagnostics go to the stderr [`run`] is given,
//! through [`diagnostics::Diagnostics`].

pub mod cache;
pub mod client;
pub mod closed_pipe;
pub mod control_plane;
pub mod core_dump;
pub mod diagnostics;
pub mod echo;
pub mod error;
pub mod help;
pub mod host_token;
pub mod https;
pub mod keychain;
pub mod protocol;
mod random;
pub mod registry;
pub mod resolve;
pub mod scalr_access;
pub mod secret_json;
pub mod service_host;
pub mod settings;

use std::io::{Read, Write};

pub use error::{Error, Result};

use resolve::Resolver;
use settings::Settings;

/// The panic hook of both binaries: a panic message could quote a value that
/// holds a secret, so it says where the panic happened, never what it said.
pub fn quiet_panic_hook(
    name: &'static str,
) -> Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> {
    Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // Not eprintln!: that panics on a closed stderr, inside the hook.
        let _ = writeln!(
            std::io::stderr(),
            "{name}: internal error{place}; please report it"
        );
    })
}

/// One helper invocation with its I/O passed in; returns the exit status.
pub fn run(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    protocol::serve(args, stdin, stdout, stderr, |diagnostics| {
        Ok(Resolver::new(
            Settings::load()?,
            std::sync::Arc::new(keychain::Keychain::new()),
            diagnostics,
        ))
    })
}
