//! End to end with the real OpenTofu: `tofu init` pulls private `oci://`
//! modules through `docker-credential-scalr` (issue 5).
//!
//! Every test publishes a module package the way the seed tells users to
//! (a zip with a `modules/vpc` subdirectory, pushed by ORAS, which
//! authenticates through our helper via `credHelpers`) to a real registry
//! (distribution 2.8, htpasswd, HTTPS with a test CA trusted through
//! `SSL_CERT_FILE`), writes the CLI configuration with the real
//! `scalr-oci configure tofu --file`, runs the real `tofu init`, and ends by
//! proving that no file under the test HOME or the working directory holds
//! the registry password or the Scalr token.
//!
//! Credentials come either from a real Secret Service (gnome-keyring) filled
//! by a real `docker login --password-stdin`, or, as in a Scalr run, only
//! from the (fake) Scalr control plane: `env -i` with exactly `PATH`, `HOME`,
//! `SSL_CERT_FILE`, `SCALR_HOSTNAME`, `SCALR_TOKEN` and `TF_CLI_CONFIG_FILE`.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::path::{Path, PathBuf};

use scalr_oci_e2e::fake_control_plane::FakeControlPlane;
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers::{Output, Peer};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::secrets::{
    assert_no_credential_in_files, assert_no_file_contains, fresh_secret, regular_files,
};
use scalr_oci_e2e::stage::{Auth, ControlPlane, REPO, Stage};
use scalr_oci_e2e::tofu::{self, Env, show};
use tempfile::TempDir;

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "tofu-bot";

/// Every regular file under `dir` with its content.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    regular_files(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).expect("read a file");
            (f, bytes)
        })
        .collect()
}

fn mkdir(path: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&path).expect("create a directory");
    path
}

/// Which CLI configuration `scalr-oci configure tofu` writes.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `--registry 127.0.0.1:PORT`: `oci_credentials "127.0.0.1:PORT" {…}`.
    PerRegistry,
    /// `--default`: `oci_default_credentials {…}`.
    Default,
}

/// Each scenario's two tests (both need peers): `$scenario(Form::PerRegistry)`
/// named `$per_registry`, `$scenario(Form::Default)` named `$default`.
macro_rules! in_both_forms {
    ($($scenario:ident: $per_registry:ident, $default:ident;)*) => {$(
        /// `oci_credentials "127.0.0.1:PORT"`.
        #[test]
        #[ignore = "needs peers"]
        fn $per_registry() {
            $scenario(Form::PerRegistry);
        }

        /// `oci_default_credentials`.
        #[test]
        #[ignore = "needs peers"]
        fn $default() {
            $scenario(Form::Default);
        }
    )*};
}

/// `scalr-oci configure tofu --file PATH …` and a check of what it wrote.
fn configure_tofu(file: &Path, home: &Path, registry: &Registry, form: Form) {
    let authority = registry.authority();
    let args: Vec<&str> = match form {
        Form::PerRegistry => vec!["--registry", &authority],
        Form::Default => vec!["--default"],
    };
    let out = tofu::scalr_oci_configure_tofu(file, home, &args);
    assert!(
        out.status.success(),
        "scalr-oci configure tofu {args:?}: {}",
        show(&out)
    );
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "scalr-oci configure tofu {args:?} wrote no {}: {e}\n{}",
            file.display(),
            show(&out)
        )
    });
    let block = match form {
        Form::PerRegistry => format!("oci_credentials \"{authority}\""),
        Form::Default => "oci_default_credentials".to_string(),
    };
    assert!(
        text.contains(&block)
            && text.contains("docker_credentials_helper")
            && text.contains("\"scalr\""),
        "scalr-oci configure tofu {args:?} wrote:\n{text}"
    );
}

/// Asserts that `tofu init` succeeded and installed module `key` with a file
/// `rel` that contains `needle`.
fn assert_installed(out: &Output, workdir: &Path, key: &str, rel: &str, needle: &str) {
    assert!(out.status.success(), "tofu init failed: {}", show(out));
    assert!(
        out.stdout_lossy()
            .contains("OpenTofu has been successfully initialized"),
        "{}",
        show(out)
    );
    let dir = tofu::installed_module_dir(workdir, key)
        .unwrap_or_else(|| panic!("module {key} is not in .terraform/modules/modules.json"));
    assert!(
        dir.starts_with(workdir.join(".terraform/modules")),
        "module {key} is at {}",
        dir.display()
    );
    let file = dir.join(rel);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("module {key}: cannot read {}: {e}", file.display()));
    assert!(
        text.contains(needle),
        "module {key}: {} does not contain {needle:?}:\n{text}",
        file.display()
    );
}

