//! The wire protocol, driven in-process with an in-memory backend: exact
//! strings, exit codes, and what happens on bad input.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;

use docker_credential_scalr::diagnostics::Diagnostics;
use docker_credential_scalr::help::DOCKER_HELPER;
use docker_credential_scalr::protocol::{self, Backend, Credential, MAX_INPUT};
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

/// Keyed by the canonical registry, like the keychain.
#[derive(Default)]
struct Memory {
    entries: RefCell<BTreeMap<RegistryHost, (String, String)>>,
}

impl Backend for &Memory {
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        Ok(self.entries.borrow().get(host).map(|(u, s)| Credential {
            username: u.clone(),
            secret: SecretString::from(s.as_str()),
        }))
    }
    fn store(&self, host: &RegistryHost, c: &Credential) -> Result<()> {
        self.entries.borrow_mut().insert(
            host.clone(),
            (c.username.clone(), c.secret.expose_secret().to_string()),
        );
        Ok(())
    }
    fn erase(&self, host: &RegistryHost) -> Result<bool> {
        Ok(self.entries.borrow_mut().remove(host).is_some())
    }
    fn list(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .map(|(h, (u, _))| (h.docker_server_url(), u.clone()))
            .collect())
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn call(mem: &Memory, args: &[&str], stdin: impl AsRef<[u8]>) -> Out {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = protocol::serve(&args, &mut stdin.as_ref(), &mut stdout, &mut stderr, |_| {
        Ok(mem)
    });
    Out {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn store(mem: &Memory, server: &str, user: &str, secret: &str) {
    let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
    let out = call(mem, &["store"], json.to_string());
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "store {server}");
}

const USAGE: &str = "Usage: docker-credential-scalr <store|get|erase|list|version>\n";
/// What `get` and `erase` say for a host with no entry (the text Docker's
/// own helpers print, which the Docker CLI matches).
const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// Fails, showing all of stdout, unless `out`'s stdout contains `needle`.
#[track_caller]
fn assert_stdout_has(out: &Out, needle: &str) {
    assert!(
        out.stdout.contains(needle),
        "{needle:?} is not in:\n{}",
        out.stdout
    );
}

#[test]
fn usage_for_no_verb_extra_arguments_and_unknown_verbs() {
    let mem = Memory::default();
    for args in [&[][..], &["get", "extra"][..], &["get", "--", "x"][..]] {
        let out = call(&mem, args, "");
        assert_eq!((out.code, out.stdout.as_str()), (1, USAGE), "{args:?}");
    }
    let out = call(&mem, &["fetch"], "ghcr.io");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        format!("docker-credential-scalr: unknown action: \"fetch\"\n{USAGE}")
    );
    // The echo rule: an argument that may hold a secret is not shown.
    let out = call(&mem, &["u:hunter2@ghcr.io"], "");
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        format!(
            "docker-credential-scalr: unknown action (not shown: it may hold a secret)\n{USAGE}"
        )
    );
}

#[test]
fn help_and_version_succeed_without_a_backend() {
    let never = |_: Diagnostics<'_>| -> Result<&Memory> { panic!("the backend must not be built") };
    for (args, expect) in [
        (
            vec!["--help".to_string()],
            format!("{}\n", DOCKER_HELPER.text()),
        ),
        (
            vec!["-h".to_string()],
            format!("{}\n", DOCKER_HELPER.text()),
        ),
        (
            vec!["--version".to_string()],
            format!("{}\n", protocol::version_line()),
        ),
        (
            vec!["version".to_string()],
            format!("{}\n", protocol::version_line()),
        ),
    ] {
        let mut stdout = Vec::new();
        let code = protocol::serve(&args, &mut &b""[..], &mut stdout, &mut Vec::new(), never);
        assert_eq!((code, String::from_utf8(stdout).unwrap()), (0, expect));
    }
    assert_eq!(
        protocol::version_line(),
        format!(
            "docker-credential-scalr (scalr.io/docker-credential-scalr) {}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn get_miss_is_the_exact_not_found_text() {
    let mem = Memory::default();
    let out = call(&mem, &["get"], "https://ghcr.io");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
    let out = call(&mem, &["erase"], "ghcr.io\n");
    assert_eq!((out.code, out.stdout.as_str()), (1, NOT_FOUND));
}

#[test]
fn get_prints_exact_json_with_go_escaping() {
    let mem = Memory::default();
    store(&mem, "ghcr.io", "alice", "p&ss<w>rd\"\\");
    let out = call(&mem, &["get"], "https://ghcr.io");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "{\"ServerURL\":\"https://ghcr.io\",\"Username\":\"alice\",\"Secret\":\"p\\u0026ss\\u003cw\\u003erd\\\"\\\\\"}\n"
        )
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["Secret"], "p&ss<w>rd\"\\");

    store(&mem, "docker.io", "<token>", "refresh");
    let out = call(&mem, &["get"], "https://index.docker.io/v1/");
    assert_stdout_has(&out, "\"Username\":\"\\u003ctoken\\u003e\"");
}

