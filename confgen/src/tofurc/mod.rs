//! The OpenTofu CLI configuration: where OpenTofu reads it, what it says about
//! OCI credentials, and format-preserving edits of it.
//!
//! - [`files`]: which files OpenTofu merges ([`TofuFiles`]) and their syntax;
//! - this module: the blocks, what a block does ([`Style`]), what to make
//!   true ([`Want`]) and how far an edit may go ([`Policy`]), the same rules
//!   for both syntaxes;
//! - [`hcl`]: HCL files, edited by splicing at hcl-edit's byte spans;
//! - [`json`]: `.tfrc.json` files;
//! - [`provider_mirror`]: the `provider_installation` block with an
//!   `oci_mirror` (`configure tofu --provider-mirror`);
//! - [`plaintext`]: the plain-text secrets `migrate` moves.

use std::path::Path;

use crate::address::written_authority;
use crate::error::{Error, Result};
use crate::report::{Note, Outcome};

pub mod files;
pub mod hcl;
pub mod json;
pub mod operators;
pub mod plaintext;
pub mod provider_mirror;

pub use crate::syntax::Syntax;
pub use files::TofuFiles;
pub use plaintext::{PlaintextLogin, plaintext};

/// The helper name OpenTofu turns into `docker-credential-scalr`.
pub const HELPER: &str = "scalr";
pub const CREDENTIALS_BLOCK: &str = "oci_credentials";
pub const DEFAULT_BLOCK: &str = "oci_default_credentials";
pub const HELPER_ATTR: &str = "docker_credentials_helper";

/// What one credentials block does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// `docker_credentials_helper = "NAME"`.
    Helper(String),
    /// Plain-text `username` and/or `password`.
    Basic,
    /// Plain-text `access_token` / `refresh_token`.
    OAuth,
    /// None of the above (an `oci_default_credentials` block that only sets
    /// `discover_ambient_credentials`, say).
    Nothing,
}

impl Style {
    pub fn describe(&self) -> String {
        match self {
            Style::Helper(name) => format!("credential helper docker-credential-{name}"),
            Style::Basic => "a plain-text username and password".into(),
            Style::OAuth => "plain-text OAuth tokens".into(),
            Style::Nothing => "no credentials setting".into(),
        }
    }
}

/// One `oci_credentials` (label `Some`) or `oci_default_credentials` block.
#[derive(Clone, Debug)]
pub struct CredBlock {
    pub label: Option<String>,
    pub style: Style,
}

impl CredBlock {
    /// The block as a [`Want`]: which block it is, whatever it holds.
    pub fn want(&self) -> Want {
        match &self.label {
            Some(label) => Want::Registry(label.clone()),
            None => Want::Default,
        }
    }
}

/// The OCI credentials blocks of one file.
pub fn credential_blocks(path: &Path, text: &str) -> Result<Vec<CredBlock>> {
    Ok(match Syntax::of(path) {
        Syntax::Hcl => hcl::blocks(&hcl::parse(path, text)?)
            .into_iter()
            .map(|b| b.info)
            .collect(),
        Syntax::Json => json::blocks(&json::parse(path, text)?)
            .into_iter()
            .map(|(info, _)| info)
            .collect(),
    })
}

/// Checks a label for a helper block as OpenTofu (through ORAS) does: a bare
/// `host[:port]`, no scheme, no path, no user information.
pub fn validate_helper_label(label: &str) -> Result<()> {
    // The echo rule: a label that may hold a secret is not shown, nor is a
    // suggestion built from it.
    let echo = docker_credential_scalr::echo::quoted;
    let bad = |reason: String| Error::BadLabel {
        shown: echo(label).map(|q| format!(" {q}")).unwrap_or_default(),
        reason,
    };
    let write = |host: &str| {
        echo(host)
            .map(|q| format!("; write {q}"))
            .unwrap_or_default()
    };
    if label.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if label.contains("://") {
        return Err(bad(match written_authority(label) {
            Ok((_, host)) => format!("OpenTofu labels have no scheme{}", write(&host)),
            Err(_) => "OpenTofu labels have no scheme".into(),
        }));
    }
    if let Some((host, _)) = label.split_once('/') {
        return Err(bad(format!(
            "a credential helper answers for a whole registry, so OpenTofu allows no repository path with it{}",
            write(host)
        )));
    }
    if label.contains('@') {
        return Err(bad("user information (`user@`) is not allowed".into()));
    }
    let (host, port) = if let Some(rest) = label.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("the IPv6 address has no closing `]`".into()))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("the IPv6 address is not valid".into()));
        }
        match after {
            "" => (None, None),
            p => (
                None,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("only `:port` may follow the IPv6 address".into()))?,
                ),
            ),
        }
    } else {
        match label.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(label), None),
        }
    };
    if let Some(host) = host {
        let name = host.strip_suffix('.').unwrap_or(host);
        let label_ok = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && !part.starts_with('-')
                && !part.ends_with('-')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if name.is_empty() || !name.split('.').all(label_ok) {
            return Err(bad(
                "it is not a host name (letters, digits, `-` and `.` only)".into(),
            ));
        }
    }
    if let Some(port) = port
        && !(!port.is_empty()
            && port.chars().all(|c| c.is_ascii_digit())
            && matches!(port.parse::<u32>(), Ok(1..=65535)))
    {
        return Err(bad("the port is not a number from 1 to 65535".into()));
    }
    Ok(())
}