/// The whole package of version 1.0.0 landed as module `network`, its
/// `modules/vpc` subdirectory included.
fn assert_network_1_0_0(out: &Output, workdir: &Path) {
    assert_installed(out, workdir, "network", "outputs.tf", "\"1.0.0\"");
    assert_installed(
        out,
        workdir,
        "network",
        "modules/vpc/main.tf",
        "version 1.0.0",
    );
}

/// Asserts that `tofu init` failed and installed nothing.
fn assert_failed(out: &Output, workdir: &Path) {
    assert!(!out.status.success(), "tofu init succeeded: {}", show(out));
    assert_eq!(
        tofu::installed_module_dir(workdir, "network"),
        None,
        "a failed init installed the module"
    );
}

/// stdout and stderr, every run of whitespace made one space: OpenTofu
/// wraps its diagnostics at 80 columns.
fn seen(out: &Output) -> String {
    format!("{}\n{}", out.stdout_lossy(), out.stderr_lossy())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How the registry's 401 reads in `tofu init`'s output.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// No credentials at all: oras-go, inside OpenTofu, gets the 401 with
    /// its Basic challenge and has nothing to answer it with.
    Anonymous,
    /// Credentials the registry does not accept.
    Rejected,
}

fn assert_registry_refused(out: &Output, registry: &Registry, refusal: Refusal) {
    let ping = format!("GET \"https://{}/v2/\": ", registry.authority());
    let expected = match refusal {
        Refusal::Anonymous => format!("{ping}basic credential not found"),
        Refusal::Rejected => {
            format!("{ping}response status code 401: unauthorized: authentication required")
        }
    };
    assert!(
        seen(out).contains(&expected),
        "tofu init does not show the registry's 401 ({refusal:?}: {expected:?}): {}",
        show(out)
    );
}

// ---------------------------------------------------------------------------
// The stage (`scalr_oci_e2e::stage`): a registry, the tools, and a scratch
// area outside HOME for the module sources, zips and ORAS's config.

fn new_stage(extra: &[Peer]) -> Option<Stage> {
    Stage::new("scalr-e2e-tofu-", Auth::Htpasswd(USER), extra)
}

/// A zip of a fresh module directory whose files say `marker`.
fn package(stage: &Stage, marker: &str) -> PathBuf {
    let dir = mkdir(stage.scratch.path().join(format!("module-{marker}")));
    tofu::write_module(&dir, marker);
    let zip = stage.scratch.path().join(format!("module-{marker}.zip"));
    tofu::zip_dir(&dir, &zip);
    let names = tofu::zip_names(&zip);
    for expected in ["main.tf", "outputs.tf", "modules/vpc/main.tf", "README.md"] {
        assert!(
            names.iter().any(|n| n == expected),
            "the package lacks {expected}: {names:?}"
        );
    }
    zip
}

/// Publishes a module package under `tag` through ORAS and our helper,
/// with `env` (which reaches the credentials); returns the digest.
fn publish(stage: &Stage, env: &Env, tag: &str, marker: &str) -> String {
    let zip = package(stage, marker);
    let reference = format!("{}/{REPO}:{tag}", stage.registry.authority());
    tofu::oras_push(&stage.tools, env, &stage.oras_config(), &reference, &zip).unwrap_or_else(
        |out| {
            panic!(
                "oras push {reference} through the helper: {}\nregistry log:\n{}",
                show(&out),
                stage.registry.log()
            )
        },
    )
}

fn workdir(stage: &Stage, name: &str) -> PathBuf {
    mkdir(stage.scratch.path().join(name))
}

// ---------------------------------------------------------------------------
// Credentials from the keychain, stored by `docker login`.

struct KeychainStage {
    stage: Stage,
    session: KeyringSession,
}

impl KeychainStage {
    /// A registry, a keyring, and `docker login` through our helper.
    fn new() -> Option<KeychainStage> {
        let mut extra = vec![Peer::Docker];
        extra.extend_from_slice(KeyringSession::PEERS);
        let stage = new_stage(&extra)?;
        let session = KeyringSession::start(&stage.tools.found);
        let s = KeychainStage { stage, session };
        s.docker_login();
        Some(s)
    }

