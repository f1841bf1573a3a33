//! What the bench set-ups (`src/bin/bench-env/`, one module per bench
//! script) share: the `ready` handshake, the stage they start in their
//! directory, and the sh scripts they write for the bench to time.
//!
//! The protocol with the script (bench/lib.sh `start_setup_env`): the binary
//! prints `ready` once everything is up and checked, then serves until the
//! script closes its stdin; the caller then drops (stops) what it started.

use std::io::{Read, Write};
use std::path::Path;

#[cfg(unix)]
pub use self::unix::*;

/// Prints `ready` and blocks until stdin closes (the script holds it open).
pub fn ready_then_serve() {
    println!("ready");
    std::io::stdout().flush().expect("flush stdout");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Single-quoted for sh.
pub fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// The `main` of a bench set-up where there is no Unix stage: says so,
/// naming the binary, and fails.
pub fn unix_only(binary: &str) -> std::process::ExitCode {
    eprintln!("{binary}: needs a Unix stage (gnome-keyring over D-Bus)");
    std::process::ExitCode::FAILURE
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use base64::Engine as _;

    use super::quote;
    use crate::keyring_session::KeyringSession;
    use crate::peers::{self, Output, Peer};
    use crate::registry::Registry;
    use crate::stage::{Auth, Keychain, Stage};
    use crate::tofu::{self, Env};

    /// The registry user of every bench set-up.
    pub const USER: &str = "bench-bot";

    /// The stage of a bench set-up, its scratch directory inside `dir`
    /// (made and resolved here; returned resolved): a real registry
    /// (htpasswd, HTTPS with the test CA) for [`USER`], OpenTofu, ORAS and
    /// the peers `extra`. `dir/bin` links to the stage's bin directory (our
    /// helper and those peers, nothing else), where the bench script finds
    /// the tools' versions. `None` after a loud skip.
    pub fn stage(dir: &Path, extra: &[Peer]) -> Option<(PathBuf, Stage)> {
        std::fs::create_dir_all(dir).expect("create DIR");
        let dir = std::fs::canonicalize(dir).expect("resolve DIR");
        let stage = Stage::new_in(&dir, "stage-", Auth::Htpasswd(USER), extra)?;
        std::os::unix::fs::symlink(&stage.bin, dir.join("bin")).expect("link DIR/bin");
        Some((dir, stage))
    }

    /// What `bench/module-publish.sh` and `bench/provider-mirror.sh` compare:
    /// our command with the password in the keychain, and ORAS's recipe
    /// with it in plain text.
    pub struct KeychainVsPlainText {
        /// `DIR`, resolved.
        pub dir: PathBuf,
        pub stage: Stage,
        /// The password stored by `scalr-oci registry add`.
        pub keychain: Keychain,
        /// ORAS's config ([`oras_plain_text_config`]).
        pub oras_config: PathBuf,
    }

    impl KeychainVsPlainText {
        /// In `dir` ([`stage`], with the keyring's peers); `None` after a
        /// loud skip.
        pub fn start(dir: &Path) -> Option<KeychainVsPlainText> {
            let (dir, stage) = stage(dir, KeyringSession::PEERS)?;
            let keychain = stage.keychain_by_registry_add(USER);
            let oras_config = oras_plain_text_config(&dir, &stage);
            Some(KeychainVsPlainText {
                dir,
                stage,
                keychain,
                oras_config,
            })
        }

        /// Runs each of the scripts `names` in DIR once ([`run_checked`]),
        /// then serves ([`super::ready_then_serve`]) and stops everything.
        pub fn check_and_serve(self, names: &[&str]) -> ExitCode {
            for name in names {
                run_checked(&self.dir.join(name), &self.stage.registry);
            }
            super::ready_then_serve();
            drop(self.keychain);
            drop(self.stage);
            ExitCode::SUCCESS
        }
    }

    /// ORAS's credentials as `oras login` leaves them, in `dir/oras`:
    /// plain-text `auths` for the stage's registry (a throw-away password).
    pub fn oras_plain_text_config(dir: &Path, stage: &Stage) -> PathBuf {
        let config = dir.join("oras/config.json");
        std::fs::create_dir_all(config.parent().expect("a parent")).expect("mkdir oras");
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", stage.password));
        std::fs::write(
            &config,
            serde_json::json!({ "auths": { stage.registry.authority(): { "auth": auth } } })
                .to_string(),
        )
        .expect("write the ORAS config");
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the ORAS config");
        config
    }

    /// `KEY='value' …` for `env -i`.
    pub fn env_args(env: &Env) -> String {
        env.keys()
            .iter()
            .map(|key| {
                let value = env.get(key).expect("listed");
                format!("{key}={}", quote(Path::new(value)))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// An executable sh script at `path` running `body`.
    pub fn script(path: &Path, body: &str) {
        std::fs::write(
            path,
            format!("#!/bin/sh\n# Generated by bench-env.\n{body}"),
        )
        .expect("write a script");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// Runs the script at `path` once and panics unless it succeeded (with
    /// the registry's log), so that the bench never times a failure.
    pub fn run_checked(path: &Path, registry: &Registry) -> Output {
        let out = peers::run(
            &mut std::process::Command::new(path),
            b"",
            tofu::TOFU_TIMEOUT,
        );
        registry.assert_success(&out, &path.display().to_string());
        out
    }
}
