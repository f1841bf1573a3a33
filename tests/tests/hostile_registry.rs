//! Attacks by a registry on `scalr-oci module publish | verify | tags`
//! (issue 17), each against the real binary and a hostile registry on
//! loopback with a second origin (another port): credentials must reach
//! only the origin the user named, in no form anywhere else; redirects of
//! blob downloads to storage work without them; every read is bounded, and
//! a limit hit is a clear error within 5 s and 64 MiB (peak RSS from the
//! child's own rusage); the registry's own words never reach our output.
//!
//! No peers are needed: the registry is in-process, credentials come from
//! the fake control plane as in a Scalr run.

// Unix only: the stage (`tofu`) and the peak-memory measure (wait4) are Unix's.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::FakeControlPlane;
use scalr_oci_e2e::hostile_registry::{Attack, Auth, HostileRegistry, PASSWORD, REPO, USER};
use scalr_oci_e2e::keyring_session::NoKeychain;
use scalr_oci_e2e::measured::{self, Measured};
use scalr_oci_e2e::tofu;

/// Deadline and memory bound of every bounded-read attack.
const WITHIN: Duration = Duration::from_secs(5);
const PEAK_MIB: f64 = 64.0;
/// What a test waits before it kills the child (the old code never ended).
const KILL_AFTER: Duration = Duration::from_secs(40);
/// The deadline the deadline tests configure (`SCALR_OCI_DEADLINE`).
const DEADLINE_SECS: u64 = 3;
const DEADLINE: Duration = Duration::from_secs(DEADLINE_SECS);
/// Process start and connecting, beyond the deadline.
const DEADLINE_SLACK: Duration = Duration::from_secs(5);

struct Scene {
    registry: HostileRegistry,
    _fake: FakeControlPlane,
    home: NoKeychain,
    env: Vec<(String, String)>,
    module: tempfile::TempDir,
}

/// A module package: one `main.tf`.
fn module_zip() -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("main.tf", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"output \"x\" { value = 1 }\n").unwrap();
    zip.finish().unwrap().into_inner()
}

fn scene(auth: Auth, attack: Attack) -> Scene {
    scene_serving(auth, attack, module_zip())
}

fn scene_serving(auth: Auth, attack: Attack, zip: Vec<u8>) -> Scene {
    let fake = FakeControlPlane::start();
    let cert = std::fs::read_to_string(fake.dir().join("server.pem")).unwrap();
    let key = std::fs::read_to_string(fake.dir().join("server-key.pem")).unwrap();
    let registry = HostileRegistry::start(&cert, &key, auth, attack, zip);
    fake.add_integration(scalr_oi_spec(&format!("https://{}", registry.authority())));
    let module = tempfile::tempdir().unwrap();
    std::fs::write(
        module.path().join("main.tf"),
        "output \"x\" { value = 1 }\n",
    )
    .unwrap();
    let env = vec![
        ("SCALR_HOSTNAME".to_string(), fake.hostname()),
        ("SCALR_TOKEN".to_string(), fake.token()),
        (
            "SSL_CERT_FILE".to_string(),
            fake.ca_cert_path().display().to_string(),
        ),
        ("SCALR_OCI_SOURCES".to_string(), "control-plane".to_string()),
    ];
    Scene {
        registry,
        _fake: fake,
        home: NoKeychain::new(),
        env,
        module,
    }
}

fn scalr_oi_spec(url: &str) -> scalr_oci_e2e::fake_control_plane::IntegrationSpec {
    scalr_oci_e2e::fake_control_plane::IntegrationSpec::new(url, USER, PASSWORD)
}

impl Scene {
    fn target(&self) -> String {
        format!("oci://{}/{REPO}", self.registry.authority())
    }