    /// [`KeychainStage::new`], then module version 1.0.0 published as
    /// `1.0.0` through the keychain ([`publish`]): the stage and the digest.
    fn with_1_0_0() -> Option<(KeychainStage, String)> {
        let k = KeychainStage::new()?;
        let digest = publish(&k.stage, &k.env(None), "1.0.0", "1.0.0");
        Some((k, digest))
    }

    /// Runs `test` on a [`KeychainStage::with_1_0_0`] (nothing after a loud
    /// skip) with the digest of 1.0.0; then checks that no secret reached
    /// the disk in HOME or in the directory `test` returns (its working
    /// directory).
    fn test(test: impl FnOnce(&KeychainStage, &str) -> PathBuf) {
        if let Some((k, digest)) = KeychainStage::with_1_0_0() {
            let workdir = test(&k, &digest);
            k.assert_no_secret_on_disk(&workdir);
        }
    }

    /// [`Stage::keychain_env`], `DOCKER_CONFIG`, and `TF_CLI_CONFIG_FILE`
    /// when given.
    fn env(&self, cli_config: Option<&Path>) -> Env {
        let mut env = self.stage.keychain_env(&self.session);
        // Where `docker login` keeps its config.json: inside HOME, so that it
        // is searched for secrets, but not a file OpenTofu reads on its own
        // (it ignores DOCKER_CONFIG), so that only the CLI configuration
        // under test can send OpenTofu to the helper.
        env.set("DOCKER_CONFIG", self.session.home().join(".docker-login"));
        match cli_config {
            Some(file) => env.set("TF_CLI_CONFIG_FILE", file),
            None => env.remove("TF_CLI_CONFIG_FILE"),
        };
        env
    }

    /// A real `docker login 127.0.0.1:PORT --password-stdin`, with
    /// `credHelpers` sending that registry to `docker-credential-scalr`.
    fn docker_login(&self) {
        self.stage.docker_login(&self.env(None), USER);
        let authority = self.stage.registry.authority();
        // And the keychain has it, under the canonical key.
        let out = self.session.helper("list", "unused");
        assert!(
            out.status.success() && out.stdout_lossy().contains(&authority),
            "the keychain after docker login: {}",
            show(&out)
        );
    }

    fn assert_no_secret_on_disk(&self, workdir: &Path) {
        for dir in [self.session.home().as_path(), workdir] {
            assert_no_credential_in_files(dir, USER, &self.stage.password);
        }
    }
}

/// Scenario 1: the seed's recipe, with ORAS authenticating through our helper.
#[test]
#[ignore = "needs peers"]
fn oras_publishes_a_module_package_through_the_helper() {
    KeychainStage::test(|k, digest| {
        let s = &k.stage;
        let env = k.env(None);

        // What OpenTofu requires of a module package (seed, step 7).
        let reference = format!("{}/{REPO}:1.0.0", s.registry.authority());
        let manifest = s.oras_manifest(&env, &reference);
        assert_eq!(
            manifest["artifactType"],
            tofu::MODULE_ARTIFACT_TYPE,
            "{manifest}"
        );
        let layers = manifest["layers"].as_array().expect("layers");
        assert_eq!(layers.len(), 1, "{manifest}");
        assert_eq!(layers[0]["mediaType"], tofu::ZIP_MEDIA_TYPE, "{manifest}");
        let by_digest = format!("{}/{REPO}@{digest}", s.registry.authority());
        assert_eq!(s.oras_manifest(&env, &by_digest), manifest);

        // Without the credHelpers entry ORAS has no credentials: the helper is
        // what made the push work.
        let bare = s.scratch.path().join("oras-without-helper/config.json");
        tofu::write_docker_config(&bare, &[]);
        let zip = package(s, "anonymous");
        let refused = tofu::oras_push(
            &s.tools,
            &env,
            &bare,
            &format!("{}/{REPO}:anonymous", s.registry.authority()),
            &zip,
        )
        .expect_err("an anonymous push must be refused");
        assert!(
            seen(&refused).contains("Error: basic credential not found"),
            "{}",
            show(&refused)
        );

        s.scratch.path().to_path_buf()
    });
}

