//! The HTTPS client of the control plane: crypto provider, trust roots,
//! proxy policy and timeouts, decided in one place.
//!
//! Contract: [`client`] returns a blocking client that speaks only to the
//! configured host (redirects are not followed, so the bearer token never
//! goes elsewhere), HTTPS only unless [`base_url`] allowed plain HTTP to a
//! literal loopback address, and then never through a proxy.
//!
//! Decisions:
//! - **The crypto provider is `ring`, passed explicitly** ([`provider`]): every
//!   client in the workspace is built from [`builder`], which carries
//!   [`tls_config`], never from rustls' process-wide default, and
//!   no crate in the workspace enables rustls' or reqwest's `aws-lc-rs`
//!   feature (reqwest is built with `rustls-no-provider`, so a client built
//!   without our configuration panics in tests instead of silently picking a
//!   provider). `cargo tree -e features -i aws-lc-rs` prints nothing.
//!   Why not aws-lc-rs, reqwest's default: since aws-lc-rs 1.14.1 its first
//!   use in a process collects CPU-jitter entropy (aws/aws-lc-rs issues 899
//!   and 1140), about 420 million instructions, 40 ms of CPU, in every cold
//!   `get`: 95 % of what a cold control-plane `get` executed. aws-lc can be
//!   built without it, but only through a build-time environment variable
//!   (`AWS_LC_SYS_NO_JITTER_ENTROPY=1`, read by aws-lc-sys's build script)
//!   that every build (ours, distributions', `cargo install`) would have to
//!   repeat, and that a plain `cargo build` silently forgets; it also keeps a
//!   large C/assembly build (cmake or cc). `ring` has no jitter
//!   collector (it takes its seed from `getrandom`): a cold `get` against the
//!   loopback fake executes 3.5 million instructions (bench/cold-path.sh).
//!   It is smaller, builds with a
//!   C compiler alone, and is the library the cache already uses for
//!   `ring::aead`/`ring::hkdf`, so the binaries link one crypto library.
//!   What we give up: aws-lc's FIPS module (we do not claim FIPS) and
//!   post-quantum key exchange (X25519MLKEM768; rustls offers it with
//!   aws-lc-rs only): the handshake uses X25519, then P-256/P-384. TLS 1.3
//!   and 1.2 with AES-GCM and ChaCha20-Poly1305 either way.
//! - **Trust roots**: `SSL_CERT_FILE` and/or `SSL_CERT_DIR`, when set, replace
//!   the system roots (as OpenSSL, Go and rustls-native-certs do). We read them
//!   ourselves rather than through rustls-native-certs because it reads any
//!   path to its end: `/dev/zero` allocated until the process aborted and a
//!   FIFO blocked forever. Here only regular files are read (checked before
//!   and after a non-blocking open), at most [`MAX_ROOTS_BYTES`] in all, so
//!   loading the roots takes a bounded time well inside the deadline. Without
//!   them, on Linux and the BSDs the system bundle (found by openssl-probe) is
//!   read the same way; only the bundle, not also the hashed directory of the
//!   same certificates beside it, which would read every root twice. The
//!   roots read are indexed by subject and parsed at verify time only when
//!   they can anchor the server's chain (root_index.rs, verifier.rs). On
//!   macOS and Windows the OS verifier (rustls-platform-verifier) decides.
//! - **Proxies**: `HTTPS_PROXY`/`NO_PROXY` are honoured for HTTPS (reqwest's
//!   system proxy). Plain HTTP goes only to a literal loopback address and
//!   never through a proxy: a proxy would see the bearer token in clear text.
//! - **Timeouts**: the connect timeout is the caller's setting; each request's
//!   total time is bounded by the caller's deadline (`ControlPlane`).

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::blocking::{Client, ClientBuilder};
use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use url::Url;

use crate::error::{ControlPlaneFailure, Error, Result, chain};
use crate::protocol::{NAME, VERSION};
use crate::settings::Settings;
use root_files::{Budget, DirectoryFiles, Seen, read_regular_file};
use root_index::RootIndex;
use verifier::Roots;

mod pem_body;
mod root_files;
mod root_index;
mod subject_hash;
mod verifier;

