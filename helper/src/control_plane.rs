//! The Scalr control plane client: Docker registry integrations and their
//! credentials, over HTTPS, within a hard deadline.
//!
//! Contract (docs/control-plane.openapi.yaml):
//! - `GET /api/iacp/v3/integrations/docker?page[number]=N&page[size]=100`
//!   lists `docker-integrations`; follow `meta.pagination.next-page` to null.
//! - `GET /api/iacp/v3/integrations/docker/{id}/credentials` returns the
//!   username, password and optional `expires-at` of one integration.
//! - Errors are JSON:API documents; 401 means the token was rejected.
//!
//! Every call of one process shares one deadline (30 s by default): a slow,
//! stalled or retry-happy control plane can delay a `get`, never hang it.
//! 429 and 5xx answers are retried with capped exponential backoff and jitter,
//! honouring `Retry-After`. Redirects are not followed: the bearer token is
//! only ever sent to the configured host.
//!
//! Nothing the server says in an error is passed on (see `error.rs`): a
//! failure is its kind and status, and names where the token came from. This
//! module never prints: what it has to say comes back as data ([`Lookup`],
//! [`ControlPlane::take_exchanges`]) for the caller to show.

use std::cell::RefCell;
use std::fmt;
use std::io::Read;
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use crate::error::{ControlPlaneFailure, Error, NetworkFailure, Result};
use crate::https;
use crate::protocol::Credential;
use crate::registry::RegistryHost;
use crate::scalr_access::{ScalrAccess, TokenOrigin};
use crate::settings::Settings;

pub const API_PATH: &str = "/api/iacp/v3";
const MEDIA_TYPE: &str = "application/vnd.api+json";
const PAGE_SIZE: u32 = 100;
/// A list page of 100 integrations is a few tens of KiB.
const MAX_BODY: u64 = 8 << 20;
const MAX_PAGES: u32 = 1000;
/// Attempts of one request before giving up (scalr-oci's registry client uses the same policy).
pub const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(4);
/// A server may ask us to come back later; we wait at most this long per ask.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

/// One Docker registry integration as the list endpoint describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub registry_url: String,
    pub username: String,
    pub export_credentials: bool,
    pub status: String,
}

impl Integration {
    /// The registry this integration answers for, if its URL is valid.
    pub fn host(&self) -> Option<RegistryHost> {
        RegistryHost::parse(&self.registry_url).ok()
    }

    /// Whether this integration's URL names `host` (in any spelling).
    pub fn names(&self, host: &RegistryHost) -> bool {
        self.host().as_ref() == Some(host)
    }

    /// Exported and not disabled: may answer a `get`.
    pub fn usable(&self) -> bool {
        self.export_credentials && self.status != "disabled"
    }
}

/// Credentials handed out by the control plane.
#[derive(Debug)]
pub struct IssuedCredential {
    pub credential: Credential,
    pub expires_at: Option<SystemTime>,
}

pub struct ControlPlane {
    base: Url,
    access: ScalrAccess,
    /// Never dropped: dropping a blocking client joins its runtime thread,
    /// which waits for any connection still open. After a timeout against a
    /// server that holds the connection, that wait would outlast our
    /// deadline; the process is about to exit anyway.
    client: ManuallyDrop<Client>,
    deadline: Instant,
    timeout: Duration,
    /// Every request so far, for debug output.
    exchanges: RefCell<Vec<Exchange>>,
}

impl ControlPlane {
    /// Builds the HTTPS client ([`crate::https`]), so do it only when the
    /// control plane is really asked.
    pub fn connect(access: ScalrAccess, settings: &Settings) -> Result<ControlPlane> {
        let base = https::base_url(&access.hostname, settings.allow_http_loopback)?;
        let client = https::client(&access.hostname, &base, settings)?;
        Ok(ControlPlane {
            base,
            access,
            client: ManuallyDrop::new(client),
            deadline: Instant::now() + settings.timeout,
            timeout: settings.timeout,
            exchanges: RefCell::default(),
        })
    }

