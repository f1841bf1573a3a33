//! A Scalr (or any OpenTofu service) host name, compared the way OpenTofu
//! compares service hosts (`svchost.ForComparison` in
//! github.com/opentofu/svchost): one parser for every place a Scalr token is
//! stored under or looked up by host.
//!
//! - Letters compare case-insensitively and internationalised names by their
//!   IDNA (punycode) form, so `Example.Scalr.io`, `example.scalr.io` and the
//!   Unicode and `xn--` spellings of one name are one key. OpenTofu itself
//!   sends the `xn--` form to a credentials helper, so that is the key.
//! - The port is part of the host, except HTTPS's default: `host:443` is
//!   `host`; `host:8443` is another host.
//! - Only `host[:port]`: no scheme, path, user information, query or white
//!   space. A service host is never a URL, and an input that looks like one
//!   is refused rather than guessed at (a token must reach exactly the host
//!   it belongs to).
//!
//! Unlike [`crate::registry::RegistryHost`] (Docker's spellings of a
//! registry, where `http://host` and Docker Hub aliases matter), this is the
//! OpenTofu service-host rule; the two are different concepts, so they are
//! different types.

use std::fmt;

use url::Host;

use crate::error::{Error, Result};

/// A normalised service host: `host` or `host:port`, ASCII, lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceHost(String);

impl ServiceHost {
    /// Parses `host[:port]` (surrounding white space trimmed).
    pub fn parse(input: &str) -> Result<ServiceHost> {
        let given = input.trim();
        // The echo rule (crate::echo): an input that may hold a secret
        // (`user:pw@host`, `?token=`) is not shown. Built only on failure.
        let bad = |reason: &'static str| Error::BadServiceHost {
            input: crate::echo::shown(given),
            reason,
        };
        if given.is_empty() {
            return Err(bad("it is empty"));
        }
        if given.len() > 300 {
            return Err(bad("it is longer than a host name can be"));
        }
        if given.contains("://") {
            return Err(bad(
                "give just the host name and an optional port, not a URL",
            ));
        }
        if let Some(c) = given
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "/@?#\\[]%".contains(*c))
        {
            return Err(bad(match c {
                '/' => "a path is not allowed",
                '@' => "user information (`user@host`) is not allowed",
                '?' | '#' => "a query string or fragment is not allowed",
                '[' | ']' => "IPv6 literals are not service host names",
                c if c.is_whitespace() => "white space inside the host name is not allowed",
                _ => "it contains a character that cannot be part of a host name",
            }));
        }
        // As svchost does: everything after the first colon is the port.
        let (name, port) = match given.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (given, None),
        };
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u32>() {
                    Ok(443) => None,
                    Ok(n @ 1..=65535) => Some(n as u16),
                    _ => return Err(bad("the port is not a number from 1 to 65535")),
                }
            }
            Some(_) => return Err(bad("the port is not a number from 1 to 65535")),
        };
        if name.split('.').any(str::is_empty) {
            return Err(bad(
                "a host name label is empty (two dots, or a dot at an end)",
            ));
        }
        // The WHATWG host parser applies IDNA (UTS #46) mapping, lower-cases
        // and converts to punycode, as Go's idna.Lookup profile does.
        let host = match Host::parse(name).map_err(|_| bad("it is not a valid host name"))? {
            Host::Domain(d) => d,
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(_) => return Err(bad("IPv6 literals are not service host names")),
        };
        Ok(ServiceHost(match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }))
    }

    /// `host` or `host:port`: the comparison form, which OpenTofu passes to a
    /// credentials helper and which the keychain stores tokens under.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        ServiceHost::parse(s)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .to_string()
    }

    #[test]
    fn spellings_of_one_host_are_one_key() {
        for (want, spellings) in [
            (
                "example.scalr.io",
                vec![
                    "example.scalr.io",
                    "Example.Scalr.IO",
                    "example.scalr.io:443",
                    " example.scalr.io\n",
                    "EXAMPLE.scalr.io:0443",
                ],
            ),
            ("example.scalr.io:8443", vec!["example.scalr.io:8443"]),
            ("127.0.0.1:9443", vec!["127.0.0.1:9443"]),
            // Unicode names compare by their punycode form, the one
            // OpenTofu sends the helper.
            (
                "xn--caf-dma.scalr.io",
                vec!["café.scalr.io", "CAFÉ.scalr.io", "xn--caf-dma.scalr.io"],
            ),
        ] {
            for s in spellings {
                assert_eq!(key(s), want, "{s:?}");
            }
        }
    }

    #[test]
    fn urls_paths_users_and_bad_ports_are_refused() {
        for s in [
            "",
            "https://example.scalr.io",
            "example.scalr.io/api",
            "user@example.scalr.io",
            "example.scalr.io?token=x",
            "example.scalr.io:",
            "example.scalr.io:0",
            "example.scalr.io:65536",
            "example.scalr.io:http",
            "example..scalr.io",
            "example.scalr.io.",
            "exa mple.scalr.io",
            "[::1]:443",
            "a\\b",
        ] {
            assert!(ServiceHost::parse(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn an_input_that_may_hold_a_secret_is_not_echoed() {
        let err = ServiceHost::parse("me:hunter2@example.scalr.io")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let err = ServiceHost::parse("example.scalr.io/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("example.scalr.io/x"), "{err}");
        // The echo rule's whole set: percent-encoding too.
        let err = ServiceHost::parse("example.scalr.io/%74oken")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("oken"), "{err}");
    }

    #[test]
    fn a_shown_input_is_cut_to_the_echo_rules_length() {
        let long = format!("{}/x", "a".repeat(250));
        crate::echo::assert_cut(&ServiceHost::parse(&long).unwrap_err().to_string());
    }
}
