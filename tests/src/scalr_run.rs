//! The helper run as in a Scalr run: no keychain, `SCALR_HOSTNAME` and
//! `SCALR_TOKEN` of one fake control plane, its CA as `SSL_CERT_FILE`. Shared
//! by the control-plane and cache-attack tests.

use std::ffi::{OsStr, OsString};
use std::process::Command;
use std::time::Duration;

use crate::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use crate::keyring_session::NoKeychain;
use crate::peers::{self, Output};

pub struct ScalrRun {
    pub fake: FakeControlPlane,
    pub home: NoKeychain,
    /// More environment for every helper call.
    pub extra: Vec<(OsString, OsString)>,
}

impl ScalrRun {
    pub fn new() -> ScalrRun {
        ScalrRun::with(FakeControlPlane::start())
    }

    pub fn with(fake: FakeControlPlane) -> ScalrRun {
        // The first call may build the helper (half a minute in a fresh
        // clone): never inside a timed section or before an expiry is set.
        peers::helper_bin();
        ScalrRun {
            fake,
            home: NoKeychain::new(),
            extra: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> ScalrRun {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Adds an active integration that exports its credentials; returns its
    /// id. (Anything else: `self.fake.add_integration(IntegrationSpec …)`.)
    pub fn integration(&self, registry_url: &str, username: &str, password: &str) -> String {
        self.fake
            .add_integration(IntegrationSpec::new(registry_url, username, password))
    }

    pub fn command(&self) -> Command {
        let mut cmd = self.home.command(peers::helper_bin());
        cmd.env("SCALR_HOSTNAME", self.fake.hostname())
            .env("SCALR_TOKEN", self.fake.token())
            .env("SSL_CERT_FILE", self.fake.ca_cert_path())
            .envs(self.extra.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn get(&self, server: &str) -> Output {
        self.get_with::<&str>(server, &[])
    }

    /// A `get` with more environment, over the run's own (e.g. another
    /// `SCALR_TOKEN` for this call only).
    pub fn get_with<V: AsRef<OsStr>>(&self, server: &str, env: &[(&str, V)]) -> Output {
        let mut cmd = self.command();
        cmd.envs(env.iter().map(|(k, v)| (k, v))).arg("get");
        peers::run(&mut cmd, server.as_bytes(), Duration::from_secs(90))
    }
}

impl Default for ScalrRun {
    fn default() -> Self {
        ScalrRun::new()
    }
}
