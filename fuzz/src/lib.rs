//! What the fuzz targets share: finding the secrets planted in an input, and
//! asserting that none of them shows up where it must not.
//!
//! A "planted secret" is a value the input gives to a secret-bearing key
//! (`password`, `token`, `Secret`, ...), or one the code under test itself
//! reports as a secret. Only values that can be told apart from the rest of
//! the input are checked: at least [`MIN_SECRET`] characters from a small
//! alphabet (so no JSON or HCL syntax can form one by accident) that occur
//! exactly once in the input. Everything else would make the check fire on
//! text that was never secret.
//!
//! Known open bugs are listed in [`KNOWN`], each with its reproducer under
//! `fuzz/regressions/`; a check whose bug is listed there stays silent, so
//! the fuzzers keep looking for new failures while the fix is under way.
//! Delete the line when the fix lands.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Shorter values collide with ordinary words and numbers in messages.
pub const MIN_SECRET: usize = 6;

/// Keys whose value is a secret, in any of the formats (compared ignoring
/// ASCII case).
pub const SECRET_KEYS: &[&str] = &[
    "secret",
    "password",
    "token",
    "auth",
    "identitytoken",
    "registrytoken",
    "access_token",
    "refresh_token",
];

/// Checks that are known to fail today, each named by its reproducer in
/// `fuzz/regressions/`.
pub const KNOWN: &[&str] = &[];

/// True when `check` names a bug listed in [`KNOWN`], unless
/// `FUZZ_STRICT` is set: then every check runs (to see a reproducer
/// fail, or pass once its fix is in).
pub fn known(check: &str) -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    let strict = *STRICT.get_or_init(|| std::env::var_os("FUZZ_STRICT").is_some());
    !strict && KNOWN.contains(&check)
}

/// A value that can be searched for without false alarms (see the module
/// comment).
pub fn checkable(secret: &str, input: &str) -> bool {
    searchable(secret) && input.matches(secret).count() == 1
}

/// A secret the code under test decoded (a base64 `auth`'s password) is
/// checkable only when it never occurs in the input as written: its one
/// literal occurrence would be somewhere else (a registry key that happens
/// to spell it, which the edit rightly keeps).
pub fn checkable_decoded(secret: &str, input: &str) -> bool {
    searchable(secret) && !input.contains(secret)
}

fn searchable(secret: &str) -> bool {
    secret.len() >= MIN_SECRET
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | '-'))
        // Our messages are lower-case prose: a value of lower-case letters
        // alone can be a word of it (the fuzzers found `keychain` in the list
        // of allowed sources, `redentials` inside "no credentials username").
        && secret.chars().any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && !VOCABULARY.iter().any(|word| word.contains(secret))
}

/// The capitalised and numbered words our fixed messages contain; a value
/// inside one of them would show up in a message without having leaked.
pub const VOCABULARY: &[&str] = &[
    "SCALR_HOSTNAME",
    "SCALR_TOKEN",
    "SCALR_OCI_CONFIG",
    "SCALR_OCI_TIMEOUT",
    "SCALR_OCI_CONNECT_TIMEOUT",
    "SCALR_OCI_CACHE_TTL",
    "SCALR_OCI_SOURCES",
    "SCALR_OCI_DEBUG",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "NO_PROXY",
    "DBUS_SESSION_BUS_ADDRESS",
    "TF_CLI_CONFIG_FILE",
    "ServerURL",
    "Username",
    "Secret",
    "OpenTofu",
    "Docker",
    "Scalr",
    "UTF-8",
    "HTTP",
    "JSON",
    "TOML",
];

/// The secrets of `candidates` that [`checkable`] accepts.
pub fn planted(candidates: impl IntoIterator<Item = String>, input: &str) -> Vec<String> {
    select(candidates, |s| checkable(s, input))
}

/// The decoded secrets of `candidates` that [`checkable_decoded`] accepts.
pub fn planted_decoded(candidates: impl IntoIterator<Item = String>, input: &str) -> Vec<String> {
    select(candidates, |s| checkable_decoded(s, input))
}

fn select(
    candidates: impl IntoIterator<Item = String>,
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = candidates.into_iter().filter(|s| keep(s)).collect();
    out.sort();
    out.dedup();
    out
}

/// Panics (a fuzzer crash) when a planted secret shows up in `text`. `check`
/// names the check for [`KNOWN`].
pub fn assert_hidden(check: &str, secrets: &[String], what: &str, text: &str) {
    if known(check) {
        return;
    }
    for secret in secrets {
        // The secret is named by length only: a crash report is output too.
        assert!(
            !text.contains(secret.as_str()),
            "[{check}] a planted secret ({} chars) appears in {what}",
            secret.len()
        );
    }
}

/// Values of secret keys anywhere in a JSON document: strings as they
/// decode, numbers as serde prints them (an error message may quote them).
pub fn json_secrets(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_json(value, &mut out);
    out
}

/// The values of an object's own secret keys (not of objects inside it): a
/// Docker `auths` entry's credentials, which migrate moves. Docker reads no
/// credential from an object nested deeper, and migrate keeps such data as
/// it keeps any unknown field.
pub fn json_own_secrets(value: &serde_json::Value) -> Vec<String> {
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(key, _)| is_secret_key(key))
        .filter_map(|(_, v)| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

fn walk_json(value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if is_secret_key(key) {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        _ => {}
                    }
                }
                walk_json(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk_json(v, out)),
        _ => {}
    }
}

/// Every string and number anywhere in a TOML document: no settings key
/// holds a secret, but a value pasted into the wrong file may be one, and
/// messages must name keys, never values.
pub fn toml_values(value: &toml::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            toml::Value::String(s) => out.push(s.clone()),
            toml::Value::Integer(i) => out.push(i.to_string()),
            toml::Value::Array(items) => stack.extend(items),
            toml::Value::Table(t) => stack.extend(t.values()),
            _ => {}
        }
    }
    out
}

/// String values of secret attributes anywhere in an HCL body.
pub fn hcl_secrets(body: &hcl_edit::structure::Body) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(body) = stack.pop() {
        for structure in body.iter() {
            match structure {
                hcl_edit::structure::Structure::Attribute(a) => {
                    if is_secret_key(a.key.as_str())
                        && let Some(s) = a.value.as_str()
                    {
                        out.push(s.to_string());
                    }
                }
                hcl_edit::structure::Structure::Block(b) => stack.push(&b.body),
            }
        }
    }
    out
}

pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// A private scratch directory for targets that must go through the file
/// system, made once per fuzzing process.
pub fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("scalr-oci-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}