    /// `scalr-oci ARGS…` under a 2 GiB address-space limit, so an attack
    /// that makes the code allocate without bound fails this test, not the
    /// machine.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.command("/bin/sh");
        cmd.arg("-c")
            .arg(r#"ulimit -v 2097152 && exec "$0" "$@""#)
            .arg(tofu::scalr_oci_bin())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn run(&self, args: &[&str]) -> Measured {
        tofu::scalr_oci_bin();
        measured::run(&mut self.command(args), KILL_AFTER)
    }

    fn publish(&self) -> Measured {
        let dir: PathBuf = self.module.path().to_path_buf();
        self.run(&[
            "module",
            "publish",
            dir.to_str().unwrap(),
            &self.target(),
            "--tag",
            "1.0.0",
        ])
    }

    fn verify(&self) -> Measured {
        self.run(&["module", "verify", &format!("{}?tag=1.0.0", self.target())])
    }

    fn tags(&self) -> Measured {
        self.run(&["module", "tags", &self.target()])
    }
}

fn show(m: &Measured) -> String {
    format!(
        "{}\n({:?}, peak {:.1} MiB)",
        m.output.show(),
        m.elapsed,
        m.peak_rss_mib()
    )
}

/// What the user sees never holds a credential of the registry.
#[track_caller]
fn assert_no_credential_printed(m: &Measured) {
    let text = format!("{}{}", m.output.stdout_lossy(), m.output.stderr_lossy());
    for form in HostileRegistry::credential_forms() {
        assert!(
            !text.contains(&form),
            "a credential reached the output: {}",
            text.replace(&form, "[CREDENTIAL]")
        );
    }
}

const AUTHS: [Auth; 2] = [Auth::Basic, Auth::Bearer];

/// `command` against `attack` once with each of [`AUTHS`]: each scene and
/// its run, which succeeded, and in which nothing but what may go to the
/// other origin went there.
fn succeeds_with_each_auth(
    attack: Attack,
    command: fn(&Scene) -> Measured,
) -> Vec<(Scene, Measured)> {
    AUTHS
        .iter()
        .map(|&auth| {
            let s = scene(auth, attack);
            let m = command(&s);
            s.registry.assert_nothing_reached_other();
            assert_eq!(m.output.code(), Some(0), "{auth:?}: {}", show(&m));
            (s, m)
        })
        .collect()
}

#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    for (s, m) in succeeds_with_each_auth(Attack::UploadElsewhere, Scene::publish) {
        let other = s.registry.seen_by_other();
        assert!(
            other
                .iter()
                .any(|r| r.method == "PUT" && r.uri.starts_with("/upload/")),
            "the presigned upload was not used: {other:?}"
        );
        assert_no_credential_printed(&m);
    }
}

#[test]
fn a_tags_page_on_another_origin_gets_no_credentials() {
    for (_, m) in succeeds_with_each_auth(Attack::TagsElsewhere, Scene::tags) {
        assert_eq!(m.output.stdout_lossy(), "a\nb\n", "{}", show(&m));
    }
}

/// GHCR, Docker Hub, ECR and Quay answer blob GETs with a 307 to storage on
/// another host; the storage URL is presigned and must get no credentials.
#[test]
fn a_blob_redirected_to_another_origin_is_fetched_without_credentials() {
    for (s, _) in succeeds_with_each_auth(Attack::BlobRedirect, Scene::verify) {
        assert!(
            s.registry
                .seen_by_other()
                .iter()
                .any(|r| r.uri.starts_with("/storage/sha256:")),
            "the storage origin was not asked"
        );
    }
}

/// The other origin answers every request with a 401 and a token realm of
/// its own: answering it would hand it the password (Basic to its realm) or
/// the registry's token.
#[test]
fn a_401_from_another_origin_is_never_answered_with_credentials() {
    // Bearer first: the old client answered B's 401 by sending the user's
    // password to B's realm.
    for auth in [Auth::Bearer, Auth::Basic] {
        let s = scene(auth, Attack::OtherChallenges);
        for (what, m) in [
            ("publish", s.publish()),
            ("tags", s.tags()),
            ("verify", s.verify()),
        ] {
            // The realm B names: asked at all, it got the password (Basic).
            let fished: Vec<_> = s
                .registry
                .seen_by_other()
                .into_iter()
                .filter(|r| r.uri.starts_with("/token"))
                .map(|r| r.authorization.map(|_| "[Authorization]"))
                .collect();
            assert!(
                fished.is_empty(),
                "{auth:?} {what}: the other origin's realm was asked for a token: {fished:?}"
            );
            s.registry.assert_nothing_reached_other();
            assert_ne!(m.output.code(), Some(0), "{auth:?} {what}: {}", show(&m));
            assert!(
                !m.output.stderr_lossy().contains("panicked"),
                "{what}: {}",
                show(&m)
            );
            assert_no_credential_printed(&m);
        }
    }
}

