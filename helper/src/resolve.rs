//! The chain of credential sources, tried in configured order, with the
//! short-lived cache in front of each.
//!
//! `get` asks each source in turn (per-registry order if configured); the
//! first that knows the host answers. A source that cannot be reached at all
//! (no keychain in a container, no control plane configured) is skipped when
//! another may answer, and named in the error when none can. Any other
//! failure stops the chain: a rejected token must surface, not turn into an
//! anonymous pull. `store`, `erase` and `list` act on the keychain, the only
//! source we write, and `store`/`erase` drop the host's cached answers.
//!
//! Warnings, and with `SCALR_OCI_DEBUG` every step, go to the [`Diagnostics`]
//! the resolver was built with: the stderr its caller passed in.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::cache::{self, Cache};
use crate::control_plane::{ControlPlane, Lookup};
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::protocol::{Backend, Credential};
use crate::registry::RegistryHost;
use crate::scalr_access::{self, ScalrAccess};
use crate::settings::{Settings, SourceKind};

/// What a source found.
pub struct Found {
    pub credential: Credential,
    /// When the credential itself stops working, if the source knows.
    pub expires_at: Option<SystemTime>,
}

/// A place credentials come from.
pub trait Source {
    /// For diagnostics: "keychain", "control plane".
    fn name(&self) -> &'static str;
    /// Who may read this source's cached answers; `None`: do not cache them.
    fn cache_owner(&self) -> Option<cache::Owner<'_>>;
    /// `Ok(None)` when this source does not know the host.
    fn get(&self, host: &RegistryHost) -> Result<Option<Found>>;
}

/// Errors that mean "this source is not here", not "this source said no".
fn unreachable(e: &Error) -> bool {
    matches!(
        e,
        Error::KeychainUnavailable { .. } | Error::ControlPlaneNotConfigured
    )
}

/// The keychain as the resolver uses it: the one source it writes. The OS
/// keychain in the binaries ([`Keychain`]); a map in the unit tests.
pub type Writable<'w> = Arc<dyn Backend + 'w>;

impl Backend for Keychain {
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        Keychain::get(self, host)
    }
    fn store(&self, host: &RegistryHost, credential: &Credential) -> Result<()> {
        self.store_credential(host, credential)
    }
    fn erase(&self, host: &RegistryHost) -> Result<bool> {
        Keychain::erase(self, host)
    }
    fn list(&self) -> Result<BTreeMap<String, String>> {
        Keychain::list(self)
    }
}

pub struct KeychainSource<'w> {
    keychain: Writable<'w>,
    cache: bool,
}

impl Source for KeychainSource<'_> {
    fn name(&self) -> &'static str {
        "keychain"
    }

    fn cache_owner(&self) -> Option<cache::Owner<'_>> {
        self.cache.then_some(cache::Owner::LoginSession)
    }

    fn get(&self, host: &RegistryHost) -> Result<Option<Found>> {
        Ok(self.keychain.get(host)?.map(|credential| Found {
            credential,
            expires_at: None,
        }))
    }
}

/// The Scalr control plane: discovers its address and token once, then
/// connects on each `get`.
pub struct ControlPlaneSource<'w> {
    settings: Settings,
    keychain: Arc<Keychain>,
    access: OnceLock<Option<ScalrAccess>>,
    diagnostics: Diagnostics<'w>,
}

impl<'w> ControlPlaneSource<'w> {
    /// `keychain`: where discovery looks for a Scalr token.
    pub fn new(settings: Settings, keychain: Arc<Keychain>, diagnostics: Diagnostics<'w>) -> Self {
        ControlPlaneSource {
            settings,
            keychain,
            access: OnceLock::new(),
            diagnostics,
        }
    }