    pub fn hostname(&self) -> &str {
        &self.access.hostname
    }

    pub fn token_origin(&self) -> &TokenOrigin {
        &self.access.origin
    }

    /// The requests made since the last call, in order, for debug output.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        self.exchanges.take()
    }

    /// Every Docker registry integration the token can see, in API order.
    pub fn integrations(&self) -> Result<Vec<Integration>> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let body = self.get(&format!(
                "/integrations/docker?page[number]={page}&page[size]={PAGE_SIZE}"
            ))?;
            let doc: ListDocument = self.parse(&body, "the integration list")?;
            all.extend(doc.data.into_iter().map(Integration::from));
            match doc
                .meta
                .and_then(|m| m.pagination)
                .and_then(|p| p.next_page)
            {
                Some(next) if next > page && next <= MAX_PAGES => page = next,
                Some(_) => return Err(self.fail(ControlPlaneFailure::PaginationLoop)),
                None => return Ok(all),
            }
        }
    }

    /// The integration that answers for `host` (see [`pick`]), with the
    /// integrations it shadows, for the caller to report.
    pub fn find(&self, host: &RegistryHost) -> Result<Lookup> {
        let all = self.integrations()?;
        let picked = pick(&all, host);
        Ok(Lookup {
            integration: picked.chosen.cloned(),
            shadowed: picked.shadowed.into_iter().cloned().collect(),
            listed: all.len(),
            for_host: picked.naming_host,
        })
    }

    pub fn credentials(&self, integration: &Integration) -> Result<IssuedCredential> {
        let body = self
            .get(&format!(
                "/integrations/docker/{}/credentials",
                integration.id
            ))
            .map_err(name_the_permission)?;
        let doc: CredentialsDocument = self.parse(&body, "the credentials")?;
        let attributes = doc.data.attributes;
        let expires_at = match attributes.expires_at.as_deref() {
            None | Some("") => None,
            Some(text) => {
                Some(parse_rfc3339(text).ok_or_else(|| self.fail(ControlPlaneFailure::BadExpiry))?)
            }
        };
        Ok(IssuedCredential {
            credential: Credential {
                username: attributes.username,
                secret: attributes.password,
            },
            expires_at,
        })
    }

    /// One GET with retries; returns the body of a 2xx answer.
    fn get(&self, path_and_query: &str) -> Result<Zeroizing<Vec<u8>>> {
        let url = format!(
            "{}{API_PATH}{path_and_query}",
            self.base.as_str().trim_end_matches('/')
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = self.remaining()?;
            let started = Instant::now();
            let outcome = self
                .client
                .get(&url)
                .bearer_auth(self.access.token.expose_secret())
                .header(ACCEPT, MEDIA_TYPE)
                .timeout(remaining)
                .send()
                .map_err(|e| self.transport_error(e))
                .and_then(|response| self.read(response));
            self.exchanges.borrow_mut().push(Exchange {
                path: path_and_query
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                outcome: match &outcome {
                    Ok(Answer::Ok(_)) => "ok".to_string(),
                    Ok(Answer::Retry { status, .. }) => status.to_string(),
                    Err(Failed::Transient(_)) => "transient failure".into(),
                    Err(Failed::Fatal(_)) => "failed".into(),
                },
                millis: started.elapsed().as_millis(),
                attempt,
            });
            let (wait, last) = match outcome {
                Ok(Answer::Ok(body)) => return Ok(body),
                Ok(Answer::Retry {
                    status,
                    retry_after,
                }) => (
                    retry_after
                        .map(|d| d.min(RETRY_AFTER_CAP))
                        .unwrap_or_else(|| backoff(attempt)),
                    ControlPlaneFailure::Status {
                        status: status.as_u16(),
                    },
                ),
                Err(Failed::Transient(failure)) => (backoff(attempt), failure),
                Err(Failed::Fatal(failure)) => return Err(self.fail(failure)),
            };
            if attempt >= MAX_ATTEMPTS {
                return Err(self.fail(ControlPlaneFailure::GaveUp {
                    last: Box::new(last),
                    attempts: attempt,
                }));
            }
            if wait >= self.remaining()? {
                return Err(self.fail(ControlPlaneFailure::WaitTooLong {
                    last: Box::new(last),
                    wait_secs: wait.as_secs_f32().ceil() as u64,
                    limit_secs: self.timeout.as_secs(),
                }));
            }
            std::thread::sleep(wait);
        }
    }

    /// Sorts an answer into a body, a retry, or a failure. An error's body
    /// is never read: its text is the server's to choose, and could hold the
    /// token in any spelling.
    fn read(&self, response: Response) -> std::result::Result<Answer, Failed> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Ok(Answer::Retry {
                status,
                retry_after,
            });
        }
        if status.is_success() {
            return self.read_body(response).map(Answer::Ok);
        }
        let token_from = || self.access.origin.to_string();
        Err(Failed::Fatal(match status {
            StatusCode::UNAUTHORIZED => ControlPlaneFailure::Rejected {
                token_from: token_from(),
            },
            StatusCode::FORBIDDEN => ControlPlaneFailure::Forbidden {
                token_from: token_from(),
            },
            StatusCode::NOT_FOUND => ControlPlaneFailure::NotFound {
                token_from: token_from(),
            },
            s if s.is_redirection() => ControlPlaneFailure::Redirected { status: s.as_u16() },
            s => ControlPlaneFailure::Status { status: s.as_u16() },
        }))
    }

    fn read_body(&self, response: Response) -> std::result::Result<Zeroizing<Vec<u8>>, Failed> {
        let mut body = Zeroizing::new(Vec::new());
        let mut limited = response.take(MAX_BODY + 1);
        if let Err(e) = limited.read_to_end(&mut body) {
            if self.remaining().is_err() {
                return Err(Failed::Fatal(self.timeout_failure()));
            }
            // A truncated body or a reset connection: worth another try.
            return Err(Failed::Transient(ControlPlaneFailure::BrokeOff {
                detail: e.to_string(),
            }));
        }
        if body.len() as u64 > MAX_BODY {
            return Err(Failed::Fatal(ControlPlaneFailure::TooLarge {
                limit: MAX_BODY,
            }));
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> Failed {
        if self.remaining().is_err() {
            return Failed::Fatal(self.timeout_failure());
        }
        match NetworkFailure::of(&e) {
            NetworkFailure::Timeout => Failed::Fatal(self.timeout_failure()),
            untrusted @ NetworkFailure::UntrustedCertificate { .. } => {
                Failed::Fatal(ControlPlaneFailure::Network(untrusted))
            }
            // A name that does not resolve is not a blip like a 5xx:
            // asking again five times only delays the answer. (A refused
            // connection is retried: a control plane restarting refuses
            // for a moment, and the contract tests hold us to that.)
            unreachable if is_unresolvable(&e) => {
                Failed::Fatal(ControlPlaneFailure::Network(unreachable))
            }
            unreachable => Failed::Transient(ControlPlaneFailure::Network(unreachable)),
        }
    }

    /// serde's messages quote the values they choke on, and the values are
    /// the server's: only the kind of error and its place are kept.
    fn parse<T: for<'de> Deserialize<'de>>(&self, body: &[u8], what: &'static str) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| {
            use serde_json::error::Category;
            let kind = match e.classify() {
                Category::Syntax => "not JSON",
                Category::Eof => "cut short",
                Category::Data => "not the expected shape",
                Category::Io => "unreadable",
            };
            self.fail(ControlPlaneFailure::Malformed {
                what,
                detail: format!("{kind} at line {} column {}", e.line(), e.column()),
            })
        })
    }

    fn remaining(&self) -> Result<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| self.fail(self.timeout_failure()))
    }

    fn timeout_failure(&self) -> ControlPlaneFailure {
        ControlPlaneFailure::Timeout {
            limit_secs: self.timeout.as_secs(),
        }
    }

    fn fail(&self, failure: ControlPlaneFailure) -> Error {
        Error::ControlPlane {
            host: self.access.hostname.clone(),
            failure,
        }
    }
}

