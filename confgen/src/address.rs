//! Registry addresses as someone wrote them. [`RegistryHost`] is the one
//! parser and decides what an address means (Docker Hub's aliases are one
//! host); this keeps the spelling it was given, which an OpenTofu label and
//! `doctor` need: `registry-1.docker.io` is the endpoint that answers, while
//! `docker.io` redirects, and both are Docker Hub to `RegistryHost`.

use docker_credential_scalr::registry::RegistryHost;
use url::Url;

use crate::error::Result;

/// The parsed host, and the authority as written (lower-cased, without the
/// scheme's default port and without any path): `https://GHCR.io/v2/` →
/// `ghcr.io`, `https://registry-1.docker.io:443` → `registry-1.docker.io`.
pub fn written_authority(input: &str) -> Result<(RegistryHost, String)> {
    let host = RegistryHost::parse(input)?;
    let trimmed = input.trim();
    // RegistryHost accepted it: `http(s)://authority[/path]` or a bare
    // `authority[/path]`, which means HTTPS.
    let url = if trimmed.contains("://") {
        Url::parse(trimmed)
    } else {
        Url::parse(&format!("https://{trimmed}"))
    };
    let written = url.ok().and_then(|url| {
        let name = url.host_str()?.to_ascii_lowercase();
        Some(match url.port() {
            Some(port) if port != 443 => format!("{name}:{port}"),
            _ => name,
        })
    });
    let written = written.unwrap_or_else(|| host.authority());
    Ok((host, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_spelling_and_drops_scheme_path_and_default_port() {
        let written = |s| written_authority(s).unwrap().1;
        assert_eq!(written("https://docker.io/"), "docker.io");
        assert_eq!(written("GHCR.io"), "ghcr.io");
        assert_eq!(written("localhost:5000"), "localhost:5000");
        assert_eq!(
            written("https://registry-1.docker.io:443/v2/"),
            "registry-1.docker.io"
        );
        assert_eq!(written("https://[::1]:5000"), "[::1]:5000");
        let (host, _) = written_authority("registry-1.docker.io").unwrap();
        assert!(host.is_docker_hub());
        assert!(written_authority("https://user@evil").is_err());
    }
}
