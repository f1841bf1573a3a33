//! The library never prints: [`run`] driven in-process writes every
//! diagnostic to the stderr it is given, and nothing to the process's own
//! fd 2. `scalr-oci status` and `doctor` call into this library, and clients
//! show the helper's real stderr to the user unfiltered, so a stray line
//! there is a bug.
//!
//! The test runs itself again as a child process (with the environment of a
//! workstation that has a plain-text scalr-cli token), so that the child's
//! real stderr can be captured and checked to be empty while `run` writes
//! into a `Vec`. What the cleared environment leaves of the OS keychain and
//! of the home directory differs by platform: see [`KEYCHAIN_SKIPPED`] and
//! [`HOME_IS_FROM_ENV`].

use std::path::Path;
use std::process::Command;

use docker_credential_scalr::run;

const CHILD: &str = "DOCKER_CREDENTIAL_SCALR_TEST_CHILD";
const TEST: &str = "run_in_process_writes_diagnostics_only_to_the_stderr_it_is_given";
const TOKEN: &str = "tok-diagnostics-0123456789";
const BEGIN: &str = "----- captured stderr -----";
const MIDDLE: &str = "----- captured stdout -----";
const END: &str = "----- end -----";

/// Linux and the BSDs reach the Secret Service over the session bus, and
/// the child has none (`XDG_RUNTIME_DIR` is an empty directory): the
/// keychain is skipped, and says so. The macOS Keychain and the Windows
/// Credential Manager belong to the logged-in user whatever the environment
/// says, so there the keychain is asked, and this test assumes it holds no
/// Scalr token and nothing for ghcr.io (true on a CI runner; not on a
/// workstation where `scalr-oci login` was run).
const KEYCHAIN_SKIPPED: bool = !cfg!(any(target_os = "macos", windows));

/// `dirs` takes the home directory from `HOME` on Unix; on Windows it asks
/// the system, so a planted `~/.scalr/scalr.conf` is not found there and
/// the token comes from `SCALR_TOKEN` instead (no plain-text line then).
const HOME_IS_FROM_ENV: bool = cfg!(unix);

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
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.env_clear();
    if !HOME_IS_FROM_ENV {
        child
            .env("SCALR_TOKEN", TOKEN)
            .env("SCALR_HOSTNAME", format!("127.0.0.1:{port}"));
    }
    // Windows' sockets do not start without it; unset elsewhere.
    if let Some(root) = std::env::var_os("SYSTEMROOT") {
        child.env("SYSTEMROOT", root);
    }
    let out = child
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
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
    let skipped =
        "docker-credential-scalr: skipping the keychain: the OS keychain is not available";
    assert_eq!(
        captured.contains(skipped),
        KEYCHAIN_SKIPPED,
        "the keychain's reach is not what this platform gives (see KEYCHAIN_SKIPPED):\n{captured}"
    );
    let plain_text = format!(
        "docker-credential-scalr: using the Scalr token for 127.0.0.1:{port} from scalr-cli's {conf} (plain text on disk)"
    );
    assert_eq!(
        captured.contains(&plain_text),
        HOME_IS_FROM_ENV,
        "{plain_text:?} (see HOME_IS_FROM_ENV) in the captured stderr:\n{captured}"
    );
    let transient =
        "docker-credential-scalr: GET /api/iacp/v3/integrations/docker -> transient failure";
    assert!(
        captured.contains(transient),
        "{transient:?} is not in the captured stderr:\n{captured}"
    );
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