#[test]
fn one_entry_answers_every_spelling_and_only_its_host() {
    let mem = Memory::default();
    store(&mem, "127.0.0.1:5000", "u", "s1");
    // Every spelling of the host gets the entry's secret; any other host, none.
    for (query, secret) in [
        ("127.0.0.1:5000", Some("s1")),
        ("https://127.0.0.1:5000", Some("s1")),
        ("http://127.0.0.1:5000/", Some("s1")),
        ("https://127.0.0.1:5000/v2/\n", Some("s1")),
        ("127.0.0.1:5001", None),
        ("127.0.0.1", None),
        ("localhost:5000", None),
        ("127.0.0.1.evil.com:5000", None),
    ] {
        let out = call(&mem, &["get"], query);
        match secret {
            Some(secret) => {
                assert_eq!(out.code, 0, "{query:?}: {}", out.stdout);
                assert_stdout_has(&out, &format!("\"Secret\":\"{secret}\""));
            }
            None => assert_eq!(out.stdout, NOT_FOUND, "{query:?}"),
        }
    }
    let out = call(&mem, &["get"], "https://127.0.0.1:5000@evil.com");
    assert_eq!(out.code, 1);
    assert_stdout_has(&out, "user information");
}

#[test]
fn store_requires_server_url_and_username() {
    let mem = Memory::default();
    for (json, expect) in [
        (
            r#"{"ServerURL":"","Username":"u","Secret":"s"}"#,
            "no credentials server URL\n",
        ),
        (
            r#"{"Username":"u","Secret":"s"}"#,
            "no credentials server URL\n",
        ),
        (
            r#"{"ServerURL":null,"Username":"u","Secret":"s"}"#,
            "no credentials server URL\n",
        ),
        (
            r#"{"ServerURL":"ghcr.io","Username":"","Secret":"s"}"#,
            "no credentials username\n",
        ),
        (
            r#"{"ServerURL":"ghcr.io","Secret":"s"}"#,
            "no credentials username\n",
        ),
    ] {
        let out = call(&mem, &["store"], json);
        assert_eq!((out.code, out.stdout.as_str()), (1, expect), "{json}");
    }
    let out = call(&mem, &["get"], "   \n");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "no credentials server URL\n")
    );
    assert!(mem.entries.borrow().is_empty());
}

