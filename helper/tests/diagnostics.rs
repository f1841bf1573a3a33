//! The library never prints: [`run`] driven in-process writes every
//! diagnostic to the stderr it is given, and nothing to the process's own
//! fd 2. `scalr-oci status` and `doctor` call into this library, and clients
//! show the helper's real stderr to the user unfiltered, so a stray line
//! there is a bug.
//!
//! The test runs itself again as a child process (with the environment of a
//! workstation that has a plain-text scalr-cli token and no keychain), so
//! that the child's real stderr can be captured and checked to be empty
//! while `run` writes into a `Vec`.

use std::path::Path;
use std::process::Command;

use docker_credential_scalr::run;

const CHILD: &str = "DOCKER_CREDENTIAL_SCALR_TEST_CHILD";
const TEST: &str = "run_in_process_writes_diagnostics_only_to_the_stderr_it_is_given";
const TOKEN: &str = "tok-diagnostics-0123456789";
const BEGIN: &str = "----- captured stderr -----";
const MIDDLE: &str = "----- captured stdout -----";
const END: &str = "----- end -----";

#[test]
fn run_in_process_writes_diagnostics_only_to_the_stderr_it_is_given() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let home = tempfile::tempdir().unwrap();
    // A port where nobody listens: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let scalr_conf = home.path().join(".scalr/scalr.conf");
    std::fs::create_dir_all(scalr_conf.parent().unwrap()).unwrap();
    std::fs::write(
        &scalr_conf,
        format!(r#"{{"hostname":"127.0.0.1:{port}","token":"{TOKEN}"}}"#),
    )
    .unwrap();
    let runtime = home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        // No session bus here, and none to fall back to: no keychain.
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("SCALR_OCI_DEBUG", "1")
        .env("SCALR_OCI_CACHE_TTL", "0")
        .env("SCALR_OCI_TIMEOUT", "2")
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let real_stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed: {stdout}{real_stderr}"
    );
    assert_eq!(real_stderr, "", "the library wrote to the process's stderr");

    let captured = between(&stdout, BEGIN, MIDDLE);
    let answer = between(&stdout, MIDDLE, END);
    let conf = scalr_conf.display().to_string();
    for expected in [
        "docker-credential-scalr: skipping the keychain: the OS keychain is not available"
            .to_string(),
        format!(
            "docker-credential-scalr: using the Scalr token for 127.0.0.1:{port} from scalr-cli's {conf} (plain text on disk)"
        ),
        "docker-credential-scalr: GET /api/iacp/v3/integrations/docker -> transient failure"
            .to_string(),
    ] {
        assert!(
            captured.contains(&expected),
            "{expected:?} is not in the captured stderr:\n{captured}"
        );
    }
    assert!(
        answer.starts_with(&format!(
            "the Scalr control plane at 127.0.0.1:{port} cannot be reached"
        )),
        "{answer}"
    );
    assert!(!stdout.contains(TOKEN), "{stdout}");
    assert_no_token_in(home.path());
}

/// The child's half: one `get`, in-process, with both streams captured.
fn child() {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(
        &["get".to_string()],
        &mut &b"ghcr.io"[..],
        &mut stdout,
        &mut stderr,
    );
    assert_eq!(code, 1);
    println!(
        "{BEGIN}\n{}{MIDDLE}\n{}{END}",
        String::from_utf8_lossy(&stderr),
        String::from_utf8_lossy(&stdout)
    );
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|i| i + start.len() + 1);
    let to = text.find(end);
    match (from, to) {
        (Some(from), Some(to)) if from <= to => &text[from..to],
        _ => panic!("the child printed no {start:?} … {end:?} block: {text}"),
    }
}

/// Only the file we wrote holds the token.
fn assert_no_token_in(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_no_token_in(&path);
        } else if !path.ends_with(".scalr/scalr.conf") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(TOKEN),
                "{} holds the token",
                path.display()
            );
        }
    }
}
