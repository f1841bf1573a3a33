//! Authentication against a registry: the `WWW-Authenticate` challenges of
//! a 401, then Basic or the Bearer-token flow (distribution's token spec,
//! as ghcr.io, Docker Hub and GitLab run it).
//!
//! Decisions:
//! - Every `WWW-Authenticate` header is read, and one header may hold
//!   several challenges (`Basic realm="a", Bearer realm="b"`); Bearer is
//!   preferred over Basic (go-containerregistry and oras-go do the same).
//! - Only a challenge from the registry's own origin is answered (the
//!   client checks the origin before calling in here); its realm may be on
//!   another host (Docker Hub's `auth.docker.io`), but must be HTTPS, or
//!   nothing is sent to it.
//! - Tokens are fetched with `GET realm?service=…&scope=…` and the Basic
//!   header (what oras-go and the Docker CLI do for a username/password),
//!   anonymously when there are no credentials. The answer is read within
//!   [`MAX_TOKEN_BODY`] and the command's budget; no redirect is followed.
//! - Tokens and passwords live in `SecretString`s and reach reqwest only as
//!   headers it marks sensitive.

use std::time::Duration;

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result, chain, request};
use crate::limits::{Budget, MAX_TOKEN_BODY, read_bounded};

/// A parsed challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-case: `basic`, `bearer`.
    pub scheme: String,
    /// Keys lower-case, values unquoted, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The first challenge of `header` (see [`Challenge::parse_all`]).
    pub fn parse(header: &str) -> Challenge {
        Challenge::parse_all(header)
            .into_iter()
            .next()
            .unwrap_or(Challenge {
                scheme: String::new(),
                params: Vec::new(),
            })
    }

    /// Every challenge of one header value (RFC 9110 §11.6.1): `scheme`
    /// then `key=value` or `key="quoted, with \" escapes"` parameters,
    /// separated by commas; a token not followed by `=` starts the next
    /// challenge. A token68 (`Negotiate abc==`) is kept as a parameter
    /// without value.
    pub fn parse_all(header: &str) -> Vec<Challenge> {
        let bytes = header.as_bytes();
        let mut at = 0;
        let mut out: Vec<Challenge> = Vec::new();
        let is_space = |b: u8| b == b' ' || b == b'\t';
        loop {
            while at < bytes.len() && (is_space(bytes[at]) || bytes[at] == b',') {
                at += 1;
            }
            if at >= bytes.len() {
                return out;
            }
            let start = at;
            while at < bytes.len() && !matches!(bytes[at], b' ' | b'\t' | b',' | b'=' | b'"') {
                at += 1;
            }
            let token = &header[start..at];
            let mut look = at;
            while look < bytes.len() && is_space(bytes[look]) {
                look += 1;
            }
            let is_param = look < bytes.len() && bytes[look] == b'=' && !out.is_empty();
            if token.is_empty() {
                // A stray `=` or `"`: skip it.
                at += 1;
                continue;
            }
            if !is_param {
                out.push(Challenge {
                    scheme: token.to_ascii_lowercase(),
                    params: Vec::new(),
                });
                continue;
            }
            at = look + 1;
            while at < bytes.len() && is_space(bytes[at]) {
                at += 1;
            }
            let mut value = String::new();
            if at < bytes.len() && bytes[at] == b'"' {
                at += 1;
                let mut chars = header[at..].char_indices();
                let mut end = header.len() - at;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, c)) = chars.next() {
                                value.push(c);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                at += end;
            } else {
                let start = at;
                while at < bytes.len() && bytes[at] != b',' && !is_space(bytes[at]) {
                    at += 1;
                }
                value.push_str(&header[start..at]);
            }
            if let Some(last) = out.last_mut() {
                last.params.push((token.to_ascii_lowercase(), value));
            }
        }
    }

    /// Every challenge of every `WWW-Authenticate` header.
    pub fn from_headers(headers: &HeaderMap) -> Vec<Challenge> {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Challenge::parse_all)
            .collect()
    }

    /// The challenge to answer: Bearer over Basic; `None` when neither is offered.
    pub fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
        challenges
            .iter()
            .find(|c| c.scheme == "bearer")
            .or_else(|| challenges.iter().find(|c| c.scheme == "basic"))
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What goes into the `Authorization` header of registry requests.
pub enum Authorization {
    Anonymous,
    Basic {
        username: String,
        secret: SecretString,
    },
    Bearer(SecretString),
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Authorization::Anonymous => "Anonymous",
            Authorization::Basic { .. } => "Basic([REDACTED])",
            Authorization::Bearer(_) => "Bearer([REDACTED])",
        })
    }
}

impl Authorization {
    pub fn apply(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match self {
            Authorization::Anonymous => request,
            Authorization::Basic { username, secret } => {
                request.basic_auth(username, Some(secret.expose_secret()))
            }
            Authorization::Bearer(token) => request.bearer_auth(token.expose_secret()),
        }
    }
}

