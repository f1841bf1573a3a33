//! The helper where the kernel keyring is refused or full: in a container
//! under Docker's default seccomp profile (a Scalr run), `keyctl`, `add_key`
//! and `request_key` fail with EPERM; on a busy machine the user's key quota
//! may be full. Either way the answer comes from the control plane, and
//! `SCALR_OCI_DEBUG=1` says why the cache did not help.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use scalr_oci_e2e::keyring_session::{NoKeychain, parse_get};
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::secrets::fresh_secret;

/// The test-support wrapper (tests/src/bin/confined.rs).
fn confined() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| peers::our_bin("SCALR_OCI_CONFINED_BIN", "scalr-oci-e2e", "confined"))
}

/// `confined OPTIONS -- helper get` with a Scalr run's environment.
fn get_confined(
    fake: &FakeControlPlane,
    env: &[(&str, &Path)],
    options: &[&str],
    server: &str,
) -> Output {
    let mut cmd = Command::new(confined());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SCALR_HOSTNAME", fake.hostname())
        .env("SCALR_TOKEN", fake.token())
        .env("SCALR_OCI_DEBUG", "1")
        .envs(env.iter().copied())
        .args(options)
        .arg("--")
        .arg(peers::helper_bin())
        .arg("get");
    peers::run(&mut cmd, server.as_bytes(), Duration::from_secs(90))
}

fn secret_of(out: &Output) -> String {
    parse_get("get", out)
        .unwrap_or_else(|| panic!("a hit: {}", out.show()))
        .1
}

#[test]
fn without_keyctl_every_get_is_answered_by_the_control_plane_and_says_why() {
    peers::helper_bin();
    let fake = FakeControlPlane::start();
    let home = NoKeychain::new();
    let password = fresh_secret("seccomp");
    let id = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "robot", &password));
    let home_dir = home.home();
    let env = [
        ("HOME", home_dir.as_path()),
        ("SSL_CERT_FILE", fake.ca_cert_path()),
    ];
    for round in 1..=2 {
        let out = get_confined(&fake, &env, &["--deny-keyctl"], "ghcr.io");
        assert_eq!(secret_of(&out), password);
        let logs = out.stderr_lossy();
        assert!(logs.contains("the cache is unavailable"), "{logs}");
        assert!(logs.contains("EPERM"), "{logs}");
        assert!(
            !logs.contains(&password) && !logs.contains(&fake.token()),
            "{logs}"
        );
        assert_eq!(fake.credentials_requests(&id), round, "nothing cached");
    }
}

/// Empties the user keyring of `uid` (the filler keys) when the test ends.
struct ClearKeyring(u32);

impl Drop for ClearKeyring {
    fn drop(&mut self) {
        let _ = Command::new(confined())
            .args(["--uid", &self.0.to_string(), "--clear-user-keyring"])
            .status();
    }
}

/// A directory every uid can read, holding a copy of `file`.
fn world_readable_copy(file: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("ca.pem");
    std::fs::copy(file, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, copy)
}

#[test]
fn with_the_key_quota_full_the_answer_comes_from_the_source_and_debug_says_so() {
    // A uid of its own has its own quota: filling ours would starve every
    // other test (and engineer) on this machine.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        peers::loud(
            "SKIPPED with_the_key_quota_full_...: switching to a spare uid needs root \
             (filling this uid's quota would starve every other process of it)",
        );
        return;
    }
    peers::helper_bin();
    let uid = 3_000_000 + std::process::id() % 1_000_000;
    let _clear = ClearKeyring(uid);
    let fake = FakeControlPlane::start();
    let password = fresh_secret("quota");
    let id = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "robot", &password));
    let (dir, ca) = world_readable_copy(fake.ca_cert_path());
    let env = [("HOME", dir.path()), ("SSL_CERT_FILE", ca.as_path())];
    let uid_arg = uid.to_string();
    let out = get_confined(
        &fake,
        &env,
        &["--uid", &uid_arg, "--fill-key-quota"],
        "ghcr.io",
    );
    assert_eq!(secret_of(&out), password);
    let logs = out.stderr_lossy();
    assert!(logs.contains("quota is full"), "{logs}");
    assert!(logs.contains("came from the source"), "{logs}");
    // Still full: the next get asks the control plane again, and says so.
    let again = get_confined(&fake, &env, &["--uid", &uid_arg], "ghcr.io");
    assert_eq!(secret_of(&again), password);
    assert!(
        again.stderr_lossy().contains("quota is full"),
        "{}",
        again.show()
    );
    assert_eq!(fake.credentials_requests(&id), 2);
}