/// The most bytes of trust-root files read in one process: Debian's whole
/// bundle is about 220 KB; a corporate bundle a few MB at most.
const MAX_ROOTS_BYTES: u64 = 16 << 20;
/// The most files read from `SSL_CERT_DIR`.
const MAX_ROOT_FILES: usize = 4096;

/// Builds the control plane's client for `base`, so call it only when the
/// control plane is really asked (it reads the trust roots).
pub fn client(hostname: &str, base: &Url, settings: &Settings) -> Result<Client> {
    let fail = |detail: String| Error::ControlPlane {
        host: hostname.to_string(),
        failure: ControlPlaneFailure::Client { detail },
    };
    let builder = builder()
        .map_err(|e| fail(e.to_string()))?
        .user_agent(format!("{NAME}/{VERSION}"))
        .connect_timeout(settings.connect_timeout)
        .https_only(base.scheme() == "https");
    // base_url lets plain HTTP through only to a literal loopback address;
    // no proxy ever sees that traffic (it carries the token in clear text).
    let builder = if base.scheme() == "http" {
        builder.no_proxy()
    } else {
        builder
    };
    builder.build().map_err(|e| fail(chain(&e)))
}

/// A blocking client builder with this workspace's TLS ([`tls_config`]) and
/// no redirects. For every binary of the workspace (scalr-oci's doctor too).
pub fn builder() -> std::result::Result<ClientBuilder, TrustRootsError> {
    Ok(Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .redirect(reqwest::redirect::Policy::none()))
}

/// The one crypto provider of the workspace: `ring` (see the module docs).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS 1.3 and 1.2 with [`provider`] and this machine's trust roots (or
/// `SSL_CERT_FILE`/`SSL_CERT_DIR`), read within bounds.
fn tls_config() -> std::result::Result<ClientConfig, TrustRootsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TrustRootsError::Tls(e.to_string()))?;
    let config = match RootsSource::from_env() {
        Some(source) => builder
            .dangerous()
            .with_custom_certificate_verifier(source.verifier(provider)?)
            .with_no_client_auth(),
        None => system::with_system_roots(builder, provider)?,
    };
    Ok(config)
}

/// Why the trust roots could not be loaded. Names the variable and the path
/// (never file contents).
#[derive(Debug, thiserror::Error)]
pub enum TrustRootsError {
    #[error("the trust roots in {var} ({path}) cannot be used: {why}")]
    Unusable {
        var: &'static str,
        path: String,
        why: String,
    },
    #[error("no trust roots were found on this machine ({0}); point SSL_CERT_FILE at a PEM bundle")]
    NoSystemRoots(String),
    #[error("setting up TLS failed: {0}")]
    Tls(String),
}

/// Where trust roots come from when the environment names them.
struct RootsSource {
    /// The variable that named the paths, for messages.
    var: &'static str,
    file: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl RootsSource {
    fn from_env() -> Option<RootsSource> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let file = var("SSL_CERT_FILE").map(PathBuf::from);
        let dirs: Vec<PathBuf> = var("SSL_CERT_DIR")
            .map(|d| {
                std::env::split_paths(&d)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if file.is_none() && dirs.is_empty() {
            return None;
        }
        Some(RootsSource {
            var: if file.is_some() {
                "SSL_CERT_FILE"
            } else {
                "SSL_CERT_DIR"
            },
            file,
            dirs,
        })
    }

    /// The verifier that trusts exactly the certificates of [`Self::load`].
    fn verifier(
        &self,
        provider: Arc<CryptoProvider>,
    ) -> std::result::Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TrustRootsError>
    {
        let roots = self.load()?;
        Ok(Arc::new(verifier::IndexedRootsVerifier::new(
            roots, provider,
        )))
    }

    /// Every certificate of the file, indexed by subject (root_index.rs),
    /// and the regular files of the directories, listed and charged against
    /// the bound but read only as far as needed (root_files.rs). The file
    /// must hold at least one certificate, else the directories together;
    /// unreadable or non-PEM files in a directory are skipped, as OpenSSL
    /// does.
    fn load(&self) -> std::result::Result<Roots, TrustRootsError> {
        let mut budget = Budget(MAX_ROOTS_BYTES);
        let mut seen = Seen::default();
        let mut index = RootIndex::default();
        let mut unread = DirectoryFiles::default();
        let mut has_anchor = false;
        if let Some(file) = &self.file {
            seen.take_file(file);
            let unusable = |why: String| TrustRootsError::Unusable {
                var: "SSL_CERT_FILE",
                path: file.display().to_string(),
                why,
            };
            let pem = read_regular_file(file, &mut budget).map_err(unusable)?;
            let sections = index.add(pem);
            if !index.has_anchor(sections) {
                return Err(unusable("it holds no PEM certificate".into()));
            }
            has_anchor = true;
        }
        for dir in &self.dirs {
            unread
                .list(dir, &mut seen, &mut budget)
                .map_err(|why| TrustRootsError::Unusable {
                    var: "SSL_CERT_DIR",
                    path: dir.display().to_string(),
                    why,
                })?;
        }
        // Without a file, the directories' files are read in order until
        // one holds a certificate.
        while !has_anchor && let Some(pem) = unread.read_next() {
            let sections = index.add(pem);
            has_anchor = index.has_anchor(sections);
        }
        if !has_anchor {
            return Err(TrustRootsError::Unusable {
                var: self.var,
                path: self
                    .dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":"),
                why: "it holds no PEM certificate".into(),
            });
        }
        Ok(Roots { index, unread })
    }
}

/// The system's trust roots: the bundle file OpenSSL would use, read with
/// the same bounds.
#[cfg(all(unix, not(target_vendor = "apple")))]
mod system {
    use super::*;

