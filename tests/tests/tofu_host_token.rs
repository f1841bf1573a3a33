//! End to end with the real OpenTofu: the Scalr host token reaches OpenTofu
//! through `terraform-credentials-scalr` (issue 8), never through a file.
//!
//! The fake Scalr host (the fake control plane's `scalr_host` side) serves
//! service discovery and a private module registry that refuses any request
//! without `Authorization: Bearer <the token>`. Every test installs the
//! helper where OpenTofu looks for it (`~/.terraform.d/plugins/`), writes
//! `credentials_helper "scalr" {}` into `~/.tofurc` (unless it is the
//! control), runs the real `tofu` (init, login, logout), and ends by
//! proving that no file under HOME or the working directory holds the token
//! and that no `credentials.tfrc.json` was ever written.
//!
//! Tokens come from a real Secret Service (gnome-keyring) filled by the real
//! `scalr-oci login` or `tofu login`, or, as in a Scalr run, only from
//! `SCALR_TOKEN`/`SCALR_HOSTNAME` with no keychain at all.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::{AuthSeen, FakeControlPlane, IntegrationSpec};
use scalr_oci_e2e::keyring_session::{KeyringSession, NoKeychain};
use scalr_oci_e2e::peers::{self, Output, Peer};
use scalr_oci_e2e::pty::Step;
use scalr_oci_e2e::secrets::{assert_no_file_contains, fresh_secret, regular_files};
use scalr_oci_e2e::tofu::{self, Env, Tools, show};
use tempfile::TempDir;

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const MODULE: &str = "acme/network/scalr";
const HELPER_BLOCK: &str = "credentials_helper \"scalr\" {}\n";

/// How a test's HOME starts.
#[derive(Clone, Copy, Debug)]
enum Home {
    /// The helper in the plugin directory and the `credentials_helper`
    /// block in `~/.tofurc`.
    HelperBlock,
    /// The helper installed, but `~/.tofurc` does not name it.
    NoBlock,
    /// Neither: what `scalr-oci migrate` sets up.
    Bare,
}

/// Sets `home` up as `how` says.
fn set_up_home(home: &Path, how: Home) {
    let tofurc = match how {
        Home::HelperBlock => HELPER_BLOCK,
        Home::NoBlock => "# no credentials helper\n",
        Home::Bare => return,
    };
    tofu::install_host_token_helper(home);
    tofu::write_tofurc(home, tofurc);
}

/// The tools, the fake Scalr host with one published module, and a scratch
/// area outside HOME (the bin directory, the module's sources).
struct Bed {
    tools: Tools,
    fake: FakeControlPlane,
    scratch: TempDir,
    bin: PathBuf,
}

impl Bed {
    fn new(extra: &[Peer]) -> Option<Bed> {
        let tools = tofu::require(extra)?;
        let fake = FakeControlPlane::start();
        let scratch = tempfile::Builder::new()
            .prefix("scalr-e2e-host-token-")
            .tempdir()
            .expect("a scratch directory");
        let module = scratch.path().join("module");
        tofu::write_module(&module, "1.0.0");
        let zip = scratch.path().join("module.zip");
        tofu::zip_dir(&module, &zip);
        fake.publish_module(MODULE, "1.0.0", std::fs::read(&zip).expect("read the zip"));
        // tofu, and the stty its token prompt runs to turn echo off: nothing
        // else on PATH can answer for the token.
        let stty = peers::find("stty").expect("stty (coreutils) is on PATH");
        let bin = tofu::bin_dir(&scratch.path().join("bin"), &[&tools.tofu, &stty]);
        Some(Bed {
            tools,
            fake,
            scratch,
            bin,
        })
    }

    fn host(&self) -> String {
        self.fake.hostname()
    }

    /// `base` plus `PATH` = tofu only and the fake's CA.
    fn env(&self, base: Vec<(std::ffi::OsString, std::ffi::OsString)>) -> Env {
        let mut env = Env::from_vars(base);
        env.set("PATH", &self.bin)
            .set("SSL_CERT_FILE", self.fake.ca_cert_path())
            .remove("SSL_CERT_DIR")
            .remove("TF_CLI_CONFIG_FILE");
        env
    }

    /// A working directory whose root module calls the private module.
    fn workdir(&self, name: &str) -> PathBuf {
        let dir = self.scratch.path().join(name);
        tofu::write_registry_root(&dir, "network", &self.fake.module_source(MODULE), "1.0.0");
        dir
    }

