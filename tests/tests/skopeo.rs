//! skopeo (containers/image) reading and writing credentials through our
//! helper, named in a containers `auth.json` under `credHelpers`, against a
//! real registry with TLS verified against the test CA (`--cert-dir`, never
//! `--tls-verify=false`).

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use scalr_oci_e2e::client_stage::ClientStage;
use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use scalr_oci_e2e::oci::oci_layout;
use scalr_oci_e2e::peers::{self, Output, Peer};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::secrets::{assert_no_credential_in_files, fresh_secret};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "skopeo-e2e";
const REPO: &str = "some/repo";

struct Bed {
    stage: ClientStage,
    auth_file: PathBuf,
    cert_dir: PathBuf,
    policy: PathBuf,
}

impl Bed {
    fn start() -> Option<Bed> {
        let stage = ClientStage::start(Peer::Skopeo, USER, "skopeo")?;
        let (session, registry) = (&stage.session, &stage.registry);
        let auth_file = session.home().join(".config/containers/auth.json");
        std::fs::create_dir_all(auth_file.parent().unwrap()).expect("mkdir containers");
        let auth = serde_json::json!({ "credHelpers": { registry.authority(): "scalr" } });
        std::fs::write(&auth_file, auth.to_string()).expect("write auth.json");
        // Our own policy: the machine's /etc/containers/policy.json may be
        // missing or stricter; signatures are not what this test is about.
        let policy = session.scratch().join("policy.json");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("write policy.json");
        let cert_dir = registry.cert_dir();
        Some(Bed {
            stage,
            auth_file,
            cert_dir,
            policy,
        })
    }

    fn skopeo(&self, args: &[&str], stdin: &str) -> Output {
        // containers/image runs `docker-credential-scalr` from PATH.
        self.stage.session.recovering(|| {
            let mut cmd = self.stage.command();
            // Global flags first, then the subcommand's.
            cmd.arg("--policy").arg(&self.policy).args(args);
            peers::run(&mut cmd, stdin.as_bytes(), Duration::from_secs(120))
        })
    }

    fn list_tags(&self) -> Output {
        let image = format!("docker://{}/{REPO}", self.stage.registry.authority());
        let (auth, certs) = (self.auth_file.as_path(), self.cert_dir.as_path());
        self.skopeo(&list_tags_args(path(auth), path(certs), &image), "")
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// `skopeo list-tags` through `auth` (credHelpers only), TLS verified
/// against `certs`.
fn list_tags_args<'a>(auth: &'a str, certs: &'a str, image: &'a str) -> [&'a str; 7] {
    [
        "list-tags",
        "--authfile",
        auth,
        "--cert-dir",
        certs,
        "--tls-verify=true",
        image,
    ]
}

/// `skopeo copy FROM TO`, pushing through `auth`, TLS verified against
/// `certs`.
fn push_args<'a>(auth: &'a str, certs: &'a str, from: &'a str, to: &'a str) -> [&'a str; 8] {
    [
        "copy",
        "--dest-authfile",
        auth,
        "--dest-cert-dir",
        certs,
        "--dest-tls-verify=true",
        from,
        to,
    ]
}

fn assert_refused(out: &Output, what: &str) {
    let text = out.stderr_lossy().to_lowercase();
    assert!(
        out.code() != Some(0)
            && (text.contains("unauthorized") || text.contains("authentication required")),
        "{what}: expected the registry to refuse: {}",
        out.show()
    );
}

#[test]
#[ignore = "needs peers"]
fn skopeo_reads_and_writes_through_cred_helpers() {
    let Some(bed) = Bed::start() else { return };
    let host = bed.stage.registry.authority();
    let (auth, certs) = (path(&bed.auth_file), path(&bed.cert_dir));

    // No credential: the registry refuses (so the successes below are ours).
    assert_refused(&bed.list_tags(), "no credential");

    // A wrong secret in the keychain: refused too.
    let wrong = fresh_secret("skopeo-wrong");
    let store = serde_json::json!({"ServerURL": host, "Username": USER, "Secret": wrong});
    let out = bed.stage.session.helper("store", &store.to_string());
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_refused(&bed.list_tags(), "wrong secret");

    // `skopeo login` stores the right one through our helper.
    let out = bed.skopeo(
        &[
            "login",
            "--authfile",
            auth,
            "--cert-dir",
            certs,
            "--tls-verify=true",
            "-u",
            USER,
            "--password-stdin",
            &host,
        ],
        &bed.stage.secret,
    );
    bed.stage.registry.assert_success(&out, "skopeo login");
    assert_eq!(
        bed.stage.session.get(&host),
        Some((USER.into(), bed.stage.secret.clone()))
    );

    // Push a small image with those credentials, then list its tag.
    let layout = bed.stage.session.scratch().join("layout");
    oci_layout(&layout, "v1");
    let (from, to) = (
        format!("oci:{}:v1", path(&layout)),
        format!("docker://{host}/{REPO}:v1"),
    );
    let out = bed.skopeo(&push_args(auth, certs, &from, &to), "");
    bed.stage.registry.assert_success(&out, "skopeo copy");
    let out = bed.list_tags();
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list-tags JSON");
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]), "{}", out.show());

    // `skopeo logout` erases through our helper; reading fails again.
    let out = bed.skopeo(&["logout", "--authfile", auth, &host], "");
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_eq!(
        bed.stage.session.get(&host),
        None,
        "logout left the credential"
    );
    assert_refused(&bed.list_tags(), "after logout");

    // The auth file still only names the helper.
    let written = std::fs::read_to_string(&bed.auth_file).expect("read auth.json");
    let written: serde_json::Value = serde_json::from_str(&written).expect("auth.json is JSON");
    assert_eq!(
        written["credHelpers"][&host],
        serde_json::json!("scalr"),
        "{written}"
    );

    assert_no_credential_in_files(&bed.stage.session.home(), USER, &bed.stage.secret);
    assert_no_credential_in_files(&bed.stage.session.home(), USER, &wrong);
    assert_no_credential_in_files(&bed.stage.session.scratch(), USER, &bed.stage.secret);
}

