//! The stage of the OpenTofu module tests (`tofu_init`, `module_publish`):
//! a real registry, OpenTofu and ORAS, a scratch area outside HOME, and a
//! `PATH` of exactly our helper and the peers those tests drive.
//!
//! Decisions: every registry user shares the stage's one fresh password (the
//! secret each test searches its files for at the end); the registry's
//! authentication is a parameter ([`Auth`]), the rest is the same for every
//! test; the two environments a test can give a child, a real keyring's
//! ([`Stage::keychain_env`]) and a Scalr run's ([`Stage::scalr_run_env`]),
//! are built here so that both test files hand their children the same
//! variables.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use crate::keyring_session::KeyringSession;
use crate::peers::{self, Peer};
use crate::registry::Registry;
use crate::secrets::fresh_secret;
use crate::tofu::{self, Env, Tools};
use crate::token_server::User;

/// The repository the module tests publish to.
pub const REPO: &str = "tofu/network";

/// How the stage's registry authenticates its users (all with the stage's
/// password).
#[derive(Clone, Debug)]
pub enum Auth<'a> {
    /// htpasswd (Basic), one user.
    Htpasswd(&'a str),
    /// `auth: token` with our token server (Bearer, as ghcr.io, Docker Hub
    /// and GitLab): each user with the actions it may take; `realm` replaces
    /// the token server's own in the registry's challenge (attack tests).
    Token {
        users: &'a [(&'a str, &'a [&'a str])],
        realm: Option<String>,
    },
}

/// A registry, the tools, a scratch area and a `PATH` of exactly our helper,
/// tofu, oras and (when the test needs it) docker.
pub struct Stage {
    pub tools: Tools,
    pub registry: Registry,
    pub password: String,
    /// Module sources, zips, the bin directory, ORAS's config.
    pub scratch: TempDir,
    /// Our helper and the peers, and nothing else: the `PATH`.
    pub bin: PathBuf,
}

/// The (fake) Scalr control plane of a Scalr run, exporting the stage's
/// registry credentials.
pub struct ControlPlane {
    pub fake: FakeControlPlane,
    /// The integration that exports them.
    pub integration: String,
    /// The registry's CA and the fake's, concatenated: `SSL_CERT_FILE`.
    pub bundle: PathBuf,
}

impl Stage {
    /// Needs the registry's peers, OpenTofu, ORAS and `extra` (docker, when
    /// among them, goes on `PATH` too); `None` after a loud skip. `prefix`
    /// names the scratch directory.
    pub fn new(prefix: &str, auth: Auth<'_>, extra: &[Peer]) -> Option<Stage> {
        let mut needed = Registry::PEERS.to_vec();
        needed.extend_from_slice(extra);
        let tools = tofu::require(&needed)?;
        let password = fresh_secret("registry");
        let registry = match auth {
            Auth::Htpasswd(user) => Registry::start(&tools.found, user, &password),
            Auth::Token { users, realm } => Registry::start_token_with_realm(
                &tools.found,
                users
                    .iter()
                    .map(|(name, actions)| User::new(name, &password, actions))
                    .collect(),
                realm,
            ),
        };
        let scratch = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("a scratch directory");
        let mut programs: Vec<&Path> = vec![peers::helper_bin(), &tools.tofu, &tools.oras];
        if extra.contains(&Peer::Docker) {
            programs.push(tools.found.path(Peer::Docker));
        }
        let bin = tofu::bin_dir(&scratch.path().join("bin"), &programs);
        Some(Stage {
            tools,
            registry,
            password,
            scratch,
            bin,
        })
    }

    /// `oci://HOST:PORT/tofu/network` followed by `rest` (`?tag=1.0.0`,
    /// `//modules/vpc?…`, or nothing).
    pub fn source(&self, rest: &str) -> String {
        format!("oci://{}/{REPO}{rest}", self.registry.authority())
    }

    /// ORAS's Docker-style config: `credHelpers` sends the registry to us.
    pub fn oras_config(&self) -> PathBuf {
        let path = self.scratch.path().join("oras/config.json");
        tofu::write_docker_config(&path, &[&self.registry.authority()]);
        path
    }

    /// The keyring session's variables, `PATH` = the bin directory only, and
    /// the registry's CA as `SSL_CERT_FILE` (no `SSL_CERT_DIR`).
    pub fn keychain_env(&self, session: &KeyringSession) -> Env {
        let mut env = Env::from_vars(session.env());
        env.set("PATH", &self.bin)
            .set("SSL_CERT_FILE", self.registry.ca_cert())
            .remove("SSL_CERT_DIR");
        env
    }

    /// A fake control plane whose integration exports `username` with the
    /// stage's password for this registry.
    pub fn control_plane(&self, username: &str) -> ControlPlane {
        let fake = FakeControlPlane::start();
        let integration = fake.add_integration(IntegrationSpec::new(
            &format!("https://{}", self.registry.authority()),
            username,
            &self.password,
        ));
        let bundle = tofu::ca_bundle(
            &self.scratch.path().join("ca-bundle.pem"),
            &[self.registry.ca_cert(), fake.ca_cert_path()],
        );
        ControlPlane {
            fake,
            integration,
            bundle,
        }
    }

    /// As in a Scalr run: `env -i` plus exactly PATH (the bin directory),
    /// HOME, SSL_CERT_FILE (`bundle`, see [`ControlPlane`]), SCALR_HOSTNAME
    /// (`fake`'s) and SCALR_TOKEN: no keychain at all.
    pub fn scalr_run_env(
        &self,
        fake: &FakeControlPlane,
        bundle: &Path,
        home: &Path,
        token: &str,
    ) -> Env {
        let mut env = Env::empty();
        env.set("PATH", &self.bin)
            .set("HOME", home)
            .set("SSL_CERT_FILE", bundle)
            .set("SCALR_HOSTNAME", fake.hostname())
            .set("SCALR_TOKEN", token);
        env
    }
}
