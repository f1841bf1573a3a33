//! Which files OpenTofu reads its CLI configuration from, and in which
//! syntax: the set `tofu` merges, found exactly as OpenTofu finds it.

use std::path::PathBuf;

use crate::environment::Env;
use crate::error::Result;

/// The files OpenTofu reads, in the order it merges them.
#[derive(Debug, Clone)]
pub struct TofuFiles {
    /// The main CLI config file (it may not exist yet): where new blocks go.
    pub primary: PathBuf,
    /// Existing `*.tfrc` / `*.tfrc.json` files of the config directory.
    pub merged: Vec<PathBuf>,
}

impl TofuFiles {
    /// Every file of the set, the primary one first.
    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.primary).chain(self.merged.iter())
    }

    /// Exactly the set OpenTofu would read. `TF_CLI_CONFIG_FILE` replaces the
    /// whole set; otherwise the home-directory file plus the config directory.
    pub fn find(env: &Env) -> Result<TofuFiles> {
        if let Some(file) = &env.tf_cli_config_file {
            return Ok(TofuFiles::only(file.clone()));
        }
        let (primary, dir) = default_paths(env)?;
        let mut merged = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let wanted = name.ends_with(".tfrc") || name.ends_with(".tfrc.json");
                if wanted && entry.path().is_file() {
                    merged.push(entry.path());
                }
            }
        }
        // Go's os.ReadDir returns names sorted; so does OpenTofu's merge.
        merged.sort();
        Ok(TofuFiles { primary, merged })
    }

    /// `--file PATH`: that file alone, as if it were `TF_CLI_CONFIG_FILE`.
    pub fn only(file: PathBuf) -> TofuFiles {
        TofuFiles {
            primary: file,
            merged: Vec::new(),
        }
    }
}

/// OpenTofu's `configFile()` and `configDir()`.
#[cfg(not(windows))]
fn default_paths(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let home = env.home()?;
    let new = home.join(".tofurc");
    let legacy = home.join(".terraformrc");
    let primary = match &env.xdg_config_home {
        // A fresh install uses the XDG location.
        Some(xdg) if !legacy.exists() && !new.exists() => xdg.join("opentofu").join("tofurc"),
        _ if !new.exists() && legacy.exists() => legacy,
        _ => new,
    };
    let mut dir = home.join(".terraform.d");
    if let Some(xdg) = &env.xdg_config_home
        && !dir.exists()
    {
        dir = xdg.join("opentofu");
    }
    Ok((primary, dir))
}

#[cfg(windows)]
fn default_paths(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let appdata = env.appdata.as_ref().ok_or(crate::error::Error::NoHome)?;
    let new = appdata.join("tofu.rc");
    let legacy = appdata.join("terraform.rc");
    let primary = if !new.exists() && legacy.exists() {
        legacy
    } else {
        new
    };
    Ok((primary, appdata.join("terraform.d")))
}