/// A clean error naming the limit, quickly, in little memory.
#[track_caller]
fn assert_bounded(m: &Measured, needle: &str) {
    eprintln!(
        "bounded: {:?}, peak {:.1} MiB, exit {:?}",
        m.elapsed,
        m.peak_rss_mib(),
        m.output.code()
    );
    assert_eq!(m.output.code(), Some(2), "{}", show(m));
    let err = format!("{}{}", m.output.stdout_lossy(), m.output.stderr_lossy());
    assert!(err.contains(needle), "{needle:?} missing: {}", show(m));
    assert!(!err.contains("panicked"), "{}", show(m));
    assert!(m.elapsed < WITHIN, "took {:?}: {}", m.elapsed, show(m));
    assert!(
        m.peak_rss_mib() < PEAK_MIB,
        "peak RSS {:.1} MiB: {}",
        m.peak_rss_mib(),
        show(m)
    );
}

/// One test per bounded-read attack: the scene, the command it attacks, and
/// the word the refusal names ([`assert_bounded`]).
macro_rules! bounded_attacks {
    ($($name:ident: $auth:ident, $attack:ident, $command:ident, $needle:literal;)*) => {$(
        #[test]
        fn $name() {
            let s = scene(Auth::$auth, Attack::$attack);
            assert_bounded(&s.$command(), $needle);
        }
    )*};
}

bounded_attacks! {
    a_layer_claiming_one_gib_is_refused_quickly_in_little_memory: Basic, HugeLayer, verify, "limit";
    an_endless_tags_paginator_is_stopped_quickly_in_little_memory: Basic, EndlessTags, tags, "limit";
    a_five_gb_error_body_is_not_read_whole: Basic, HugeErrorBody, verify, "400";
    a_five_gb_token_response_is_refused_quickly_in_little_memory: Bearer, HugeTokenBody, verify, "limit";
}

/// A registry whose error page echoes the request: its text never reaches
/// our output (a CI log), only its error code and our own words.
#[test]
fn a_registry_echoing_the_password_in_its_error_is_not_repeated() {
    let (_s, m) = verify_refused(Attack::EchoCredentials, None);
    assert_no_credential_printed(&m);
    let text = format!("{}{}", m.output.stdout_lossy(), m.output.stderr_lossy());
    assert!(text.contains("DENIED"), "{}", show(&m));
}