/// The permission a token needs for the credential exchange
/// (docs/control-plane.openapi.yaml, `x-scalr-permission`). A Scalr run's
/// token is documented with `workspaces:read`, `workspaces:lock`,
/// `module-versions:read`, `state-versions:read` and `state-versions:create`
/// only, so a run's role must grant this one too.
pub const CREDENTIALS_PERMISSION: &str = "docker-integrations:read-credentials";

/// A 403 or 404 from the credential exchange says which permission is missing.
fn name_the_permission(error: Error) -> Error {
    let (host, token_from, status) = match error {
        Error::ControlPlane {
            host,
            failure: ControlPlaneFailure::Forbidden { token_from },
        } => (host, token_from, 403),
        Error::ControlPlane {
            host,
            failure: ControlPlaneFailure::NotFound { token_from },
        } => (host, token_from, 404),
        other => return other,
    };
    Error::ControlPlane {
        host,
        failure: ControlPlaneFailure::CredentialsRefused {
            token_from,
            status,
            permission: CREDENTIALS_PERMISSION,
        },
    }
}

/// One request as debug output shows it: the path, never a query, a header
/// or a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub path: String,
    /// `ok`, the status of a retried answer, or how it failed.
    pub outcome: String,
    pub millis: u128,
    pub attempt: u32,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GET {API_PATH}{} -> {} in {} ms (attempt {})",
            self.path, self.outcome, self.millis, self.attempt
        )
    }
}

