//! `scalr-oci registry add|remove|list`: registry credentials in the OS
//! keychain, where docker-credential-scalr finds them.

use std::io::Write;

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::protocol::{Credential, TOKEN_USERNAME};
use docker_credential_scalr::registry::RegistryHost;
use secrecy::ExposeSecret;

use crate::error::{Error, Result};
use crate::login_check::{self, Verdict};
use crate::output::{self, say};
use crate::secret_input::read_secret;

/// What `registry add` is asked for.
pub struct Add {
    /// As `docker login` takes it: `host[:port]` or a URL.
    pub registry: String,
    pub username: String,
    /// Log in with the credentials first; store them only if accepted.
    pub verify: bool,
}

/// `registry add`: the secret from stdin or a prompt, into `keychain`.
pub fn add(keychain: &Keychain, request: &Add, out: &mut dyn Write) -> Result<()> {
    let Add {
        registry,
        username,
        verify,
    } = request;
    let host = RegistryHost::parse(registry)?;
    if username.is_empty() {
        return Err(Error::Usage("the username must not be empty".into()));
    }
    let secret = read_secret(&format!(
        "Password or access token for {username} at {host}: "
    ))?;
    if *verify {
        // Checked before anything is stored: a wrong password never
        // replaces a working one.
        let endpoint = host.api_endpoint();
        match login_check::check(&endpoint, username, &secret)? {
            Verdict::Accepted(scheme) => say!(
                out,
                "{endpoint} accepts the credentials of {username} ({scheme} flow)."
            )?,
            Verdict::Unchecked => say!(
                out,
                "{endpoint} allows anonymous access to /v2/, so the credentials could not be checked there; storing them as given."
            )?,
            Verdict::Refused(status) => {
                return Err(Error::CredentialsRefused {
                    host: host.to_string(),
                    username: username.to_string(),
                    status,
                });
            }
        }
    }
    let replaced = keychain.get(&host)?.is_some();
    let credential = Credential {
        username: username.to_string(),
        secret,
    };
    keychain.store_credential(&host, &credential)?;
    let back = keychain.get(&host)?;
    if !back.is_some_and(|b| {
        b.username == credential.username
            && b.secret.expose_secret() == credential.secret.expose_secret()
    }) {
        return Err(Error::VerifyFailed {
            host: host.to_string(),
        });
    }
    let verb = if replaced { "Replaced" } else { "Stored" };
    say!(
        out,
        "{verb} the credentials of {username} for {host} in the OS keychain ({}).",
        keychain.vendor()?
    )?;
    if username == TOKEN_USERNAME {
        say!(
            out,
            "note: OpenTofu refuses identity tokens (username <token>) from a credential helper; Docker and skopeo accept them."
        )?;
    }
    say!(
        out,
        "Next: `scalr-oci configure tofu --registry {host}` (and `configure docker`) if they do not ask docker-credential-scalr yet; `scalr-oci doctor {host}` checks them against the registry."
    )
}

pub fn remove(keychain: &Keychain, registry: &str, out: &mut dyn Write) -> Result<()> {
    let host = RegistryHost::parse(registry)?;
    let removed = keychain.erase(&host)?;
    output::keychain_removal(out, removed, "credentials", &host.to_string())
}

pub fn list(keychain: &Keychain, out: &mut dyn Write) -> Result<()> {
    let listed = keychain.list()?;
    if listed.is_empty() {
        return say!(
            out,
            "The OS keychain holds no registry credentials of docker-credential-scalr yet; add some with `scalr-oci registry add HOST --username NAME`."
        );
    }
    let width = listed
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("REGISTRY".len());
    say!(out, "{:width$}  USERNAME", "REGISTRY")?;
    for (server, username) in listed {
        say!(out, "{server:width$}  {username}")?;
    }
    Ok(())
}