    /// Found once per process; the token may come from the keychain, which
    /// costs a D-Bus round trip, so only when the control plane is asked.
    fn access(&self) -> Result<Option<&ScalrAccess>> {
        if let Some(access) = self.access.get() {
            return Ok(access.as_ref());
        }
        let found = scalr_access::discovery(&self.settings, &self.keychain)?;
        if !found.ambiguous_keychain_hosts.is_empty() {
            self.diagnostics.line(format_args!(
                "the keychain holds Scalr tokens for {}; set SCALR_HOSTNAME to choose one",
                found.ambiguous_keychain_hosts.join(", ")
            ));
        }
        if let Some(access) = found.access.as_ref().filter(|a| a.origin.is_plain_text()) {
            self.diagnostics.line(format_args!(
                "using the Scalr token for {} from {} (plain text on disk); \
                 `scalr-oci migrate` moves it into the OS keychain",
                access.hostname, access.origin
            ));
        }
        Ok(self.access.get_or_init(|| found.access).as_ref())
    }

    /// The lookup and the credentials, with every request shown when
    /// debugging, whatever the outcome.
    fn ask(&self, control_plane: &ControlPlane, host: &RegistryHost) -> Result<Option<Found>> {
        let answer = self.lookup(control_plane, host);
        if self.settings.verbose {
            for exchange in control_plane.take_exchanges() {
                self.diagnostics.line(format_args!("{exchange}"));
            }
        }
        answer
    }

    fn lookup(&self, control_plane: &ControlPlane, host: &RegistryHost) -> Result<Option<Found>> {
        let lookup = control_plane.find(host)?;
        self.report(control_plane, host, &lookup);
        let Some(integration) = lookup.integration else {
            return Ok(None);
        };
        let issued = control_plane.credentials(&integration)?;
        Ok(Some(Found {
            credential: issued.credential,
            expires_at: issued.expires_at,
        }))
    }

    /// What the user should know about a lookup: duplicates, or why nothing
    /// answered.
    fn report(&self, control_plane: &ControlPlane, host: &RegistryHost, lookup: &Lookup) {
        let scalr = control_plane.hostname();
        match &lookup.integration {
            Some(first) if !lookup.shadowed.is_empty() => {
                let others: Vec<&str> = lookup.shadowed.iter().map(|i| i.id.as_str()).collect();
                self.diagnostics.line(format_args!(
                    "warning: integrations {} on {scalr} also claim {host}; using {} ({}), the first in API order",
                    others.join(", "),
                    first.id,
                    first.name
                ));
            }
            Some(_) => {}
            None => {
                let why = match lookup.for_host {
                    0 => String::new(),
                    n => format!("; {n} name it but are disabled or do not export credentials"),
                };
                self.diagnostics.line(format_args!(
                    "no Docker registry integration with exported credentials for {host} on {scalr} \
                     ({} listed{why}; token from {})",
                    lookup.listed,
                    control_plane.token_origin()
                ));
            }
        }
    }
}

impl Source for ControlPlaneSource<'_> {
    fn name(&self) -> &'static str {
        "control plane"
    }

    fn cache_owner(&self) -> Option<cache::Owner<'_>> {
        let access = self.access().ok()??;
        Some(cache::Owner::ControlPlane {
            hostname: scalr_access::bare_host(&access.hostname),
            token: &access.token,
        })
    }

    fn get(&self, host: &RegistryHost) -> Result<Option<Found>> {
        let access = self.access()?.ok_or(Error::ControlPlaneNotConfigured)?;
        let control_plane = ControlPlane::connect(access.clone(), &self.settings)?;
        self.ask(&control_plane, host)
    }
}

pub struct Resolver<'w> {
    settings: Settings,
    keychain: Writable<'w>,
    keychain_source: KeychainSource<'w>,
    control_plane_source: Box<dyn Source + 'w>,
    cache: Cache<'w>,
    diagnostics: Diagnostics<'w>,
}

