//! OpenTofu's (and Terraform's) credentials-helper protocol for service
//! host tokens, as `terraform-credentials-scalr` speaks it: OpenTofu's
//! `credentials_helper "scalr" {}` block makes it run
//! `terraform-credentials-scalr [args…] VERB HOST`
//! (internal/command/cliconfig/svcauthconfig/helper_program.go, v1.12.6).
//!
//! - `get HOST`: stdout is one JSON object, `{"token":"…"}`, or `{}` (exit
//!   0) when we have nothing for HOST, so that OpenTofu goes on without.
//!   First `SCALR_TOKEN` when HOST is `SCALR_HOSTNAME` (a Scalr run, CI),
//!   then the OS keychain entry `scalr-oci login` writes (service
//!   `scalr-oci-token`, account = the host). With no keychain reachable,
//!   `{}` and one stderr line saying why: a host token must never break
//!   `tofu init` for hosts that need none (registry.opentofu.org).
//! - `store HOST`: stdin is a JSON object (`tofu login`). We keep exactly a
//!   string `token`; anything else is refused (we could not give it back
//!   faithfully) and nothing is stored. The token is read back to prove the
//!   keychain kept it.
//! - `forget HOST` (`tofu logout`): removes the entry; nothing to remove is
//!   success.
//! - Failure: exit 1 and one line on stderr (OpenTofu shows it as
//!   `error in …: <stderr>`); stdout stays empty.
//!
//! HOST compares as OpenTofu compares service hosts ([`ServiceHost`]). The
//! token leaves only on `get`'s stdout: never in an error, argv or a file.
//! All I/O, the environment and the token store are passed in, so the whole
//! protocol is testable in-process.

use std::io::{Read, Write};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::protocol::{PACKAGE, VERSION, input_str, read_input, write_out};
use crate::service_host::ServiceHost;

pub const NAME: &str = "terraform-credentials-scalr";

/// Where host tokens are kept. The OS keychain in the binary; the protocol
/// never touches a keychain itself.
pub trait TokenStore {
    fn get_token(&self, host: &ServiceHost) -> Result<Option<SecretString>>;
    fn store_token(&self, host: &ServiceHost, token: &SecretString) -> Result<()>;
    /// `Ok(false)` when there was nothing to erase.
    fn erase_token(&self, host: &ServiceHost) -> Result<bool>;
}

impl TokenStore for Keychain {
    fn get_token(&self, host: &ServiceHost) -> Result<Option<SecretString>> {
        Keychain::get_token(self, host.as_str())
    }
    fn store_token(&self, host: &ServiceHost, token: &SecretString) -> Result<()> {
        Keychain::store_token(self, host.as_str(), token)
    }
    fn erase_token(&self, host: &ServiceHost) -> Result<bool> {
        Keychain::erase_token(self, host.as_str())
    }
}

pub fn usage() -> String {
    format!("Usage: {NAME} get|store|forget HOST   (OpenTofu's credentials_helper protocol)")
}

pub fn version_line() -> String {
    format!("{NAME} ({PACKAGE}) {VERSION}")
}