fn keychain_init(form: Form) {
    KeychainStage::test(|k, _| {
        let s = &k.stage;
        let workdir = workdir(s, "consumer");
        tofu::write_root_config(&workdir, &[("network", &s.source("?tag=1.0.0"))]);

        // Without our CLI configuration OpenTofu has no credentials at all: the
        // registry refuses it. (An empty file, so that nothing else is read.)
        let empty = k.session.home().join("empty.tofurc");
        std::fs::write(&empty, "").expect("write an empty CLI config");
        let out = tofu::tofu_init(&s.tools, &k.env(Some(&empty)), &workdir);
        assert_failed(&out, &workdir);
        assert_registry_refused(&out, &s.registry, Refusal::Anonymous);

        let tofurc = k.session.home().join(".tofurc");
        configure_tofu(&tofurc, &k.session.home(), &s.registry, form);
        let out = tofu::tofu_init(&s.tools, &k.env(Some(&tofurc)), &workdir);
        assert_network_1_0_0(&out, &workdir);

        workdir
    });
}

/// Scenario 4, keychain: a password that is no longer right (stored through
/// the helper's own `store`, since `docker login` verifies it first) gives
/// the registry's 401.
#[test]
#[ignore = "needs peers"]
fn a_wrong_password_in_the_keychain_gives_the_registrys_401() {
    KeychainStage::test(|k, _| {
        let s = &k.stage;
        let wrong = fresh_secret("wrong");
        let stored = serde_json::json!({
            "ServerURL": s.registry.authority(),
            "Username": USER,
            "Secret": wrong,
        })
        .to_string();
        let out = k.session.helper("store", &stored);
        assert!(out.status.success(), "store: {}", show(&out));

        let workdir = workdir(s, "consumer");
        tofu::write_root_config(&workdir, &[("network", &s.source("?tag=1.0.0"))]);
        let tofurc = k.session.home().join(".tofurc");
        configure_tofu(&tofurc, &k.session.home(), &s.registry, Form::PerRegistry);
        let out = tofu::tofu_init(&s.tools, &k.env(Some(&tofurc)), &workdir);
        assert_failed(&out, &workdir);
        assert_registry_refused(&out, &s.registry, Refusal::Rejected);
        assert!(
            !out.stderr_lossy().contains("docker-credential-scalr:"),
            "the helper answered; it has nothing to complain about: {}",
            show(&out)
        );

        for dir in [k.session.home(), workdir.clone()] {
            assert_no_credential_in_files(&dir, USER, &wrong);
        }
        workdir
    });
}

// ---------------------------------------------------------------------------
// Credentials only from the Scalr control plane, as in a Scalr run.

struct ControlPlaneStage {
    stage: Stage,
    fake: FakeControlPlane,
    integration: String,
    /// The registry's CA and the fake's, concatenated: `SSL_CERT_FILE`.
    bundle: PathBuf,
    /// A token of its own for publishing, so that the helper's cache (keyed
    /// by token) holds nothing for the token `tofu init` uses.
    publisher_token: String,
    /// `HOME` of the `tofu init` runs: empty at the start.
    home: TempDir,
}

impl ControlPlaneStage {
    fn new() -> Option<ControlPlaneStage> {
        let stage = new_stage(&[])?;
        let ControlPlane {
            fake,
            integration,
            bundle,
        } = stage.control_plane(USER);
        let publisher_token = fake.add_token();
        let home = tempfile::Builder::new()
            .prefix("scalr-e2e-tofu-home-")
            .tempdir()
            .expect("a temporary HOME");
        Some(ControlPlaneStage {
            stage,
            fake,
            integration,
            bundle,
            publisher_token,
            home,
        })
    }

    /// [`ControlPlaneStage::new`], then module version 1.0.0 published as
    /// `1.0.0` with the publisher's token: the stage and the digest.
    fn with_1_0_0() -> Option<(ControlPlaneStage, String)> {
        let c = ControlPlaneStage::new()?;
        let digest = c.publish("1.0.0", "1.0.0");
        Some((c, digest))
    }

    /// Runs `test` on a [`ControlPlaneStage::with_1_0_0`] (nothing after a
    /// loud skip) with the digest of 1.0.0; then checks that no secret or
    /// token reached the disk in the directory `test` returns (its working
    /// directory), HOME or the publisher's HOME.
    fn test(test: impl FnOnce(&ControlPlaneStage, &str) -> PathBuf) {
        if let Some((c, digest)) = ControlPlaneStage::with_1_0_0() {
            let workdir = test(&c, &digest);
            c.assert_no_secret_on_disk(&workdir);
        }
    }