/// Which integration answers a host, decided from the list alone: the first
/// usable one (exported, not disabled) that names the host, in API order.
/// Scalr allows one integration per host, but an account can still hold
/// several (spelled differently, or created before the rule): the list's order
/// is the one stable tie-break every caller (the helper, `status`, `doctor`)
/// can agree on.
#[derive(Debug, PartialEq, Eq)]
pub struct Pick<'a> {
    pub chosen: Option<&'a Integration>,
    /// Later usable integrations for the same host, which `chosen` shadows.
    pub shadowed: Vec<&'a Integration>,
    /// How many integrations name the host, usable or not.
    pub naming_host: usize,
}

/// See [`Pick`]. Integrations whose registry URL does not parse name no host.
pub fn pick<'a>(integrations: &'a [Integration], host: &RegistryHost) -> Pick<'a> {
    let naming: Vec<&Integration> = integrations.iter().filter(|i| i.names(host)).collect();
    let mut usable = naming.iter().copied().filter(|i| i.usable());
    Pick {
        chosen: usable.next(),
        shadowed: usable.collect(),
        naming_host: naming.len(),
    }
}

/// The result of looking a host up among the integrations.
#[derive(Debug)]
pub struct Lookup {
    pub integration: Option<Integration>,
    /// Usable integrations for the same host that lost to `integration`.
    pub shadowed: Vec<Integration>,
    /// How many integrations the token can see.
    pub listed: usize,
    /// How many of them name the host, usable or not.
    pub for_host: usize,
}

enum Answer {
    Ok(Zeroizing<Vec<u8>>),
    Retry {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
}

/// How one attempt failed: worth another try, or final.
enum Failed {
    Transient(ControlPlaneFailure),
    Fatal(ControlPlaneFailure),
}

/// `Retry-After` is either delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let ts: jiff::Timestamp = text.parse().ok()?;
    Some(SystemTime::from(ts))
}