/// Issue 3's Scalr-run shape: `env -i` with only PATH, an empty HOME,
/// SSL_CERT_FILE, SCALR_HOSTNAME and SCALR_TOKEN. The registry credentials
/// exist only in the (fake) control plane; skopeo pushes and lists through
/// our helper, and nothing lands in HOME.
#[test]
#[ignore = "needs peers"]
fn skopeo_with_credentials_only_from_the_control_plane() {
    let mut needed = vec![Peer::Skopeo];
    needed.extend_from_slice(Registry::PEERS);
    let Some(found) = peers::require_for(
        "skopeo_with_credentials_only_from_the_control_plane",
        &needed,
    ) else {
        return;
    };
    let secret = fresh_secret("scalr-run");
    let registry = Registry::start(&found, USER, &secret);
    let fake = FakeControlPlane::start();
    let id = fake.add_integration(IntegrationSpec::new(
        &format!("https://{}", registry.authority()),
        USER,
        &secret,
    ));

    let root = tempfile::tempdir().expect("a temp dir");
    let home = root.path().join("home");
    std::fs::create_dir(&home).unwrap();
    // Outside HOME, and secret-free: which helper to ask, a policy, the layout.
    let auth_file = root.path().join("auth.json");
    std::fs::write(
        &auth_file,
        serde_json::json!({"credHelpers": {registry.authority(): "scalr"}}).to_string(),
    )
    .unwrap();
    let policy = root.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let layout = root.path().join("layout");
    oci_layout(&layout, "v1");

    let helper_dir = peers::helper_bin()
        .parent()
        .expect("the helper's directory");
    let skopeo_with = |extra_env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = std::process::Command::new(found.path(Peer::Skopeo));
        cmd.env_clear()
            .env("PATH", peers::path_with(helper_dir))
            .env("HOME", &home)
            .env("SSL_CERT_FILE", fake.ca_cert_path())
            .env("SCALR_HOSTNAME", fake.hostname())
            .env("SCALR_TOKEN", fake.token())
            .envs(extra_env.iter().copied())
            .arg("--policy")
            .arg(&policy)
            .args(args);
        peers::run(&mut cmd, b"", Duration::from_secs(120))
    };
    let skopeo = |args: &[&str]| skopeo_with(&[], args);
    let cert_dir = registry.cert_dir();
    let (auth, certs) = (path(&auth_file), path(&cert_dir));
    let image = format!("docker://{}/{REPO}", registry.authority());
    let (from, to) = (format!("oci:{}:v1", path(&layout)), format!("{image}:v1"));
    let out = skopeo(&push_args(auth, certs, &from, &to));
    registry.assert_success(&out, "skopeo copy with control-plane credentials");
    let out = skopeo(&list_tags_args(auth, certs, &image));
    registry.assert_success(&out, "skopeo list-tags with control-plane credentials");
    let tags: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("list-tags prints JSON");
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]));
    assert!(
        fake.credentials_requests(&id) >= 1,
        "the credentials came from the control plane"
    );

    // Export switched off in Scalr: the helper says not found, so skopeo
    // goes on anonymously and the registry refuses.
    fake.update_integration(&id, |i| i.export_credentials = false);
    // The cache would still answer for its TTL; a Scalr run's next step is a
    // new run, so ask the control plane afresh.
    let out = skopeo_with(
        &[("SCALR_OCI_CACHE_TTL", "0")],
        &list_tags_args(auth, certs, &image),
    );
    assert_refused(&out, "export disabled");
    assert!(
        out.stderr_lossy()
            .contains("no Docker registry integration"),
        "{}",
        out.show()
    );

    assert_no_credential_in_files(root.path(), USER, &secret);
    assert_no_credential_in_files(root.path(), USER, &fake.token());
}