#[test]
fn store_tolerates_unknown_fields_and_lowercase_names() {
    let mem = Memory::default();
    let out = call(
        &mem,
        &["store"],
        r#"{"serverurl":"ghcr.io","username":"u","secret":"s","Extra":{"a":1}}"#,
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(call(&mem, &["get"], "ghcr.io").code, 0);
}

#[test]
fn bad_store_input_is_refused_and_stores_nothing() {
    let mem = Memory::default();
    for (input, needle) in [
        (&b"not json"[..], "malformed credentials JSON"),
        (
            br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"} trailing"#,
            "trailing",
        ),
        (
            br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}{"#,
            "trailing",
        ),
        (
            br#"{"ServerURL":"ghcr.io","Username":42,"Secret":"s"}"#,
            "`Username` must be a string",
        ),
        (
            br#"{"ServerURL":"ghcr.io","Username":"u","Secret":["s"]}"#,
            "`Secret` must be a string",
        ),
        (br#"["ghcr.io","u","s"]"#, "expected a JSON object"),
        (
            br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s""#,
            "EOF",
        ),
        (b"\xff\xfe{}", "UTF-8"),
        (b"", "expected a JSON object"),
        (
            br#"{"ServerURL":"ghcr.io?x","Username":"u","Secret":"s"}"#,
            "query",
        ),
    ] {
        let out = call(&mem, &["store"], input);
        assert_eq!(out.code, 1, "{input:?}");
        assert!(out.stdout.contains(needle), "{input:?}: {}", out.stdout);
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "one line on stdout: {}",
            out.stdout
        );
    }
    assert!(mem.entries.borrow().is_empty());
}

#[test]
fn error_messages_never_echo_the_secret() {
    let mem = Memory::default();
    let secret = "hunter2-very-secret";
    for json in [
        format!(r#"{{"ServerURL":"ghcr.io?token={secret}","Username":"u","Secret":"{secret}"}}"#),
        format!(
            r#"{{"ServerURL":"https://u:{secret}@ghcr.io","Username":"u","Secret":"{secret}"}}"#
        ),
        format!(r#"{{"ServerURL":"ghcr.io","Username":"u","Secret":"{secret}" junk"#),
        format!(r#"{{"ServerURL":"ghcr.io","Username":"","Secret":"{secret}"}}"#),
    ] {
        let out = call(&mem, &["store"], &json);
        assert_eq!(out.code, 1);
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{}",
            out.stdout
        );
    }
}

/// Attack: a secret sent with the wrong JSON type. serde's own messages quote
/// the offending value; ours name the field, the line and the column.
#[test]
fn a_secret_of_the_wrong_type_is_never_echoed() {
    let mem = Memory::default();
    // serde_json reports the position of the last character it read.
    for (secret, found, column) in [
        ("987654321", "a number", 56),
        ("-987654321", "a number", 57),
        ("9876.54321e3", "a number", 59),
        ("true", "a boolean", 51),
        (r#"["987654321"]"#, "an array", 48),
        (r#"{"v":"987654321"}"#, "an object", 48),
    ] {
        let json = format!(r#"{{"ServerURL":"ghcr.io","Username":"u","Secret":{secret}}}"#);
        let out = call(&mem, &["store"], &json);
        assert_eq!(out.code, 1, "{json}");
        assert_eq!(
            out.stdout,
            format!(
                "malformed credentials JSON: `Secret` must be a string, not {found} at line 1 column {column}\n"
            ),
        );
        assert!(!out.stderr.contains("98765"), "{}", out.stderr);
    }
    let out = call(
        &mem,
        &["store"],
        "{\"ServerURL\":\"ghcr.io\",\n\"username\":987654321,\"Secret\":\"s\"}",
    );
    assert_eq!(
        out.stdout,
        "malformed credentials JSON: `Username` must be a string, not a number at line 2 column 20\n"
    );
    assert!(mem.entries.borrow().is_empty());
}

/// Secrets of up to 8 KiB (long registry tokens, JWTs) round-trip byte for
/// byte through `store` and `get`, JSON escapes and all.
#[test]
fn secrets_of_8_kib_round_trip() {
    let mem = Memory::default();
    let alphabet = b"abcXYZ019<>&\"\\/+=._-~";
    let secret: String = (0..8192)
        .map(|i| char::from(alphabet[i % alphabet.len()]))
        .collect();
    assert_eq!(secret.len(), 8192);
    store(&mem, "ghcr.io", "u", &secret);
    let out = call(&mem, &["get"], "ghcr.io");
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["Secret"].as_str(), Some(secret.as_str()));
}

#[test]
fn huge_stdin_is_refused_without_reading_it_all() {
    let mem = Memory::default();
    let big = vec![b' '; MAX_INPUT + 1];
    let out = call(&mem, &["get"], &big);
    assert_eq!(out.code, 1);
    assert_stdout_has(&out, "larger than 1048576 bytes");
    assert!(!out.stderr.is_empty(), "a hint goes to stderr");

    // An endless stream: the helper must stop at the limit, not hang.
    let mut endless = std::io::repeat(b'a');
    let mut counted = CountingReader {
        inner: &mut endless,
        read: 0,
    };
    let mut stdout = Vec::new();
    let code = protocol::serve(
        &["store".into()],
        &mut counted,
        &mut stdout,
        &mut Vec::new(),
        |_| Ok(&mem),
    );
    assert_eq!(code, 1);
    assert!(
        counted.read <= MAX_INPUT + 8192,
        "read {} bytes",
        counted.read
    );
    assert!(mem.entries.borrow().is_empty());

    // Exactly at the limit is accepted as input (and then judged on content).
    let mut at_limit = b"ghcr.io".to_vec();
    at_limit.resize(MAX_INPUT, b'\n');
    assert_eq!(call(&mem, &["get"], &at_limit).stdout, NOT_FOUND);
}

struct CountingReader<'a> {
    inner: &'a mut dyn Read,
    read: usize,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

#[test]
fn list_is_sorted_json_without_secrets() {
    let mem = Memory::default();
    assert_eq!(call(&mem, &["list"], "unused").stdout, "{}\n");
    store(&mem, "https://zz.example", "zed", "secret-z");
    store(&mem, "registry-1.docker.io", "hub", "secret-h");
    store(&mem, "127.0.0.1:5000", "loc", "secret-l");
    let out = call(&mem, &["list"], "unused");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "{\"127.0.0.1:5000\":\"loc\",\"https://index.docker.io/v1/\":\"hub\",\"zz.example\":\"zed\"}\n"
        )
    );
    assert!(!out.stdout.contains("secret"));
}

#[test]
fn store_replaces() {
    let mem = Memory::default();
    store(&mem, "ghcr.io", "a", "one");
    store(&mem, "https://ghcr.io/", "b", "two");
    let out = call(&mem, &["get"], "ghcr.io");
    assert_stdout_has(&out, "\"Username\":\"b\",\"Secret\":\"two\"");
    assert_eq!(mem.entries.borrow().len(), 1);
}

#[test]
fn backend_errors_are_one_line_on_stdout_with_detail_on_stderr() {
    let failing = |_: Diagnostics<'_>| -> Result<&Memory> {
        Err(Error::KeychainUnavailable {
            cause: "cannot reach a Secret Service".into(),
        })
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = protocol::serve(
        &["get".into()],
        &mut &b"ghcr.io"[..],
        &mut stdout,
        &mut stderr,
        failing,
    );
    let (stdout, stderr) = (
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    );
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "the OS keychain is not available: cannot reach a Secret Service\n"
    );
    assert!(stderr.contains("never falls back to a file"), "{stderr}");
    assert!(stderr.contains("SCALR_TOKEN"), "{stderr}");
}

#[test]
fn credential_debug_is_redacted() {
    let c = Credential {
        username: "u".into(),
        secret: SecretString::from("top-secret"),
    };
    assert!(!format!("{c:?}").contains("top-secret"));
}
