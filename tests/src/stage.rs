//! The one stage of the end-to-end tests that drive OpenTofu and ORAS
//! against a registry (`tofu_init`, `module_publish`, `provider_mirror`,
//! `scalr_run_hook`) and of the bench set-ups (`src/bin/bench-env/`): a real
//! registry, OpenTofu and ORAS, a scratch area outside HOME, and a `PATH` of
//! exactly our helper and the peers those tests drive.
//!
//! Decisions: every registry user shares the stage's one fresh password (the
//! secret each test searches its files for at the end); the registry's
//! authentication is a parameter ([`Auth`]), the rest is the same for every
//! test; the two environments a test can give a child, a real keyring's
//! ([`Stage::keychain_env`]) and a Scalr run's ([`Stage::scalr_run_env`]),
//! are built here so that both test files hand their children the same
//! variables. The two ways a test (or a bench set-up, `src/bin/bench-env/`)
//! puts the password into a real keyring are here too:
//! [`Stage::keychain_by_registry_add`] (`scalr-oci registry add`, password
//! on stdin) and [`Stage::docker_login`] (`docker login --password-stdin`
//! through our helper).

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use crate::keyring_session::KeyringSession;
use crate::peers::{self, Peer};
use crate::registry::Registry;
use crate::secrets::fresh_secret;
use crate::tofu::{self, Env, Tools, show};
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

/// A private keyring holding the stage's registry password, and the
/// environment that reaches it ([`Stage::keychain_env`]).
pub struct Keychain {
    pub session: KeyringSession,
    pub env: Env,
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
        Stage::start(None, prefix, auth, extra)
    }

    /// [`Stage::new`] with the scratch directory inside `parent` (a bench
    /// set-up's directory) instead of the system's temporary directory.
    pub fn new_in(parent: &Path, prefix: &str, auth: Auth<'_>, extra: &[Peer]) -> Option<Stage> {
        Stage::start(Some(parent), prefix, auth, extra)
    }

    fn start(parent: Option<&Path>, prefix: &str, auth: Auth<'_>, extra: &[Peer]) -> Option<Stage> {
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
        let mut builder = tempfile::Builder::new();
        builder.prefix(prefix);
        let scratch = match parent {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        }
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

    /// `oras manifest fetch REF` with `env` and [`Stage::oras_config`]: the
    /// manifest's bytes.
    pub fn oras_manifest_bytes(&self, env: &Env, reference: &str) -> Vec<u8> {
        tofu::oras_manifest_bytes(&self.tools, env, &self.oras_config(), reference)
    }

    /// [`Stage::oras_manifest_bytes`] as JSON.
    pub fn oras_manifest(&self, env: &Env, reference: &str) -> serde_json::Value {
        tofu::oras_manifest(&self.tools, env, &self.oras_config(), reference)
    }

    /// `tofu init` in `workdir` with `env`; panics unless it succeeded,
    /// showing the registry's log.
    pub fn tofu_init_ok(&self, env: &Env, workdir: &Path) -> peers::Output {
        let out = tofu::tofu_init(&self.tools, env, workdir);
        self.registry.assert_success(&out, "tofu init");
        out
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

    /// A private keyring (the stage needs [`KeyringSession::PEERS`]) into
    /// which `scalr-oci registry add HOST:PORT --username USER` stored the
    /// stage's password, read from stdin.
    pub fn keychain_by_registry_add(&self, user: &str) -> Keychain {
        let session = KeyringSession::start(&self.tools.found);
        let env = self.keychain_env(&session);
        let authority = self.registry.authority();
        let out = peers::run(
            env.command(tofu::scalr_oci_bin()).args([
                "registry",
                "add",
                &authority,
                "--username",
                user,
            ]),
            self.password.as_bytes(),
            tofu::TOFU_TIMEOUT,
        );
        assert!(out.status.success(), "registry add: {}", show(&out));
        Keychain { session, env }
    }

    /// Runs `test` on a stage ([`Stage::new`], with the keyring's peers)
    /// whose password `scalr-oci registry add` stored for `user` in a
    /// private keyring ([`Stage::keychain_by_registry_add`]): the stage, the
    /// keychain and the registry's `HOST:PORT`. Nothing after a loud skip.
    pub fn with_keychain(prefix: &str, user: &str, test: impl FnOnce(&Stage, &Keychain, &str)) {
        if let Some(stage) = Stage::new(prefix, Auth::Htpasswd(user), KeyringSession::PEERS) {
            let keychain = stage.keychain_by_registry_add(user);
            test(&stage, &keychain, &stage.registry.authority());
        }
    }

    /// A real `docker login HOST:PORT --password-stdin` as `user` with
    /// `env` (the stage needs [`Peer::Docker`]), its `DOCKER_CONFIG`'s
    /// `credHelpers` sending the registry to our helper. Checks that it
    /// succeeded and that Docker wrote no `auths` entry for the registry:
    /// the helper took the secret.
    pub fn docker_login(&self, env: &Env, user: &str) {
        let config = PathBuf::from(env.get("DOCKER_CONFIG").expect("DOCKER_CONFIG is set"))
            .join("config.json");
        let authority = self.registry.authority();
        tofu::write_docker_config(&config, &[&authority]);
        let out = tofu::docker_login(
            self.tools.found.path(Peer::Docker),
            env,
            &authority,
            user,
            &self.password,
        );
        assert!(
            out.status.success() && out.stdout_lossy().contains("Login Succeeded"),
            "docker login {authority}: {}\nregistry log:\n{}",
            show(&out),
            self.registry.log()
        );
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&config).expect("config.json"))
                .expect("config.json is JSON");
        assert_eq!(written["credHelpers"][&authority], "scalr", "{written}");
        assert!(
            written
                .get("auths")
                .is_none_or(|a| a.get(&authority).is_none_or(|e| e.get("auth").is_none())),
            "docker login wrote the credential into auths: keys {:?}",
            written.as_object().map(|o| o.keys().collect::<Vec<_>>())
        );
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

    /// A Scalr run's environment ([`Stage::scalr_run_env`], HOME the
    /// scratch area's `home`) whose control plane ([`Stage::control_plane`])
    /// exports `username` with the stage's password; and that control plane.
    pub fn scalr_run_exporting(&self, username: &str) -> (FakeControlPlane, Env) {
        let ControlPlane { fake, bundle, .. } = self.control_plane(username);
        let home = self.scratch.path().join("home");
        std::fs::create_dir_all(&home).expect("mkdir HOME");
        let env = self.scalr_run_env(&fake, &bundle, &home, &fake.token());
        (fake, env)
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
