//! What the fake remembers: tokens, integrations, faults and every request.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::faults::ActiveFault;

/// `status` of a Docker registry integration, as Scalr spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Disabled,
    Failed,
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Failed => "failed",
            Status::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "disabled" => Status::Disabled,
            "failed" => Status::Failed,
            "pending" => Status::Pending,
            _ => return None,
        })
    }
}

/// What a test asks for; [`super::FakeControlPlane::add_integration`] gives it an id.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationSpec {
    /// Defaults to the registry URL when `None`.
    pub name: Option<String>,
    pub registry_url: String,
    pub username: String,
    pub password: String,
    pub export_credentials: bool,
    pub status: Status,
    /// RFC 3339; see [`rfc3339`] to make one from a `SystemTime`.
    pub expires_at: Option<String>,
}

impl IntegrationSpec {
    /// An active integration that exports its credentials.
    pub fn new(registry_url: &str, username: &str, password: &str) -> IntegrationSpec {
        IntegrationSpec {
            name: None,
            registry_url: registry_url.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            export_credentials: true,
            status: Status::Active,
            expires_at: None,
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub fn export_credentials(mut self, export: bool) -> Self {
        self.export_credentials = export;
        self
    }

    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    pub fn expires_at(mut self, rfc3339: &str) -> Self {
        self.expires_at = Some(rfc3339.to_string());
        self
    }
}

/// An integration as the fake holds it: what the test asked for, and the id
/// the fake gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Integration {
    pub id: String,
    pub spec: IntegrationSpec,
}

impl Integration {
    /// The name the API shows: the spec's, else the registry URL.
    pub fn name(&self) -> &str {
        self.spec.name.as_deref().unwrap_or(&self.spec.registry_url)
    }
}

// Test output ends up in CI logs; a password has no business there even in a
// fake.
impl fmt::Debug for IntegrationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrationSpec")
            .field("name", &self.name)
            .field("registry_url", &self.registry_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("export_credentials", &self.export_credentials)
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How the request authenticated, decided when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthSeen {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    NotBearer,
    Unknown,
    Revoked,
    Valid,
}

/// One request as the fake saw it. The bearer token is kept out of `headers`
/// and out of `Debug`, so a failing assertion cannot print it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the query string, e.g. `/api/iacp/v3/integrations/docker`.
    pub path: String,
    pub path_and_query: String,
    /// Lower-case names in arrival order; `authorization` has its value redacted.
    pub headers: Vec<(String, String)>,
    pub auth: AuthSeen,
    /// The status answered; `None` while the answer is pending (or never came: a hang).
    pub status: Option<u16>,
    pub(crate) seq: u64,
    pub(crate) bearer: Redacted,
}

impl RecordedRequest {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.header("user-agent")
    }

    pub fn accept(&self) -> Option<&str> {
        self.header("accept")
    }

    /// Whether the request carried exactly `Bearer <token>`.
    pub fn sent_bearer(&self, token: &str) -> bool {
        self.bearer.0.as_deref() == Some(token)
    }
}

#[derive(Clone, Default)]
pub(crate) struct Redacted(pub(crate) Option<String>);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(<redacted>)"),
            None => f.write_str("None"),
        }
    }
}

pub(crate) struct Token {
    pub(crate) revoked: bool,
    /// `None`: every integration.
    pub(crate) allowed: Option<HashSet<String>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) tokens: HashMap<String, Token>,
    /// In API order: insertion order, as a list endpoint would return them.
    pub(crate) integrations: Vec<Integration>,
    pub(crate) faults: Vec<ActiveFault>,
    pub(crate) counters: HashMap<String, usize>,
    pub(crate) log: Vec<RecordedRequest>,
    pub(crate) next_seq: u64,
    /// The Scalr host's private module registry.
    pub(crate) modules: Vec<super::scalr_host::ModuleVersion>,
}

impl State {
    pub(crate) fn auth(&self, bearer: Option<&str>) -> AuthSeen {
        match bearer.and_then(|t| self.tokens.get(t)) {
            Some(t) if t.revoked => AuthSeen::Revoked,
            Some(_) => AuthSeen::Valid,
            None => AuthSeen::Unknown,
        }
    }

    pub(crate) fn may_use(&self, token: &str, id: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|t| !t.revoked && t.allowed.as_ref().is_none_or(|a| a.contains(id)))
    }

    #[track_caller]
    pub(crate) fn integration_mut(&mut self, id: &str) -> &mut Integration {
        match self.integrations.iter_mut().find(|i| i.id == id) {
            Some(i) => i,
            None => panic!("the fake control plane has no integration {id}"),
        }
    }
}

/// `len` random bytes from the OS CSPRNG, as lower-case hex.
pub(crate) fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the OS random number generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scalr ids are a prefix and 17 lower-case base-32 characters (`in-v0o1abc…`).
pub(crate) fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let mut bytes = [0u8; 17];
    getrandom::fill(&mut bytes).expect("the OS random number generator");
    let tail: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// `2026-11-22T10:00:00Z` for `t` (UTC, whole seconds), without a date crate.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .expect("a time after 1970")
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