/// What to make true in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// `oci_default_credentials { docker_credentials_helper = "scalr" }`.
    Default,
    /// `oci_credentials "HOST" { docker_credentials_helper = "scalr" }`.
    Registry(String),
}

impl Want {
    pub(super) fn label(&self) -> Option<&str> {
        match self {
            Want::Default => None,
            Want::Registry(label) => Some(label),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Want::Default => "oci_default_credentials".into(),
            Want::Registry(label) => format!("oci_credentials {label:?}"),
        }
    }
}

/// How far an edit may go: with a block that already exists, and whether a
/// wanted block that no file has yet is added.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Replace another credential helper.
    force: bool,
    /// Replace a plain-text username/password (only `migrate`, after the
    /// secret is safely in the keychain).
    replace_plaintext: bool,
    /// Add a wanted block this file does not have.
    add_missing: bool,
}

impl Policy {
    /// `configure tofu`: adds what is missing; replaces another helper only
    /// when forced; never touches a plain-text secret.
    pub fn configure(force: bool) -> Policy {
        Policy {
            force,
            replace_plaintext: false,
            add_missing: true,
        }
    }

    /// `migrate`: replaces the plain-text blocks whose secrets are now in the
    /// keychain, and adds nothing.
    pub fn migrate() -> Policy {
        Policy {
            force: false,
            replace_plaintext: true,
            add_missing: false,
        }
    }
}

/// Makes `wants` true in one file, as far as `policy` allows. Returns the new
/// text (`None` when nothing changes) and one note per want that this file
/// decided.
pub fn apply(
    path: &Path,
    text: Option<&str>,
    wants: &[Want],
    policy: Policy,
) -> Result<(Option<String>, Vec<Note>)> {
    match Syntax::of(path) {
        Syntax::Hcl => hcl::apply(path, text.unwrap_or(""), wants, policy),
        Syntax::Json => json::apply(path, text, wants, policy),
    }
}

/// What to do with an existing block of the given style: the same rules for
/// HCL and JSON files.
fn decide(style: &Style, policy: Policy) -> Outcome {
    match style {
        Style::Helper(name) if name == HELPER => Outcome::AlreadyDone,
        Style::Helper(_) if policy.force => Outcome::Replaced(style.describe()),
        Style::Helper(name) => Outcome::Kept(format!(
            "it uses docker-credential-{name}; pass --force to replace it"
        )),
        Style::Basic if policy.replace_plaintext => Outcome::Replaced(style.describe()),
        Style::Basic => Outcome::Kept(
            "it holds a plain-text username and password; run `scalr-oci migrate` to move them into the keychain and point it at the helper".into(),
        ),
        Style::OAuth => Outcome::Kept(
            "it holds plain-text OAuth tokens, which a Docker credential helper cannot serve to OpenTofu; remove the block by hand if you want the helper to answer".into(),
        ),
        Style::Nothing => Outcome::Completed,
    }
}

/// What a block does, from what it sets: the same rule for HCL and JSON.
/// `helper` is the `docker_credentials_helper` value (`"?"` when it is not a
/// string); `has` says whether the block sets an attribute.
fn style_of(helper: Option<&str>, has: impl Fn(&str) -> bool) -> Style {
    if let Some(helper) = helper {
        return Style::Helper(helper.to_string());
    }
    if has("username") || has("password") {
        return Style::Basic;
    }
    if has("access_token") || has("refresh_token") {
        return Style::OAuth;
    }
    Style::Nothing
}

/// The note for one want decided in `path`.
fn note(path: &Path, want: &Want, outcome: Outcome) -> Note {
    Note {
        subject: want.describe(),
        path: path.to_path_buf(),
        outcome,
    }
}

/// The first block that a merged configuration would hold twice.
pub fn first_duplicate<'a>(blocks: impl Iterator<Item = &'a CredBlock>) -> Option<Want> {
    let mut seen = std::collections::HashSet::new();
    for block in blocks {
        if !seen.insert(block.label.clone()) {
            return Some(block.want());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The echo rule (docker_credential_scalr::echo): a label that may hold
    /// a secret is never quoted back, not even in the suggested fix.
    #[test]
    fn a_refused_label_never_shows_a_secret() {
        for label in [
            "me:hunter2@ghcr.io",
            "me:hunter2@ghcr.io/team/repo",
            "https://me:hunter2@ghcr.io",
            "ghcr.io/%68unter2",
        ] {
            let err = validate_helper_label(label).unwrap_err().to_string();
            assert!(!err.contains("unter2"), "{label}: {err}");
            assert!(err.contains("invalid registry label"), "{err}");
        }
        let err = validate_helper_label("ghcr.io/team")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"ghcr.io/team\"") && err.contains("write \"ghcr.io\""),
            "{err}"
        );
    }
}
