//! A stateful fake of the Scalr control plane API, served over TLS with a
//! test CA, for the end-to-end tests and the benchmarks.
//!
//! It holds the contract of `docs/control-plane.openapi.yaml`: bearer tokens,
//! `GET /integrations/docker` (JSON:API, paginated) and
//! `GET /integrations/docker/{id}/credentials`. It is also the Scalr host
//! OpenTofu talks to with the host token: service discovery and a private
//! module registry (`scalr_host`). Tests change its state and
//! inject faults while it runs, and read back every request it saw.
//!
//! ```no_run
//! use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, Fault, IntegrationSpec, Scope};
//! let fake = FakeControlPlane::start();
//! let id = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "bot", "pw"));
//! fake.inject(Scope::Credentials, Fault::ServerErrors { status: 503, times: 2 });
//! // SCALR_HOSTNAME=fake.hostname() SCALR_TOKEN=fake.token() SSL_CERT_FILE=fake.ca_cert_path()
//! assert_eq!(fake.credentials_requests(&id), 0);
//! ```

mod api;
pub(crate) mod drip;
mod faults;
mod scalr_host;
mod server;
mod state;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use faults::{Fault, RetryAfter, Scope, token_echoes};
pub use state::{AuthSeen, Integration, IntegrationSpec, RecordedRequest, Status, rfc3339};

use crate::tls::TestCa;
use faults::ActiveFault;
use server::{BASE, Running, Shared, lock};
use state::{State, Token, random_hex, random_id};

/// The running fake. Dropping it stops the server and closes every connection,
/// hung ones included.
pub struct FakeControlPlane {
    // Declared first so that it is dropped first: the server stops before its
    // certificate directory goes away.
    running: Running,
    shared: Shared,
    token: String,
    ca_cert: PathBuf,
    dir: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
}

impl fmt::Debug for FakeControlPlane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeControlPlane")
            .field("url", &self.url())
            .field("ca_cert", &self.ca_cert)
            .finish_non_exhaustive()
    }
}

impl FakeControlPlane {
    /// Starts on `127.0.0.1:<free port>` with a fresh CA in a temporary directory.
    pub fn start() -> FakeControlPlane {
        let tempdir = tempfile::tempdir().expect("a temporary directory");
        Self::launch(tempdir.path().to_path_buf(), Some(tempdir), false)
    }

    /// Like [`FakeControlPlane::start`], but the server's certificate comes from
    /// a second CA: a client trusting only [`FakeControlPlane::ca_cert_path`]
    /// must refuse it.
    pub fn start_untrusted() -> FakeControlPlane {
        let tempdir = tempfile::tempdir().expect("a temporary directory");
        Self::launch(tempdir.path().to_path_buf(), Some(tempdir), true)
    }

    /// Starts with the CA files (`ca.pem`, `server.pem`, `server-key.pem`) in
    /// `dir`, which outlives the fake.
    pub fn start_in(dir: &Path) -> FakeControlPlane {
        Self::launch(dir.to_path_buf(), None, false)
    }

    fn launch(dir: PathBuf, tempdir: Option<tempfile::TempDir>, untrusted: bool) -> Self {
        let ca = TestCa::create(&dir);
        let (cert_pem, key_pem) = if untrusted {
            let other = TestCa::create_named(&dir.join("untrusted"), "an untrusted CA");
            (other.server_cert_pem, other.server_key_pem)
        } else {
            (ca.server_cert_pem.clone(), ca.server_key_pem.clone())
        };
        let token = random_hex(20);
        let mut state = State::default();
        state.tokens.insert(
            token.clone(),
            Token {
                revoked: false,
                allowed: None,
            },
        );
        let shared = Shared::new(std::sync::Mutex::new(state));
        FakeControlPlane {
            running: server::spawn(shared.clone(), &cert_pem, &key_pem),
            shared,
            token,
            ca_cert: ca.ca_cert,
            dir,
            _tempdir: tempdir,
        }
    }

    /// `127.0.0.1:PORT`: the value for `SCALR_HOSTNAME`.
    pub fn hostname(&self) -> String {
        self.running.addr.to_string()
    }

    /// `https://127.0.0.1:PORT/api/iacp/v3`.
    pub fn url(&self) -> String {
        format!("https://{}{BASE}", self.hostname())
    }

