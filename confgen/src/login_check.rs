//! Whether a registry accepts a username and secret, asked the way clients
//! ask: `GET /v2/`, then the Basic or Bearer flow its challenge names (one
//! parser and one bounded token fetch: the registry client's). Used by
//! `registry add --verify` before anything is stored ([`check`]) and by
//! `doctor`, which has pinged the registry already ([`log_in`]).

use std::time::Duration;

use docker_credential_scalr::control_plane::lasting_failure;
use reqwest::blocking::Client;
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
    let client = client()?;
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
                detail: crate::oci::error::chain(&e),
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
    let login = Login {
        username: username.to_string(),
        secret: secret.clone(),
    };
    Ok(match log_in(&client, &url, challenge, &login)? {
        Outcome::Accepted => Verdict::Accepted(challenge.scheme.clone()),
        Outcome::TokenRefused(status) | Outcome::Refused(status) => Verdict::Refused(status),
        Outcome::Unanswered(e) => return Err(unreachable(e)),
    })
}

/// The HTTPS client a check asks with: 20 s a request, as a registry
/// client gives it.
pub fn client() -> Result<Client> {
    docker_credential_scalr::https::builder()?
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("scalr-oci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::HttpClient)
}

/// How the flow of [`log_in`] ended.
#[derive(Debug)]
pub enum Outcome {
    /// `GET /v2/` with the credentials succeeded.
    Accepted,
    /// The token service (Bearer flow) refused the login with this status.
    TokenRefused(u16),
    /// The registry refused the authenticated `GET /v2/` with this status.
    Refused(u16),
    /// The authenticated `GET /v2/` got no answer.
    Unanswered(reqwest::Error),
}

/// Logs in to the registry at `url` (its `/v2/`) with `login`, through the
/// flow `challenge` (from its unauthenticated answer) names. The Bearer
/// flow is refused, not just warned about, when the realm is not HTTPS:
/// the Basic header would cross the network in clear text (module_publish.rs
/// attack test); `GET /v2/`'s challenge names no scope, so none is asked for,
/// and the token answer is read within the client's limit for token answers.
pub fn log_in(client: &Client, url: &str, challenge: &Challenge, login: &Login) -> Result<Outcome> {
    let answer = match challenge.scheme.as_str() {
        "basic" => client
            .get(url)
            .basic_auth(&login.username, Some(login.secret.expose_secret()))
            .send(),
        _ => {
            let token = match fetch_token(
                client,
                challenge,
                "",
                Some(login),
                &Budget::default(),
                TIMEOUT,
            ) {
                Ok(token) => token,
                Err(OciError::TokenRefused { status, .. }) => {
                    return Ok(Outcome::TokenRefused(status));
                }
                Err(e) => return Err(e.into()),
            };
            client.get(url).bearer_auth(token.expose_secret()).send()
        }
    };
    Ok(match answer {
        Ok(r) if r.status().is_success() => Outcome::Accepted,
        Ok(r) => Outcome::Refused(r.status().as_u16()),
        Err(e) => Outcome::Unanswered(e),
    })
}