/// The `SCALR_*` variables a Scalr run sets; `env` answers them (only
/// non-empty values count).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Runs one helper invocation; `args` excludes the program name. Returns the
/// exit status.
pub fn serve(
    args: &[String],
    env: Env<'_>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    store: &dyn TokenStore,
) -> i32 {
    let (verb, host) = match args {
        [flag] if matches!(flag.as_str(), "--version" | "-v" | "version") => {
            let _ = writeln!(stdout, "{}", version_line());
            return 0;
        }
        [flag] if matches!(flag.as_str(), "--help" | "-h") => {
            let _ = writeln!(stdout, "{}", crate::help::HOST_TOKEN_HELPER.text());
            return 0;
        }
        [verb, host] if matches!(verb.as_str(), "get" | "store" | "forget") => {
            (verb.as_str(), host.as_str())
        }
        // OpenTofu puts a credentials_helper block's `args` before the verb.
        [.., verb, _] if matches!(verb.as_str(), "get" | "store" | "forget") => {
            let _ = writeln!(
                stderr,
                "{NAME}: takes no arguments before `{verb}`; remove `args` from the credentials_helper \"scalr\" block"
            );
            return 1;
        }
        _ => {
            let _ = writeln!(stderr, "{NAME}: {}", usage());
            return 1;
        }
    };
    let result = ServiceHost::parse(host).and_then(|host| match verb {
        "get" => get(&host, env, stdout, stderr, store),
        "store" => store_token(&host, stdin, store),
        _ => store.erase_token(&host).map(drop),
    });
    match result {
        Ok(()) => 0,
        Err(err) => {
            let doing = match verb {
                "get" => "cannot read the token",
                "store" => "cannot store the token",
                _ => "cannot forget the token",
            };
            let _ = writeln!(
                stderr,
                "{NAME}: {doing} for {host_shown}: {err}{fix}",
                host_shown = shown(host),
                fix = fix(&err)
            );
            1
        }
    }
}

/// The host as given, for error lines, by the echo rule (crate::echo).
fn shown(host: &str) -> String {
    crate::echo::quoted(host).unwrap_or_else(|| "that host".into())
}

/// What to do about an error, on the same line.
fn fix(err: &Error) -> &'static str {
    match err {
        Error::KeychainUnavailable { .. } => {
            ". Fix: unlock or start a Secret Service (gnome-keyring, KeePassXC, KWallet) on the D-Bus session bus; \
             in CI or a Scalr run, set SCALR_HOSTNAME and SCALR_TOKEN instead of `tofu login`"
        }
        _ => "",
    }
}

fn get(
    host: &ServiceHost,
    env: Env<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    store: &dyn TokenStore,
) -> Result<()> {
    if let Some(token) = from_environment(host, env, stderr) {
        return answer(stdout, Some(&token));
    }
    match store.get_token(host) {
        Ok(token) => answer(stdout, token.as_ref()),
        // No keychain here (a container, CI): nothing to offer, and
        // OpenTofu goes on with its other sources.
        Err(Error::KeychainUnavailable { cause }) => {
            let _ = writeln!(
                stderr,
                "{NAME}: no token for {host}: the OS keychain is not available ({cause})"
            );
            answer(stdout, None)
        }
        Err(e) => Err(e),
    }
}

/// `SCALR_TOKEN`, when `SCALR_HOSTNAME` names `host`.
fn from_environment(
    host: &ServiceHost,
    env: Env<'_>,
    stderr: &mut dyn Write,
) -> Option<SecretString> {
    let token = env("SCALR_TOKEN")?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    let Some(hostname) = env("SCALR_HOSTNAME") else {
        let _ = writeln!(
            stderr,
            "{NAME}: SCALR_TOKEN is set but SCALR_HOSTNAME is not, so it answers for no host"
        );
        return None;
    };
    // A Scalr run may spell it `https://host/`.
    match ServiceHost::parse(&crate::scalr_access::bare_host(&hostname)) {
        Ok(scalr) if scalr == *host => Some(SecretString::from(token)),
        Ok(_) => None,
        Err(e) => {
            let _ = writeln!(stderr, "{NAME}: ignoring SCALR_HOSTNAME: {e}");
            None
        }
    }
}

fn answer(stdout: &mut dyn Write, token: Option<&SecretString>) -> Result<()> {
    #[derive(Serialize)]
    struct Wire<'a> {
        token: &'a str,
    }
    let Some(token) = token else {
        return write_out(stdout, "{}\n");
    };
    // Serialised through a borrowed field into one pre-sized buffer, wiped
    // on drop (crate::secret_json).
    let wire = Wire {
        token: token.expose_secret(),
    };
    let json = crate::secret_json::compact(
        &wire,
        crate::secret_json::worst_case(&["token", wire.token]),
    );
    write_out(stdout, &json)
}

