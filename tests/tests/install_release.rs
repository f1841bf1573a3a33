//! install/install.sh without a Rust toolchain: it downloads this machine's
//! archive from a release host (a local HTTPS server with a CA of its own),
//! checks it against the release's SHA256SUMS before unpacking anything,
//! and installs. Run as `curl … | sh -s -- OPTIONS` runs it: the script on
//! stdin, no cargo on PATH. A tampered archive, a missing SHA256SUMS entry
//! and a plain-http URL: a message naming the file, nothing installed,
//! non-zero exit.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::release_host::{Release, ReleaseHost};

const BINARIES: [&str; 3] = [
    "docker-credential-scalr",
    "terraform-credentials-scalr",
    "scalr-oci",
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../install/install.sh")
}

/// A PATH with the basic tools and neither cargo nor rustc.
const BARE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `sh -s -- ARGS` with install.sh on stdin, in a fresh HOME, trusting `ca`.
fn piped_install(home: &Path, ca: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-s", "--"])
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", BARE_PATH)
        .env("SSL_CERT_FILE", ca)
        .env("CURL_CA_BUNDLE", ca)
        .current_dir(home);
    let text = std::fs::read(script()).expect("read install.sh");
    peers::run(&mut cmd, &text, Duration::from_secs(120))
}

/// Asserts a non-zero exit and returns stderr, where install.sh says why.
fn refused(out: &Output) -> String {
    assert!(
        out.code().is_some_and(|c| c != 0),
        "install.sh succeeded: {}",
        out.show()
    );
    out.stderr_lossy()
}

fn assert_nothing_installed(home: &Path, prefix: &Path) {
    for bin in BINARIES {
        assert!(!prefix.join(bin).exists(), "{bin} was installed");
    }
    assert!(
        std::fs::symlink_metadata(home.join(".terraform.d")).is_err(),
        "the plugin directory was touched"
    );
    assert!(!home.join(".tofurc").exists(), "the CLI config was written");
}

#[test]
fn the_bare_path_has_no_rust_toolchain() {
    let out = Command::new("sh")
        .args(["-c", "command -v cargo || command -v rustc || echo none"])
        .env_clear()
        .env("PATH", BARE_PATH)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "none");
}

#[test]
fn piped_install_downloads_verifies_and_installs_without_cargo() {
    let release = Release::staged();
    let host = ReleaseHost::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("bin");
    let url = host.url("Scalr/docker-credential-scalr/releases/latest/download");
    let out = piped_install(
        home.path(),
        &host.ca.ca_cert,
        &[
            "--from-url",
            &url,
            "--prefix",
            prefix.to_str().unwrap(),
            "--no-configure",
        ],
    );
    let text = out.success();
    assert!(
        text.contains(&format!("verified {} against SHA256SUMS", release.archive)),
        "{}",
        out.show()
    );
    // What was installed is what the archive holds, byte for byte.
    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(release.path(&release.archive))
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(status.success());
    let top = unpacked
        .path()
        .join(release.archive.trim_end_matches(".tar.gz"));
    for bin in BINARIES {
        assert_eq!(
            std::fs::read(prefix.join(bin)).unwrap(),
            std::fs::read(top.join(bin)).unwrap(),
            "{bin}"
        );
    }
    let link = home
        .path()
        .join(".terraform.d/plugins/terraform-credentials-scalr");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        prefix.join("terraform-credentials-scalr")
    );
    // The installed helper runs.
    let version = Command::new(prefix.join("docker-credential-scalr"))
        .arg("version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert_eq!(host.requests("SHA256SUMS"), 1);
    assert_eq!(host.requests(&release.archive), 1);

    // A pinned version asks for that archive by name.
    let again = piped_install(
        home.path(),
        &host.ca.ca_cert,
        &[
            "--from-url",
            &url,
            "--version",
            &release.version,
            "--prefix",
            prefix.to_str().unwrap(),
            "--no-configure",
        ],
    );
    assert!(
        again.success().contains("is up to date"),
        "{}",
        again.show()
    );
}

#[test]
fn a_tampered_archive_is_named_and_nothing_is_installed() {
    let release = Release::staged();
    // One byte changed after SHA256SUMS was written, as a compromised mirror
    // or a broken download would serve it.
    let path = release.path(&release.archive);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let host = ReleaseHost::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("bin");
    let out = piped_install(
        home.path(),
        &host.ca.ca_cert,
        &[
            "--from-url",
            &host.url("mirror"),
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    let message = refused(&out);
    assert!(
        message.contains(&format!("{} does not match SHA256SUMS", release.archive))
            && message.contains("nothing was installed"),
        "{}",
        out.show()
    );
    assert_eq!(host.requests(&release.archive), 1);
    assert_nothing_installed(home.path(), &prefix);
}

#[test]
fn a_missing_sha256sums_entry_is_named_and_the_archive_is_never_fetched() {
    let release = Release::staged();
    let sums = std::fs::read_to_string(release.path("SHA256SUMS")).unwrap();
    let kept: String = sums
        .lines()
        .filter(|l| !l.ends_with(&release.archive))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept, sums, "the entry was there to remove");
    std::fs::write(release.path("SHA256SUMS"), kept).unwrap();
    let host = ReleaseHost::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("bin");
    // Pinned: the archive's name is known, so the message names it.
    let pinned = piped_install(
        home.path(),
        &host.ca.ca_cert,
        &[
            "--from-url",
            &host.url("mirror"),
            "--version",
            &release.version,
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    let message = refused(&pinned);
    assert!(
        message.contains(&format!("has no entry for {}", release.archive))
            && message.contains("nothing was installed"),
        "{}",
        pinned.show()
    );
    // Latest: no archive for this machine is listed at all.
    let latest = piped_install(
        home.path(),
        &host.ca.ca_cert,
        &[
            "--from-url",
            &host.url("mirror"),
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert!(
        refused(&latest).contains("has no entry for a scalr-oci-VERSION-"),
        "{}",
        latest.show()
    );
    assert_eq!(host.requests(&release.archive), 0);
    assert_nothing_installed(home.path(), &prefix);
}

#[test]
fn a_plain_http_release_url_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("bin");
    let out = piped_install(
        home.path(),
        Path::new("/dev/null"),
        &[
            "--from-url",
            "http://127.0.0.1:9/release",
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    assert!(refused(&out).contains("must be https://"), "{}", out.show());
    assert_nothing_installed(home.path(), &prefix);
}
