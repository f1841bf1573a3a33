//! Settings: a small TOML file, overridden by the environment.
//!
//! The file is optional. Its path is `$SCALR_OCI_CONFIG`, else
//! `$XDG_CONFIG_HOME/scalr-oci/settings.toml` (`~/.config/…` on Linux, the
//! platform config directory elsewhere). Unknown keys and bad values are
//! errors that name the key and the file: a typo must not silently turn a
//! setting off.
//!
//! ```toml
//! sources = ["keychain", "control-plane"]   # the order in which to ask
//!
//! [control_plane]
//! hostname = "example.scalr.io"
//! timeout_secs = 30          # a whole `get`, retries included
//! connect_timeout_secs = 5
//! allow_http_loopback = false
//!
//! [cache]
//! ttl_secs = 300             # 0 turns the cache off
//! keychain = true            # also cache answers from the OS keychain
//!
//! [registries."ghcr.io"]
//! sources = ["control-plane"]
//! ```
//!
//! Environment: `SCALR_HOSTNAME`, `SCALR_OCI_SOURCES` (comma-separated),
//! `SCALR_OCI_TIMEOUT`, `SCALR_OCI_CONNECT_TIMEOUT`, `SCALR_OCI_CACHE_TTL`,
//! `SCALR_OCI_ALLOW_HTTP_LOOPBACK`, `SCALR_OCI_DEBUG`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::registry::RegistryHost;

/// Where a `get` may find credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Keychain,
    ControlPlane,
}

impl SourceKind {
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "keychain" => Some(SourceKind::Keychain),
            "control-plane" => Some(SourceKind::ControlPlane),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    sources: Option<Vec<SourceKind>>,
    #[serde(default)]
    control_plane: ControlPlaneFile,
    #[serde(default)]
    cache: CacheFile,
    #[serde(default)]
    registries: BTreeMap<String, RegistryFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlPlaneFile {
    hostname: Option<String>,
    timeout_secs: Option<u64>,
    connect_timeout_secs: Option<u64>,
    allow_http_loopback: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    ttl_secs: Option<u64>,
    keychain: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    sources: Vec<SourceKind>,
}

/// The effective settings of one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file that was read, if any.
    pub path: Option<PathBuf>,
    pub sources: Vec<SourceKind>,
    /// `SCALR_HOSTNAME` or the file's; may carry `http(s)://`.
    pub hostname: Option<String>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub allow_http_loopback: bool,
    /// Zero disables the cache.
    pub cache_ttl: Duration,
    pub cache_keychain: bool,
    pub per_registry: Vec<(RegistryHost, Vec<SourceKind>)>,
    pub verbose: bool,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);
/// Longer than this and a "short-lived" cache is no longer short-lived.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(3600);

impl Settings {
    /// Reads the settings file (if present) and applies the environment.
    pub fn load() -> Result<Settings> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = env("SCALR_OCI_CONFIG")
            .map(PathBuf::from)
            .or_else(default_path);
        Self::from_sources(path.as_deref(), &env)
    }

    /// Built-in defaults: no file, no environment.
    pub fn defaults() -> Settings {
        Self::from_sources(None, &|_| None).expect("the defaults are valid")
    }

    /// The settings file's default location.
    pub fn default_file() -> Option<PathBuf> {
        default_path()
    }

    fn from_sources(path: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
        let (file, path) = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => (parse_file(p, &text)?, Some(p.to_path_buf())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (File::default(), None),
                Err(e) => {
                    return Err(Error::Settings {
                        path: p.display().to_string(),
                        reason: format!("cannot be read: {e}"),
                    });
                }
            },
            None => (File::default(), None),
        };
        let shown = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(no settings file)".into());
        let file_err = |reason: String| Error::Settings {
            path: shown.clone(),
            reason,
        };
        let env_err = |name: &str, reason: &str| Error::Settings {
            path: format!("environment variable {name}"),
            reason: reason.to_string(),
        };

        let sources = match env("SCALR_OCI_SOURCES") {
            Some(list) => list
                .split(',')
                .map(|s| {
                    SourceKind::parse(s).ok_or_else(|| {
                        env_err(
                            "SCALR_OCI_SOURCES",
                            "expected a comma-separated list of `keychain` and `control-plane`",
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => file
                .sources
                .unwrap_or_else(|| vec![SourceKind::Keychain, SourceKind::ControlPlane]),
        };
        if sources.is_empty() {
            return Err(file_err("`sources` must name at least one source".into()));
        }

        let secs = |name: &str, file_value: Option<u64>, default: Duration| -> Result<Duration> {
            match env(name) {
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| env_err(name, "expected a whole number of seconds")),
                None => Ok(file_value.map(Duration::from_secs).unwrap_or(default)),
            }
        };
        let timeout = secs(
            "SCALR_OCI_TIMEOUT",
            file.control_plane.timeout_secs,
            DEFAULT_TIMEOUT,
        )?;
        let connect_timeout = secs(
            "SCALR_OCI_CONNECT_TIMEOUT",
            file.control_plane.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
        )?;
        if timeout.is_zero() || connect_timeout.is_zero() {
            return Err(file_err("timeouts must be at least one second".into()));
        }
        let cache_ttl = secs(
            "SCALR_OCI_CACHE_TTL",
            file.cache.ttl_secs,
            DEFAULT_CACHE_TTL,
        )?;
        if cache_ttl > MAX_CACHE_TTL {
            return Err(file_err(format!(
                "`cache.ttl_secs` is at most {} seconds",
                MAX_CACHE_TTL.as_secs()
            )));
        }
        let allow_http_loopback = match env("SCALR_OCI_ALLOW_HTTP_LOOPBACK") {
            Some(v) => truthy(&v).ok_or_else(|| {
                env_err(
                    "SCALR_OCI_ALLOW_HTTP_LOOPBACK",
                    "expected 1/0 or true/false",
                )
            })?,
            None => file.control_plane.allow_http_loopback.unwrap_or(false),
        };

        let mut per_registry = Vec::new();
        for (name, registry) in file.registries {
            let host = RegistryHost::parse(&name)
                .map_err(|e| file_err(format!("[registries.\"{name}\"]: {e}")))?;
            if registry.sources.is_empty() {
                return Err(file_err(format!(
                    "[registries.\"{name}\"]: `sources` must name at least one source"
                )));
            }
            per_registry.push((host, registry.sources));
        }

        Ok(Settings {
            path,
            sources,
            hostname: env("SCALR_HOSTNAME").or(file.control_plane.hostname),
            timeout,
            connect_timeout,
            allow_http_loopback,
            cache_ttl,
            cache_keychain: file.cache.keychain.unwrap_or(true),
            per_registry,
            verbose: env("SCALR_OCI_DEBUG")
                .and_then(|v| truthy(&v))
                .unwrap_or(false),
        })
    }

    /// The sources to ask for `host`, in order.
    pub fn sources_for(&self, host: &RegistryHost) -> &[SourceKind] {
        self.per_registry
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, s)| s.as_slice())
            .unwrap_or(&self.sources)
    }
}