    /// [`Stage::scalr_run_env`] plus TF_CLI_CONFIG_FILE when given: no
    /// keychain at all.
    fn env(&self, home: &Path, token: &str, cli_config: Option<&Path>) -> Env {
        let mut env = self
            .stage
            .scalr_run_env(&self.fake, &self.bundle, home, token);
        if let Some(file) = cli_config {
            env.set("TF_CLI_CONFIG_FILE", file);
        }
        env
    }

    /// Publishes through ORAS and the helper, with the publisher's token.
    fn publish(&self, tag: &str, marker: &str) -> String {
        let home = mkdir(self.stage.scratch.path().join("publisher-home"));
        let env = self.env(&home, &self.publisher_token, None);
        publish(&self.stage, &env, tag, marker)
    }

    /// `scalr-oci configure tofu` into HOME/.tofurc, then `tofu init` of
    /// `modules` in `env -i` with the stage's token.
    fn init(&self, form: Form, modules: &[(&str, &str)]) -> (Output, PathBuf) {
        let workdir = workdir(&self.stage, "consumer");
        tofu::write_root_config(&workdir, modules);
        let tofurc = self.home.path().join(".tofurc");
        configure_tofu(&tofurc, self.home.path(), &self.stage.registry, form);
        let env = self.env(self.home.path(), &self.fake.token(), Some(&tofurc));
        tofu::assert_scalr_run_env(&env, &["TF_CLI_CONFIG_FILE"]);
        let before = snapshot(self.home.path());
        let out = tofu::tofu_init(&self.stage.tools, &env, &workdir);
        // As in a Scalr run: `tofu init` and the helper wrote nothing to HOME
        // (no cache file, no credential file), whether they succeeded or not.
        let after = snapshot(self.home.path());
        // Names only in the message: a changed file might hold a secret.
        let names =
            |files: &[(PathBuf, Vec<u8>)]| files.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
        assert!(
            after == before,
            "tofu init changed files in HOME: before {:?}, after {:?}: {}",
            names(&before),
            names(&after),
            show(&out)
        );
        (out, workdir)
    }

    fn assert_no_secret_on_disk(&self, workdir: &Path) {
        let publisher_home = self.stage.scratch.path().join("publisher-home");
        for dir in [self.home.path(), workdir, &publisher_home] {
            assert_no_credential_in_files(dir, USER, &self.stage.password);
            assert_no_file_contains(dir, &self.fake.token());
            assert_no_file_contains(dir, &self.publisher_token);
        }
    }
}

fn control_plane_init(form: Form) {
    ControlPlaneStage::test(|c, _| {
        assert!(
            c.fake.credentials_requests(&c.integration) >= 1,
            "ORAS's helper asked the control plane"
        );
        c.fake.reset_counters();

        let (out, workdir) = c.init(form, &[("network", &c.stage.source("?tag=1.0.0"))]);
        assert_network_1_0_0(&out, &workdir);
        // The credentials came from the control plane, for tofu's own token.
        assert!(
            c.fake.credentials_requests(&c.integration) >= 1,
            "tofu init never reached the control plane: {:?}",
            c.fake
                .request_log()
                .iter()
                .map(|r| &r.path)
                .collect::<Vec<_>>()
        );
        assert!(
            c.fake
                .request_log()
                .iter()
                .any(|r| r.sent_bearer(&c.fake.token())),
            "no request carried tofu's SCALR_TOKEN"
        );
        workdir
    });
}

// Scenario 2a (keychain) and 2b (only the control plane), in both forms.
in_both_forms! {
    keychain_init:
        tofu_init_per_registry_with_keychain_credentials_from_docker_login,
        tofu_init_default_helper_with_keychain_credentials_from_docker_login;
    control_plane_init:
        tofu_init_per_registry_with_only_the_control_plane,
        tofu_init_default_helper_with_only_the_control_plane;
}

/// Scenario 3: a digest pin, a `//modules/vpc` subdirectory and the default
/// `latest` tag, in one configuration.
#[test]
#[ignore = "needs peers"]
fn digest_pins_subdirectories_and_the_latest_tag_install() {
    ControlPlaneStage::test(|c, pinned| {
        let newest = c.publish("latest", "1.1.0");
        assert_ne!(pinned, newest);
        let s = &c.stage;
        let (out, workdir) = c.init(
            Form::PerRegistry,
            &[
                ("pinned", &s.source(&format!("?digest={pinned}"))),
                ("vpc", &s.source("//modules/vpc?tag=1.0.0")),
                ("newest", &s.source("")),
            ],
        );
        assert_installed(&out, &workdir, "pinned", "outputs.tf", "\"1.0.0\"");
        assert_installed(
            &out,
            &workdir,
            "vpc",
            "main.tf",
            "vpc submodule, version 1.0.0",
        );
        let vpc = tofu::installed_module_dir(&workdir, "vpc").expect("installed");
        assert!(vpc.ends_with("modules/vpc"), "vpc is at {}", vpc.display());
        assert_installed(&out, &workdir, "newest", "outputs.tf", "\"1.1.0\"");
        workdir
    });
}

