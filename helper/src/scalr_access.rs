//! Which Scalr account to ask, and with which token.
//!
//! First found wins:
//! 1. the environment: `SCALR_TOKEN` with `SCALR_HOSTNAME` (a Scalr run sets
//!    both);
//! 2. the OS keychain, where `scalr-oci login` keeps the token;
//! 3. scalr-cli's `~/.scalr/scalr.conf` (JSON, flat or with profiles chosen
//!    by `SCALR_PROFILE`);
//! 4. `tofu login`'s `~/.terraform.d/credentials.tfrc.json`.
//!
//! The last two are plain-text files written by other tools: we read them,
//! and the caller says that `scalr-oci migrate` moves them into the keychain
//! ([`TokenOrigin::is_plain_text`]). This module never prints: what it has to
//! say comes back in the [`Discovery`].

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::settings::Settings;

/// Where the token came from; shown by `status` and in errors, never the
/// token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenOrigin {
    Environment,
    Keychain,
    ScalrCliConfig(PathBuf),
    TofuCredentials(PathBuf),
    /// Piped into `scalr-oci login`.
    Stdin,
    /// Typed at `scalr-oci login`'s prompt.
    Prompt,
}

impl fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenOrigin::Environment => f.write_str("the SCALR_TOKEN environment variable"),
            TokenOrigin::Keychain => f.write_str("the OS keychain (scalr-oci login)"),
            TokenOrigin::ScalrCliConfig(p) => write!(f, "scalr-cli's {}", p.display()),
            TokenOrigin::TofuCredentials(p) => write!(f, "tofu login's {}", p.display()),
            TokenOrigin::Stdin => f.write_str("standard input"),
            TokenOrigin::Prompt => f.write_str("the prompt"),
        }
    }
}

impl TokenOrigin {
    /// A file another tool wrote, holding the token in plain text.
    pub fn is_plain_text(&self) -> bool {
        matches!(
            self,
            TokenOrigin::ScalrCliConfig(_) | TokenOrigin::TofuCredentials(_)
        )
    }
}

/// A hostname and the token to use there. The token redacts itself.
#[derive(Clone, Debug)]
pub struct ScalrAccess {
    /// As configured: `example.scalr.io`, `host:port`, or with a scheme.
    pub hostname: String,
    pub token: SecretString,
    pub origin: TokenOrigin,
}

/// What discovery found, and what it passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    /// `None` when nothing is configured.
    pub access: Option<ScalrAccess>,
    /// With no hostname configured, the keychain held tokens for these
    /// several hosts, and none was chosen: set SCALR_HOSTNAME to pick one.
    pub ambiguous_keychain_hosts: Vec<String>,
}

/// Finds the Scalr access to use, or `Ok(None)` when nothing is configured.
/// See [`discovery`] for what was passed over on the way.
pub fn discover(settings: &Settings, keychain: &Keychain) -> Result<Option<ScalrAccess>> {
    discovery(settings, keychain).map(|found| found.access)
}

/// Like [`discover`], with what the caller may want to tell the user.
pub fn discovery(settings: &Settings, keychain: &Keychain) -> Result<Discovery> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let home = dirs::home_dir();
    discover_with(settings, keychain, &env, home.as_deref())
}

