//! The real Docker CLI (client only, no daemon) logging in to a real
//! registry through our helper, configured as `credHelpers` and as
//! `credsStore`, with a real Secret Service behind it.
//!
//! How Docker trusts the test CA here: without a daemon, `docker login`
//! logs in client-side with moby's registry code, which takes its roots from
//! Go's system pool, so `SSL_CERT_FILE` works; `certs.d` directories under
//! `$DOCKER_CONFIG` or `~/.docker` are not read (only `/etc/docker/certs.d`,
//! machine-wide, is). Measured against a registry on a non-loopback address:
//! with nothing set, "x509: certificate signed by unknown authority"; with
//! `SSL_CERT_FILE`, success; with either certs.d, the same x509 failure.
//! Note that Docker treats 127.0.0.0/8 (and ::1) as an insecure registry by
//! default and does not verify TLS there at all, so against 127.0.0.1 the
//! CA is not what these tests prove; `SSL_CERT_FILE` is set anyway so the
//! setup is the one that works for a real registry.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use scalr_oci_e2e::client_stage::ClientStage;
use scalr_oci_e2e::peers::{self, Output, Peer};
use scalr_oci_e2e::secrets::{assert_no_credential_in_files, fresh_secret};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "docker-e2e";

struct Bed {
    stage: ClientStage,
    docker_config: PathBuf,
}

impl Bed {
    /// Everything up and `config.json` written (`config` gets the
    /// registry's `host:port`, known only once it runs); `None` after a loud
    /// skip.
    fn start(config: impl Fn(&str) -> serde_json::Value) -> Option<Bed> {
        let stage = ClientStage::start(Peer::Docker, USER, "docker")?;
        let docker_config = stage.session.home().join(".docker");
        std::fs::create_dir_all(&docker_config).expect("create DOCKER_CONFIG");
        let text =
            serde_json::to_string_pretty(&config(&stage.registry.authority())).expect("JSON");
        std::fs::write(docker_config.join("config.json"), text).expect("write config.json");
        Some(Bed {
            stage,
            docker_config,
        })
    }

    fn docker(&self, args: &[&str], stdin: &str) -> Output {
        // Never a developer's real daemon: login must run client-side.
        let no_daemon = self.stage.session.scratch().join("no-daemon.sock");
        // `docker-credential-scalr` is found on PATH, like in real use.
        self.stage.session.recovering(|| {
            let mut cmd = self.stage.command();
            cmd.args(args)
                .env("DOCKER_CONFIG", &self.docker_config)
                .env("SSL_CERT_FILE", self.stage.registry.ca_cert())
                .env("DOCKER_HOST", format!("unix://{}", no_daemon.display()));
            peers::run(&mut cmd, stdin.as_bytes(), Duration::from_secs(120))
        })
    }

    fn login(&self, password: &str) -> Output {
        let host = self.stage.registry.authority();
        self.docker(&["login", &host, "-u", USER, "--password-stdin"], password)
    }

    fn config(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.docker_config.join("config.json"))
            .expect("read config.json");
        serde_json::from_str(&text).expect("config.json is JSON")
    }

    fn home(&self) -> PathBuf {
        self.stage.session.home()
    }
}

/// Docker warns like this when it writes a password into config.json.
fn assert_no_plain_text_warning(out: &Output) {
    let all = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert!(!all.contains("unencrypted"), "{}", out.show());
}

/// The whole login / get / logout round trip with the given config.json;
/// `configured_as` is the JSON pointer (given the host) where it names us.
fn login_get_logout(
    config: impl Fn(&str) -> serde_json::Value,
    configured_as: impl Fn(&str) -> String,
) {
    let Some(bed) = Bed::start(config) else {
        return;
    };
    let host = bed.stage.registry.authority();
    let configured_as = configured_as(&host);

    // A wrong password: the registry refuses it and nothing is stored.
    let wrong = fresh_secret("wrong");
    let out = bed.login(&wrong);
    assert_ne!(
        out.code(),
        Some(0),
        "a wrong password logs in: {}",
        out.show()
    );
    assert!(
        out.stderr_lossy().contains("401") || out.stderr_lossy().contains("unauthorized"),
        "the registry's refusal is shown: {}",
        out.show()
    );
    assert_eq!(
        bed.stage.session.get(&host),
        None,
        "a failed login stored something"
    );
    let listed = bed.stage.session.helper("list", "unused");
    assert_eq!(listed.stdout_lossy(), "{}\n", "{}", listed.show());
    assert_no_credential_in_files(&bed.home(), USER, &wrong);

    // The right password: docker stores through our helper, not in the file.
    let out = bed.login(&bed.stage.secret);
    bed.stage.registry.assert_success(&out, "docker login");
    assert!(
        out.stdout_lossy().contains("Login Succeeded"),
        "{}",
        out.show()
    );
    assert_no_plain_text_warning(&out);
    let expected = Some((USER.to_string(), bed.stage.secret.clone()));
    assert_eq!(bed.stage.session.get(&host), expected, "bare {host}");
    assert_eq!(
        bed.stage.session.get(&format!("https://{host}")),
        expected,
        "https://{host}"
    );

    let config = bed.config();
    assert_eq!(
        config.pointer(&configured_as),
        Some(&serde_json::json!("scalr")),
        "docker kept our helper in config.json: {config}"
    );
    assert!(
        config.pointer(&format!("/auths/{host}/auth")).is_none(),
        "docker wrote the credential into config.json: {config}"
    );

    // Docker itself reads it back through the helper: a login without a
    // username starts from the stored credential. (Verifying it needs a
    // daemon, so this login goes no further; reading it is what we check.)
    let out = bed.docker(&["login", &host], "");
    assert!(
        out.stderr_lossy().contains(&format!(
            "Authenticating with existing credentials... [Username: {USER}]"
        )),
        "docker did not read the stored credential: {}",
        out.show()
    );

    // Logout erases it, without a warning.
    let out = bed.docker(&["logout", &host], "");
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let all = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
    assert!(
        all.contains(&format!("Removing login credentials for {host}")),
        "{}",
        out.show()
    );
    assert!(
        !all.contains("WARNING") && !all.contains("Not logged in"),
        "logout warned: {}",
        out.show()
    );
    assert_eq!(
        bed.stage.session.get(&host),
        None,
        "logout left the credential"
    );
    assert_eq!(bed.stage.session.get(&format!("https://{host}")), None);

    assert_no_credential_in_files(&bed.home(), USER, &bed.stage.secret);
    assert_no_credential_in_files(bed.docker_config.as_path(), USER, &bed.stage.secret);
}

#[test]
#[ignore = "needs peers"]
fn docker_login_and_logout_through_cred_helpers() {
    login_get_logout(
        |host| serde_json::json!({ "credHelpers": { host: "scalr" } }),
        // JSON pointer: `/` and `~` in a key would need escaping; a
        // `host:port` has neither.
        |host| format!("/credHelpers/{host}"),
    );
}

#[test]
#[ignore = "needs peers"]
fn docker_login_and_logout_through_creds_store() {
    login_get_logout(
        |_| serde_json::json!({ "credsStore": "scalr" }),
        |_| "/credsStore".to_string(),
    );
}