fn parse_file(path: &Path, text: &str) -> Result<File> {
    // toml's message names the key, the line and the column.
    toml::from_str(text).map_err(|e| Error::Settings {
        path: path.display().to_string(),
        reason: e.to_string().trim_end().replace('\n', " "),
    })
}

fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::config_dir)?;
    Some(base.join("scalr-oci").join("settings.toml"))
}

fn truthy(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, vars: &[(&str, &str)]) -> Result<Settings> {
        let dir = std::env::temp_dir().join(format!("scalr-oci-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:x}.toml", text.len() * 31 + vars.len()));
        std::fs::write(&path, text).unwrap();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let result = Settings::from_sources(Some(&path), &env);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn defaults_without_a_file() {
        let s = Settings::from_sources(Some(Path::new("/nonexistent/settings.toml")), &|_| None)
            .unwrap();
        assert_eq!(s.sources, [SourceKind::Keychain, SourceKind::ControlPlane]);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.cache_ttl, DEFAULT_CACHE_TTL);
        assert!(s.path.is_none());
    }

    #[test]
    fn file_and_environment() {
        let s = load(
            "sources = [\"control-plane\"]\n[control_plane]\nhostname = \"a.scalr.io\"\ntimeout_secs = 10\n[cache]\nttl_secs = 60\n[registries.\"GHCR.io\"]\nsources = [\"keychain\"]\n",
            &[("SCALR_HOSTNAME", "b.scalr.io"), ("SCALR_OCI_CACHE_TTL", "5")],
        )
        .unwrap();
        assert_eq!(s.sources, [SourceKind::ControlPlane]);
        assert_eq!(s.hostname.as_deref(), Some("b.scalr.io"));
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.cache_ttl, Duration::from_secs(5));
        let ghcr = RegistryHost::parse("https://ghcr.io").unwrap();
        assert_eq!(s.sources_for(&ghcr), [SourceKind::Keychain]);
        assert_eq!(
            s.sources_for(&RegistryHost::parse("quay.io").unwrap()),
            [SourceKind::ControlPlane]
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key_and_file() {
        for (text, needle) in [
            ("sorces = []\n", "sorces"),
            ("[cache]\nttl = 5\n", "ttl"),
            (
                "[control_plane]\ntimeout_secs = \"thirty\"\n",
                "timeout_secs",
            ),
            ("sources = [\"vault\"]\n", "vault"),
            ("[cache]\nttl_secs = 999999\n", "ttl_secs"),
            ("[registries.\"a@b\"]\nsources = [\"keychain\"]\n", "a@b"),
            ("this is not toml", "settings"),
        ] {
            let err = load(text, &[]).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
            assert!(
                err.contains(".toml"),
                "{text:?} does not name the file: {err}"
            );
        }
        let err = load("", &[("SCALR_OCI_TIMEOUT", "soon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SCALR_OCI_TIMEOUT"), "{err}");
        let err = load("", &[("SCALR_OCI_SOURCES", "keychain,file")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SCALR_OCI_SOURCES"), "{err}");
    }
}
