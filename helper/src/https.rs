//! The HTTPS client of the control plane: crypto provider, trust roots,
//! proxy policy and timeouts, decided in one place.
//!
//! Contract: [`client`] returns a blocking client that speaks only to the
//! configured host (redirects are not followed, so the bearer token never
//! goes elsewhere), HTTPS only unless [`base_url`] allowed plain HTTP to a
//! loopback address.

use reqwest::blocking::Client;
use url::Url;

use crate::error::{Error, Result};
use crate::protocol::VERSION;
use crate::settings::Settings;

/// Builds the client for `base` (a few milliseconds: it loads the trust
/// roots), so call it only when the control plane is really asked.
pub fn client(hostname: &str, base: &Url, settings: &Settings) -> Result<Client> {
    Client::builder()
        .user_agent(format!("docker-credential-scalr/{VERSION}"))
        .connect_timeout(settings.connect_timeout)
        .https_only(base.scheme() == "https")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::ControlPlane {
            host: hostname.to_string(),
            what: format!(
                "cannot be reached: building the HTTPS client failed: {}",
                chain(&e)
            ),
        })
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

/// An error and its sources, each said once.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
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
}