    /// `tofu init` in `dir`, the fake's counters reset first: the
    /// assertions after it see this run's registry requests only.
    fn init(&self, env: &Env, dir: &Path) -> Output {
        self.fake.reset_counters();
        tofu::tofu_init(&self.tools, env, dir)
    }

    /// [`Bed::init`] in a fresh working directory `name` (see [`Bed::workdir`]).
    fn init_in(&self, env: &Env, name: &str) -> (Output, PathBuf) {
        let dir = self.workdir(name);
        let out = self.init(env, &dir);
        (out, dir)
    }

    /// The registry requests since the last reset, as (auth, status).
    fn registry_seen(&self) -> Vec<(AuthSeen, Option<u16>)> {
        self.fake
            .registry_requests()
            .iter()
            .map(|r| (r.auth, r.status))
            .collect()
    }

    fn assert_installed(&self, out: &Output, dir: &Path) {
        assert!(out.status.success(), "tofu init failed: {}", show(out));
        let module = tofu::installed_module_dir(dir, "network")
            .unwrap_or_else(|| panic!("module network was not installed: {}", show(out)));
        let text = std::fs::read_to_string(module.join("outputs.tf")).expect("outputs.tf");
        assert!(text.contains("\"1.0.0\""), "{text}");
        let seen = self.registry_seen();
        assert!(
            !seen.is_empty()
                && seen
                    .iter()
                    .all(|s| *s == (AuthSeen::Valid, Some(200))
                        || *s == (AuthSeen::Valid, Some(204))),
            "every registry request carries the valid token: {seen:?}"
        );
    }

    /// `tofu init` failed on the registry's 401, having sent `auth`.
    fn assert_refused(&self, out: &Output, dir: &Path, auth: AuthSeen) {
        assert!(!out.status.success(), "tofu init succeeded: {}", show(out));
        assert_eq!(tofu::installed_module_dir(dir, "network"), None);
        let seen = self.registry_seen();
        assert_eq!(
            seen.first(),
            Some(&(auth, Some(401))),
            "the registry refused the versions request: {seen:?}"
        );
        assert!(
            seen.iter().all(|(_, status)| *status == Some(401)),
            "nothing was answered without a valid token: {seen:?}"
        );
        let said = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
        assert!(
            said.contains("401"),
            "tofu does not show the 401: {}",
            show(out)
        );
    }

    /// `tofu login HOST` on a terminal, as a person does it: `yes`, then
    /// the token at the prompt that does not echo.
    fn tofu_login(&self, env: &Env, dir: &Path, token: &str) -> scalr_oci_e2e::pty::Transcript {
        let host = self.host();
        tofu::tofu_on_terminal(
            &self.tools,
            env,
            dir,
            &["login", &host],
            &[
                // OpenTofu says where the token will go: to our helper.
                Step::Expect("\"scalr\" credentials helper"),
                Step::Expect("Do you want to proceed?"),
                Step::Expect("Enter a value:"),
                Step::Type("yes"),
                Step::Expect(&format!("Token for {host}:")),
                Step::Expect("Enter a value:"),
                Step::TypeSecret(token),
            ],
        )
    }

    /// `terraform-credentials-scalr get HOST` in `env`: the token it prints,
    /// or `None` for `{}`. Never shows the answer in a failure message.
    fn helper_get(&self, env: &Env) -> Option<String> {
        let out = peers::run(
            env.command(tofu::host_token_bin())
                .args(["get", &self.host()]),
            b"",
            Duration::from_secs(60),
        );
        assert_eq!(out.code(), Some(0), "get: {}", out.stderr_lossy());
        let answer: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("get prints JSON");
        answer
            .get("token")
            .map(|t| t.as_str().expect("a string token").to_string())
    }

    /// The end of every scenario: the token in no file, and OpenTofu never
    /// fell back to its plain-text credentials file.
    fn assert_clean(&self, home: &Path, dir: &Path, tokens: &[&str]) {
        for token in tokens {
            assert_no_file_contains(home, token);
            assert_no_file_contains(dir, token);
        }
        let plain: Vec<PathBuf> = regular_files(home)
            .into_iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "credentials.tfrc.json"))
            .collect();
        assert!(plain.is_empty(), "OpenTofu wrote {plain:?}");
    }
}

/// A bed with a real keyring (gnome-keyring): its HOME, set up as `how`
/// says, and [`Bed::env`] over the session's variables. The session lives
/// as long as this does.
struct KeychainBed {
    bed: Bed,
    home: PathBuf,
    env: Env,
    _session: KeyringSession,
}

