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
/// A `get` that waits longer than this for the control plane is broken,
/// whatever the network.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

impl Settings {
    /// Reads the settings file (if present) and applies the environment.
    pub fn load() -> Result<Settings> {
        Self::from_env(&|name| std::env::var(name).ok())
    }

    /// Like [`Settings::load`], with the environment read through `var`
    /// (a program that has read its environment once, or a test): the
    /// file is `SCALR_OCI_CONFIG`, else `settings.toml` under
    /// `XDG_CONFIG_HOME`, else under the platform config directory.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
        let env = |name: &str| var(name).filter(|v| !v.is_empty());
        let path = env("SCALR_OCI_CONFIG")
            .map(PathBuf::from)
            .or_else(|| config_file(env("XDG_CONFIG_HOME").map(PathBuf::from)));
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

        // Every duration is capped: a huge value is an error that names its
        // source, never an overflow when a deadline is computed.
        let secs =
            |name: &str, key: &str, file_value: Option<u64>, default: Duration, max: Duration| {
                let (value, source_err): (u64, &dyn Fn(String) -> Error) = match env(name) {
                    Some(v) => (
                        v.trim()
                            .parse::<u64>()
                            .map_err(|_| env_err(name, "expected a whole number of seconds"))?,
                        &|reason| env_err(name, &reason),
                    ),
                    None => match file_value {
                        Some(v) => (v, &|reason| file_err(format!("`{key}` {reason}"))),
                        None => return Ok(default),
                    },
                };
                if value > max.as_secs() {
                    return Err(source_err(format!("is at most {} seconds", max.as_secs())));
                }
                Ok(Duration::from_secs(value))
            };
        let timeout = secs(
            "SCALR_OCI_TIMEOUT",
            "control_plane.timeout_secs",
            file.control_plane.timeout_secs,
            DEFAULT_TIMEOUT,
            MAX_TIMEOUT,
        )?;
        let connect_timeout = secs(
            "SCALR_OCI_CONNECT_TIMEOUT",
            "control_plane.connect_timeout_secs",
            file.control_plane.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
            MAX_CONNECT_TIMEOUT,
        )?;
        if timeout.is_zero() || connect_timeout.is_zero() {
            return Err(file_err("timeouts must be at least one second".into()));
        }
        let cache_ttl = secs(
            "SCALR_OCI_CACHE_TTL",
            "cache.ttl_secs",
            file.cache.ttl_secs,
            DEFAULT_CACHE_TTL,
            MAX_CACHE_TTL,
        )?;
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
        let mut names: Vec<(String, String)> = Vec::new();
        for (name, registry) in file.registries {
            let host = RegistryHost::parse(&name)
                .map_err(|e| file_err(format!("[registries.\"{name}\"]: {e}")))?;
            if registry.sources.is_empty() {
                return Err(file_err(format!(
                    "[registries.\"{name}\"]: `sources` must name at least one source"
                )));
            }
            // Two spellings of one registry would leave one table silently
            // unused (`sources_for` takes the first): a typo-like mistake.
            if let Some(first) = names.iter().find(|(h, _)| *h == host.key()) {
                return Err(file_err(format!(
                    "[registries.\"{}\"] and [registries.\"{name}\"] name the same registry; keep one",
                    first.1
                )));
            }
            names.push((host.key(), name));
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
    toml::from_str(text).map_err(|e| Error::Settings {
        path: path.display().to_string(),
        reason: describe(&e, text),
    })
}

/// Where a settings error is and what it is, naming the key, the line and the
/// column, never a value: toml's own text quotes the offending line, and
/// serde's quotes the value (`token = "..."` would print the token).
fn describe(e: &toml::de::Error, text: &str) -> String {
    let message = e.message();
    let at = e.span().map(|span| {
        let (line, column) = crate::error::line_column(text, span.start);
        let key = key_at(text, span.start)
            .map(|k| format!(", key `{k}`"))
            .unwrap_or_default();
        format!("line {line}, column {column}{key}: ")
    });
    // What serde says after "expected" comes from our own types; what it says
    // before is the value it found.
    let expected = message
        .split_once(", expected ")
        .map(|(_, expected)| format!(", expected {expected}"))
        .unwrap_or_default();
    let what = if message.starts_with("unknown field") {
        format!("unknown key{expected}")
    } else if message.starts_with("unknown variant") {
        format!("unknown value{expected}")
    } else if message.starts_with("invalid type") {
        format!("wrong type{expected}")
    } else if message.starts_with("invalid value") || message.starts_with("invalid length") {
        format!("invalid value{expected}")
    } else if message.starts_with("missing field") || message.starts_with("duplicate key") {
        // Names one of our keys, or a key the file already has.
        message.split(['\n']).next().unwrap_or_default().to_string()
    } else {
        // The TOML parser's own messages describe the syntax (`expected
        // `=``), never quote the input.
        format!(
            "not valid TOML ({})",
            message.lines().next().unwrap_or_default()
        )
    };
    format!("{}{what}", at.unwrap_or_default())
}

/// The key whose line holds `offset`, if it looks like one of ours: at most
/// 40 lower-case ASCII letters, `_` and `-` (so a typo such as `sorces` is
/// named). Anything else, digits or capitals included, may be a pasted token
/// and is never echoed.
fn key_at(text: &str, offset: usize) -> Option<&str> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let key = match line.split_once('=') {
        Some((key, _)) => key.trim(),
        // A table header: `[cach]`, `[registries."x"]`.
        None => line
            .trim()
            .strip_prefix('[')?
            .trim_end()
            .trim_end_matches(']'),
    };
    let key = key.rsplit('.').next()?.trim();
    (!key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-'))
    .then_some(key)
}

fn default_path() -> Option<PathBuf> {
    config_file(
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    )
}

/// `settings.toml` under `xdg_config_home`, else under the platform
/// config directory.
fn config_file(xdg_config_home: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg_config_home.or_else(dirs::config_dir)?;
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
        // Tests run in parallel threads of one process: each call its own file.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{call}.toml"));
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

    /// `from_env` reads nothing but what `var` gives it: the file named by
    /// its SCALR_OCI_CONFIG (or found under its XDG_CONFIG_HOME), then its
    /// variables over the file's values.
    #[test]
    fn from_env_reads_only_the_given_variables() {
        let dir = std::env::temp_dir().join(format!("scalr-oci-from-env-{}", std::process::id()));
        let file = dir.join("scalr-oci").join("settings.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            "[control_plane]\nhostname = \"file.scalr.io\"\ntimeout_secs = 7\n",
        )
        .unwrap();
        let shown = dir.display().to_string();
        let by_xdg =
            Settings::from_env(&|name| (name == "XDG_CONFIG_HOME").then(|| shown.clone())).unwrap();
        assert_eq!(by_xdg.path.as_deref(), Some(file.as_path()));
        assert_eq!(by_xdg.hostname.as_deref(), Some("file.scalr.io"));
        assert_eq!(by_xdg.timeout, Duration::from_secs(7));
        let named = file.display().to_string();
        let vars = [
            ("SCALR_OCI_CONFIG", named.as_str()),
            ("SCALR_HOSTNAME", "env.scalr.io"),
            ("XDG_CONFIG_HOME", "/nonexistent"),
        ];
        let by_name = Settings::from_env(&|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        assert_eq!(by_name.path.as_deref(), Some(file.as_path()));
        assert_eq!(by_name.hostname.as_deref(), Some("env.scalr.io"));
        std::fs::remove_dir_all(&dir).unwrap();
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
    fn two_spellings_of_one_registry_are_refused_naming_both() {
        // Found by the settings fuzzer: both tables loaded and `sources_for`
        // silently used the first, so one setting was ignored without a word.
        let err = load(
            "[registries.\"ghcr.io\"]\nsources = [\"keychain\"]\n[registries.\"GHCR.io:443\"]\nsources = [\"control-plane\"]\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"ghcr.io\"") && err.contains("\"GHCR.io:443\""),
            "{err}"
        );
        assert!(err.contains("same registry"), "{err}");
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
            ("sources = [\"vault\"]\n", "sources"),
            ("[cach]\nttl_secs = 5\n", "cach"),
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
        for (text, needle) in [
            (
                "sorces = []\n",
                "line 1, column 1, key `sorces`: unknown key",
            ),
            (
                "[control_plane]\nhostname = \"h\"\ntimeout_secs = \"thirty\"\n",
                "line 3, column 16, key `timeout_secs`: wrong type, expected u64",
            ),
        ] {
            let err = load(text, &[]).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        let err = load("", &[("SCALR_OCI_SOURCES", "keychain,file")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SCALR_OCI_SOURCES"), "{err}");
    }

    #[test]
    fn huge_durations_are_errors_that_name_their_source() {
        for (var, key, max) in [
            ("SCALR_OCI_TIMEOUT", "timeout_secs", MAX_TIMEOUT),
            (
                "SCALR_OCI_CONNECT_TIMEOUT",
                "connect_timeout_secs",
                MAX_CONNECT_TIMEOUT,
            ),
            ("SCALR_OCI_CACHE_TTL", "ttl_secs", MAX_CACHE_TTL),
        ] {
            for value in [u64::MAX, max.as_secs() + 1] {
                let err = load("", &[(var, &value.to_string())])
                    .unwrap_err()
                    .to_string();
                assert!(err.contains(var) && err.contains("at most"), "{err}");
                let table = if key == "ttl_secs" {
                    "cache"
                } else {
                    "control_plane"
                };
                let err = load(&format!("[{table}]\n{key} = {value}\n"), &[])
                    .unwrap_err()
                    .to_string();
                assert!(err.contains(key) && err.contains(".toml"), "{err}");
            }
            let s = load("", &[(var, &max.as_secs().to_string())]).unwrap();
            assert!([s.timeout, s.connect_timeout, s.cache_ttl].contains(&max));
        }
    }

    #[test]
    fn errors_never_quote_a_value() {
        let secret = "s3cr3t-from-the-file";
        for text in [
            format!("token = \"{secret}\"\n"),
            format!("[control_plane]\ntimeout_secs = \"{secret}\"\n"),
            format!("[control_plane]\nhostname = [\"{secret}\"]\n"),
            format!("sources = [\"{secret}\"]\n"),
            format!("[cache]\nkeychain = \"{secret}\"\n"),
            format!("\n{secret}\n"),
            format!("{secret} = 1\n"),
            format!("[{secret}]\n"),
            format!("x = \"{secret}\n"),
            format!("sources = [\n  \"{secret}\",\n]\n"),
        ] {
            let err = load(&text, &[]).unwrap_err().to_string();
            assert!(!err.contains("s3cr3t"), "{text:?}: {err}");
            assert!(err.contains("line ") && err.contains("column "), "{err}");
        }
    }
}
