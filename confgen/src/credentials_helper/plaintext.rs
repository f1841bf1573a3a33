//! Plain-text host tokens in a CLI config file, `credentials "HOST" {
//! token = "…" }`: found for `migrate`, and cut out once they are in the
//! keychain.

use std::path::Path;

use secrecy::SecretString;
use serde_json::Value;

use super::{CREDENTIALS, cut_hcl_blocks, hcl_blocks};
use crate::error::Result;
use crate::json_format;
use crate::tofurc::{self, Syntax};

/// `credentials "HOST" { token = "…" }` in a CLI config file: a host token
/// in plain text, which OpenTofu prefers to any credentials helper. Each
/// comes back as (the label as written, the token); only literal string
/// tokens of hosts `wanted` accepts.
pub fn credentials_blocks(
    path: &Path,
    text: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, SecretString)>> {
    Ok(match Syntax::of(path) {
        Syntax::Hcl => hcl_blocks(path, text, CREDENTIALS, |b| {
            let host = b.labels.first()?.as_str().to_string();
            let token = b.body.get_attribute("token")?.value.as_str()?;
            (wanted(&host) && !token.trim().is_empty())
                .then(|| (host, SecretString::from(token.trim())))
        })?,
        Syntax::Json => match tofurc::json::parse(path, text)?.get(CREDENTIALS) {
            Some(Value::Object(hosts)) => hosts
                .iter()
                .filter_map(|(host, v)| {
                    let token = v.get("token")?.as_str()?;
                    (wanted(host) && !token.trim().is_empty())
                        .then(|| (host.clone(), SecretString::from(token.trim())))
                })
                .collect(),
            _ => Vec::new(),
        },
    })
}

/// `text` without the `credentials` blocks (HCL) or keys (JSON) of `hosts`,
/// every other byte kept.
pub fn without_credentials(path: &Path, text: &str, hosts: &[String]) -> Result<String> {
    match Syntax::of(path) {
        Syntax::Hcl => cut_hcl_blocks(path, text, CREDENTIALS, |b| {
            b.labels
                .first()
                .is_some_and(|l| hosts.iter().any(|h| h == l.as_str()))
        }),
        Syntax::Json => {
            let mut root = match tofurc::json::parse(path, text)? {
                Value::Object(map) => map,
                _ => return Ok(text.to_string()),
            };
            if let Some(Value::Object(creds)) = root.get_mut(CREDENTIALS) {
                for host in hosts {
                    creds.shift_remove(host);
                }
                if creds.is_empty() {
                    root.shift_remove(CREDENTIALS);
                }
            }
            Ok(json_format::to_string_like(
                &Value::Object(root),
                Some(text),
            ))
        }
    }
}