    /// The token valid from the start, allowed to use every integration.
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// The CA to trust (`SSL_CERT_FILE`).
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert
    }

    /// Where the CA files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new valid token, allowed to use every integration.
    pub fn add_token(&self) -> String {
        let token = random_hex(20);
        lock(&self.shared).tokens.insert(
            token.clone(),
            Token {
                revoked: false,
                allowed: None,
            },
        );
        token
    }

    /// From now on, `token` gets 401.
    #[track_caller]
    pub fn revoke_token(&self, token: &str) {
        self.token_mut(token, |t| t.revoked = true);
    }

    /// Limits which integrations' credentials `token` may fetch; the others
    /// answer 404, as real Scalr does for a resource the token may not see.
    /// The list endpoint still shows every integration of the account.
    #[track_caller]
    pub fn allow_only(&self, token: &str, ids: &[&str]) {
        let ids: HashSet<String> = ids.iter().map(|s| s.to_string()).collect();
        self.token_mut(token, |t| t.allowed = Some(ids));
    }

    /// Undoes [`FakeControlPlane::allow_only`].
    #[track_caller]
    pub fn allow_all(&self, token: &str) {
        self.token_mut(token, |t| t.allowed = None);
    }

    #[track_caller]
    fn token_mut(&self, token: &str, f: impl FnOnce(&mut Token)) {
        match lock(&self.shared).tokens.get_mut(token) {
            Some(t) => f(t),
            // Not echoed: the argument is a token.
            None => panic!("the fake control plane never issued that token"),
        }
    }

    /// Adds an integration at the end of the list; returns its id (`in-…`).
    pub fn add_integration(&self, spec: IntegrationSpec) -> String {
        let id = random_id("in-");
        lock(&self.shared).integrations.push(Integration {
            id: id.clone(),
            spec,
        });
        id
    }

    #[track_caller]
    pub fn set_password(&self, id: &str, password: &str) {
        lock(&self.shared).integration_mut(id).spec.password = password.to_string();
    }

    /// Changes anything but the id (export flag, status, expiry, URL …).
    #[track_caller]
    pub fn update_integration(&self, id: &str, f: impl FnOnce(&mut IntegrationSpec)) {
        f(&mut lock(&self.shared).integration_mut(id).spec);
    }

    /// Whether there was one to remove.
    pub fn remove_integration(&self, id: &str) -> bool {
        let mut state = lock(&self.shared);
        let before = state.integrations.len();
        state.integrations.retain(|i| i.id != id);
        state.integrations.len() != before
    }

    /// In API order.
    pub fn integrations(&self) -> Vec<Integration> {
        lock(&self.shared).integrations.clone()
    }

    /// Adds a fault; it applies to requests arriving from now on.
    pub fn inject(&self, scope: Scope, fault: Fault) {
        lock(&self.shared)
            .faults
            .push(ActiveFault::new(scope, fault));
    }

    /// Removes every fault (requests already hanging keep hanging).
    pub fn clear_faults(&self) {
        lock(&self.shared).faults.clear();
    }

    /// Removes the faults injected with exactly this scope.
    pub fn clear_faults_for(&self, scope: Scope) {
        lock(&self.shared).faults.retain(|a| a.scope != scope);
    }

    /// Requests seen for a path (no query string), absolute or relative to
    /// the API base: `requests("/integrations/docker")`.
    pub fn requests(&self, path: &str) -> usize {
        let path = path.split('?').next().unwrap_or_default();
        let full = if path.starts_with(BASE) {
            path.to_string()
        } else {
            format!("{BASE}{path}")
        };
        lock(&self.shared).counters.get(&full).copied().unwrap_or(0)
    }

    /// Requests to the list endpoint, every page counted.
    pub fn list_requests(&self) -> usize {
        self.requests("/integrations/docker")
    }

    pub fn credentials_requests(&self, id: &str) -> usize {
        self.requests(&format!("/integrations/docker/{id}/credentials"))
    }

    /// Every request on any path.
    pub fn total_requests(&self) -> usize {
        lock(&self.shared).counters.values().sum()
    }

    /// Every request since the start (or the last reset), oldest first.
    pub fn request_log(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).log.clone()
    }

    /// Forgets the counters and the request log.
    pub fn reset_counters(&self) {
        let mut state = lock(&self.shared);
        state.counters = HashMap::new();
        state.log.clear();
    }
}
