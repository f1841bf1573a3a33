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

pub struct KeychainSource {
    keychain: Arc<Keychain>,
    cache: bool,
}

impl Source for KeychainSource {
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

pub struct ControlPlaneSource<'w> {
    settings: Settings,
    keychain: Arc<Keychain>,
    access: OnceLock<Option<ScalrAccess>>,
    diagnostics: Diagnostics<'w>,
}

impl ControlPlaneSource<'_> {
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
    keychain: Arc<Keychain>,
    keychain_source: KeychainSource,
    control_plane_source: ControlPlaneSource<'w>,
    cache: Cache<'w>,
    diagnostics: Diagnostics<'w>,
}

impl<'w> Resolver<'w> {
    /// `diagnostics`: where warnings and debug lines go (see the module doc).
    pub fn new(settings: Settings, diagnostics: Diagnostics<'w>) -> Self {
        let keychain = Arc::new(Keychain::new());
        // Opened even with caching off: this process's `store`/`erase` must
        // still invalidate what other, caching processes keep.
        let (verbose, notes) = (settings.verbose, diagnostics.clone());
        let cache = Cache::open(Box::new(move |note| {
            if verbose {
                notes.line(format_args!("{note}"));
            }
        }));
        Resolver {
            keychain_source: KeychainSource {
                keychain: keychain.clone(),
                cache: settings.cache_keychain,
            },
            control_plane_source: ControlPlaneSource {
                settings: settings.clone(),
                keychain: keychain.clone(),
                access: OnceLock::new(),
                diagnostics: diagnostics.clone(),
            },
            keychain,
            settings,
            cache,
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
            SourceKind::ControlPlane => &self.control_plane_source,
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
        Err(Error::NoSourceReachable(
            missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ))
    }

    fn store(&self, host: &RegistryHost, credential: &Credential) -> Result<()> {
        let stored = self.keychain.store_credential(host, credential);
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