/// Exponential backoff with "equal jitter": between half and all of the
/// capped exponential step, so parallel clients spread out.
pub fn backoff(attempt: u32) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_CAP);
    let half = step / 2;
    half + half.mul_f64(crate::random::unit())
}

#[derive(Deserialize)]
struct ListDocument {
    data: Vec<Resource>,
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Resource {
    id: String,
    attributes: IntegrationAttributes,
}

#[derive(Deserialize)]
struct IntegrationAttributes {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "registry-url", default)]
    registry_url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(rename = "export-credentials", default)]
    export_credentials: bool,
    #[serde(default)]
    status: Option<String>,
}

impl From<Resource> for Integration {
    fn from(r: Resource) -> Self {
        let a = r.attributes;
        Integration {
            id: r.id,
            name: a.name.unwrap_or_default(),
            registry_url: a.registry_url.unwrap_or_default(),
            username: a.username.unwrap_or_default(),
            export_credentials: a.export_credentials,
            status: a.status.unwrap_or_else(|| "active".into()),
        }
    }
}

#[derive(Deserialize)]
struct Meta {
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(rename = "next-page")]
    next_page: Option<u32>,
}

#[derive(Deserialize)]
struct CredentialsDocument {
    data: CredentialsResource,
}

#[derive(Deserialize)]
struct CredentialsResource {
    attributes: CredentialsAttributes,
}

#[derive(Deserialize)]
struct CredentialsAttributes {
    username: String,
    password: SecretString,
    #[serde(rename = "expires-at", default)]
    expires_at: Option<String>,
}

/// Whether a request failed because the host name does not resolve.
fn is_unresolvable(error: &reqwest::Error) -> bool {
    lasting_failure(error) == Some(UNRESOLVABLE)
}

const UNRESOLVABLE: &str = "cannot be resolved: no such host name";

