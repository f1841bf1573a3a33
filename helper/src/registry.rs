//! What clients send as a "server URL", reduced to one canonical registry key.
//!
//! OpenTofu sends `https://host[:port]`, the Docker CLI a bare `host[:port]` or
//! `https://index.docker.io/v1/`, skopeo `docker.io`, ORAS a mix. All of these
//! must find the same keychain entry, and no spelling may ever reach another
//! host's secret. So the rules are strict: a small character allow-list first
//! (different URL parsers disagree about `\`, `@` and friends, and a client
//! must never connect to a host other than the one we resolved), then the WHATWG
//! parser of the `url` crate, then the authority alone is the key.
//!
//! Decisions:
//! - Host names compare case-insensitively; the port is significant.
//! - A bare host means HTTPS, so `host:443` is the same key as `host`, and so
//!   is `http://host` (port 80 is HTTP's default, and `docker logout` erases
//!   that spelling too); any other explicit port is distinct.
//! - `http://` and `https://` spellings of one authority are one key: `docker
//!   logout` erases both, and the client, not the helper, chooses the scheme.
//! - The path is ignored (`/v1/`, `/v2/`): it does not change which server
//!   receives the secret. Userinfo, queries and fragments are refused.
//! - `docker.io`, `index.docker.io`, `registry-1.docker.io` and
//!   `registry.hub.docker.com` are all Docker Hub.

use std::fmt;

use url::{Host, Url};

use crate::error::{Error, Result};

/// The key under which Docker Hub is stored and listed, as the Docker CLI
/// spells it in `credHelpers` and `auths`.
pub const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// Docker Hub's registry API; `docker.io` itself redirects to the website.
pub const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A registry authority (`host` or `host:port`), normalised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryHost {
    /// Lower-case host name, IPv4 literal, or bracketed IPv6 literal. Docker
    /// Hub is always `docker.io`.
    host: String,
    port: Option<u16>,
}