fn discover_with(
    settings: &Settings,
    keychain: &Keychain,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Discovery> {
    let hostname = settings.hostname.clone();
    let mut found = Discovery::default();

    if let Some(token) = env("SCALR_TOKEN") {
        let Some(hostname) = hostname else {
            return Err(Error::Settings {
                path: "environment variable SCALR_TOKEN".into(),
                reason: "is set, but SCALR_HOSTNAME is not: set it to your Scalr account's host, e.g. example.scalr.io".into(),
            });
        };
        found.access = Some(ScalrAccess {
            hostname,
            token: SecretString::from(token.trim()),
            origin: TokenOrigin::Environment,
        });
        return Ok(found);
    }

    match from_keychain(keychain, hostname.as_deref(), &mut found) {
        Ok(Some(access)) => {
            found.access = Some(access);
            return Ok(found);
        }
        Ok(None) => {}
        // No keychain here (a container, a CI job): the files may still answer.
        Err(Error::KeychainUnavailable { .. }) => {}
        Err(e) => return Err(e),
    }

    if let Some(home) = home {
        found.access = scalr_cli_config(home, hostname.as_deref(), env)
            .or_else(|| tofu_credentials(home, hostname.as_deref()));
    }
    Ok(found)
}

/// The token `scalr-oci login` stored: for the configured hostname, or, with
/// none configured, the only one there is (several are noted in `found`).
fn from_keychain(
    keychain: &Keychain,
    hostname: Option<&str>,
    found: &mut Discovery,
) -> Result<Option<ScalrAccess>> {
    let hostname = match hostname {
        Some(h) => h.to_string(),
        None => {
            let mut hosts = keychain.token_hosts()?;
            if hosts.len() > 1 {
                found.ambiguous_keychain_hosts = hosts;
                return Ok(None);
            }
            match hosts.pop() {
                Some(h) => h,
                None => return Ok(None),
            }
        }
    };
    Ok(keychain
        .get_token(&bare_host(&hostname))?
        .map(|token| ScalrAccess {
            hostname,
            token,
            origin: TokenOrigin::Keychain,
        }))
}

/// `https://host:port/` → `host:port`: the key tokens are stored under.
pub fn bare_host(hostname: &str) -> String {
    let h = hostname.trim();
    let h = h.split_once("://").map(|(_, rest)| rest).unwrap_or(h);
    h.trim_end_matches('/').to_ascii_lowercase()
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn scalr_cli_config(
    home: &Path,
    hostname: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<ScalrAccess> {
    let path = home.join(".scalr").join("scalr.conf");
    let doc = read_json(&path)?;
    // Flat: {"hostname","token",…}. Profiles: {"<profile>": {"hostname","token"}}.
    let profile = if doc.get("token").is_some() {
        &doc
    } else {
        doc.get(env("SCALR_PROFILE").as_deref().unwrap_or("default"))?
    };
    let token = profile.get("token")?.as_str()?.trim();
    let file_host = profile.get("hostname").and_then(Value::as_str);
    let hostname = match (hostname, file_host) {
        (Some(want), Some(have)) if bare_host(want) != bare_host(have) => return None,
        (Some(want), _) => want.to_string(),
        (None, Some(have)) => have.to_string(),
        (None, None) => return None,
    };
    (!token.is_empty()).then(|| ScalrAccess {
        hostname,
        token: SecretString::from(token),
        origin: TokenOrigin::ScalrCliConfig(path.clone()),
    })
}

fn tofu_credentials(home: &Path, hostname: Option<&str>) -> Option<ScalrAccess> {
    let path = home.join(".terraform.d").join("credentials.tfrc.json");
    let doc = read_json(&path)?;
    let creds = doc.get("credentials")?.as_object()?;
    let (host, entry) = match hostname {
        Some(want) => creds
            .iter()
            .find(|(h, _)| bare_host(h) == bare_host(want))?,
        // Without a configured hostname, only an unambiguous Scalr entry will do:
        // never send a Scalr request with some other service's token.
        None => {
            let mut scalr = creds.iter().filter(|(h, _)| h.ends_with(".scalr.io"));
            let only = scalr.next()?;
            if scalr.next().is_some() {
                return None;
            }
            only
        }
    };
    let token = entry.get("token")?.as_str()?.trim();
    (!token.is_empty()).then(|| ScalrAccess {
        hostname: hostname.map(str::to_string).unwrap_or_else(|| host.clone()),
        token: SecretString::from(token),
        origin: TokenOrigin::TofuCredentials(path.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn settings(hostname: Option<&str>) -> Settings {
        let mut s = Settings::defaults();
        s.hostname = hostname.map(str::to_string);
        s
    }

    fn home() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn write(home: &Path, rel: &str, text: &str) {
        let p = home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn environment_wins_and_needs_a_hostname() {
        let kc = Keychain::new();
        let env = |n: &str| (n == "SCALR_TOKEN").then(|| "tok-env".to_string());
        let a = discover_with(&settings(Some("a.scalr.io")), &kc, &env, None)
            .unwrap()
            .access
            .unwrap();
        assert_eq!(a.origin, TokenOrigin::Environment);
        assert_eq!(a.token.expose_secret(), "tok-env");
        let err = discover_with(&settings(None), &kc, &env, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SCALR_HOSTNAME"), "{err}");
    }

    #[test]
    fn scalr_cli_flat_and_profiles() {
        let h = home();
        let none = |_: &str| None;
        write(
            h.path(),
            ".scalr/scalr.conf",
            r#"{"hostname":"a.scalr.io","token":"t-flat"}"#,
        );
        let a = scalr_cli_config(h.path(), None, &none).unwrap();
        assert_eq!(
            (a.hostname.as_str(), a.token.expose_secret()),
            ("a.scalr.io", "t-flat")
        );
        assert!(scalr_cli_config(h.path(), Some("b.scalr.io"), &none).is_none());

        write(
            h.path(),
            ".scalr/scalr.conf",
            r#"{"default":{"hostname":"a.scalr.io","token":"t-a"},"prod":{"hostname":"p.scalr.io","token":"t-p"}}"#,
        );
        assert_eq!(
            scalr_cli_config(h.path(), None, &none)
                .unwrap()
                .token
                .expose_secret(),
            "t-a"
        );
        let prod = |n: &str| (n == "SCALR_PROFILE").then(|| "prod".to_string());
        let p = scalr_cli_config(h.path(), None, &prod).unwrap();
        assert_eq!(
            (p.hostname.as_str(), p.token.expose_secret()),
            ("p.scalr.io", "t-p")
        );
    }

    #[test]
    fn tofu_credentials_never_guess_another_service() {
        let h = home();
        write(
            h.path(),
            ".terraform.d/credentials.tfrc.json",
            r#"{"credentials":{"app.terraform.io":{"token":"tfc"},"a.scalr.io":{"token":"t-a"}}}"#,
        );
        assert_eq!(
            tofu_credentials(h.path(), None)
                .unwrap()
                .token
                .expose_secret(),
            "t-a"
        );
        assert_eq!(
            tofu_credentials(h.path(), Some("https://A.scalr.io"))
                .unwrap()
                .token
                .expose_secret(),
            "t-a"
        );
        assert!(tofu_credentials(h.path(), Some("b.scalr.io")).is_none());
        write(
            h.path(),
            ".terraform.d/credentials.tfrc.json",
            r#"{"credentials":{"a.scalr.io":{"token":"1"},"b.scalr.io":{"token":"2"}}}"#,
        );
        assert!(tofu_credentials(h.path(), None).is_none(), "ambiguous");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let a = ScalrAccess {
            hostname: "a".into(),
            token: SecretString::from("super-secret-token"),
            origin: TokenOrigin::Environment,
        };
        assert!(!format!("{a:?}").contains("super-secret-token"));
    }
}
