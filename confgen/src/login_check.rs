//! Whether a registry accepts a username and secret, asked the way clients
//! ask: `GET /v2/`, then the Basic or Bearer flow its challenge names (one
//! parser and one bounded token fetch: the registry client's). Used by
//! `registry add --verify` before anything is stored.

use std::time::Duration;

use docker_credential_scalr::control_plane::lasting_failure;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::oci::auth::{Challenge, Login, fetch_token};
use crate::oci::error::Error as OciError;
use crate::oci::limits::Budget;

const TIMEOUT: Duration = Duration::from_secs(20);

/// What the registry said of the credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It accepted them (the scheme of the flow: `basic`, `bearer`).
    Accepted(String),
    /// `GET /v2/` needs no credentials, so they cannot be checked there.
    Unchecked,
    /// It refused them with this status (401, 403, ...).
    Refused(u16),
}

/// Asks `https://ENDPOINT/v2/` whether `username` and `secret` log in.
pub fn check(endpoint: &str, username: &str, secret: &SecretString) -> Result<Verdict> {
    let client = docker_credential_scalr::https::builder()?
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("scalr-oci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::HttpClient)?;
    let url = format!("https://{endpoint}/v2/");
    let unreachable = |e: reqwest::Error| -> Error {
        let request = format!("GET {url}");
        match lasting_failure(&e) {
            Some(what) => OciError::Unreachable {
                request,
                what,
                host: endpoint.to_string(),
            }
            .into(),
            None => OciError::Transport {
                request,
                detail: crate::oci::auth::chain(&e),
            }
            .into(),
        }
    };
    let ping = client.get(&url).send().map_err(unreachable)?;
    if ping.status().is_success() {
        return Ok(Verdict::Unchecked);
    }
    let challenges = Challenge::from_headers(ping.headers());
    let Some(challenge) = Challenge::pick(&challenges) else {
        return Ok(Verdict::Refused(ping.status().as_u16()));
    };
    let answer = match challenge.scheme.as_str() {
        "basic" => client
            .get(&url)
            .basic_auth(username, Some(secret.expose_secret()))
            .send(),
        _ => {
            let login = Login {
                username: username.to_string(),
                secret: secret.clone(),
            };
            let token = match fetch_token(
                &client,
                challenge,
                "",
                Some(&login),
                &Budget::default(),
                TIMEOUT,
            ) {
                Ok(token) => token,
                Err(OciError::TokenRefused { status, .. }) => return Ok(Verdict::Refused(status)),
                Err(e) => return Err(e.into()),
            };
            client.get(&url).bearer_auth(token.expose_secret()).send()
        }
    };
    let status = answer.map_err(unreachable)?.status();
    Ok(if status.is_success() {
        Verdict::Accepted(challenge.scheme.clone())
    } else {
        Verdict::Refused(status.as_u16())
    })
}