/// A failure that another try will not change, in our words: the name does
/// not resolve (hyper's resolver says "dns error"), or the connection was
/// refused. `None` for anything else (a reset, a timeout: worth a retry).
/// Shared with the registry client, which words and retries the same way.
pub fn lasting_failure(error: &reqwest::Error) -> Option<&'static str> {
    if !error.is_connect() {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return Some("refused the connection: nothing listens at that host and port");
        }
        if e.to_string().starts_with("dns error") {
            return Some(UNRESOLVABLE);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DEFAULT_TIMEOUT;

    /// An unresolvable name is not retried (login used to retry a DNS
    /// failure five times, 2.8 s); a refused connection is lasting for the
    /// registry client, and retried by the control plane.
    #[test]
    fn refused_and_unresolvable_are_lasting_failures() {
        let client = crate::https::builder().unwrap().build().unwrap();
        let refused = client.get("https://127.0.0.1:1/").send().unwrap_err();
        assert!(lasting_failure(&refused).is_some(), "{refused:?}");
        assert!(!is_unresolvable(&refused), "{refused:?}");
        let unresolvable = client
            .get("https://no-such-host.invalid/")
            .send()
            .unwrap_err();
        assert!(is_unresolvable(&unresolvable), "{unresolvable:?}");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let soon = SystemTime::now() + Duration::from_secs(5);
        let d = parse_retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            d <= Duration::from_secs(5) && d >= Duration::from_secs(3),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            assert!(d <= BACKOFF_CAP, "{attempt}: {d:?}");
            assert!(d >= BACKOFF_BASE / 2, "{attempt}: {d:?}");
        }
    }

    /// The default limit, as the issue states it: a `get` against a control
    /// plane that never answers ends within 30 seconds. The end-to-end test
    /// proves the deadline is honoured with a 3 s limit; this proves the
    /// default one is 30 s, without waiting for it.
    #[test]
    fn without_settings_a_control_plane_gets_30_seconds() {
        assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(30));
        let access = ScalrAccess {
            hostname: "example.scalr.io".into(),
            token: SecretString::from("t"),
            origin: TokenOrigin::Environment,
        };
        let before = Instant::now();
        let cp = ControlPlane::connect(access, &Settings::defaults()).unwrap();
        assert_eq!(cp.timeout, Duration::from_secs(30));
        let left = cp.remaining().unwrap();
        assert!(
            left <= Duration::from_secs(30) && left + before.elapsed() >= Duration::from_secs(30),
            "{left:?}"
        );
        let said = cp.fail(cp.timeout_failure()).to_string();
        assert!(said.contains("did not answer within 30 s"), "{said}");
    }

    #[test]
    fn rfc3339_with_offsets() {
        let a = parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        let b = parse_rfc3339("2026-11-22T12:00:00+02:00").unwrap();
        assert_eq!(a, b);
        assert!(parse_rfc3339("tomorrow").is_none());
    }

    /// One control-plane answer, in API order: integrations for three
    /// hosts, usable or not, with lookalikes and a URL that does not parse.
    fn answer() -> Vec<Integration> {
        let dup_example = [
            ("in-off", "https://dup.example", false, "active"),
            ("in-disabled", "dup.example", true, "disabled"),
            ("in-other", "https://dup.example.evil.com", true, "active"),
            ("in-first", "https://DUP.example:443/", true, "failed"),
            ("in-second", "dup.example", true, "active"),
            ("in-bad-url", "https://dup.example@x", true, "active"),
            ("in-third", "http://dup.example/v2/", true, "pending"),
        ];
        let ghcr = [
            ("in-a", "https://ghcr.io", false, "active"),
            ("in-b", "ghcr.io:443", true, "disabled"),
            ("in-c", "ghcr.io:5000", true, "active"),
        ];
        let docker_hub = [
            ("in-hub", "https://registry-1.docker.io", true, "active"),
            ("in-index", "https://index.docker.io/v1/", true, "active"),
        ];
        dup_example
            .into_iter()
            .chain(ghcr)
            .chain(docker_hub)
            .map(|(id, url, exported, status)| Integration {
                id: id.into(),
                name: format!("name of {id}"),
                registry_url: url.into(),
                username: "u".into(),
                export_credentials: exported,
                status: status.into(),
            })
            .collect()
    }

    /// [`pick`] for `host` in [`answer`]: the chosen id, the shadowed ids
    /// and how many integrations name the host.
    fn picked(host: &str) -> (Option<String>, Vec<String>, usize) {
        let all = answer();
        let picked = pick(&all, &RegistryHost::parse(host).unwrap());
        let id = |i: &&Integration| i.id.clone();
        let shadowed = picked.shadowed.iter().map(id).collect();
        (picked.chosen.as_ref().map(id), shadowed, picked.naming_host)
    }

    #[test]
    fn pick_takes_the_first_usable_in_api_order_and_reports_the_rest() {
        let (chosen, shadowed, naming_host) = picked("dup.example");
        assert_eq!(chosen.as_deref(), Some("in-first"));
        assert_eq!(shadowed, ["in-second", "in-third"]);
        assert_eq!(naming_host, 5, "usable or not, bad URLs aside");
    }

    #[test]
    fn pick_without_a_usable_integration_still_counts_the_ones_naming_the_host() {
        let (chosen, shadowed, naming_host) = picked("https://ghcr.io");
        assert_eq!(chosen, None);
        assert!(shadowed.is_empty());
        assert_eq!(naming_host, 2, "another port is another host");
        let none = pick(&[], &RegistryHost::parse("ghcr.io").unwrap());
        assert_eq!((none.chosen, none.naming_host), (None, 0));
    }

    #[test]
    fn pick_treats_every_docker_hub_spelling_as_one_host() {
        let (chosen, shadowed, _) = picked("docker.io");
        assert_eq!(chosen.as_deref(), Some("in-hub"));
        assert_eq!(shadowed, ["in-index"]);
    }
}