impl KeychainBed {
    fn start(how: Home) -> Option<KeychainBed> {
        let bed = Bed::new(KeyringSession::PEERS)?;
        let session = KeyringSession::start(&bed.tools.found);
        let home = session.home();
        set_up_home(&home, how);
        let env = bed.env(session.env());
        Some(KeychainBed {
            bed,
            home,
            env,
            _session: session,
        })
    }
}

/// Runs `scenario` on a [`KeychainBed`] whose HOME starts as `how`, with
/// the bed, HOME, the environment and the fake's valid token; nothing after
/// a loud skip.
fn keychain_scenario(how: Home, scenario: impl FnOnce(&Bed, &Path, &Env, &str)) {
    if let Some(k) = KeychainBed::start(how) {
        scenario(&k.bed, &k.home, &k.env, &k.bed.fake.token());
    }
}

/// `scalr-oci login --hostname HOST`, the token on stdin.
fn scalr_oci_login(env: &Env, host: &str, token: &str) {
    let out = peers::run(
        env.command(tofu::scalr_oci_bin())
            .args(["login", "--hostname", host]),
        format!("{token}\n").as_bytes(),
        Duration::from_secs(120),
    );
    let said = out.success();
    assert!(said.contains("accepts the token"), "{said}");
}

#[test]
#[ignore = "needs peers"]
fn one_scalr_oci_login_serves_tofu_init_and_the_docker_helper() {
    keychain_scenario(Home::HelperBlock, |bed, home, env, token| {
        scalr_oci_login(env, &bed.host(), token);
        // The Docker helper's control-plane lookups use the same keychain entry.
        let id = bed.fake.add_integration(IntegrationSpec::new(
            "https://127.0.0.1:5997",
            "robot",
            "pw-host-token",
        ));
        let out = peers::run(
            env.command(peers::helper_bin()).arg("get"),
            b"https://127.0.0.1:5997",
            Duration::from_secs(60),
        );
        assert!(out.success().contains("\"robot\""));
        assert_eq!(bed.fake.credentials_requests(&id), 1);

        let (out, dir) = bed.init_in(env, "keychain");
        bed.assert_installed(&out, &dir);

        // status says who answers the host; doctor checks it live. Neither
        // prints the token.
        let scalr_oci = |args: &[&str]| {
            peers::run(
                env.command(tofu::scalr_oci_bin()).args(args),
                b"",
                Duration::from_secs(120),
            )
        };
        let host = bed.host();
        let status = scalr_oci(&["status"]).success();
        assert!(
            status.contains("credentials_helper \"scalr\" in")
                && status.contains(&format!(
                    "{host}: terraform-credentials-scalr, from the OS keychain"
                )),
            "{status}"
        );
        let doctor = scalr_oci(&["doctor", &host]).success();
        assert!(
            doctor.contains("terraform-credentials-scalr answers")
                && doctor.contains("accepts the token"),
            "{doctor}"
        );
        for said in [&status, &doctor] {
            assert!(!said.contains(token), "the token was printed");
        }
        bed.fake.revoke_token(token);
        let doctor = scalr_oci(&["doctor", &host]);
        assert!(
            !doctor.status.success() && doctor.stdout_lossy().contains("refuses the token"),
            "{}",
            doctor.stdout_lossy()
        );
        bed.assert_clean(home, &dir, &[token, "pw-host-token"]);
    });
}

#[test]
#[ignore = "needs peers"]
fn a_scalr_run_needs_only_the_environment() {
    let Some(bed) = Bed::new(&[]) else {
        return;
    };
    let nowhere = NoKeychain::new();
    let home = nowhere.home();
    set_up_home(&home, Home::HelperBlock);
    // env -i with exactly what a Scalr run has, plus the fake's CA.
    let mut env = bed.env(Vec::new());
    env.set("HOME", &home)
        .set("SCALR_HOSTNAME", bed.host())
        .set("SCALR_TOKEN", bed.fake.token());
    tofu::assert_scalr_run_env(&env, &[]);
    let (out, dir) = bed.init_in(&env, "scalr-run");
    bed.assert_installed(&out, &dir);
    bed.assert_clean(nowhere.root(), &dir, &[&bed.fake.token()]);
}

#[test]
#[ignore = "needs peers"]
fn control_without_the_helper_block_the_registry_refuses() {
    // The token is in the keychain and the helper is installed, but the CLI
    // configuration does not name it: OpenTofu sends no token.
    keychain_scenario(Home::NoBlock, |bed, home, env, token| {
        scalr_oci_login(env, &bed.host(), token);
        let (out, dir) = bed.init_in(env, "control");
        bed.assert_refused(&out, &dir, AuthSeen::Missing);
        bed.assert_clean(home, &dir, &[token]);
    });
}

