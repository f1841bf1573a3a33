//! The stage of the registry-client tests (`docker_cli`, `skopeo`): a real
//! client that runs credential helpers, a real Secret Service, and a real
//! registry with one user.
//!
//! Decisions: the client finds `docker-credential-scalr` on `PATH` (our
//! helper's directory first, then this machine's `PATH`), like in real use;
//! the user's password is a fresh secret, the one each test searches its
//! files for at the end.

use std::process::Command;

use crate::keyring_session::KeyringSession;
use crate::peers::{self, Found, Peer};
use crate::registry::Registry;
use crate::secrets::fresh_secret;

pub struct ClientStage {
    pub found: Found,
    pub session: KeyringSession,
    pub registry: Registry,
    /// The registry user's password.
    pub secret: String,
    client: Peer,
}

impl ClientStage {
    /// Needs `client`, a Secret Service and the registry's peers; `None`
    /// after a loud skip. The registry accepts `user` with a fresh secret
    /// labelled `label`.
    pub fn start(client: Peer, user: &str, label: &str) -> Option<ClientStage> {
        let mut needed = vec![client];
        needed.extend_from_slice(KeyringSession::PEERS);
        needed.extend_from_slice(Registry::PEERS);
        let found = peers::require(&needed)?;
        let session = KeyringSession::start(&found);
        let secret = fresh_secret(label);
        let registry = Registry::start(&found, user, &secret);
        Some(ClientStage {
            found,
            session,
            registry,
            secret,
            client,
        })
    }

    /// The client in the keyring session's environment, finding
    /// `docker-credential-scalr` on `PATH`.
    pub fn command(&self) -> Command {
        let helper_dir = peers::helper_bin()
            .parent()
            .expect("the helper's directory");
        let mut cmd = self.session.command(self.found.path(self.client));
        cmd.env("PATH", peers::path_with(helper_dir));
        cmd
    }
}
