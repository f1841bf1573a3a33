//! The client side of our own helper protocol: run `docker-credential-scalr
//! get` (or any Docker credential helper), write the server URL on stdin,
//! read its answer. Used by `scalr-oci doctor` and the end-to-end tests, so
//! both read an answer exactly as Docker does.
//!
//! The answer is read into a buffer wiped on drop, and the secret goes
//! straight into a [`SecretString`].

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::is_not_found_message;

/// What a helper's `get` answered.
#[derive(Debug)]
pub enum GetAnswer {
    /// Exit 0 and the JSON answer. `keys` are its keys in the order sent
    /// (Docker's helpers send `ServerURL`, `Username`, `Secret`).
    Found {
        username: String,
        secret: SecretString,
        keys: Vec<String>,
        /// The answer was exactly one line ending in `\n`.
        one_line: bool,
    },
    /// Exit 1 with exactly the not-found message: go on anonymously.
    NotFound,
    /// Any other failure: the helper's message (never a secret: a failing
    /// helper prints only its error), and its exit code.
    Failed { code: Option<i32>, message: String },
    /// Exit 0 but not the JSON object a client expects.
    Malformed { why: String },
}

impl GetAnswer {
    /// Reads an answer from a finished `get`: its success and its stdout.
    pub fn parse(code: Option<i32>, stdout: &[u8]) -> GetAnswer {
        if code != Some(0) {
            let message = String::from_utf8_lossy(stdout).trim().to_string();
            if code == Some(1) && is_not_found_message(&message) {
                return GetAnswer::NotFound;
            }
            return GetAnswer::Failed { code, message };
        }
        #[derive(Deserialize)]
        struct Wire {
            #[serde(rename = "Username")]
            username: String,
            #[serde(rename = "Secret")]
            secret: SecretString,
        }
        let keys = match serde_json::from_slice::<Keys>(stdout) {
            Ok(Keys(keys)) => keys,
            Err(e) => {
                return GetAnswer::Malformed {
                    why: format!("not a JSON object ({e})"),
                };
            }
        };
        match serde_json::from_slice::<Wire>(stdout) {
            Ok(wire) => GetAnswer::Found {
                username: wire.username,
                secret: wire.secret,
                keys,
                one_line: stdout.ends_with(b"\n") && !stdout[..stdout.len() - 1].contains(&b'\n'),
            },
            Err(e) => GetAnswer::Malformed {
                why: format!("no Username and Secret strings ({e})"),
            },
        }
    }
}

/// A JSON object's keys in order; the values are skipped unread, so the
/// secret is never copied into an unwiped string here.
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Runs `helper` (a command with its program, environment and `get`
/// argument set by the caller) with `server_url` on stdin; stderr is left as
/// the caller set it.
pub fn get(mut helper: Command, server_url: &str) -> std::io::Result<GetAnswer> {
    let mut child = helper
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read its input is its own business.
        let _ = stdin.write_all(server_url.as_bytes());
    }
    let mut output = Zeroizing::new(Vec::with_capacity(4096));
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut output)?;
    }
    let status = child.wait()?;
    Ok(GetAnswer::parse(status.code(), &output))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_hit_not_found_a_failure_and_garbage() {
        let hit =
            b"{\"ServerURL\":\"https://ghcr.io\",\"Username\":\"u\",\"Secret\":\"p\\u003c\"}\n";
        let answer = GetAnswer::parse(Some(0), hit);
        let GetAnswer::Found {
            username,
            secret,
            keys,
            one_line,
        } = &answer
        else {
            panic!("not a hit: {answer:?}");
        };
        assert_eq!(username, "u");
        assert_eq!(secret.expose_secret(), "p<");
        assert_eq!(*keys, ["ServerURL", "Username", "Secret"]);
        assert!(*one_line);
        assert!(matches!(
            GetAnswer::parse(Some(1), b"credentials not found in native keychain\n"),
            GetAnswer::NotFound
        ));
        assert!(matches!(
            GetAnswer::parse(Some(1), b"the OS keychain failed: locked\n"),
            GetAnswer::Failed { code: Some(1), message } if message == "the OS keychain failed: locked"
        ));
        assert!(matches!(
            GetAnswer::parse(Some(0), b"{\"Username\":\"u\"}"),
            GetAnswer::Malformed { .. }
        ));
        assert!(matches!(
            GetAnswer::parse(Some(0), b"ok"),
            GetAnswer::Malformed { .. }
        ));
    }
}