#[test]
#[ignore = "needs peers"]
fn a_wrong_token_is_refused_and_tofu_login_stores_none() {
    keychain_scenario(Home::HelperBlock, |bed, home, env, _| {
        let wrong = fresh_secret("wrong-host-token");

        // From the environment: OpenTofu sends it, the registry refuses it.
        let mut wrong_env = env.clone();
        wrong_env
            .set("SCALR_HOSTNAME", bed.host())
            .set("SCALR_TOKEN", &wrong);
        let (out, dir) = bed.init_in(&wrong_env, "wrong-env");
        bed.assert_refused(&out, &dir, AuthSeen::Unknown);

        // Through `tofu login`: the host rejects it, and nothing is stored.
        let t = bed.tofu_login(env, &dir, &wrong);
        assert!(
            t.status.is_some_and(|s| !s.success()) && t.screen.contains("Token is invalid"),
            "tofu login with a wrong token:\n{}",
            t.screen
        );
        assert!(!t.screen.contains(&wrong), "the token was echoed");
        assert_eq!(bed.helper_get(env), None, "a rejected token was stored");
        bed.assert_clean(home, &dir, &[&wrong]);
    });
}

#[test]
#[ignore = "needs peers"]
fn tofu_login_stores_through_the_helper_and_logout_forgets() {
    keychain_scenario(Home::HelperBlock, |bed, home, env, token| {
        let dir = bed.workdir("login");

        let t = bed.tofu_login(env, &dir, token);
        assert!(
            t.status.is_some_and(|s| s.success()),
            "tofu login:\n{}",
            t.screen
        );
        assert!(
            t.screen.contains("scalr-e2e"),
            "the account was looked up:\n{}",
            t.screen
        );
        assert!(!t.screen.contains(token), "the token was echoed");
        assert!(
            bed.helper_get(env).as_deref() == Some(token),
            "tofu login did not store the token through the helper"
        );
        let out = bed.init(env, &dir);
        bed.assert_installed(&out, &dir);

        let t = tofu::tofu_on_terminal(&bed.tools, env, &dir, &["logout", &bed.host()], &[]);
        assert!(
            t.status.is_some_and(|s| s.success()) && t.screen.contains("credentials helper"),
            "tofu logout:\n{}",
            t.screen
        );
        assert_eq!(bed.helper_get(env), None, "tofu logout left the token");
        let (out, again) = bed.init_in(env, "after-logout");
        bed.assert_refused(&out, &again, AuthSeen::Missing);
        bed.assert_clean(home, &dir, &[token]);
        bed.assert_clean(home, &again, &[token]);
    });
}

#[test]
#[ignore = "needs peers"]
fn after_migrate_tofu_init_still_works_and_no_file_holds_the_token() {
    keychain_scenario(Home::Bare, |bed, home, env, token| {
        // What `tofu login` leaves behind without a helper: the token in plain text.
        let plain = tofu::credentials_file(home);
        std::fs::create_dir_all(plain.parent().expect("a parent")).expect("mkdir ~/.terraform.d");
        std::fs::write(
            &plain,
            serde_json::to_string_pretty(&serde_json::json!({
                "credentials": {
                    bed.host(): {"token": token},
                    "app.terraform.io": {"token": "another-service-token"},
                }
            }))
            .expect("JSON"),
        )
        .expect("write credentials.tfrc.json");
        let (out, dir) = bed.init_in(env, "before-migrate");
        bed.assert_installed(&out, &dir);

        // migrate links the plugin that sits beside scalr-oci, as installed.
        tofu::host_token_bin();
        let mut with_host = env.clone();
        with_host.set("SCALR_HOSTNAME", bed.host());
        let out = peers::run(
            with_host.command(tofu::scalr_oci_bin()).arg("migrate"),
            b"",
            Duration::from_secs(120),
        );
        let said = out.success();
        assert!(
            said.contains("credentials_helper \"scalr\": added") && said.contains("Moved 1"),
            "{said}"
        );
        assert!(!said.contains("TF_TOKEN"), "the old advice: {said}");
        let left = std::fs::read_to_string(&plain).expect("the file stays");
        assert!(
            left.contains("app.terraform.io"),
            "another host's token was taken: {left}"
        );

        let (out, again) = bed.init_in(env, "after-migrate");
        bed.assert_installed(&out, &again);
        assert!(
            bed.helper_get(env).as_deref() == Some(token),
            "the keychain does not hold the migrated token"
        );
        assert_no_file_contains(home, token);
        assert_no_file_contains(&dir, token);
        assert_no_file_contains(&again, token);
    });
}
