//! `oci://HOST[:PORT]/REPO[//SUBDIR][?tag=T|?digest=D]`: the module source
//! address OpenTofu reads, parsed once for every command.
//!
//! The host goes through [`RegistryHost`] (the one host parser), so a
//! credential found for it is the one the helper would give OpenTofu.
//! Repository names and tags follow the distribution spec's grammar; a
//! digest must be `sha256:` and 64 lower-case hex digits.

use docker_credential_scalr::registry::RegistryHost;

use crate::error::{Error, Result};
use crate::is_digest;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    Tag(String),
    Digest(String),
}

#[derive(Clone, Debug)]
pub struct Reference {
    pub host: RegistryHost,
    pub repository: String,
    /// `None`: none was given (OpenTofu then asks for `latest`).
    pub version: Option<Version>,
    pub subdir: Option<String>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Reference> {
        let bad = |why: &str| Error::BadReference {
            input: input.to_string(),
            why: why.to_string(),
        };
        let rest = input
            .trim()
            .strip_prefix("oci://")
            .ok_or_else(|| bad("it must start with oci://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        // `//SUBDIR` may come before the query (OpenTofu's order) or after it.
        let (path, mut subdir) = split_subdir(rest);
        let query = match query {
            Some(q) => {
                let (q, sub) = split_subdir(q);
                if sub.is_some() {
                    subdir = sub;
                }
                Some(q)
            }
            None => None,
        };
        let (authority, repository) = path
            .split_once('/')
            .ok_or_else(|| bad("a repository path after the host is missing"))?;
        if authority.contains('@') {
            return Err(bad("user information in the host is not allowed"));
        }
        let host = RegistryHost::parse(authority).map_err(|e| Error::BadHost(Box::new(e)))?;
        if !valid_repository(repository) {
            return Err(bad(&format!(
                "repository {repository:?} must be lower-case path components of letters, digits and single separators (. _ __ -)"
            )));
        }
        let version = match query {
            None | Some("") => None,
            Some(q) => {
                let mut version = None;
                for pair in q.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = match key {
                        "tag" if valid_tag(value) => Version::Tag(value.to_string()),
                        "tag" => return Err(bad(&format!("tag {value:?} is not a valid OCI tag"))),
                        "digest" if is_digest(value) => Version::Digest(value.to_string()),
                        "digest" => {
                            return Err(bad(&format!(
                                "digest {value:?} is not sha256: and 64 lower-case hex digits"
                            )));
                        }
                        other => return Err(bad(&format!("unknown argument {other:?}"))),
                    };
                    if version.replace(v).is_some() {
                        return Err(bad("give one tag or one digest, not both"));
                    }
                }
                version
            }
        };
        if let Some(sub) = &subdir
            && (sub.is_empty() || sub.split('/').any(|p| p == ".." || p.is_empty()))
        {
            return Err(bad(&format!("subdirectory {sub:?} is not a relative path")));
        }
        Ok(Reference {
            host,
            repository: repository.to_string(),
            version,
            subdir,
        })
    }

    /// `host[:port]` to connect to: Docker Hub's API endpoint for Docker Hub.
    pub fn endpoint(&self) -> String {
        self.host.api_endpoint()
    }

    /// `oci://HOST/REPO` as users write it in `source`.
    pub fn base(&self) -> String {
        format!("oci://{}/{}", self.endpoint(), self.repository)
    }
}

fn split_subdir(text: &str) -> (&str, Option<String>) {
    match text.split_once("//") {
        Some((head, sub)) => (head, Some(sub.trim_end_matches('/').to_string())),
        None => (text, None),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
pub fn valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_component)
}

fn valid_component(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`
pub fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint in the error puts `//SUBDIR` before the query, as the README
    /// and OpenTofu's own examples write it.
    #[test]
    fn the_address_hint_puts_the_subdirectory_before_the_query() {
        let e = Reference::parse("https://ghcr.io/x")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("(expected oci://HOST/REPO[//SUBDIR][?tag=T|?digest=sha256:…])"),
            "{e}"
        );
    }

    #[test]
    fn parses_every_form_opentofu_reads() {
        let r = Reference::parse("oci://127.0.0.1:5000/tofu/network").unwrap();
        assert_eq!(r.endpoint(), "127.0.0.1:5000");
        assert_eq!(r.repository, "tofu/network");
        assert_eq!(r.version, None);
        let r = Reference::parse("oci://ghcr.io/org/net//modules/vpc?tag=1.0.0").unwrap();
        assert_eq!(r.version, Some(Version::Tag("1.0.0".into())));
        assert_eq!(r.subdir.as_deref(), Some("modules/vpc"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r =
            Reference::parse(&format!("oci://ghcr.io/org/net?digest={d}//modules/vpc")).unwrap();
        assert_eq!(r.version, Some(Version::Digest(d)));
        assert_eq!(r.subdir.as_deref(), Some("modules/vpc"));
        assert_eq!(
            Reference::parse("oci://docker.io/library/x")
                .unwrap()
                .endpoint(),
            "registry-1.docker.io"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "ghcr.io/org/net",
            "oci://ghcr.io",
            "oci://ghcr.io/Org/net",
            "oci://ghcr.io/org//",
            "oci://ghcr.io/org/net?tag=-x",
            "oci://ghcr.io/org/net?digest=sha256:abc",
            "oci://ghcr.io/org/net?tag=a&digest=sha256:"
                .to_string()
                .as_str(),
            "oci://ghcr.io/org/net?branch=main",
            "oci://user@evil.com/org/net",
            "oci://ghcr.io/org/net//../x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn repository_grammar() {
        assert!(valid_repository("a/b-c/d__e/f.g"));
        assert!(valid_repository("a--b"));
        assert!(!valid_repository("a/-b"));
        assert!(!valid_repository("a/b."));
        assert!(!valid_repository("a/b___c"));
        assert!(valid_tag("latest") && valid_tag("1.0.0-rc.1") && !valid_tag(".x"));
    }
}