/// What a resolver uses, passed in: [`Resolver::new`] makes the real ones,
/// the unit tests their own.
pub struct Parts<'w> {
    /// Asked as a source and written by `store`/`erase`.
    pub keychain: Writable<'w>,
    /// The control plane as a source ([`ControlPlaneSource`]).
    pub control_plane: Box<dyn Source + 'w>,
    pub cache: Cache<'w>,
}

impl<'w> Resolver<'w> {
    /// `keychain` (the process's one OS keychain), the control plane and
    /// the kernel-keyring cache. `diagnostics`: where warnings and debug
    /// lines go (see the module doc).
    pub fn new(settings: Settings, keychain: Arc<Keychain>, diagnostics: Diagnostics<'w>) -> Self {
        // Opened even with caching off: this process's `store`/`erase` must
        // still invalidate what other, caching processes keep.
        let (verbose, notes) = (settings.verbose, diagnostics.clone());
        let cache = Cache::open(Box::new(move |note| {
            if verbose {
                notes.line(format_args!("{note}"));
            }
        }));
        let control_plane =
            ControlPlaneSource::new(settings.clone(), keychain.clone(), diagnostics.clone());
        let parts = Parts {
            keychain,
            control_plane: Box::new(control_plane),
            cache,
        };
        Resolver::from_parts(settings, diagnostics, parts)
    }

    /// A resolver over `parts`.
    pub fn from_parts(settings: Settings, diagnostics: Diagnostics<'w>, parts: Parts<'w>) -> Self {
        Resolver {
            keychain_source: KeychainSource {
                keychain: parts.keychain.clone(),
                cache: settings.cache_keychain,
            },
            control_plane_source: parts.control_plane,
            keychain: parts.keychain,
            settings,
            cache: parts.cache,
            diagnostics,
        }
    }

    /// After the keychain changed (never before: a reader that read the old
    /// epoch must have read the old keychain too), every cached answer for
    /// the host goes stale, and is dropped. An epoch key costs quota and
    /// lives two hours, so only a change writes one; a failed change still
    /// drops the host's answers, in case it changed something.
    fn invalidate(&self, host: &RegistryHost, changed: bool) {
        if changed {
            self.cache.bump(host);
        }
        self.cache.forget(host);
    }

    fn source(&self, kind: SourceKind) -> &dyn Source {
        match kind {
            SourceKind::Keychain => &self.keychain_source,
            SourceKind::ControlPlane => self.control_plane_source.as_ref(),
        }
    }
}

impl Backend for Resolver<'_> {
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        let kinds = self.settings.sources_for(host);
        let caching = !self.settings.cache_ttl.is_zero();
        // Read before any source is asked (see `cache`: epochs).
        let epoch = if caching {
            self.cache.epoch(host)
        } else {
            String::new()
        };
        let mut missing = Vec::new();
        for &kind in kinds {
            let source = self.source(kind);
            let scope = caching
                .then(|| source.cache_owner())
                .flatten()
                .and_then(|owner| self.cache.scope(owner));
            if let Some(scope) = &scope
                && let Some(hit) = self.cache.get(scope, host, &epoch)
            {
                if self.settings.verbose {
                    self.diagnostics.line(format_args!(
                        "{host}: answered from the cache ({})",
                        source.name()
                    ));
                }
                return Ok(Some(hit));
            }
            match source.get(host) {
                Ok(Some(found)) => {
                    if let Some(scope) = &scope
                        && let Some(ttl) =
                            cache::lifetime(self.settings.cache_ttl, found.expires_at)
                    {
                        self.cache.put(scope, host, &epoch, &found.credential, ttl);
                    }
                    return Ok(Some(found.credential));
                }
                Ok(None) => {}
                Err(e) if unreachable(&e) => {
                    if self.settings.verbose {
                        self.diagnostics
                            .line(format_args!("skipping the {}: {e}", source.name()));
                    }
                    missing.push(e);
                }
                Err(e) => return Err(e),
            }
        }
        if missing.len() < kinds.len() {
            return Ok(None);
        }
        if missing.len() == 1 {
            return Err(missing.remove(0));
        }
        Err(Error::NoSourceReachable {
            unreachable: missing,
        })
    }

    fn store(&self, host: &RegistryHost, credential: &Credential) -> Result<()> {
        let stored = self.keychain.store(host, credential);
        self.invalidate(host, stored.is_ok());
        stored
    }

    fn erase(&self, host: &RegistryHost) -> Result<bool> {
        let erased = self.keychain.erase(host);
        self.invalidate(host, matches!(erased, Ok(true)));
        erased
    }

    fn list(&self) -> Result<BTreeMap<String, String>> {
        self.keychain.list()
    }
}