    pub(super) fn with_system_roots(
        builder: rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
        provider: Arc<CryptoProvider>,
    ) -> std::result::Result<ClientConfig, TrustRootsError> {
        // SSL_CERT_FILE and SSL_CERT_DIR are unset here (RootsSource took
        // them), so the probe looks at the system locations only.
        let probe = openssl_probe::probe();
        let source = RootsSource {
            var: "the system trust store",
            file: probe.cert_file.clone(),
            // The bundle holds the same certificates as the hashed
            // directory: read the directory only without a bundle.
            dirs: if probe.cert_file.is_some() {
                Vec::new()
            } else {
                probe.cert_dir
            },
        };
        if source.file.is_none() && source.dirs.is_empty() {
            return Err(TrustRootsError::NoSystemRoots(
                "no CA bundle or certificate directory".into(),
            ));
        }
        let verifier = source
            .verifier(provider)
            .map_err(|e| TrustRootsError::NoSystemRoots(e.to_string()))?;
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

/// The OS verifier decides (Keychain trust settings, Windows' store).
#[cfg(not(all(unix, not(target_vendor = "apple"))))]
mod system {
    use super::*;

    pub(super) fn with_system_roots(
        builder: rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
        provider: Arc<CryptoProvider>,
    ) -> std::result::Result<ClientConfig, TrustRootsError> {
        let verifier = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| TrustRootsError::Tls(e.to_string()))?;
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    }
}

/// `example.scalr.io`, `host:port`, `https://host` → the API's base URL.
pub fn base_url(hostname: &str, allow_http_loopback: bool) -> Result<Url> {
    let bad = |what: &str| Error::ControlPlane {
        host: hostname.to_string(),
        failure: ControlPlaneFailure::BadAddress(what.to_string()),
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
                // Only literal addresses: a name, even `localhost`, is
                // whatever the resolver (or /etc/hosts) says it is.
                Some(url::Host::Domain(_)) | None => false,
            };
            if loopback && allow_http_loopback {
                Ok(url)
            } else {
                Err(bad(
                    "uses plain HTTP; the control plane is HTTPS only (plain HTTP is allowed only to a literal loopback address, 127.0.0.1 or [::1], with SCALR_OCI_ALLOW_HTTP_LOOPBACK=1)",
                ))
            }
        }
        _ => Err(bad("must be an https:// host")),
    }
}

#[cfg(test)]
mod trust_decisions;

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
        for name in ["localhost", "LOCALHOST", "localhost.", "127.0.0.1.nip.io"] {
            let err = base_url(&format!("http://{name}:8080"), true).unwrap_err();
            assert!(
                err.to_string().contains("literal loopback"),
                "{name}: {err}"
            );
        }
        assert!(
            base_url("http://127.1:8080", true).is_ok(),
            "127.1 is 127.0.0.1"
        );
        assert!(base_url("example.scalr.io/api", false).is_err());
        assert!(base_url("user@example.scalr.io", false).is_err());
        assert!(base_url("ftp://example.scalr.io", false).is_err());
    }
}
