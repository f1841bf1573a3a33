//! The chain of credential sources, tried in configured order.
//!
//! `get` asks each source in turn; the first that knows the host answers. A
//! source that cannot be reached at all (no keychain in a container) is
//! skipped when a later source may answer, and named in the error when none
//! can. Any other failure stops the chain: a rejected token must surface, not
//! turn into an anonymous pull. `store`, `erase` and `list` act on the
//! keychain, the only source we can write.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::protocol::{Backend, Credential};
use crate::registry::RegistryHost;

/// A place credentials come from.
pub trait Source {
    /// A short name for diagnostics ("keychain", "control plane").
    fn name(&self) -> &'static str;
    /// `Ok(None)` when this source does not know the host.
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>>;
}

/// Shared, so that the chain and store/erase/list use one keychain connection.
impl Source for Arc<Keychain> {
    fn name(&self) -> &'static str {
        "keychain"
    }

    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        Keychain::get(self, host)
    }
}

pub struct Resolver {
    sources: Vec<Box<dyn Source>>,
    keychain: Arc<Keychain>,
    verbose: bool,
}

impl Resolver {
    pub fn new(sources: Vec<Box<dyn Source>>, keychain: Arc<Keychain>, verbose: bool) -> Self {
        Resolver {
            sources,
            keychain,
            verbose,
        }
    }
}

impl Backend for Resolver {
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        let mut unreachable = Vec::new();
        for source in &self.sources {
            match source.get(host) {
                Ok(Some(credential)) => return Ok(Some(credential)),
                Ok(None) => {}
                Err(Error::KeychainUnavailable { cause }) => {
                    if self.verbose {
                        eprintln!(
                            "docker-credential-scalr: skipping the {}: {cause}",
                            source.name()
                        );
                    }
                    unreachable.push(Error::KeychainUnavailable { cause });
                }
                Err(e) => return Err(e),
            }
        }
        match unreachable.len() {
            // Every source was asked and none knows the host.
            n if n < self.sources.len() => Ok(None),
            1 => Err(unreachable.remove(0)),
            _ => Err(Error::NoSourceReachable(
                unreachable
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    fn store(&self, host: &RegistryHost, credential: &Credential) -> Result<()> {
        self.keychain.store_credential(host, credential)
    }

    fn erase(&self, host: &RegistryHost) -> Result<bool> {
        self.keychain.erase(host)
    }

    fn list(&self) -> Result<BTreeMap<String, String>> {
        self.keychain.list()
    }
}
