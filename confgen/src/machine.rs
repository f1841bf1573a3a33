//! What one run of scalr-oci works with, made once by the command line
//! before a command runs: the environment ([`Env`]), the helper's settings
//! read from it, and the one OS keychain of the process. Commands get it
//! passed in, so none reads the process environment or the settings file,
//! or opens a keychain of its own; [`crate::inventory::Inventory`] scans the
//! machine's files from it.

use std::sync::Arc;

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::settings::Settings;

use crate::environment::Env;
use crate::error::Result;

pub struct Machine {
    pub env: Env,
    /// Read once; a broken settings file is kept as its error, which each
    /// command that needs the settings returns (status shows it).
    settings: std::result::Result<Settings, SettingsFailure>,
    /// Shared with the helper's resolver, which takes an `Arc`.
    keychain: Arc<Keychain>,
}

/// Why the settings could not be read: the helper's `Error::Settings`,
/// kept so that it can be returned again.
struct SettingsFailure {
    path: String,
    reason: String,
}

impl Machine {
    /// The settings are read from `env` now; the keychain is opened on
    /// first use.
    pub fn new(env: Env) -> Machine {
        use docker_credential_scalr::Error as HelperError;
        let settings = env.settings().map_err(|e| match e {
            HelperError::Settings { path, reason } => SettingsFailure { path, reason },
            other => SettingsFailure {
                path: "the settings".into(),
                reason: other.to_string(),
            },
        });
        Machine {
            env,
            settings,
            // The one keychain of the process.
            keychain: Arc::new(Keychain::new()),
        }
    }

    /// The helper's settings, or why they could not be read.
    pub fn settings(&self) -> Result<&Settings> {
        self.settings.as_ref().map_err(|f| {
            docker_credential_scalr::Error::Settings {
                path: f.path.clone(),
                reason: f.reason.clone(),
            }
            .into()
        })
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The keychain, for the helper's resolver.
    pub fn shared_keychain(&self) -> Arc<Keychain> {
        self.keychain.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(file: &std::path::Path) -> Machine {
        Machine::new(Env {
            settings_vars: vec![("SCALR_OCI_CONFIG".into(), file.display().to_string())],
            ..Env::default()
        })
    }

    /// The settings come from the `Env`, not the process: a settings file
    /// named by the Env's SCALR_OCI_CONFIG is read, and a broken one is an
    /// error that every asker gets, naming the file.
    #[test]
    fn the_settings_come_from_the_env() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "[control_plane]\nhostname = \"acme.scalr.io\"\n",
        )
        .unwrap();
        let hostname = reading(file.path()).settings().unwrap().hostname.clone();
        assert_eq!(hostname.as_deref(), Some("acme.scalr.io"));

        std::fs::write(file.path(), "sources = 3\n").unwrap();
        let broken = reading(file.path());
        for _ in 0..2 {
            let e = broken.settings().unwrap_err().to_string();
            assert!(e.contains(&file.path().display().to_string()), "{e}");
        }
    }
}
