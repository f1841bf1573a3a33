//! `scalr-oci` where it meets the control plane: `login` stores a token the
//! helper then uses, `configure tofu --all-from-control-plane` writes one
//! block per exported integration, `status` explains who answers. Against the
//! fake control plane and a real Secret Service.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, IntegrationSpec, Status};
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::secrets::{
    assert_no_credential_in_files, assert_no_file_contains, fresh_secret,
};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

fn scalr_oci() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| peers::our_bin("SCALR_OCI_BIN", "scalr-oci", "scalr-oci"))
}

/// A workstation: a keyring session, and the fake's CA trusted.
struct Workstation {
    session: KeyringSession,
    fake: FakeControlPlane,
}

impl Workstation {
    fn start(test: &str) -> Option<Workstation> {
        let found = peers::require_for(test, KeyringSession::PEERS)?;
        Some(Workstation {
            session: KeyringSession::start(&found),
            fake: FakeControlPlane::start(),
        })
    }

    fn command(&self, program: &std::path::Path) -> Command {
        let mut cmd = self.session.command(program);
        cmd.env("SSL_CERT_FILE", self.fake.ca_cert_path());
        cmd
    }

    fn scalr_oci(&self, args: &[&str], stdin: &str) -> Output {
        peers::run(
            self.command(scalr_oci()).args(args),
            stdin.as_bytes(),
            Duration::from_secs(120),
        )
    }

    fn get(&self, server: &str) -> Output {
        peers::run(
            self.command(peers::helper_bin()).arg("get"),
            server.as_bytes(),
            Duration::from_secs(60),
        )
    }

    fn assert_clean(&self, secrets: &[&str]) {
        for secret in secrets {
            assert_no_file_contains(&self.session.home(), secret);
        }
    }
}

#[test]
#[ignore = "needs peers"]
fn login_alone_lets_the_helper_fetch_from_the_control_plane() {
    let Some(ws) = Workstation::start("login_alone_lets_the_helper_fetch_from_the_control_plane")
    else {
        return;
    };
    let id = ws.fake.add_integration(IntegrationSpec::new(
        "https://127.0.0.1:5998",
        "robot",
        "pw-after-login",
    ));
    let out = ws.scalr_oci(
        &["login", "--hostname", &ws.fake.hostname()],
        &format!("{}\n", ws.fake.token()),
    );
    let said = out.success();
    assert!(said.contains("accepts the token"), "{said}");
    // No SCALR_HOSTNAME, no SCALR_TOKEN: the helper finds the one stored token.
    let out = ws.get("https://127.0.0.1:5998");
    let v: serde_json::Value = serde_json::from_str(&out.success()).unwrap();
    assert_eq!(
        (v["Username"].as_str(), v["Secret"].as_str()),
        (Some("robot"), Some("pw-after-login"))
    );
    assert_eq!(ws.fake.credentials_requests(&id), 1);

    let status = ws.scalr_oci(&["status"], "").success();
    assert!(status.contains(&ws.fake.hostname()), "{status}");
    assert!(
        !status.contains(&ws.fake.token()) && !status.contains("pw-after-login"),
        "{status}"
    );

    let said = ws
        .scalr_oci(&["logout", "--hostname", &ws.fake.hostname()], "")
        .success();
    assert!(said.contains("Removed"), "{said}");
    ws.assert_clean(&[&ws.fake.token(), "pw-after-login"]);
}

#[test]
#[ignore = "needs peers"]
fn login_with_a_rejected_token_stores_nothing() {
    let Some(ws) = Workstation::start("login_with_a_rejected_token_stores_nothing") else {
        return;
    };
    let out = ws.scalr_oci(
        &["login", "--hostname", &ws.fake.hostname()],
        "not-a-valid-token\n",
    );
    assert_ne!(out.code(), Some(0));
    let all = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert!(all.contains("401") || all.contains("rejected"), "{all}");
    assert!(!all.contains("not-a-valid-token"), "{all}");
    // Nothing stored: the helper has no control plane to ask.
    let out = ws.get("ghcr.io");
    assert_eq!(
        out.stdout_lossy(),
        "credentials not found in native keychain\n"
    );
    assert_eq!(ws.fake.credentials_requests("none"), 0);
    ws.assert_clean(&["not-a-valid-token"]);
}

