//! Attacks on the helper's limits, each run against the real binary: a
//! setting, a trust-root file, a proxy or a settings file chosen by whoever
//! controls the environment must give a clear error within the deadline, never
//! a panic, a hang, unbounded memory, or a secret on the wire or in the text.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scalr_oci_e2e::keyring_session::NoKeychain;
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::scalr_run::ScalrRun;

/// The helper in a Scalr-run-like environment (no keychain), asking only
/// the control plane, which has one integration, for ghcr.io.
fn scalr_run() -> ScalrRun {
    let run = ScalrRun::new().env("SCALR_OCI_SOURCES", "control-plane");
    run.integration("https://ghcr.io", "u", "pw");
    run
}

/// A `get` in a home of its own, asking only the control plane at
/// `hostname` with `token`, plain HTTP to loopback allowed, plus `extra`.
fn get_over_plain_http(hostname: &str, token: &str, extra: &[(&str, &str)]) -> Output {
    let mut env = vec![
        ("SCALR_HOSTNAME", hostname),
        ("SCALR_TOKEN", token),
        ("SCALR_OCI_ALLOW_HTTP_LOOPBACK", "1"),
        ("SCALR_OCI_SOURCES", "control-plane"),
    ];
    env.extend_from_slice(extra);
    NoKeychain::new().helper_with("get", "ghcr.io", &env)
}

/// Runs `cmd get` under an address-space limit, so that an attack that makes
/// the old code allocate without bound fails this test instead of the
/// machine it runs on.
fn get_limited(cmd: &mut Command, server: &str, timeout: Duration) -> Output {
    let mut limited = Command::new("/bin/sh");
    limited
        .arg("-c")
        .arg(r#"ulimit -v 4194304 && exec "$0" get"#)
        .arg(cmd.get_program());
    limited.env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            limited.env(key, value);
        }
    }
    peers::run(&mut limited, server.as_bytes(), timeout)
}

/// A clean, one-line error on stdout and exit status 1: not a panic (101),
/// not an abort, not silence.
fn assert_clean_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let msg = out.stdout_lossy();
    for needle in needles {
        assert!(msg.contains(needle), "{needle:?} missing: {}", out.show());
    }
    assert!(!out.stderr_lossy().contains("panicked"), "{}", out.show());
}

#[test]
fn huge_duration_settings_are_refused_not_a_panic() {
    let run = scalr_run();
    for var in [
        "SCALR_OCI_TIMEOUT",
        "SCALR_OCI_CONNECT_TIMEOUT",
        "SCALR_OCI_CACHE_TTL",
    ] {
        for value in ["18446744073709551615", "99999999999"] {
            let out = run.get_with("ghcr.io", &[(var, value)]);
            assert_clean_error(&out, &[var, "at most"]);
        }
    }
    let settings = run.home.home().join("settings.toml");
    for text in [
        "[control_plane]\ntimeout_secs = 18446744073709551615\n",
        "[control_plane]\ntimeout_secs = 9223372036854775807\n",
        "[control_plane]\nconnect_timeout_secs = 9223372036854775807\n",
        "[cache]\nttl_secs = 9223372036854775807\n",
    ] {
        std::fs::write(&settings, text).unwrap();
        let out = run.get_with("ghcr.io", &[("SCALR_OCI_CONFIG", &settings)]);
        assert_clean_error(&out, &["settings.toml"]);
    }
    assert_eq!(run.fake.total_requests(), 0, "refused before any request");
}

/// `SSL_CERT_FILE` pointing at something that is not a certificate file:
/// refused quickly with a message that names the variable.
fn assert_trust_file_refused(path: &Path, why: &str) {
    let run = scalr_run().env("SCALR_OCI_TIMEOUT", "5");
    let mut cmd = run.command();
    cmd.env("SSL_CERT_FILE", path);
    // The deadline is 5 s; the extra is for a loaded test machine, and the
    // old code never finished at all.
    let out = get_limited(&mut cmd, "ghcr.io", Duration::from_secs(40));
    assert_clean_error(&out, &["SSL_CERT_FILE", why]);
    assert_eq!(run.fake.total_requests(), 0);
}

#[test]
fn ssl_cert_file_dev_zero_is_refused_without_reading_it() {
    assert_trust_file_refused(Path::new("/dev/zero"), "not a regular file");
}

#[test]
fn ssl_cert_file_dev_urandom_is_refused_without_reading_it() {
    assert_trust_file_refused(Path::new("/dev/urandom"), "not a regular file");
}

#[test]
fn ssl_cert_file_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("roots.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    assert_trust_file_refused(&fifo, "not a regular file");
}

#[test]
fn ssl_cert_file_too_large_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("roots.pem");
    // Sparse: 1 GiB of zeros costs no disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    assert_trust_file_refused(&big, "larger than");
}

/// A loopback listener that plays an HTTP proxy: it records every byte it
/// receives and answers 502.
struct RecordingProxy {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<usize>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (r, c) = (received.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                *c.lock().unwrap() += 1;
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                if let Ok(n) = stream.read(&mut buf) {
                    r.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        RecordingProxy {
            port,
            received,
            connections,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let proxy = RecordingProxy::start();
    // Nothing listens on the control plane's port: a direct connection is
    // refused, which is fine; only the proxy must see nothing.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let token = format!("proxy-test-token-{}", std::process::id());
    let url = proxy.url();
    let mut extra = vec![("SCALR_OCI_TIMEOUT", "5")];
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        extra.push((var, &url));
    }
    let out = get_over_plain_http(&format!("http://127.0.0.1:{port}"), &token, &extra);
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let received = String::from_utf8_lossy(&proxy.received.lock().unwrap()).into_owned();
    assert!(
        !received.contains(&token),
        "the token went to the proxy in clear text: {received:?}"
    );
    assert_eq!(
        *proxy.connections.lock().unwrap(),
        0,
        "the proxy was asked: {received:?}"
    );
}

#[test]
fn plain_http_is_allowed_only_to_literal_loopback_addresses() {
    for host in [
        "http://localhost:9",
        "http://LOCALHOST:9",
        "http://localhost.:9",
    ] {
        let out = get_over_plain_http(host, "t", &[]);
        assert_clean_error(&out, &["HTTPS only", "127.0.0.1"]);
    }
}

#[test]
fn a_bad_settings_file_never_prints_a_value() {
    let home = NoKeychain::new();
    let settings = home.home().join("settings.toml");
    let secret = "s3cr3t-value-from-a-settings-file";
    for (text, key, line) in [
        (format!("token = \"{secret}\"\n"), "token", "line 1"),
        (
            format!("[control_plane]\nhostname = \"a.scalr.io\"\ntimeout_secs = \"{secret}\"\n"),
            "timeout_secs",
            "line 3",
        ),
        (format!("sources = [\"{secret}\"]\n"), "sources", "line 1"),
        (
            format!("[cache]\nkeychain = \"{secret}\"\n"),
            "keychain",
            "line 2",
        ),
        (format!("\n\n{secret}\n"), "", "line 3"),
    ] {
        std::fs::write(&settings, &text).unwrap();
        let out = home.helper_with("get", "ghcr.io", &[("SCALR_OCI_CONFIG", &settings)]);
        assert_clean_error(&out, &["settings.toml", key, line, "column"]);
        for part in [secret, "s3cr3t"] {
            assert!(
                !out.stdout_lossy().contains(part) && !out.stderr_lossy().contains(part),
                "{text:?} echoed: {}",
                out.show()
            );
        }
    }
}