/// Scenario 4: a revoked token aborts `tofu init`, and the user reads why.
#[test]
#[ignore = "needs peers"]
fn a_revoked_token_fails_tofu_init_naming_the_cause() {
    ControlPlaneStage::test(|c, _| {
        c.fake.revoke_token(&c.fake.token());
        let (out, workdir) = c.init(Form::Default, &[("network", &c.stage.source("?tag=1.0.0"))]);
        assert_failed(&out, &workdir);
        let all = seen(&out);
        // The helper's stdout, which OpenTofu shows as the reason it stopped.
        let reason = format!(
            "GET \"https://{}/v2/\": failed to resolve credential: from \"scalr\" credential helper: \
         \"scalr\" credential helper failed: the Scalr control plane at {} rejected the Scalr token \
         from the SCALR_TOKEN environment variable (HTTP 401",
            c.stage.registry.authority(),
            c.fake.hostname()
        );
        assert!(
            all.contains(&reason),
            "tofu init does not say the token was rejected ({reason:?}): {}",
            show(&out)
        );
        assert!(!all.contains(&c.fake.token()), "the token is in the output");
        workdir
    });
}

/// Scenario 4: no integration for the registry, or one that does not export
/// its credentials: the helper says not-found (so OpenTofu goes on without
/// credentials and gets the registry's 401) and says on stderr what it
/// looked for and where.
fn not_found_then_401(change: impl FnOnce(&ControlPlaneStage), why: &str) {
    ControlPlaneStage::test(|c, _| {
        change(c);
        let (out, workdir) = c.init(
            Form::PerRegistry,
            &[("network", &c.stage.source("?tag=1.0.0"))],
        );
        assert_failed(&out, &workdir);
        assert_registry_refused(&out, &c.stage.registry, Refusal::Anonymous);
        // The helper's own stderr, passed through by OpenTofu unwrapped.
        let all = out.stderr_lossy();
        let looked_for = format!(
            "docker-credential-scalr: no Docker registry integration with exported credentials for {} on {}",
            c.stage.registry.authority(),
            c.fake.hostname()
        );
        assert!(
            all.contains(&looked_for)
                && all.contains(why)
                && all.contains("token from the SCALR_TOKEN environment variable"),
            "the helper does not say what it looked for ({looked_for:?}, {why:?}): {}",
            show(&out)
        );
        assert!(
            c.fake.list_requests() >= 1,
            "the helper never asked the control plane"
        );
        workdir
    });
}

#[test]
#[ignore = "needs peers"]
fn no_integration_gives_not_found_then_the_registrys_401() {
    not_found_then_401(
        |c| assert!(c.fake.remove_integration(&c.integration)),
        "(0 listed",
    );
}

#[test]
#[ignore = "needs peers"]
fn export_disabled_gives_not_found_then_the_registrys_401() {
    not_found_then_401(
        |c| {
            c.fake
                .update_integration(&c.integration, |i| i.export_credentials = false)
        },
        "1 name it but are disabled or do not export credentials",
    );
}

/// Scenario 4: the control plane hands out a password the registry no
/// longer accepts: the registry's 401 reaches the user.
#[test]
#[ignore = "needs peers"]
fn a_wrong_password_from_the_control_plane_gives_the_registrys_401() {
    ControlPlaneStage::test(|c, _| {
        let wrong = fresh_secret("wrong");
        c.fake.set_password(&c.integration, &wrong);
        c.fake.reset_counters();
        let (out, workdir) = c.init(Form::Default, &[("network", &c.stage.source("?tag=1.0.0"))]);
        assert_failed(&out, &workdir);
        assert_registry_refused(&out, &c.stage.registry, Refusal::Rejected);
        assert!(
            c.fake.credentials_requests(&c.integration) >= 1,
            "the helper never fetched the (wrong) credentials"
        );
        for dir in [c.home.path(), &workdir] {
            assert_no_credential_in_files(dir, USER, &wrong);
        }
        workdir
    });
}