/// The chain in-process: sources that answer as each test says and count
/// their calls, the keychain as a map, the cache over an in-memory store.
#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use secrecy::{ExposeSecret, SecretString};

    use super::*;
    use crate::cache::MemoryStore;

    /// What a fake source says, every time it is asked.
    #[derive(Clone)]
    enum Says {
        Knows(&'static str),
        DoesNotKnow,
        Unreachable,
        Refuses,
    }

    struct Fake {
        name: &'static str,
        says: Says,
        asked: Rc<Cell<usize>>,
        token: SecretString,
    }

    impl Source for Fake {
        fn name(&self) -> &'static str {
            self.name
        }
        fn cache_owner(&self) -> Option<cache::Owner<'_>> {
            Some(cache::Owner::ControlPlane {
                hostname: "example.scalr.io".into(),
                token: &self.token,
            })
        }
        fn get(&self, _: &RegistryHost) -> Result<Option<Found>> {
            self.asked.set(self.asked.get() + 1);
            match self.says {
                Says::Knows(secret) => Ok(Some(Found {
                    credential: credential(secret),
                    expires_at: None,
                })),
                Says::DoesNotKnow => Ok(None),
                Says::Unreachable => Err(Error::ControlPlaneNotConfigured),
                Says::Refuses => Err(Error::ControlPlane {
                    host: "example.scalr.io".into(),
                    failure: crate::error::ControlPlaneFailure::Timeout { limit_secs: 3 },
                }),
            }
        }
    }

    /// The keychain as a map; `unreachable` is a machine without one.
    /// Shared as the resolver shares the real one (an `Arc`), so `Sync`.
    #[derive(Default)]
    struct Map {
        entries: Mutex<BTreeMap<RegistryHost, String>>,
        unreachable: bool,
        asked: AtomicUsize,
    }

    impl Map {
        fn asked(&self) -> usize {
            self.asked.load(Ordering::Relaxed)
        }
    }

    impl Backend for Map {
        fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            if self.unreachable {
                return Err(Error::KeychainUnavailable {
                    cause: "no Secret Service".into(),
                });
            }
            Ok(self
                .entries
                .lock()
                .unwrap()
                .get(host)
                .map(|s| credential(s)))
        }
        fn store(&self, host: &RegistryHost, c: &Credential) -> Result<()> {
            self.entries
                .lock()
                .unwrap()
                .insert(host.clone(), c.secret.expose_secret().to_string());
            Ok(())
        }
        fn erase(&self, host: &RegistryHost) -> Result<bool> {
            Ok(self.entries.lock().unwrap().remove(host).is_some())
        }
        fn list(&self) -> Result<BTreeMap<String, String>> {
            Ok(self
                .entries
                .lock()
                .unwrap()
                .keys()
                .map(|h| (h.key(), "u".to_string()))
                .collect())
        }
    }

    fn credential(secret: &str) -> Credential {
        Credential {
            username: "u".into(),
            secret: SecretString::from(secret),
        }
    }

    fn host() -> RegistryHost {
        RegistryHost::parse("ghcr.io").unwrap()
    }

    struct Bench {
        keychain: Arc<Map>,
        control_plane_asked: Rc<Cell<usize>>,
        store: Rc<MemoryStore>,
        settings: Settings,
        says: Says,
    }

    impl Bench {
        fn new(order: &[SourceKind], keychain: Map, control_plane: Says) -> Bench {
            let mut settings = Settings::defaults();
            settings.sources = order.to_vec();
            Bench {
                keychain: Arc::new(keychain),
                control_plane_asked: Rc::default(),
                store: Rc::new(MemoryStore::in_session()),
                settings,
                says: control_plane,
            }
        }

        /// A fresh resolver (as a fresh process would build) over the same
        /// keychain and cache store; `f` gets it and what it printed.
        fn run<T>(&self, f: impl FnOnce(&Resolver<'_>) -> T) -> (T, String) {
            let mut printed = Vec::new();
            let value = {
                let diagnostics = Diagnostics::new(&mut printed, "test");
                let parts = Parts {
                    keychain: self.keychain.clone(),
                    control_plane: Box::new(Fake {
                        name: "control plane",
                        says: self.says.clone(),
                        asked: self.control_plane_asked.clone(),
                        token: SecretString::from("scalr-token"),
                    }),
                    cache: Cache::with_store(Box::new(self.store.clone()), Box::new(|_| {})),
                };
                let resolver = Resolver::from_parts(self.settings.clone(), diagnostics, parts);
                f(&resolver)
            };
            (value, String::from_utf8(printed).unwrap())
        }

        fn get(&self) -> Result<Option<String>> {
            self.run(|r| r.get(&host()))
                .0
                .map(|c| c.map(|c| c.secret.expose_secret().to_string()))
        }
    }

    fn keychain_with(secret: &str) -> Map {
        let map = Map::default();
        map.entries.lock().unwrap().insert(host(), secret.into());
        map
    }

    const BOTH: &[SourceKind] = &[SourceKind::Keychain, SourceKind::ControlPlane];
    const CONTROL_PLANE_FIRST: &[SourceKind] = &[SourceKind::ControlPlane, SourceKind::Keychain];

    #[test]
    fn the_first_source_that_knows_answers_and_the_next_is_not_asked() {
        let b = Bench::new(BOTH, keychain_with("from-keychain"), Says::Knows("from-cp"));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-keychain"));
        assert_eq!(b.control_plane_asked.get(), 0);
    }

    #[test]
    fn the_configured_order_decides() {
        let b = Bench::new(
            CONTROL_PLANE_FIRST,
            keychain_with("from-keychain"),
            Says::Knows("from-cp"),
        );
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        assert_eq!(b.keychain.asked(), 0);
    }

    #[test]
    fn a_per_registry_order_overrides_the_default() {
        let mut b = Bench::new(BOTH, keychain_with("from-keychain"), Says::Knows("from-cp"));
        b.settings
            .per_registry
            .push((host(), vec![SourceKind::ControlPlane]));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        assert_eq!(b.keychain.asked(), 0);
    }

    #[test]
    fn a_miss_asks_the_next_source() {
        let b = Bench::new(BOTH, Map::default(), Says::Knows("from-cp"));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        assert_eq!((b.keychain.asked(), b.control_plane_asked.get()), (1, 1));
    }

    #[test]
    fn when_no_source_knows_the_answer_is_none() {
        let b = Bench::new(BOTH, Map::default(), Says::DoesNotKnow);
        assert!(b.get().unwrap().is_none());
    }

    #[test]
    fn an_unreachable_source_is_skipped_when_another_answers_or_misses() {
        let keychain = Map {
            unreachable: true,
            ..Map::default()
        };
        let b = Bench::new(BOTH, keychain, Says::Knows("from-cp"));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        let b = Bench::new(
            BOTH,
            Map {
                unreachable: true,
                ..Map::default()
            },
            Says::DoesNotKnow,
        );
        assert!(b.get().unwrap().is_none(), "one source was reachable");
    }

    #[test]
    fn a_refusal_stops_the_chain() {
        let b = Bench::new(
            CONTROL_PLANE_FIRST,
            keychain_with("from-keychain"),
            Says::Refuses,
        );
        let err = b.get().unwrap_err();
        assert!(
            matches!(err, Error::ControlPlane { .. }),
            "a refusal must surface, not fall through: {err}"
        );
        assert_eq!(b.keychain.asked(), 0);
    }

    #[test]
    fn with_one_source_its_own_error_is_returned() {
        let b = Bench::new(
            &[SourceKind::ControlPlane],
            Map::default(),
            Says::Unreachable,
        );
        assert!(matches!(
            b.get().unwrap_err(),
            Error::ControlPlaneNotConfigured
        ));
    }

    #[test]
    fn when_every_source_is_unreachable_the_error_carries_each_one() {
        let keychain = Map {
            unreachable: true,
            ..Map::default()
        };
        let b = Bench::new(BOTH, keychain, Says::Unreachable);
        match b.get().unwrap_err() {
            Error::NoSourceReachable { unreachable } => {
                assert!(matches!(
                    unreachable.as_slice(),
                    [
                        Error::KeychainUnavailable { .. },
                        Error::ControlPlaneNotConfigured
                    ]
                ));
            }
            other => panic!("expected NoSourceReachable, got {other}"),
        }
    }

    #[test]
    fn a_second_get_is_answered_from_the_cache() {
        let b = Bench::new(CONTROL_PLANE_FIRST, Map::default(), Says::Knows("from-cp"));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        assert_eq!(b.get().unwrap().as_deref(), Some("from-cp"));
        assert_eq!(
            b.control_plane_asked.get(),
            1,
            "the second came from the cache"
        );
    }

    #[test]
    fn with_the_cache_off_every_get_asks() {
        let mut b = Bench::new(CONTROL_PLANE_FIRST, Map::default(), Says::Knows("from-cp"));
        b.settings.cache_ttl = Duration::ZERO;
        b.get().unwrap();
        b.get().unwrap();
        assert_eq!(b.control_plane_asked.get(), 2);
        assert!(b.store.entries.borrow().is_empty(), "nothing was cached");
    }

    #[test]
    fn keychain_answers_are_not_cached_when_settings_say_so() {
        let mut b = Bench::new(BOTH, keychain_with("from-keychain"), Says::DoesNotKnow);
        b.settings.cache_keychain = false;
        b.get().unwrap();
        b.get().unwrap();
        assert_eq!(b.keychain.asked(), 2);
    }

    #[test]
    fn store_and_erase_write_the_keychain_and_drop_the_cached_answer() {
        let b = Bench::new(BOTH, keychain_with("old"), Says::DoesNotKnow);
        assert_eq!(b.get().unwrap().as_deref(), Some("old"));
        b.run(|r| r.store(&host(), &credential("new"))).0.unwrap();
        assert_eq!(
            b.get().unwrap().as_deref(),
            Some("new"),
            "not the cached old"
        );
        assert!(b.run(|r| r.erase(&host())).0.unwrap());
        assert!(b.get().unwrap().is_none(), "not the cached new");
        assert_eq!(b.keychain.asked(), 3, "each get after a change asked");
    }

    #[test]
    fn skipping_is_said_only_when_debugging() {
        let mut b = Bench::new(
            BOTH,
            Map {
                unreachable: true,
                ..Map::default()
            },
            Says::Knows("from-cp"),
        );
        let (_, quiet) = b.run(|r| r.get(&host()).map(|_| ()));
        assert!(quiet.is_empty(), "{quiet}");
        b.settings.verbose = true;
        b.settings.cache_ttl = Duration::ZERO;
        let (_, said) = b.run(|r| r.get(&host()).map(|_| ()));
        assert!(said.contains("skipping the keychain"), "{said}");
    }
}
