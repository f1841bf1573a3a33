//! `terraform-credentials-scalr` where OpenTofu finds it: the plugin
//! directory, what is placed there, and placing it.
//!
//! Facts from OpenTofu v1.12.6's source:
//! - OpenTofu runs `terraform-credentials-NAME` from its global plugin
//!   directories only (cmd/tofu/plugins.go: `plugins` and `plugins/OS_ARCH`
//!   of each data directory). On Unix: `~/.terraform.d/plugins` and, only
//!   when `XDG_DATA_HOME` is set, `$XDG_DATA_HOME/opentofu/plugins`.
//!   Creating `~/.terraform.d` moves OpenTofu's config directory away from
//!   `$XDG_CONFIG_HOME/opentofu`, so a setup living there gets the XDG data
//!   directory instead (the same rule as install/install.sh). On Windows:
//!   `%APPDATA%\terraform.d\plugins` (cliconfig/config_windows.go: the data
//!   directory is the config directory, under `SHGetFolderPath(CSIDL_APPDATA)`;
//!   no XDG variable counts there).
//! - Any file there named `terraform-credentials-NAME` counts, `.exe` trimmed
//!   (internal/plugin/discovery/find.go); a dot-prefixed temporary name never
//!   does. On Windows we place `terraform-credentials-scalr.exe`, the name
//!   Windows runs ([`PLUGIN_FILE`]).
//! - The plugin is found with `os.Stat`, which follows links. On Unix we
//!   place a symbolic link to the installed binary, so that an upgrade of the
//!   binary needs no second copy, and so that we can tell our link from a
//!   file we must not touch. On Windows we place a copy: a symbolic link needs
//!   SeCreateSymbolicLinkPrivilege (an administrator, or Developer Mode),
//!   which most users do not have, and a hard link works on one volume only
//!   and silently keeps the old binary when an upgrade replaces the file. A
//!   copy works for everyone; we know it is ours when its bytes are the
//!   installed binary's, and after an upgrade `status` says it differs and
//!   `configure tofu --credentials-helper --force` copies it again.

use std::path::{Path, PathBuf};

use super::{PLUGIN, PLUGIN_FILE};
use crate::environment::Env;
#[cfg(windows)]
use crate::error::Error;
use crate::error::Result;

/// The directory OpenTofu searches that we place the plugin in.
#[cfg(not(windows))]
pub fn plugin_dir(env: &Env) -> Result<PathBuf> {
    let dot = env.home()?.join(".terraform.d");
    Ok(match (&env.xdg_config_home, &env.xdg_data_home) {
        (Some(config), Some(data)) if !dot.exists() && config.join("opentofu").is_dir() => {
            data.join("opentofu").join("plugins")
        }
        _ => dot.join("plugins"),
    })
}

/// The directory OpenTofu searches that we place the plugin in.
#[cfg(windows)]
pub fn plugin_dir(env: &Env) -> Result<PathBuf> {
    let appdata = env.appdata.as_ref().ok_or(Error::NoHome)?;
    Ok(appdata.join("terraform.d").join("plugins"))
}

/// Where the plugin is (or would be) placed: [`PLUGIN_FILE`] in
/// [`plugin_dir`].
pub fn plugin_path(env: &Env) -> Result<PathBuf> {
    Ok(plugin_dir(env)?.join(PLUGIN_FILE))
}

/// The installed `terraform-credentials-scalr`: beside this program (as
/// install.sh and `cargo install` put them), else on `env`'s `PATH`.
pub fn installed_plugin(env: &Env) -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(PLUGIN_FILE)))
        .filter(|p| p.is_file());
    beside.or_else(|| env.find_on_path(PLUGIN))
}

/// What is at the plugin's place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A link to `target` (ours when it is the installed binary).
    Link(PathBuf),
    /// A file with the installed binary's bytes: our copy (Windows).
    Copy,
    /// A file or something else that is neither.
    Other,
    Missing,
}

/// What is at `dir`'s plugin place, compared with `installed`.
pub fn placement(dir: &Path, installed: Option<&Path>) -> Placement {
    let place = dir.join(PLUGIN_FILE);
    match std::fs::symlink_metadata(&place) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&place) {
            Ok(target) => Placement::Link(target),
            Err(_) => Placement::Other,
        },
        Ok(m) if m.is_file() && installed.is_some_and(|bin| same_bytes(&place, bin)) => {
            Placement::Copy
        }
        Ok(_) => Placement::Other,
        Err(_) => Placement::Missing,
    }
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    len(a).is_some() && len(a) == len(b) && {
        matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
    }
}

/// Places `dir`'s plugin for `target` (a link on Unix, a copy on Windows),
/// replacing an older one of ours atomically (a new one beside it, then a
/// rename).
pub fn place(dir: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{PLUGIN_FILE}.new"));
    let _ = std::fs::remove_file(&tmp);
    placing::put(target, &tmp)?;
    std::fs::rename(&tmp, dir.join(PLUGIN_FILE))
}

/// How the plugin gets to its place, and the words for it (module docs:
/// why a link on Unix and a copy on Windows).
#[cfg(unix)]
pub(super) mod placing {
    use std::path::Path;

    pub const VERB: &str = "link";
    pub const DONE: &str = "linked";
    pub const NOT_OURS: &str = "is not a link of ours";

    pub fn put(target: &Path, at: &Path) -> std::io::Result<()> {
        std::os::unix::fs::symlink(target, at)
    }

    pub fn shown(place: &str, binary: &Path) -> String {
        format!("{place} -> {}", binary.display())
    }
}

#[cfg(not(unix))]
pub(super) mod placing {
    use std::path::Path;

    pub const VERB: &str = "copy";
    pub const DONE: &str = "copied";
    pub const NOT_OURS: &str = "is not a copy of the installed one";

    pub fn put(target: &Path, at: &Path) -> std::io::Result<()> {
        std::fs::copy(target, at).map(drop)
    }

    pub fn shown(place: &str, binary: &Path) -> String {
        format!("{place} (a copy of {})", binary.display())
    }
}
