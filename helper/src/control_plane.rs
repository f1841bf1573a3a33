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

use crate::error::{Error, Result};
use crate::protocol::{Credential, VERSION};
use crate::registry::RegistryHost;
use crate::scalr_access::{ScalrAccess, TokenOrigin};
use crate::settings::Settings;

pub const API_PATH: &str = "/api/iacp/v3";
const MEDIA_TYPE: &str = "application/vnd.api+json";
const PAGE_SIZE: u32 = 100;
/// A list page of 100 integrations is a few tens of KiB.
const MAX_BODY: u64 = 8 << 20;
const MAX_PAGES: u32 = 1000;
const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(4);
/// A server may ask us to come back later; we wait at most this long per ask.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);

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
    verbose: bool,
}

impl ControlPlane {
    /// Builds the HTTPS client (a few milliseconds: it loads the system
    /// roots), so do it only when the control plane is really asked.
    pub fn connect(access: ScalrAccess, settings: &Settings) -> Result<ControlPlane> {
        let base = base_url(&access.hostname, settings.allow_http_loopback)?;
        let client = Client::builder()
            .user_agent(format!("docker-credential-scalr/{VERSION}"))
            .connect_timeout(settings.connect_timeout)
            .https_only(base.scheme() == "https")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::ControlPlane {
                host: access.hostname.clone(),
                what: format!(
                    "cannot be reached: building the HTTPS client failed: {}",
                    chain(&e)
                ),
            })?;
        Ok(ControlPlane {
            base,
            access,
            client: ManuallyDrop::new(client),
            deadline: Instant::now() + settings.timeout,
            timeout: settings.timeout,
            verbose: settings.verbose,
        })
    }

    pub fn hostname(&self) -> &str {
        &self.access.hostname
    }

    pub fn token_origin(&self) -> &TokenOrigin {
        &self.access.origin
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
                Some(_) => return Err(self.fail("answered with a pagination loop".into())),
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
        let body = self.get(&format!(
            "/integrations/docker/{}/credentials",
            integration.id
        ))?;
        let doc: CredentialsDocument = self.parse(&body, "the credentials")?;
        let attributes = doc.data.attributes;
        let expires_at = match attributes.expires_at.as_deref() {
            None | Some("") => None,
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                self.fail(format!(
                    "answered with an `expires-at` that is not an RFC 3339 time: {text:?}"
                ))
            })?),
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
            if self.verbose {
                let status = match &outcome {
                    Ok(Answer::Ok(_)) => "ok".to_string(),
                    Ok(Answer::Retry { status, .. }) => status.to_string(),
                    Err(Failure::Transient(_)) => "transient failure".into(),
                    Err(Failure::Fatal(_)) => "failed".into(),
                };
                eprintln!(
                    "docker-credential-scalr: GET {API_PATH}{} -> {status} in {} ms (attempt {attempt})",
                    path_and_query.split('?').next().unwrap_or_default(),
                    started.elapsed().as_millis()
                );
            }
            let (wait, last) = match outcome {
                Ok(Answer::Ok(body)) => return Ok(body),
                Ok(Answer::Retry {
                    status,
                    retry_after,
                }) => (
                    retry_after
                        .map(|d| d.min(RETRY_AFTER_CAP))
                        .unwrap_or_else(|| backoff(attempt)),
                    format!("answered HTTP {status}"),
                ),
                Err(Failure::Transient(what)) => (backoff(attempt), what),
                Err(Failure::Fatal(e)) => return Err(e),
            };
            if attempt >= MAX_ATTEMPTS {
                return Err(self.fail(format!("{last}, {attempt} times in a row; giving up")));
            }
            if wait >= self.remaining()? {
                return Err(self.fail(format!(
                    "{last} and asked us to wait {} s, past the {} s limit of this request",
                    wait.as_secs_f32().ceil(),
                    self.timeout.as_secs()
                )));
            }
            std::thread::sleep(wait);
        }
    }

    fn read(&self, response: Response) -> std::result::Result<Answer, Failure> {
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
        let body = self.read_body(response)?;
        if status.is_success() {
            return Ok(Answer::Ok(body));
        }
        let reason = self.scrub(&error_text(&body));
        let what = match status {
            StatusCode::UNAUTHORIZED => format!(
                "rejected the Scalr token from {} (HTTP 401{reason}); get a new token and set it again",
                self.access.origin
            ),
            StatusCode::FORBIDDEN => format!(
                "refused access (HTTP 403{reason}); the token's role may lack permission to use this integration, or its export is disabled"
            ),
            StatusCode::NOT_FOUND => format!(
                "does not know this resource or does not let this token see it (HTTP 404{reason})"
            ),
            s if s.is_redirection() => format!(
                "answered with a redirect (HTTP {s}); set SCALR_HOSTNAME to the account's own host, e.g. example.scalr.io"
            ),
            s => format!("answered HTTP {s}{reason}"),
        };
        Err(Failure::Fatal(self.fail(what)))
    }

    fn read_body(&self, response: Response) -> std::result::Result<Zeroizing<Vec<u8>>, Failure> {
        let mut body = Zeroizing::new(Vec::new());
        let mut limited = response.take(MAX_BODY + 1);
        if let Err(e) = limited.read_to_end(&mut body) {
            if self.remaining().is_err() {
                return Err(Failure::Fatal(self.timed_out()));
            }
            // A truncated body or a reset connection: worth another try.
            return Err(Failure::Transient(format!("broke off its answer ({e})")));
        }
        if body.len() as u64 > MAX_BODY {
            return Err(Failure::Fatal(
                self.fail(format!("answered with more than {MAX_BODY} bytes")),
            ));
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> Failure {
        let detail = chain(&e);
        if e.is_timeout() || self.remaining().is_err() {
            return Failure::Fatal(self.timed_out());
        }
        if detail.contains("certificate") || detail.contains("UnknownIssuer") {
            return Failure::Fatal(self.fail(format!(
                "presented a TLS certificate this machine does not trust ({detail}); \
                 if it uses a private CA, point SSL_CERT_FILE at that CA's PEM file"
            )));
        }
        Failure::Transient(format!("cannot be reached ({detail})"))
    }

    fn parse<T: for<'de> Deserialize<'de>>(&self, body: &[u8], what: &str) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| {
            self.fail(format!(
                "answered {what} with a malformed JSON:API document ({e})"
            ))
        })
    }

    fn remaining(&self) -> Result<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| self.timed_out())
    }

    fn timed_out(&self) -> Error {
        self.fail(format!(
            "did not answer within {} s (set SCALR_OCI_TIMEOUT or control_plane.timeout_secs to change the limit)",
            self.timeout.as_secs()
        ))
    }

    fn fail(&self, what: String) -> Error {
        Error::ControlPlane {
            host: self.access.hostname.clone(),
            what,
        }
    }

    /// A server could echo the token back in an error; never pass it on.
    fn scrub(&self, text: &str) -> String {
        let token = self.access.token.expose_secret();
        if token.is_empty() {
            text.to_string()
        } else {
            text.replace(token, "[token]")
        }
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
    let naming: Vec<&Integration> = integrations
        .iter()
        .filter(|i| i.host().as_ref() == Some(host))
        .collect();
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

enum Failure {
    Transient(String),
    Fatal(Error),
}

/// `example.scalr.io`, `host:port`, `https://host` → the API's base URL.
pub fn base_url(hostname: &str, allow_http_loopback: bool) -> Result<Url> {
    let bad = |what: &str| Error::ControlPlane {
        host: hostname.to_string(),
        what: what.to_string(),
    };
    let trimmed = hostname.trim().trim_end_matches('/');
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|_| bad("is not a valid host name (expected e.g. example.scalr.io)"))?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(bad(
            "must be a bare host name such as example.scalr.io, without a path or user",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if loopback && allow_http_loopback {
                Ok(url)
            } else {
                Err(bad(
                    "uses plain HTTP; the control plane is HTTPS only (plain HTTP is allowed only to a loopback address with SCALR_OCI_ALLOW_HTTP_LOOPBACK=1)",
                ))
            }
        }
        _ => Err(bad("must be an https:// host")),
    }
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
fn backoff(attempt: u32) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_CAP);
    let half = step / 2;
    half + half.mul_f64(crate::random::unit())
}

