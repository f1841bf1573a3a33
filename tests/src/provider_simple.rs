//! OpenTofu's own test provider, `internal/provider-simple-v6/main` from the
//! pinned OpenTofu module, which `tests/peers/install.sh` cross-builds and
//! packs as official release zips
//! (`terraform-provider-simple_1.0.0_OS_ARCH.zip`) into
//! `${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/provider-simple`.
//! Missing, a test skips loudly, or fails with `CI` set, like every peer.

use std::path::PathBuf;

/// The version install.sh packs.
pub const VERSION: &str = "1.0.0";
/// The platforms install.sh builds, in Go's names.
pub const PLATFORMS: &[&str] = &[
    "darwin_arm64",
    "linux_amd64",
    "linux_arm64",
    "windows_amd64",
];

/// The zips, one per platform of [`PLATFORMS`], in that order.
pub struct Zips {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

impl Zips {
    pub fn file_name(platform: &str) -> String {
        format!("terraform-provider-simple_{VERSION}_{platform}.zip")
    }

    pub fn path(&self, platform: &str) -> PathBuf {
        self.dir.join(Zips::file_name(platform))
    }
}

/// The zips, or `None` after a loud skip (a panic with `CI` set).
pub fn require() -> Option<Zips> {
    let dir = std::env::var_os("SCALR_OCI_PEERS_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/scalr-oci-peers"))
        })
        .map(|cache| cache.join("provider-simple"));
    let files: Option<Vec<PathBuf>> = dir.as_ref().and_then(|dir| {
        PLATFORMS
            .iter()
            .map(|p| dir.join(Zips::file_name(p)))
            .map(|f| f.is_file().then_some(f))
            .collect()
    });
    if let (Some(dir), Some(files)) = (dir, files)
        && dir.join(".stamp").is_file()
    {
        return Some(Zips { dir, files });
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("an end-to-end test")
        .to_string();
    let what = "OpenTofu's provider-simple-v6 zips (built from the Go module proxy)";
    crate::peers::missing_peers(&test, what);
    None
}
