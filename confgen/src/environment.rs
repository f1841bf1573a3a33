//! The process environment as scalr-oci reads it, once: the variables that
//! decide where config files live ([`Env`], so that every module and every
//! test agrees on them), the helper's settings variables, and `PATH`, where
//! [`Env::find_on_path`] finds the helper binaries.
//!
//! Not to be confused with [`crate::tofurc::TofuFiles`], which is the set of
//! OpenTofu CLI config files derived from an `Env`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use docker_credential_scalr::settings::Settings;

use crate::error::{Error, Result};

/// The executable every configuration points at.
pub const HELPER_BINARY: &str = "docker-credential-scalr";

#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Read through [`Env::home`], which refuses a relative `HOME`.
    pub home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    pub tf_cli_config_file: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    #[cfg_attr(not(windows), allow(dead_code))]
    pub appdata: Option<PathBuf>,
    /// `SCALR_HOSTNAME`, as a Scalr run sets it.
    pub scalr_hostname: Option<String>,
    /// Whether `SCALR_TOKEN` is set (its value is never kept here).
    pub scalr_token_set: bool,
    /// The names of the `TF_TOKEN_<host>` variables that are set (OpenTofu
    /// reads them before any file or helper); never their values.
    pub tf_token_vars: Vec<String>,
    /// `PATH`, where OpenTofu and Docker look for the helpers.
    pub path: Option<OsString>,
    /// The variables the helper's settings read (`SCALR_HOSTNAME`,
    /// `SCALR_OCI_*`, `XDG_CONFIG_HOME`), by name; none of them is a secret.
    pub settings_vars: Vec<(String, String)>,
    /// `SOURCE_DATE_EPOCH`: the time a reproducible `module publish` stamps.
    pub source_date_epoch: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        // Like Go's os.Getenv checks: an empty variable counts as unset.
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        // The XDG base directory spec: a relative path in these variables
        // is invalid and ignored.
        let absolute = |name: &str| var(name).filter(|p| p.is_absolute());
        Env {
            home: dirs::home_dir(),
            xdg_config_home: absolute("XDG_CONFIG_HOME"),
            xdg_runtime_dir: absolute("XDG_RUNTIME_DIR"),
            // As OpenTofu reads it: any non-empty value.
            xdg_data_home: var("XDG_DATA_HOME"),
            tf_cli_config_file: var("TF_CLI_CONFIG_FILE"),
            docker_config: var("DOCKER_CONFIG"),
            registry_auth_file: var("REGISTRY_AUTH_FILE"),
            appdata: var("APPDATA"),
            scalr_hostname: std::env::var("SCALR_HOSTNAME")
                .ok()
                .filter(|h| !h.trim().is_empty()),
            scalr_token_set: std::env::var_os("SCALR_TOKEN")
                .is_some_and(|t| !t.to_string_lossy().trim().is_empty()),
            tf_token_vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    let k = k.into_string().ok()?;
                    (k.starts_with("TF_TOKEN_") && !v.is_empty()).then_some(k)
                })
                .collect(),
            path: std::env::var_os("PATH"),
            settings_vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
                    is_settings_var(&k).then_some((k, v))
                })
                .collect(),
            source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
        }
    }

    /// The helper's settings, read as the helper reads them, from this
    /// environment (the settings file it names, then its variables).
    pub fn settings(&self) -> docker_credential_scalr::Result<Settings> {
        Settings::from_env(&|name| self.settings_var(name).map(str::to_string))
    }

    /// One of the variables of [`Env::settings_vars`] (`SCALR_OCI_DEADLINE`
    /// is one), when set.
    pub fn settings_var(&self, name: &str) -> Option<&str> {
        self.settings_vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The executable `name` as a shell (or OpenTofu's exec.LookPath) finds
    /// it on this environment's `PATH`: the file itself, so `name.exe` on
    /// Windows.
    pub fn find_on_path(&self, name: &str) -> Option<PathBuf> {
        let file = executable_file_name(name);
        std::env::split_paths(self.path.as_ref()?).find_map(|dir| {
            let candidate = dir.join(&file);
            is_executable(&candidate).then_some(candidate)
        })
    }

    /// `TF_TOKEN_<host>` for a host, as OpenTofu names it (`-` → `__`,
    /// `.` → `_`), when that variable is set.
    pub fn tf_token_var(&self, host: &str) -> Option<&str> {
        let name = format!("TF_TOKEN_{}", host.replace('-', "__").replace('.', "_"));
        self.tf_token_vars
            .iter()
            .find(|v| **v == name)
            .map(String::as_str)
    }
}

impl Env {
    /// The home directory. A relative `HOME` is refused: every file would
    /// land under whatever the working directory happens to be.
    pub fn home(&self) -> Result<&Path> {
        match &self.home {
            Some(home) if home.is_relative() => Err(Error::RelativeHome(home.clone())),
            Some(home) => Ok(home),
            None => Err(Error::NoHome),
        }
    }
}

/// Whether the helper's settings read the variable `name`.
fn is_settings_var(name: &str) -> bool {
    name.starts_with("SCALR_OCI_") || name == "SCALR_HOSTNAME" || name == "XDG_CONFIG_HOME"
}

/// The file name of program `name`: `name.exe` on Windows, where Docker's
/// and Go's PATH lookups add the extension, `name` elsewhere.
pub fn executable_file_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
