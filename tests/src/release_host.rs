//! A release host: one directory of release files (archives, `SHA256SUMS`)
//! served read-only over HTTPS on `127.0.0.1`, with a CA of its own, as
//! GitHub's release downloads or a mirror would serve them. Counts the
//! requests per file, so a test can tell what an installer fetched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;

use crate::https_server::{self, Running};
use crate::oci::sha256_hex;
use crate::peers;
use crate::tls::TestCa;

#[derive(Clone)]
struct Shared {
    root: PathBuf,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

pub struct ReleaseHost {
    pub ca: TestCa,
    shared: Shared,
    server: Running,
    _ca_dir: tempfile::TempDir,
}

impl ReleaseHost {
    /// Serves the files directly in `root` (no subdirectories, no listing).
    pub fn serve(root: &Path) -> ReleaseHost {
        let ca_dir = tempfile::tempdir().expect("a directory for the CA");
        let ca = TestCa::create_named(ca_dir.path(), "scalr-oci release host CA");
        let shared = Shared {
            root: root.to_path_buf(),
            requests: Arc::default(),
        };
        let app = Router::new()
            .route("/{*file}", get(file))
            .with_state(shared.clone());
        let server =
            https_server::spawn(app, &ca.server_cert_pem, &ca.server_key_pem, "release-host");
        ReleaseHost {
            ca,
            shared,
            server,
            _ca_dir: ca_dir,
        }
    }

    /// `https://127.0.0.1:PORT/PREFIX`: the release's base URL.
    pub fn url(&self, prefix: &str) -> String {
        format!("https://127.0.0.1:{}/{prefix}", self.server.addr.port())
    }

    /// How often `name` was asked for.
    pub fn requests(&self, name: &str) -> usize {
        let counts = self.shared.requests.lock().expect("the request counts");
        counts.get(name).copied().unwrap_or(0)
    }
}

/// `GET /ANY/PREFIX/NAME`: the file NAME of the root, whatever the prefix (a
/// release URL ends in `/download/vVERSION` or `/latest/download`).
async fn file(
    State(shared): State<Shared>,
    UrlPath(path): UrlPath<String>,
) -> (StatusCode, Vec<u8>) {
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    *shared
        .requests
        .lock()
        .expect("the request counts")
        .entry(name.clone())
        .or_default() += 1;
    if name.is_empty() || name.starts_with('.') {
        return (StatusCode::NOT_FOUND, Vec::new());
    }
    match std::fs::read(shared.root.join(&name)) {
        Ok(bytes) => (StatusCode::OK, bytes),
        Err(_) => (StatusCode::NOT_FOUND, Vec::new()),
    }
}

/// This machine's release target, as install.sh and release/build.sh name it.
pub fn host_target() -> String {
    let os = match std::env::consts::OS {
        "macos" => "apple-darwin",
        "windows" => "pc-windows-gnu",
        _ => "unknown-linux-musl",
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// A release directory of this machine's archive and SHA256SUMS, in a
/// directory of its own (tests tamper with it): a copy of
/// `$SCALR_OCI_RELEASE_DIR` (what release/build.sh wrote) when that is set,
/// else one made here from the binaries under test, laid out as
/// release/build.sh lays it out (`scalr-oci-VERSION-TARGET/` holding the
/// three binaries and scalr-pre-init.sh).
pub struct Release {
    pub dir: tempfile::TempDir,
    pub version: String,
    /// `scalr-oci-VERSION-TARGET.tar.gz`
    pub archive: String,
}

impl Release {
    pub fn staged() -> Release {
        let dir = tempfile::tempdir().expect("a release directory");
        let target = host_target();
        if let Some(built) = std::env::var_os("SCALR_OCI_RELEASE_DIR").filter(|d| !d.is_empty()) {
            let built = PathBuf::from(built);
            let mut archive = None;
            for entry in std::fs::read_dir(&built).expect("read $SCALR_OCI_RELEASE_DIR") {
                let entry = entry.expect("a directory entry");
                let name = entry.file_name().to_string_lossy().into_owned();
                std::fs::copy(entry.path(), dir.path().join(&name)).expect("copy a release file");
                if name.ends_with(&format!("-{target}.tar.gz")) {
                    archive = Some(name);
                }
            }
            let archive = archive
                .unwrap_or_else(|| panic!("{} has no archive for {target}", built.display()));
            let version = archive
                .trim_start_matches("scalr-oci-")
                .trim_end_matches(&format!("-{target}.tar.gz"))
                .to_string();
            return Release {
                dir,
                version,
                archive,
            };
        }
        let version = "9.9.9".to_string();
        let name = format!("scalr-oci-{version}-{target}");
        let stage = tempfile::tempdir().expect("a staging directory");
        let top = stage.path().join(&name);
        std::fs::create_dir(&top).expect("the archive's top directory");
        let bins = [
            ("docker-credential-scalr", peers::helper_bin().to_path_buf()),
            (
                "terraform-credentials-scalr",
                peers::our_bin(
                    "SCALR_OCI_HOST_HELPER_BIN",
                    "docker-credential-scalr",
                    "terraform-credentials-scalr",
                ),
            ),
            ("scalr-oci", crate::tofu::scalr_oci_bin().to_path_buf()),
        ];
        for (bin, path) in bins {
            std::fs::copy(path, top.join(bin)).expect("copy a binary into the archive");
        }
        let pre_init = Path::new(env!("CARGO_MANIFEST_DIR")).join("../install/scalr-pre-init.sh");
        std::fs::copy(pre_init, top.join("scalr-pre-init.sh")).expect("copy scalr-pre-init.sh");
        let archive = format!("{name}.tar.gz");
        let status = std::process::Command::new("tar")
            .arg("-C")
            .arg(stage.path())
            .arg("-czf")
            .arg(dir.path().join(&archive))
            .arg(&name)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar failed");
        let release = Release {
            dir,
            version,
            archive,
        };
        release.write_sums();
        release
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Flips one byte in the middle of the archive after SHA256SUMS was
    /// written, as a compromised mirror or a broken download would serve it.
    pub fn tamper_with_the_archive(&self) {
        let path = self.path(&self.archive);
        let mut bytes = std::fs::read(&path).expect("read the archive");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, bytes).expect("write the archive");
    }

    /// Rewrites SHA256SUMS over every other file, as release/build.sh does.
    pub fn write_sums(&self) {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read the release directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n != "SHA256SUMS")
            .collect();
        names.sort();
        let sums: String = names
            .iter()
            .map(|n| {
                let bytes = std::fs::read(self.path(n)).expect("read a release file");
                format!("{}  {n}\n", sha256_hex(&bytes))
            })
            .collect();
        std::fs::write(self.path("SHA256SUMS"), sums).expect("write SHA256SUMS");
    }
}
