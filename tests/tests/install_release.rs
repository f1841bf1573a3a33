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

/// `sh -s -- --from-url URL --prefix PREFIX ARGS` with install.sh on stdin,
/// in a fresh HOME, trusting `ca`.
fn piped_install(home: &Path, ca: &Path, url: &str, prefix: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-s", "--", "--from-url", url, "--prefix"])
        .arg(prefix)
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

/// Asserts that install.sh succeeded and that its output holds `text`.
#[track_caller]
fn assert_says(out: &Output, text: &str) {
    assert!(
        out.success().contains(text),
        "{text:?} missing: {}",
        out.show()
    );
}

/// Asserts a non-zero exit and that stderr, where install.sh says why,
/// holds each of `says`.
#[track_caller]
fn assert_refused(out: &Output, says: &[&str]) {
    assert!(
        out.code().is_some_and(|c| c != 0),
        "install.sh succeeded: {}",
        out.show()
    );
    let message = out.stderr_lossy();
    for text in says {
        assert!(message.contains(text), "{text:?} missing: {}", out.show());
    }
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

/// A release served over HTTPS from `release.dir` under `url`, and a fresh
/// HOME to install it into (prefix HOME/bin).
struct Served {
    host: ReleaseHost,
    url: String,
    home: tempfile::TempDir,
    prefix: PathBuf,
}

impl Served {
    fn new(release: &Release, path: &str) -> Served {
        let host = ReleaseHost::serve(release.dir.path());
        let home = tempfile::tempdir().unwrap();
        Served {
            url: host.url(path),
            host,
            prefix: home.path().join("bin"),
            home,
        }
    }

    /// [`piped_install`] from the release's URL into the prefix.
    fn install(&self, args: &[&str]) -> Output {
        piped_install(
            self.home.path(),
            &self.host.ca.ca_cert,
            &self.url,
            &self.prefix,
            args,
        )
    }

    fn assert_nothing_installed(&self) {
        assert_nothing_installed(self.home.path(), &self.prefix);
    }
}

/// The release's archive unpacked by `tar` into a temporary directory: the
/// directory, and the archive's top folder in it.
fn unpack(release: &Release) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(release.path(&release.archive))
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "tar -xzf {}", release.archive);
    let top = dir.path().join(release.archive.trim_end_matches(".tar.gz"));
    (dir, top)
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
    let served = Served::new(
        &release,
        "Scalr/docker-credential-scalr/releases/latest/download",
    );
    let Served {
        host, home, prefix, ..
    } = &served;
    let out = served.install(&["--no-configure"]);
    assert_says(
        &out,
        &format!("verified {} against SHA256SUMS", release.archive),
    );
    // What was installed is what the archive holds, byte for byte.
    let (_unpacked, top) = unpack(&release);
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
    let again = served.install(&["--version", &release.version, "--no-configure"]);
    assert_says(&again, "is up to date");
}

#[test]
fn a_tampered_archive_is_named_and_nothing_is_installed() {
    let release = Release::staged();
    release.tamper_with_the_archive();
    let served = Served::new(&release, "mirror");
    let out = served.install(&[]);
    assert_refused(
        &out,
        &[
            &format!("{} does not match SHA256SUMS", release.archive),
            "nothing was installed",
        ],
    );
    assert_eq!(served.host.requests(&release.archive), 1);
    served.assert_nothing_installed();
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
    let served = Served::new(&release, "mirror");
    // Pinned: the archive's name is known, so the message names it.
    let pinned = served.install(&["--version", &release.version]);
    assert_refused(
        &pinned,
        &[
            &format!("has no entry for {}", release.archive),
            "nothing was installed",
        ],
    );
    // Latest: no archive for this machine is listed at all.
    let latest = served.install(&[]);
    assert_refused(&latest, &["has no entry for a scalr-oci-VERSION-"]);
    assert_eq!(served.host.requests(&release.archive), 0);
    served.assert_nothing_installed();
}

#[test]
fn a_plain_http_release_url_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("bin");
    let out = piped_install(
        home.path(),
        Path::new("/dev/null"),
        "http://127.0.0.1:9/release",
        &prefix,
        &[],
    );
    assert_refused(&out, &["must be https://"]);
    assert_nothing_installed(home.path(), &prefix);
}
