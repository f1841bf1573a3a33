//! `scalr-oci login` / `logout`: the Scalr API token in the OS keychain.
//!
//! Scheme (shared with the helper, which reads it): keychain service
//! `scalr-oci-token`, account = the bare Scalr hostname (`example.scalr.io`,
//! `host:port`), secret = the token. Registry credentials live under another
//! service, so `docker-credential-scalr list` never meets a token.

use std::io::{IsTerminal, Write};

use docker_credential_scalr::control_plane::ControlPlane;
use docker_credential_scalr::scalr_access::{self, ScalrAccess, TokenOrigin};
use docker_credential_scalr::settings::Settings;
use secrecy::ExposeSecret;

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::output::{self, say};
use crate::secret_input::read_secret;

/// The hostname from the option, else `SCALR_HOSTNAME` or the settings file.
fn hostname(given: Option<String>, settings: &Settings) -> Result<String> {
    given
        .or_else(|| settings.hostname.clone())
        .map(|h| scalr_access::bare_host(&h))
        .filter(|h| !h.is_empty())
        .ok_or(Error::NoScalrAccount)
}

pub fn login(
    machine: &Machine,
    given: Option<String>,
    verify: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let settings = machine.settings()?;
    let hostname = hostname(given, settings)?;
    // Named in a rejection: where this token came from, not the keychain
    // it is about to go to.
    let origin = if std::io::stdin().is_terminal() {
        TokenOrigin::Prompt
    } else {
        TokenOrigin::Stdin
    };
    let token = read_secret(&format!("Scalr API token for {hostname}: "))?;
    if verify {
        let access = ScalrAccess {
            hostname: hostname.clone(),
            token: token.clone(),
            origin,
        };
        let listed = ControlPlane::connect(access, settings)?.integrations()?;
        say!(
            out,
            "{hostname} accepts the token ({} Docker registry integration(s) visible).",
            listed.len()
        )?;
    }
    let keychain = machine.keychain();
    keychain.store_token(&hostname, &token)?;
    let back = keychain.get_token(&hostname)?;
    if back.is_none_or(|b| b.expose_secret() != token.expose_secret()) {
        return Err(Error::VerifyFailed { host: hostname });
    }
    say!(
        out,
        "Stored the Scalr token for {hostname} in the OS keychain ({}). docker-credential-scalr uses it when SCALR_TOKEN is not set.",
        keychain.vendor()?
    )
}

pub fn logout(machine: &Machine, given: Option<String>, out: &mut dyn Write) -> Result<()> {
    let hostname = hostname(given, machine.settings()?)?;
    let removed = machine.keychain().erase_token(&hostname)?;
    output::keychain_removal(out, removed, "Scalr token", &hostname)
}