/// `: title: detail` from a JSON:API error document, if there is one.
fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Doc {
        errors: Vec<ErrorObject>,
    }
    #[derive(Deserialize)]
    struct ErrorObject {
        title: Option<String>,
        detail: Option<String>,
    }
    let Ok(doc) = serde_json::from_slice::<Doc>(body) else {
        return String::new();
    };
    let text: Vec<String> = doc
        .errors
        .iter()
        .map(|e| {
            [e.title.as_deref(), e.detail.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ")
        })
        .filter(|s| !s.is_empty())
        .collect();
    if text.is_empty() {
        return String::new();
    }
    let joined: String = text
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .take(400)
        .collect();
    format!(": {joined}")
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("example.scalr.io", false).unwrap().as_str(),
            "https://example.scalr.io/"
        );
        assert_eq!(
            base_url("https://127.0.0.1:8443/", false).unwrap().as_str(),
            "https://127.0.0.1:8443/"
        );
        assert!(base_url("http://example.scalr.io", true).is_err());
        assert!(base_url("http://127.0.0.1:8080", false).is_err());
        assert!(base_url("http://127.0.0.1:8080", true).is_ok());
        assert!(base_url("http://[::1]:8080", true).is_ok());
        assert!(base_url("example.scalr.io/api", false).is_err());
        assert!(base_url("user@example.scalr.io", false).is_err());
        assert!(base_url("ftp://example.scalr.io", false).is_err());
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

    #[test]
    fn rfc3339_with_offsets() {
        let a = parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        let b = parse_rfc3339("2026-11-22T12:00:00+02:00").unwrap();
        assert_eq!(a, b);
        assert!(parse_rfc3339("tomorrow").is_none());
    }

    fn integration(id: &str, url: &str, exported: bool, status: &str) -> Integration {
        Integration {
            id: id.into(),
            name: format!("name of {id}"),
            registry_url: url.into(),
            username: "u".into(),
            export_credentials: exported,
            status: status.into(),
        }
    }

    fn ids(list: &[&Integration]) -> Vec<String> {
        list.iter().map(|i| i.id.clone()).collect()
    }

    #[test]
    fn pick_takes_the_first_usable_in_api_order_and_reports_the_rest() {
        let all = [
            integration("in-off", "https://dup.example", false, "active"),
            integration("in-disabled", "dup.example", true, "disabled"),
            integration("in-other", "https://dup.example.evil.com", true, "active"),
            integration("in-first", "https://DUP.example:443/", true, "failed"),
            integration("in-second", "dup.example", true, "active"),
            integration("in-bad-url", "https://dup.example@x", true, "active"),
            integration("in-third", "http://dup.example/v2/", true, "pending"),
        ];
        let host = RegistryHost::parse("dup.example").unwrap();
        let picked = pick(&all, &host);
        assert_eq!(picked.chosen.map(|i| i.id.as_str()), Some("in-first"));
        assert_eq!(ids(&picked.shadowed), ["in-second", "in-third"]);
        assert_eq!(picked.naming_host, 5, "usable or not, bad URLs aside");
    }

    #[test]
    fn pick_without_a_usable_integration_still_counts_the_ones_naming_the_host() {
        let all = [
            integration("in-a", "https://ghcr.io", false, "active"),
            integration("in-b", "ghcr.io:443", true, "disabled"),
            integration("in-c", "ghcr.io:5000", true, "active"),
        ];
        let picked = pick(&all, &RegistryHost::parse("https://ghcr.io").unwrap());
        assert_eq!(picked.chosen, None);
        assert!(picked.shadowed.is_empty());
        assert_eq!(picked.naming_host, 2, "another port is another host");
        let none = pick(&[], &RegistryHost::parse("ghcr.io").unwrap());
        assert_eq!((none.chosen, none.naming_host), (None, 0));
    }

    #[test]
    fn pick_treats_every_docker_hub_spelling_as_one_host() {
        let all = [
            integration("in-hub", "https://registry-1.docker.io", true, "active"),
            integration("in-index", "https://index.docker.io/v1/", true, "active"),
        ];
        let picked = pick(&all, &RegistryHost::parse("docker.io").unwrap());
        assert_eq!(picked.chosen.map(|i| i.id.as_str()), Some("in-hub"));
        assert_eq!(ids(&picked.shadowed), ["in-index"]);
    }

    #[test]
    fn error_documents() {
        let body =
            br#"{"errors":[{"status":"401","title":"Unauthorized","detail":"Token expired"}]}"#;
        assert_eq!(error_text(body), ": Unauthorized: Token expired");
        assert_eq!(error_text(b"<html>"), "");
    }
}
