//! A short-lived, memory-only cache of answers, so that repeated `get`s (one
//! process each) skip the control plane and the D-Bus round trips.
//!
//! Written once on top of a small [`Store`]: the kernel keyring on Linux
//! ([`kernel`]), a store that keeps nothing elsewhere or when the kernel
//! refuses keyrings (a container's seccomp profile), an in-memory store in
//! the unit tests. Any cache failure degrades to a live call, never to an
//! error; the caller's `notes` hear why (shown with `SCALR_OCI_DEBUG=1`).
//!
//! Entries are sealed ([`sealed`]): only a process entitled to an answer can
//! read it or write one that is served. Control-plane answers are keyed by
//! the hostname and token; keychain answers by a secret only this login
//! session holds ([`Store::session_secret`]). Where there is no such secret
//! (no session keyring of our own: containers, CI), keychain answers are not
//! cached at all. An entry that fails authentication, or is past its sealed
//! expiry, is a miss and is removed.
//!
//! Writers and readers race: a `get` may read the keychain just before an
//! `erase` and write the cache just after it. So each host has an *epoch*, a
//! random value that `store` and `erase` replace after changing the keychain
//! (and only then: an epoch key costs quota and lives two hours); a `get`
//! reads the epoch before asking its source and seals its entry with it, and
//! an entry sealed under another epoch is a miss. Epoch keys are not secret
//! and not authenticated: a process of the same user can delete or replay
//! one, which at worst serves an entry of that same scope again until its
//! sealed expiry (see the README's Security section).

#[cfg(target_os = "linux")]
mod kernel;
mod sealed;
mod store;

use std::cell::OnceCell;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::protocol::Credential;
use crate::registry::RegistryHost;
use crate::settings::MAX_CACHE_TTL;

pub use sealed::{Refused, ScopeKey};
#[cfg(test)]
pub use store::MemoryStore;
pub use store::{NoSessionSecret, NullStore, Refusal, Store};

/// Every key of ours starts with this; the version makes older formats
/// (v1 held plain text) invisible to this one.
pub const PREFIX: &str = "docker-credential-scalr:v2:";
/// Any version's keys, for dropping a host's answers.
const ANY_VERSION: &str = "docker-credential-scalr:";

/// The epoch of a host nobody has written to (or whose epoch key expired).
const NO_EPOCH: &str = "0";

/// Outlives every entry that could carry it (entries live at most
/// `MAX_CACHE_TTL`); should it expire anyway, old tags simply miss.
const EPOCH_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// Who is entitled to a source's answers.
pub enum Owner<'a> {
    /// Whoever holds this token for this control plane.
    ControlPlane {
        hostname: String,
        token: &'a SecretString,
    },
    /// The processes of this login session.
    LoginSession,
}

/// Why the cache did not help; diagnostics, never errors, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Unavailable(Refusal),
    KeychainNotCached(NoSessionSecret),
    Refused { host: String, why: Refused },
    NotKept { host: String, why: Refusal },
    EpochNotWritten { host: String, why: Refusal },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Unavailable(why) => write!(
                f,
                "the cache is unavailable ({why}): every answer comes from its source"
            ),
            Note::KeychainNotCached(why) => write!(f, "keychain answers are not cached: {why}"),
            Note::Refused { host, why } => {
                write!(
                    f,
                    "{host}: a cached entry was refused, {why}; asking the source"
                )
            }
            Note::NotKept { host, why } => write!(
                f,
                "{host}: the answer came from the source and was not cached: {why}"
            ),
            Note::EpochNotWritten { host, why } => write!(
                f,
                "{host}: could not mark cached answers stale ({why}); dropping them instead"
            ),
        }
    }
}

fn description(scope: &ScopeKey, host: &RegistryHost) -> String {
    format!("{PREFIX}{}:{}", scope.name(), host.key())
}

fn epoch_description(host: &RegistryHost) -> String {
    format!("{PREFIX}epoch:{}", host.key())
}

/// A new epoch: unique, not secret (entries are sealed; an epoch only has to
/// differ from the one it replaces).
fn fresh_epoch() -> String {
    format!("{:016x}", crate::random::u64())
}

/// How long an answer may be kept: the TTL, shortened by the credential's own
/// expiry. `None` means "do not cache".
pub fn lifetime(ttl: Duration, expires_at: Option<SystemTime>) -> Option<Duration> {
    let ttl = match expires_at {
        Some(at) => ttl.min(at.duration_since(SystemTime::now()).ok()?),
        None => ttl,
    };
    (ttl >= Duration::from_secs(1)).then_some(ttl)
}