#[test]
#[ignore = "needs peers"]
fn configure_tofu_all_from_control_plane_writes_one_block_per_exported_host() {
    let Some(ws) = Workstation::start(
        "configure_tofu_all_from_control_plane_writes_one_block_per_exported_host",
    ) else {
        return;
    };
    ws.fake.add_integration(
        IntegrationSpec::new("https://ghcr.io", "u", "pw-integration-1").name("github"),
    );
    ws.fake.add_integration(
        IntegrationSpec::new("https://127.0.0.1:5997", "u", "pw-integration-2").name("local"),
    );
    ws.fake.add_integration(
        IntegrationSpec::new("https://quay.io", "u", "pw-integration-3")
            .name("quiet")
            .export_credentials(false),
    );
    ws.fake.add_integration(
        IntegrationSpec::new("https://gone.example", "u", "pw-integration-4")
            .name("gone")
            .status(Status::Disabled),
    );
    ws.fake.add_integration(
        IntegrationSpec::new("https://GHCR.io/", "u", "pw-integration-5").name("twin"),
    );
    let tofurc = ws.session.scratch().join("tofurc");
    std::fs::write(&tofurc, "# mine\nplugin_cache_dir = \"/tmp/plugins\"\n").unwrap();
    let tofurc_s = tofurc.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = ws.command(scalr_oci());
        cmd.env("SCALR_HOSTNAME", ws.fake.hostname())
            .env("SCALR_TOKEN", ws.fake.token())
            .args(args);
        peers::run(&mut cmd, b"", Duration::from_secs(120))
    };
    // `configure tofu --all-from-control-plane [extra] --file TOFURC`.
    let configure = |extra: &[&str]| {
        let args: Vec<&str> = [
            &["configure", "tofu", "--all-from-control-plane"][..],
            extra,
            &["--file", tofurc_s],
        ]
        .concat();
        run(&args)
    };
    let said = configure(&[]).success();
    let text = std::fs::read_to_string(&tofurc).unwrap();
    assert!(
        text.starts_with("# mine\nplugin_cache_dir = \"/tmp/plugins\"\n"),
        "{text}"
    );
    for label in ["ghcr.io", "127.0.0.1:5997"] {
        assert_eq!(
            text.matches(&format!("oci_credentials \"{label}\""))
                .count(),
            1,
            "{text}"
        );
    }
    assert!(
        !text.contains("quay.io") && !text.contains("gone.example"),
        "{text}"
    );
    assert_eq!(
        text.matches("docker_credentials_helper = \"scalr\"")
            .count(),
        2,
        "{text}"
    );
    for skipped in ["quiet", "gone", "twin"] {
        assert!(said.contains(skipped), "the report names {skipped}: {said}");
    }
    // Idempotent: a second run changes nothing, and --check agrees.
    configure(&[]).success();
    assert_eq!(std::fs::read_to_string(&tofurc).unwrap(), text);
    configure(&["--check"]).success();
    ws.assert_clean(&[&ws.fake.token(), "pw-integration-1", "pw-integration-2"]);
    assert_no_file_contains(&ws.session.scratch(), &ws.fake.token());
}

/// `scalr-oci doctor` against the real registry (htpasswd, TLS with the test
/// CA): the right credentials pass every step, a wrong password is explained
/// as the registry's refusal, and a registry with no credentials says how to
/// add them. Never a secret in the report.
#[test]
#[ignore = "needs peers"]
fn doctor_checks_a_real_registry_live() {
    let mut needed = KeyringSession::PEERS.to_vec();
    needed.extend_from_slice(Registry::PEERS);
    let Some(found) = peers::require_for("doctor_checks_a_real_registry_live", &needed) else {
        return;
    };
    let session = KeyringSession::start(&found);
    let secret = fresh_secret("doctor");
    let registry = Registry::start(&found, "doctor-user", &secret);
    let helper_dir = peers::helper_bin()
        .parent()
        .expect("the helper's directory")
        .to_path_buf();
    let doctor = || {
        let mut cmd = session.command(scalr_oci());
        cmd.env("SSL_CERT_FILE", registry.ca_cert())
            .env("PATH", peers::path_with(&helper_dir))
            .env("SCALR_OCI_CACHE_TTL", "0")
            .args(["doctor", &registry.authority()]);
        peers::run(&mut cmd, b"", Duration::from_secs(120))
    };
    let store = |password: &str| {
        let json = serde_json::json!({"ServerURL": registry.authority(), "Username": "doctor-user", "Secret": password});
        let out = session.helper("store", &json.to_string());
        assert_eq!(out.code(), Some(0), "{}", out.show());
    };

    let out = doctor();
    let report = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert_ne!(out.code(), Some(0), "no credentials yet: {report}");
    assert!(
        report.contains("answers HTTPS without redirecting"),
        "{report}"
    );
    assert!(report.contains("scalr-oci registry add"), "{report}");

    let wrong = fresh_secret("doctor-wrong");
    store(&wrong);
    let out = doctor();
    let report = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert_ne!(out.code(), Some(0), "wrong password: {report}");
    assert!(
        report.contains("401") || report.to_lowercase().contains("wrong"),
        "{report}"
    );
    // The source that answered, and its fix (old: advice about a Scalr
    // integration that had nothing to do with it).
    assert!(
        report.contains(&format!(
            "they come from the OS keychain (user doctor-user): store the right ones with `scalr-oci registry add {} --username doctor-user`",
            registry.authority()
        )),
        "{report}"
    );
    assert!(
        !report.contains("If they come from a Scalr integration"),
        "{report}"
    );
    assert!(!report.contains(&wrong), "{report}");

    store(&secret);
    let out = doctor();
    let report = out.stdout_lossy();
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(
        !report.contains("FAIL") && !report.contains(&secret),
        "{report}"
    );
    assert_no_credential_in_files(&session.home(), "doctor-user", &secret);
    assert_no_credential_in_files(&session.home(), "doctor-user", &wrong);
}
