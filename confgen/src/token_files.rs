//! Plain-text Scalr API tokens written by other tools: scalr-cli's
//! `~/.scalr/scalr.conf` (JSON, flat or one object per profile) and
//! `tofu login`'s `~/.terraform.d/credentials.tfrc.json`
//! (`credentials.<host>.token`). Only Scalr hosts are taken from the latter:
//! another service's token is OpenTofu's business.

use std::path::{Path, PathBuf};

use docker_credential_scalr::scalr_access::bare_host;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::docker_config;
use crate::environment::Env;
use crate::error::Result;
use crate::json_format;
use crate::report::{PlaintextScan, Unmovable};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFile {
    ScalrCli,
    TofuCredentials,
}

impl TokenFile {
    pub fn path(self, env: &Env) -> Option<PathBuf> {
        let home = env.home().ok()?;
        Some(match self {
            TokenFile::ScalrCli => home.join(".scalr").join("scalr.conf"),
            TokenFile::TofuCredentials => home.join(".terraform.d").join("credentials.tfrc.json"),
        })
    }
}

pub struct Token {
    /// The profile name or the `credentials` key, as the file has it.
    pub name: String,
    pub hostname: String,
    pub token: SecretString,
}

/// The tokens of one file. A `credentials.tfrc.json` entry is taken when
/// `wanted` says so of its bare host (the inventory's rule for Scalr hosts,
/// or every host: terraform-credentials-scalr answers for any host the
/// keychain has).
pub fn find(
    path: &Path,
    text: &str,
    kind: TokenFile,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<PlaintextScan<Token>> {
    let root = docker_config::parse(path, Some(text))?;
    let mut scan = PlaintextScan::default();
    for (name, entry) in entries(&root, kind) {
        let Some(token) = entry
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
        else {
            continue;
        };
        let hostname = match kind {
            TokenFile::ScalrCli => match entry.get("hostname").and_then(Value::as_str) {
                Some(h) => bare_host(h),
                None => {
                    scan.unmovable.push(Unmovable::new(name, "it names no hostname, so the token has no keychain key; add \"hostname\" or move it by hand"));
                    continue;
                }
            },
            TokenFile::TofuCredentials => {
                let host = bare_host(&name);
                if !wanted(&host) {
                    continue;
                }
                host
            }
        };
        scan.found.push(Token {
            name,
            hostname,
            token: SecretString::from(token.trim()),
        });
    }
    Ok(scan)
}

/// `(name, object)` for each place a token may sit.
fn entries(root: &Map<String, Value>, kind: TokenFile) -> Vec<(String, &Map<String, Value>)> {
    match kind {
        TokenFile::ScalrCli if root.contains_key("token") => vec![("(default)".into(), root)],
        TokenFile::ScalrCli => root
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_object()?)))
            .collect(),
        TokenFile::TofuCredentials => root
            .get("credentials")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_object()?)))
            .collect(),
    }
}

/// Removes the named tokens; a `credentials` entry left empty goes too.
pub fn strip(path: &Path, text: &str, kind: TokenFile, names: &[String]) -> Result<Option<String>> {
    let mut root = docker_config::parse(path, Some(text))?;
    let before = root.clone();
    match kind {
        TokenFile::ScalrCli if root.contains_key("token") => {
            if names.iter().any(|n| n == "(default)") {
                root.shift_remove("token");
            }
        }
        TokenFile::ScalrCli => {
            for name in names {
                if let Some(profile) = root.get_mut(name).and_then(Value::as_object_mut) {
                    profile.shift_remove("token");
                }
            }
        }
        TokenFile::TofuCredentials => {
            if let Some(creds) = root.get_mut("credentials").and_then(Value::as_object_mut) {
                for name in names {
                    let emptied = creds
                        .get_mut(name)
                        .and_then(Value::as_object_mut)
                        .map(|entry| {
                            entry.shift_remove("token");
                            entry.is_empty()
                        });
                    if emptied == Some(true) {
                        creds.shift_remove(name);
                    }
                }
            }
        }
    }
    if root == before {
        return Ok(None);
    }
    Ok(Some(json_format::to_string_like(
        &Value::Object(root),
        Some(text),
    )))
}