/// A zip of `main.tf` plus symlinks `(name, target)`.
fn zip_with_links(links: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write as _;
    let options = zip::write::SimpleFileOptions::default();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("main.tf", options).unwrap();
    zip.write_all(b"output \"x\" { value = 1 }\n").unwrap();
    for (name, target) in links {
        zip.add_symlink(*name, *target, options).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// 8 MiB of zeros deflated once, named by `copies` central-directory
/// entries that all point at the same local header: each inflates it again
/// (16 GB from 2000 copies of a ~150 KB zip).
fn overlapping_bomb(copies: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("main.tf", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&vec![0u8; 8 << 20]).unwrap();
    let single = zip.finish().unwrap().into_inner();
    scalr_oci_e2e::zip_bomb::overlapping_bomb(&single, copies)
}

/// `verify` of a module whose package is `zip` (served by an honest
/// registry): refused as [`assert_bounded`] says, naming `needle`.
#[track_caller]
fn assert_package_refused(zip: Vec<u8>, needle: &str) {
    let s = scene_serving(Auth::Basic, Attack::None, zip);
    assert_bounded(&s.verify(), needle);
}

#[test]
fn a_zip_of_overlapping_entries_is_refused_without_inflating_it() {
    assert_package_refused(overlapping_bomb(2000), "overlap");
}

#[test]
fn a_zip_with_a_huge_symlink_target_is_refused_unread() {
    let target = "a/".repeat(1 << 20);
    assert_package_refused(zip_with_links(&[("l", &target)]), "limit of 4096");
}

/// `b -> .` and `a -> b/..`: `b/..` looks like `.`, but once extracted `b`
/// is the module root, so `a` is its parent.
#[test]
fn a_symlink_chain_out_of_the_module_is_refused() {
    assert_package_refused(
        zip_with_links(&[("b", "."), ("a", "b/..")]),
        "symlink out of the package",
    );
}

/// `verify` against `attack` (Basic), with `SCALR_OCI_DEADLINE=deadline`
/// when given: the scene and the measured run, which must have failed with
/// exit code 2.
fn verify_refused(attack: Attack, deadline: Option<u64>) -> (Scene, Measured) {
    let mut s = scene(Auth::Basic, attack);
    if let Some(secs) = deadline {
        s.env.push(("SCALR_OCI_DEADLINE".into(), secs.to_string()));
    }
    let m = s.verify();
    assert_eq!(m.output.code(), Some(2), "{}", show(&m));
    (s, m)
}

/// 503, 503, then 429 with `Retry-After: 1`: retried with the control
/// plane's policy, and the fourth answer is used.
#[test]
fn unavailable_and_rate_limited_answers_are_retried() {
    let s = scene(Auth::Basic, Attack::Flaky);
    let m = s.verify();
    assert_eq!(m.output.code(), Some(0), "{}", show(&m));
    assert_eq!(s.registry.count("/manifests/"), 4);
    assert!(
        m.elapsed >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        m.elapsed
    );
}

/// One deadline for the whole command, across retries: with
/// `SCALR_OCI_DEADLINE=3`, a registry that keeps answering 503 with
/// `Retry-After: 2` gets at most two GETs (a third would start after the
/// deadline), and the error names the deadline and the last answer.
#[test]
fn retries_end_at_the_command_deadline() {
    let (s, m) = verify_refused(Attack::DownRetryAfter, Some(DEADLINE_SECS));
    let err = m.output.stderr_lossy();
    assert!(
        err.contains(&format!(
            "within this command's deadline of {DEADLINE_SECS} s"
        )) && err.contains("answered 503 with a retry due in 2 s"),
        "{}",
        show(&m)
    );
    let gets = s.registry.count("/manifests/");
    assert!(
        (1..=2).contains(&gets),
        "{gets} manifest GETs: {}",
        show(&m)
    );
    // Retry-After was honoured between them, and nothing waited past the deadline.
    assert!(
        m.elapsed >= Duration::from_secs(2 * (gets as u64 - 1)),
        "{}",
        show(&m)
    );
    assert!(m.elapsed < DEADLINE + DEADLINE_SLACK, "{}", show(&m));
}

/// A registry that takes the request and never answers: the command ends
/// at its configured deadline with an error that says so (the old client
/// waited for its fixed 600 s).
#[test]
fn a_stalled_registry_ends_at_the_command_deadline() {
    let (s, m) = verify_refused(Attack::Stall, Some(DEADLINE_SECS));
    assert!(
        m.output.stderr_lossy().contains(&format!(
            "the registry did not answer within this command's deadline of {DEADLINE_SECS} s"
        )),
        "{}",
        show(&m)
    );
    assert_eq!(s.registry.count("/manifests/"), 1, "{}", show(&m));
    // A stall can end no sooner than the deadline, and ends with it.
    assert!(m.elapsed >= DEADLINE, "{}", show(&m));
    assert!(m.elapsed < DEADLINE + DEADLINE_SLACK, "{}", show(&m));
}

/// A registry that stays down: a clear error after the last attempt, well
/// within the command's deadline.
#[test]
fn a_registry_that_stays_down_is_given_up_on() {
    let (s, m) = verify_refused(Attack::Down, None);
    let err = m.output.stderr_lossy();
    assert!(
        err.contains("503") && err.contains("gave up"),
        "{}",
        show(&m)
    );
    assert_eq!(s.registry.count("/manifests/"), 5, "{}", show(&m));
    assert!(m.elapsed < Duration::from_secs(15), "{}", show(&m));
}