fn store_token(host: &ServiceHost, stdin: &mut dyn Read, store: &dyn TokenStore) -> Result<()> {
    let input = read_input(stdin)?;
    let token = parse_store_request(&input)?;
    store.store_token(host, &token)?;
    match store.get_token(host)? {
        Some(back) if back.expose_secret() == token.expose_secret() => Ok(()),
        _ => Err(Error::TokenNotKept {
            host: host.to_string(),
        }),
    }
}

/// The one shape we keep: `{"token": "<non-empty string>"}`.
pub fn parse_store_request(input: &[u8]) -> Result<SecretString> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        token: SecretString,
    }
    const SHAPE: &str =
        "expected a JSON object with exactly one field, a string `token`; nothing was stored";
    let text = input_str(input)?;
    // serde would also read a JSON array as a struct, field by position.
    if !text.trim_start().starts_with('{') {
        return Err(Error::BadJson(SHAPE.into()));
    }
    let request: Request = serde_json::from_str(text).map_err(|e| {
        // serde_json quotes numbers and literals it did not expect: say
        // where, never what.
        Error::BadJson(match e.classify() {
            serde_json::error::Category::Data => SHAPE.into(),
            _ => format!(
                "not valid JSON (line {}, column {}); nothing was stored",
                e.line(),
                e.column()
            ),
        })
    })?;
    if request.token.expose_secret().trim().is_empty() {
        return Err(Error::BadJson(
            "the token is empty; nothing was stored".into(),
        ));
    }
    Ok(request.token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    const TOKEN: &str = "tok-<&>-4f2a9c8e1d";

    /// The keychain's behaviour, in memory; `unavailable` makes every call
    /// fail as a missing Secret Service does.
    #[derive(Default)]
    struct Memory {
        tokens: RefCell<BTreeMap<String, String>>,
        unavailable: bool,
    }

    impl Memory {
        fn with(host: &str, token: &str) -> Memory {
            let m = Memory::default();
            m.tokens.borrow_mut().insert(host.into(), token.into());
            m
        }
        fn down() -> Result<()> {
            Err(Error::KeychainUnavailable {
                cause: "no session bus".into(),
            })
        }
    }

    impl TokenStore for Memory {
        fn get_token(&self, host: &ServiceHost) -> Result<Option<SecretString>> {
            if self.unavailable {
                Self::down()?;
            }
            Ok(self
                .tokens
                .borrow()
                .get(host.as_str())
                .map(|t| SecretString::from(t.as_str())))
        }
        fn store_token(&self, host: &ServiceHost, token: &SecretString) -> Result<()> {
            if self.unavailable {
                Self::down()?;
            }
            self.tokens
                .borrow_mut()
                .insert(host.to_string(), token.expose_secret().to_string());
            Ok(())
        }
        fn erase_token(&self, host: &ServiceHost) -> Result<bool> {
            if self.unavailable {
                Self::down()?;
            }
            Ok(self.tokens.borrow_mut().remove(host.as_str()).is_some())
        }
    }

    struct Run {
        code: i32,
        stdout: String,
        stderr: String,
    }

    fn run(args: &[&str], vars: &[(&str, &str)], stdin: &str, store: &Memory) -> Run {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .filter(|v| !v.is_empty())
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = serve(
            &args,
            &env,
            &mut stdin.as_bytes(),
            &mut out,
            &mut err,
            store,
        );
        Run {
            code,
            stdout: String::from_utf8(out).unwrap(),
            stderr: String::from_utf8(err).unwrap(),
        }
    }

    fn token_json(token: &str) -> String {
        format!("{}\n", serde_json::json!({ "token": token }))
    }

    #[test]
    fn get_answers_from_the_keychain_for_every_spelling_of_the_host() {
        let store = Memory::with("acme.scalr.io", TOKEN);
        for host in ["acme.scalr.io", "Acme.Scalr.io", "acme.scalr.io:443"] {
            let r = run(&["get", host], &[], "", &store);
            assert_eq!(
                (r.code, r.stdout.as_str()),
                (0, token_json(TOKEN).as_str()),
                "{host}"
            );
            assert_eq!(r.stderr, "");
        }
        let r = run(&["get", "acme.scalr.io:8443"], &[], "", &store);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "{}\n"),
            "another port is another host"
        );
    }

    #[test]
    fn error_lines_follow_the_echo_rule() {
        let store = Memory::default();
        for host in ["me:hunter2@acme.scalr.io", "acme.scalr.io/%68unter2"] {
            let r = run(&["forget", host], &[], "", &store);
            assert_eq!(r.code, 1, "{host}");
            assert!(
                !r.stderr.contains("unter2") && r.stderr.contains("for that host"),
                "{host}: {}",
                r.stderr
            );
        }
        let long = format!("{}/x", "a".repeat(300));
        crate::echo::assert_cut(&run(&["forget", &long], &[], "", &store).stderr);
    }

    #[test]
    fn get_prints_an_empty_object_for_hosts_it_does_not_know() {
        let store = Memory::with("acme.scalr.io", TOKEN);
        for host in [
            "app.terraform.io",
            "registry.opentofu.org",
            "acme.scalr.io.evil.com",
        ] {
            let r = run(&["get", host], &[], "", &store);
            assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"), "{host}");
        }
    }

    #[test]
    fn the_environment_answers_for_its_own_host_before_the_keychain() {
        let store = Memory::with("acme.scalr.io", "from-keychain");
        let vars = [
            ("SCALR_TOKEN", TOKEN),
            ("SCALR_HOSTNAME", "https://ACME.scalr.io/"),
        ];
        let r = run(&["get", "acme.scalr.io"], &vars, "", &store);
        assert_eq!(r.stdout, token_json(TOKEN));
        // Not for another host: the keychain (or nothing) answers there.
        let r = run(&["get", "other.scalr.io"], &vars, "", &store);
        assert_eq!(r.stdout, "{}\n");
        let r = run(&["get", "app.terraform.io"], &vars, "", &Memory::default());
        assert_eq!(r.stdout, "{}\n");
    }

    #[test]
    fn without_a_keychain_get_uses_the_environment_or_says_why_it_has_nothing() {
        let store = Memory {
            unavailable: true,
            ..Memory::default()
        };
        let vars = [("SCALR_TOKEN", TOKEN), ("SCALR_HOSTNAME", "acme.scalr.io")];
        let r = run(&["get", "acme.scalr.io"], &vars, "", &store);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, token_json(TOKEN).as_str(), "")
        );
        let r = run(&["get", "acme.scalr.io"], &[], "", &store);
        assert_eq!((r.code, r.stdout.as_str()), (0, "{}\n"));
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("keychain is not available"),
            "{}",
            r.stderr
        );
    }

    #[test]
    fn without_a_keychain_store_and_forget_fail_with_one_line_naming_the_fix() {
        let store = Memory {
            unavailable: true,
            ..Memory::default()
        };
        for (verb, stdin) in [("store", token_json(TOKEN)), ("forget", String::new())] {
            let r = run(&[verb, "acme.scalr.io"], &[], &stdin, &store);
            assert_eq!(r.code, 1, "{verb}");
            assert_eq!(r.stdout, "", "{verb}");
            assert_eq!(r.stderr.lines().count(), 1, "{verb}: {}", r.stderr);
            assert!(
                r.stderr.contains("not available") && r.stderr.contains("Fix:"),
                "{}",
                r.stderr
            );
            assert!(!r.stderr.contains(TOKEN));
        }
    }

    #[test]
    fn store_then_get_then_forget() {
        let store = Memory::default();
        let r = run(
            &["store", "Acme.scalr.io:443"],
            &[],
            &token_json(TOKEN),
            &store,
        );
        assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "", ""));
        assert_eq!(
            store
                .tokens
                .borrow()
                .get("acme.scalr.io")
                .map(String::as_str),
            Some(TOKEN)
        );
        assert_eq!(
            run(&["get", "acme.scalr.io"], &[], "", &store).stdout,
            token_json(TOKEN)
        );
        let r = run(&["forget", "ACME.scalr.io"], &[], "", &store);
        assert_eq!((r.code, r.stdout.as_str()), (0, ""));
        assert!(store.tokens.borrow().is_empty());
        // Forgetting nothing is not an error (a second `tofu logout`).
        assert_eq!(run(&["forget", "acme.scalr.io"], &[], "", &store).code, 0);
    }

    #[test]
    fn store_refuses_anything_but_one_string_token_and_stores_nothing() {
        let big = format!(
            "{{\"token\":\"{}\"}}",
            "a".repeat(crate::protocol::MAX_INPUT)
        );
        for input in [
            "",
            "not json",
            r#"["tok"]"#,
            r#"{"token": 12345678901}"#,
            r#"{"token": null}"#,
            r#"{"token": ""}"#,
            r#"{"token": "  "}"#,
            r#"{}"#,
            r#"{"token":"a","refresh_token":"b"}"#,
            r#"{"token":"a","token":"b"}"#,
            r#"{"token":{"value":"a"}}"#,
            "{\"token\":\"abc\"",
            big.as_str(),
        ] {
            let store = Memory::default();
            let r = run(&["store", "acme.scalr.io"], &[], input, &store);
            let shown: String = input.chars().take(60).collect();
            assert_eq!(r.code, 1, "{shown}");
            assert_eq!(r.stdout, "", "{shown}");
            assert_eq!(r.stderr.lines().count(), 1, "{shown}: {}", r.stderr);
            assert!(
                !r.stderr.contains("12345678901"),
                "echoed a value: {}",
                r.stderr
            );
            assert!(store.tokens.borrow().is_empty(), "{shown} was stored");
        }
        let r = run(
            &["store", "acme.scalr.io"],
            &[],
            &format!("\u{feff}{}", token_json(TOKEN)),
            &Memory::default(),
        );
        assert_eq!(r.code, 1, "a byte-order mark is not JSON");
    }

    #[test]
    fn bad_hosts_and_bad_usage_are_clear_errors() {
        let store = Memory::with("acme.scalr.io", TOKEN);
        for args in [
            vec!["get", "https://acme.scalr.io"],
            vec!["get", "acme.scalr.io/path"],
            vec!["get", ""],
            vec!["get"],
            vec![],
            vec!["erase", "acme.scalr.io"],
            vec!["--profile", "x", "get", "acme.scalr.io"],
        ] {
            let r = run(&args, &[], "", &store);
            assert_eq!(r.code, 1, "{args:?}");
            assert_eq!(r.stdout, "", "{args:?}");
            assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
            assert!(r.stderr.starts_with(NAME), "{}", r.stderr);
        }
        let r = run(&["get", "me:pw-in-host@acme.scalr.io"], &[], "", &store);
        assert!(!r.stderr.contains("pw-in-host"), "{}", r.stderr);
        let r = run(&["--version"], &[], "", &store);
        assert_eq!((r.code, r.stdout.starts_with(NAME)), (0, true));
    }

    #[test]
    fn a_store_the_keychain_does_not_keep_is_an_error() {
        struct Forgetful;
        impl TokenStore for Forgetful {
            fn get_token(&self, _: &ServiceHost) -> Result<Option<SecretString>> {
                Ok(None)
            }
            fn store_token(&self, _: &ServiceHost, _: &SecretString) -> Result<()> {
                Ok(())
            }
            fn erase_token(&self, _: &ServiceHost) -> Result<bool> {
                Ok(false)
            }
        }
        let args = ["store".to_string(), "acme.scalr.io".to_string()];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = serve(
            &args,
            &|_| None,
            &mut token_json(TOKEN).as_bytes(),
            &mut out,
            &mut err,
            &Forgetful,
        );
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, 1);
        assert!(err.contains("did not keep"), "{err}");
        assert!(!err.contains(TOKEN));
    }
}