impl RegistryHost {
    /// Parses what a client sent (surrounding whitespace and a trailing
    /// newline are trimmed).
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(Error::MissingServerUrl);
        }
        // The echo rule (crate::echo): an input that may hold a secret is
        // not shown. Built only on failure: a `get` that succeeds formats
        // nothing.
        let bad = |reason| Error::BadRegistry {
            input: crate::echo::shown(trimmed),
            reason,
        };
        if trimmed.len() > 2048 {
            return Err(bad("longer than 2048 characters"));
        }
        if let Some(c) = trimmed.chars().find(|c| !allowed(*c)) {
            return Err(bad(match c {
                '@' => "user information (`user@host`) is not allowed",
                '?' => "a query string is not allowed",
                '#' => "a fragment is not allowed",
                '\\' => "backslashes are not allowed",
                c if c.is_whitespace() => "white space inside the address is not allowed",
                c if !c.is_ascii() => {
                    "non-ASCII host names must be given in their xn-- (punycode) form"
                }
                _ => "it contains a character that cannot be part of a registry address",
            }));
        }

        let (scheme, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), trimmed),
        };
        if scheme != "https" && scheme != "http" {
            return Err(bad("only https:// and http:// addresses are registries"));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(bad("there is no host name"));
        }
        // The WHATWG parser decodes `%2e` and a fullwidth dot (`%EF%BC%8E`)
        // into `.`: another spelling of a host would get past the rule that
        // names are ASCII or punycode, so percent-encoding is refused here.
        if authority.contains('%') {
            return Err(bad("percent-encoding is not allowed in the host name"));
        }
        if authority.ends_with(':') {
            return Err(bad("the port is empty"));
        }

        let url = Url::parse(&format!("{scheme}://{rest}")).map_err(|e| {
            bad(match e {
                url::ParseError::InvalidPort => "the port is not a number from 1 to 65535",
                url::ParseError::InvalidIpv6Address => "the IPv6 address is not valid",
                url::ParseError::InvalidIpv4Address => "the IPv4 address is not valid",
                _ => "it is not a valid host[:port]",
            })
        })?;
        let host = match url.host() {
            Some(Host::Domain(d)) => {
                // One trailing dot (a fully qualified name) is allowed.
                let name = d.strip_suffix('.').unwrap_or(d);
                if name.split('.').any(str::is_empty) {
                    return Err(bad("a host name label is empty"));
                }
                // DNS's limits: no registry anyone can reach exceeds them,
                // and they keep every spelling of a key we hand back
                // (`https://KEY/v2/`) within the input limit above.
                if name.split('.').any(|label| label.len() > 63) {
                    return Err(bad("a host name label is longer than 63 characters"));
                }
                if name.len() > 253 {
                    return Err(bad("the host name is longer than 253 characters"));
                }
                d.to_ascii_lowercase()
            }
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(bad("there is no host name")),
        };
        let port = match url.port() {
            Some(0) => return Err(bad("the port is not a number from 1 to 65535")),
            // A bare host means https on 443, so an explicit 443 is the same key
            // (the url crate already dropped each scheme's own default port).
            Some(443) => None,
            other => other,
        };
        let host = if port.is_none() && DOCKER_HUB_ALIASES.contains(&host.as_str()) {
            DOCKER_HUB_ALIASES[0].to_string()
        } else {
            host
        };
        Ok(RegistryHost { host, port })
    }

    /// `host` or `host:port`, the form OpenTofu labels and containers use.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.port.is_none() && self.host == DOCKER_HUB_ALIASES[0]
    }

    /// The key Docker uses for this registry in `credHelpers` and `list`.
    pub fn docker_server_url(&self) -> String {
        if self.is_docker_hub() {
            DOCKER_HUB_SERVER.to_string()
        } else {
            self.authority()
        }
    }

    /// `host[:port]` to send registry API requests to: Docker Hub's API
    /// endpoint for Docker Hub.
    pub fn api_endpoint(&self) -> String {
        if self.is_docker_hub() {
            DOCKER_HUB_ENDPOINT.to_string()
        } else {
            self.authority()
        }
    }

    /// The stable key under which the keychain and the cache store this
    /// registry.
    pub fn key(&self) -> String {
        self.authority()
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for RegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

/// Characters that may appear in a registry address: host names, IPv4 and
/// bracketed IPv6 literals, a port, a scheme and a simple path.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/' | '[' | ']' | '~' | '%')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        RegistryHost::parse(s).unwrap().key()
    }

    #[test]
    fn every_spelling_of_a_server_is_its_one_key_and_no_other_servers() {
        for (want, spellings) in [
            (
                "ghcr.io",
                vec![
                    "ghcr.io",
                    "ghcr.io\n",
                    "  ghcr.io  ",
                    "https://ghcr.io",
                    "https://ghcr.io/",
                    "http://ghcr.io",
                    "https://ghcr.io/v2/",
                    "GHCR.IO",
                    "HTTPS://Ghcr.Io/",
                    "ghcr.io:443",
                    "https://ghcr.io:443",
                    "http://ghcr.io:80",
                ],
            ),
            // Ports are significant; only the scheme's default one is not.
            (
                "localhost:5000",
                vec!["localhost:5000", "https://localhost:5000/"],
            ),
            ("localhost:5001", vec!["localhost:5001"]),
            ("localhost", vec!["localhost", "http://localhost:443"]),
            ("localhost:80", vec!["localhost:80", "https://localhost:80"]),
            // IP literals; IPv6 in its shortest form, bracketed.
            ("127.0.0.1:5000", vec!["127.0.0.1:5000"]),
            ("[::1]:5000", vec!["https://[::1]:5000", "[0:0::1]:5000"]),
            ("[::1]", vec!["[::1]"]),
            // Lookalikes are the hosts they really name.
            ("ghcr.io.evil.com", vec!["ghcr.io.evil.com"]),
            (
                "evil.com",
                vec!["evil.com/ghcr.io", "https://evil.com/https://ghcr.io"],
            ),
            ("evil-ghcr.io", vec!["evil-ghcr.io"]),
        ] {
            for s in spellings {
                assert_eq!(key(s), want, "{s:?}");
            }
        }
        // An IPv6 literal is bracketed, and valid.
        assert!(RegistryHost::parse("::1").is_err());
        assert!(RegistryHost::parse("[::g]:5000").is_err());
    }

    #[test]
    fn docker_hub_aliases_are_one_key() {
        for s in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io",
            "https://index.docker.io/v1/",
            "registry.hub.docker.com",
        ] {
            let h = RegistryHost::parse(s).unwrap();
            assert!(h.is_docker_hub(), "{s}");
            assert_eq!(h.docker_server_url(), DOCKER_HUB_SERVER);
        }
        assert!(
            !RegistryHost::parse("docker.io:5000")
                .unwrap()
                .is_docker_hub()
        );
    }

    #[test]
    fn host_names_longer_than_dns_allows_are_refused() {
        // A key must fit in every spelling we hand back (`https://KEY/v2/`
        // within the 2,048-character input limit); DNS's own limits, which
        // no resolvable registry exceeds, keep it far below that.
        let label63 = "a".repeat(63);
        assert_eq!(key(&format!("{label63}.test")), format!("{label63}.test"));
        let err = RegistryHost::parse(&format!("{label63}a.test"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("63 characters"), "{err}");

        // 253 characters: three labels of 63, one of 61, three dots.
        let name253 = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
        assert_eq!(name253.len(), 253);
        assert_eq!(key(&name253), name253);
        assert_eq!(
            key(&format!("https://{name253}.:5000/v2/")),
            format!("{name253}.:5000")
        );
        let err = RegistryHost::parse(&format!("a.{name253}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("253 characters"), "{err}");
        for spelling in [format!("https://{name253}/v2/"), name253.to_uppercase()] {
            assert_eq!(key(&spelling), name253, "{spelling:?}");
        }
    }

    #[test]
    fn the_echo_rule_hides_secrets_and_cuts_the_rest() {
        for input in [
            "u:hunter2@ghcr.io",
            "ghcr.io?t=hunter2",
            "ghcr.io#hunter2",
            "gh%63r.io/hunter2",
        ] {
            let err = RegistryHost::parse(input).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{input}: {err}");
        }
        let long = format!("{}\\x", "a".repeat(300));
        crate::echo::assert_cut(&RegistryHost::parse(&long).unwrap_err().to_string());
    }

    #[test]
    fn refused_inputs_say_why() {
        for (input, why) in [
            ("https://ghcr.io@evil.com", "user information"),
            ("ghcr.io@evil.com", "user information"),
            ("https://user:pw@ghcr.io", "user information"),
            ("ghcr.io?x=1", "query"),
            ("ghcr.io#frag", "fragment"),
            ("ghcr.io\\@evil.com", "backslash"),
            ("ghcr .io", "white space"),
            ("gh\u{0}cr.io", "character"),
            ("bücher.example", "punycode"),
            ("ftp://ghcr.io", "only https"),
            ("oci://ghcr.io", "only https"),
            ("https://", "no host"),
            ("/v2/", "no host"),
            ("ghcr.io:", "port is empty"),
            ("ghcr.io:99999", "port"),
            ("ghcr.io:0", "port"),
            ("ghcr.io:abc", "port"),
            ("ghcr..io", "label is empty"),
            ("a%2eexample.test", "percent-encoding"),
            ("https://ghcr%2Eio", "percent-encoding"),
            ("ghcr%EF%BC%8Eio", "percent-encoding"),
            ("%67hcr.io:5000", "percent-encoding"),
            ("[::1%25eth0]:5000", "percent-encoding"),
        ] {
            let err = RegistryHost::parse(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
            if input.contains('%') {
                assert!(!err.contains('%'), "{input:?} echoed: {err}");
            }
        }
        assert!(matches!(
            RegistryHost::parse(" \n"),
            Err(Error::MissingServerUrl)
        ));
    }
}
