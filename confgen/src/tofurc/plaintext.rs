//! Plain-text credentials in the OpenTofu CLI configuration: the
//! `username`/`password` blocks `migrate` moves into the keychain, and the
//! ones it must leave (with the reason), OAuth token blocks among them.

use std::path::Path;

use hcl_edit::structure::Structure;
use secrecy::SecretString;
use serde_json::Value;

use super::{CREDENTIALS_BLOCK, Style, hcl, json, validate_helper_label};
use crate::error::Result;
use crate::report::{PlaintextScan, Unmovable};
use crate::syntax::Syntax;

/// A plain-text `username`/`password` pair found in a credentials block.
pub struct PlaintextLogin {
    pub label: String,
    pub username: String,
    pub password: SecretString,
}

/// The plain-text username/password blocks of one file. Blocks whose values
/// are not plain strings, or whose label has a repository path (a helper
/// cannot replace those), are returned as unmovable, with the reason.
pub fn plaintext(path: &Path, text: &str) -> Result<PlaintextScan<PlaintextLogin>> {
    let mut scan = PlaintextScan::default();
    let mut oauth_labels: Vec<String> = Vec::new();
    let mut consider = |label: &str, username: Option<String>, password: Option<SecretString>| {
        if let Err(e) = validate_helper_label(label) {
            scan.unmovable
                .push(Unmovable::new(label, format!("{e}; move it by hand")));
            return;
        }
        match (username, password) {
            (Some(username), Some(password)) => scan.found.push(PlaintextLogin {
                label: label.to_string(),
                username,
                password,
            }),
            _ => scan.unmovable.push(Unmovable::new(
                label,
                "its username or password is not a plain string; move it by hand",
            )),
        }
    };
    match Syntax::of(path) {
        Syntax::Hcl => {
            let body = hcl::parse(path, text)?;
            for block in body.iter().filter_map(Structure::as_block) {
                if block.ident.as_str() != CREDENTIALS_BLOCK {
                    continue;
                }
                let Some(label) = block.labels.first() else {
                    continue;
                };
                match hcl::style(block) {
                    Style::Basic => {}
                    Style::OAuth => {
                        oauth_labels.push(label.as_str().to_string());
                        continue;
                    }
                    _ => continue,
                }
                let value = |key| {
                    block
                        .body
                        .get_attribute(key)
                        .and_then(|a| hcl::literal(text, &a.value))
                };
                consider(
                    label.as_str(),
                    value("username"),
                    value("password").map(SecretString::from),
                );
            }
        }
        Syntax::Json => {
            let root = json::parse(path, text)?;
            for (info, body) in json::blocks(&root) {
                if let (Some(label), Style::OAuth) = (&info.label, &info.style) {
                    oauth_labels.push(label.clone());
                }
                if let (Some(label), Style::Basic) = (&info.label, &info.style) {
                    let value =
                        |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
                    consider(
                        label,
                        value("username"),
                        value("password").map(SecretString::from),
                    );
                }
            }
        }
    }
    scan.unmovable
        .extend(oauth_labels.iter().map(|label| oauth(label)));
    Ok(scan)
}

/// Plain-text OAuth tokens: a Docker credential helper answers with a
/// username and a secret, which OpenTofu does not accept in their place.
fn oauth(label: &str) -> Unmovable {
    Unmovable::new(
        label,
        "it holds plain-text OAuth tokens (access_token / refresh_token), which a Docker credential helper cannot serve to OpenTofu; migrate leaves them, so move or remove them by hand",
    )
}