/// `'n`: how long the notes' sink lives (the caller's stderr writer).
pub struct Cache<'n> {
    store: Box<dyn Store>,
    /// False when the platform store could not be opened: then the cache is
    /// silent after saying so once.
    available: bool,
    notes: Box<dyn Fn(&Note) + 'n>,
    session_secret: OnceCell<Option<Zeroizing<Vec<u8>>>>,
}

impl<'n> Cache<'n> {
    /// The platform's store, or one that keeps nothing (after a note) when
    /// there is none or the kernel refuses it.
    pub fn open(notes: Box<dyn Fn(&Note) + 'n>) -> Cache<'n> {
        #[cfg(target_os = "linux")]
        let opened = kernel::KernelStore::open().map(|s| Box::new(s) as Box<dyn Store>);
        #[cfg(not(target_os = "linux"))]
        let opened: Result<Box<dyn Store>, Refusal> = Err(Refusal::NoStoreHere);
        match opened {
            Ok(store) => Cache::with_store(store, notes),
            Err(why) => {
                notes(&Note::Unavailable(why));
                Cache {
                    available: false,
                    ..Cache::with_store(Box::new(NullStore), notes)
                }
            }
        }
    }

    pub fn with_store(store: Box<dyn Store>, notes: Box<dyn Fn(&Note) + 'n>) -> Cache<'n> {
        Cache {
            store,
            available: true,
            notes,
            session_secret: OnceCell::new(),
        }
    }

    /// The scope of `owner`'s answers; `None` (after a note) when they must
    /// not be cached.
    pub fn scope(&self, owner: Owner<'_>) -> Option<ScopeKey> {
        if !self.available {
            return None;
        }
        match owner {
            Owner::ControlPlane { hostname, token } => Some(ScopeKey::derive(
                "control-plane",
                &[hostname.as_bytes(), token.expose_secret().as_bytes()],
            )),
            Owner::LoginSession => {
                let secret = self.session_secret.get_or_init(|| {
                    self.store
                        .session_secret()
                        .map_err(|why| (self.notes)(&Note::KeychainNotCached(why)))
                        .ok()
                });
                Some(ScopeKey::derive("keychain", &[secret.as_ref()?]))
            }
        }
    }

    /// The host's current epoch; read it before asking a source.
    pub fn epoch(&self, host: &RegistryHost) -> String {
        self.store
            .read(&epoch_description(host))
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .unwrap_or_else(|| NO_EPOCH.to_string())
    }

    /// Marks every cached answer for `host` stale; call it only after the
    /// keychain changed.
    pub fn bump(&self, host: &RegistryHost) {
        let epoch = fresh_epoch();
        if let Err(why) =
            self.store
                .write(&epoch_description(host), epoch.as_bytes(), EPOCH_LIFETIME)
        {
            (self.notes)(&Note::EpochNotWritten {
                host: host.to_string(),
                why,
            });
        }
    }

    pub fn get(&self, scope: &ScopeKey, host: &RegistryHost, epoch: &str) -> Option<Credential> {
        let description = description(scope, host);
        let bytes = self.store.read(&description)?;
        match sealed::open(
            scope,
            &description,
            epoch,
            &bytes,
            SystemTime::now(),
            MAX_CACHE_TTL,
        ) {
            Ok(credential) => Some(credential),
            Err(why) => {
                (self.notes)(&Note::Refused {
                    host: host.to_string(),
                    why,
                });
                // A stale entry may be a newer reader's; the rest is junk.
                if why != Refused::Stale {
                    self.store.remove(&description);
                }
                None
            }
        }
    }

    pub fn put(
        &self,
        scope: &ScopeKey,
        host: &RegistryHost,
        epoch: &str,
        credential: &Credential,
        ttl: Duration,
    ) {
        let description = description(scope, host);
        let expires = SystemTime::now() + ttl;
        let Some(bytes) = sealed::seal(scope, &description, epoch, credential, expires) else {
            return;
        };
        if let Err(why) = self.store.write(&description, &bytes, ttl) {
            (self.notes)(&Note::NotKept {
                host: host.to_string(),
                why,
            });
        }
    }

    /// Drops every cached answer for `host`, in every scope and format, so
    /// that a changed or erased credential is seen at once.
    pub fn forget(&self, host: &RegistryHost) {
        let suffix = format!(":{}", host.key());
        let epoch = epoch_description(host);
        for d in self.store.descriptions() {
            if d.starts_with(ANY_VERSION) && d.ends_with(&suffix) && d != epoch {
                self.store.remove(&d);
            }
        }
    }
}

#[cfg(test)]
mod tests;
