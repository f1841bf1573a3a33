//! Authentication against a registry: the `WWW-Authenticate` challenge of
//! `GET /v2/`, then Basic or the Bearer-token flow (distribution's token
//! spec, as ghcr.io, Docker Hub and GitLab run it).
//!
//! Decisions:
//! - Credentials go only to HTTPS: a Bearer realm that is not `https://` is
//!   refused before anything is sent to it, since the Basic header would
//!   cross the network in clear text. The client is HTTPS-only as well.
//! - Tokens are fetched with `GET realm?service=…&scope=…` and the Basic
//!   header (what oras-go and the Docker CLI do for a username/password),
//!   anonymously when there are no credentials.
//! - Tokens and passwords live in `SecretString`s and reach reqwest only as
//!   headers it marks sensitive.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// A parsed `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-case: `basic`, `bearer`.
    pub scheme: String,
    /// Keys lower-case, values unquoted, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// `Bearer realm="…",service="…",scope="…"`; quoted values may hold
    /// commas and `\"` escapes (RFC 9110 quoted-string).
    pub fn parse(header: &str) -> Challenge {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars
                .by_ref()
                .take_while(|c| *c != '=')
                .collect::<String>()
                .trim()
                .to_ascii_lowercase();
            if key.is_empty() {
                break;
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| *c != ',') {
                    value.push(c);
                }
                value = value.trim().to_string();
            }
            params.push((key, value));
        }
        Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        }
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
    let realm = challenge.param("realm").ok_or_else(|| {
        Error::Registry("the registry's Bearer challenge names no token realm".into())
    })?;
    let mut url = reqwest::Url::parse(realm).map_err(|_| {
        Error::Registry(format!("the registry's token realm {realm:?} is not a URL"))
    })?;
    if url.scheme() != "https" {
        return Err(Error::Registry(format!(
            "refusing to send credentials to the token realm {realm}: it is not HTTPS, so they would cross the network in clear text"
        )));
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

/// `GET realm?…` with Basic credentials (or none): the token.
pub fn fetch_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scope: &str,
    login: Option<&Login>,
) -> Result<SecretString> {
    let url = token_url(challenge, scope)?;
    let shown = format!("{}://{}{}", url.scheme(), url.authority(), url.path());
    let mut request = http.get(url);
    if let Some(login) = login {
        request = request.basic_auth(&login.username, Some(login.secret.expose_secret()));
    }
    let response = request
        .send()
        .map_err(|e| Error::Registry(format!("the token service {shown}: {}", chain(&e))))?;
    let status = response.status();
    if !status.is_success() {
        let who = login.map_or("anonymous access".to_string(), |l| {
            format!("the credentials of {}", l.username)
        });
        return Err(Error::Registry(format!(
            "the token service {shown} refused {who} for {scope} ({status})"
        )));
    }
    let body = zeroize::Zeroizing::new(
        response
            .bytes()
            .map_err(|e| Error::Registry(format!("the token service {shown}: {}", chain(&e))))?
            .to_vec(),
    );
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<SecretString>,
        access_token: Option<SecretString>,
    }
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|_| Error::Registry(format!("the token service {shown} answered without JSON")))?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.expose_secret().is_empty())
        .ok_or_else(|| {
            Error::Registry(format!(
                "the token service {shown} answered without a token"
            ))
        })
}

/// An error and its causes on one line (the helper's `error::chain`:
/// reqwest hides the interesting part in `source()`), with a hint for an
/// untrusted certificate; never holds a secret: reqwest errors carry URLs,
/// and ours carry no credentials.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = docker_credential_scalr::error::chain(error);
    if text.contains("certificate") || text.contains("UnknownIssuer") {
        text.push_str(" (for a private CA, set SSL_CERT_FILE to a bundle that holds it)");
    }
    text
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