/// Username and password (or token) for a registry.
pub struct Login {
    pub username: String,
    pub secret: SecretString,
}

/// The token URL for a Bearer challenge: the realm, which must be HTTPS,
/// with `service` and `scope` (ours, when the challenge names none).
pub fn token_url(challenge: &Challenge, scope: &str) -> Result<reqwest::Url> {
    let realm = challenge.param("realm").ok_or(Error::RealmMissing)?;
    let mut url = reqwest::Url::parse(realm).map_err(|_| Error::RealmNotUrl)?;
    if url.scheme() != "https" {
        url.set_query(None);
        return Err(Error::RealmNotHttps {
            realm: url.to_string(),
        });
    }
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = challenge.param("service") {
            query.append_pair("service", service);
        }
        // doctor's `GET /v2/` check asks for no scope at all.
        match challenge.param("scope").unwrap_or(scope) {
            "" => {}
            scope => {
                query.append_pair("scope", scope);
            }
        }
    }
    Ok(url)
}

/// `GET realm?…` with Basic credentials (or none): the token. The caller
/// has checked that `challenge` came from the registry's own origin.
pub fn fetch_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scope: &str,
    login: Option<&Login>,
    budget: &Budget,
    timeout: Duration,
) -> Result<SecretString> {
    let url = token_url(challenge, scope)?;
    let shown = request("GET", &url);
    let realm = shown.trim_start_matches("GET ").to_string();
    let mut get = http.get(url).timeout(timeout);
    if let Some(login) = login {
        get = get.basic_auth(&login.username, Some(login.secret.expose_secret()));
    }
    let response = get.send().map_err(|e| Error::Transport {
        request: shown.clone(),
        detail: chain(&e),
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::TokenRefused {
            realm,
            who: login.map_or("anonymous access".to_string(), |l| {
                format!("the credentials of {} for {scope}", l.username)
            }),
            status: status.as_u16(),
        });
    }
    let body = read_bounded(
        response,
        MAX_TOKEN_BODY,
        "the token service's answer",
        &shown,
        budget,
    )?;
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<SecretString>,
        access_token: Option<SecretString>,
    }
    let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| Error::NotJson {
        request: shown.clone(),
        what: "the token service's answer",
    })?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.expose_secret().is_empty())
        .ok_or(Error::NoToken { realm })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges_of_real_registries() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(
            c.param("scope"),
            Some("repository:library/alpine:pull,push")
        );
        let c = Challenge::parse(r#"Basic realm="Registry \"Realm\"""#);
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some(r#"Registry "Realm""#));
        let c = Challenge::parse("Bearer realm=https://x/token, service=x");
        assert_eq!(c.param("realm"), Some("https://x/token"));
        assert_eq!(c.param("service"), Some("x"));
    }

    #[test]
    fn several_challenges_in_one_header_are_several() {
        let all = Challenge::parse_all(
            r#"Basic realm="a, b", Bearer realm="https://t/token",service="s", Negotiate abc=="#,
        );
        let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["basic", "bearer", "negotiate"], "{all:?}");
        assert_eq!(all[0].params, [("realm".to_string(), "a, b".to_string())]);
        assert_eq!(all[1].param("realm"), Some("https://t/token"));
        assert_eq!(all[1].param("service"), Some("s"));
        let picked = Challenge::pick(&all).unwrap();
        assert_eq!(picked.scheme, "bearer");
        assert!(Challenge::pick(&Challenge::parse_all("Negotiate x")).is_none());
        assert!(Challenge::parse_all("").is_empty());
        // Unbalanced quotes and stray signs end the parse, never panic.
        for odd in [
            "Bearer realm=\"",
            "=",
            "\"",
            "Bearer ,,= \"x",
            "Basic realm=\"é\\",
        ] {
            let _ = Challenge::parse_all(odd);
        }
    }

    #[test]
    fn every_header_is_read() {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, "Basic realm=\"r\"".parse().unwrap());
        headers.append(
            WWW_AUTHENTICATE,
            "Bearer realm=\"https://t/token\"".parse().unwrap(),
        );
        let all = Challenge::from_headers(&headers);
        assert_eq!(Challenge::pick(&all).unwrap().scheme, "bearer");
    }

    #[test]
    fn a_realm_that_is_not_https_gets_no_credentials() {
        let c = Challenge::parse(r#"Bearer realm="http://127.0.0.1:1/token",service="s""#);
        let e = token_url(&c, "repository:a:pull").unwrap_err().to_string();
        assert!(e.contains("not HTTPS"), "{e}");
        let c = Challenge::parse(r#"Bearer realm="https://t.example/token",service="s""#);
        let url = token_url(&c, "repository:a/b:pull,push").unwrap();
        assert_eq!(
            url.as_str(),
            "https://t.example/token?service=s&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn authorization_redacts_itself() {
        let a = Authorization::Bearer(SecretString::from("tok-123"));
        assert!(!format!("{a:?}").contains("tok-123"));
    }
}
