//! Registry credentials in the OS keychain, through the keyring-core crates.
//!
//! One entry per registry: service `docker-credential-scalr`, account = the
//! registry key (`host[:port]`), secret = `{"Username":…,"Secret":…}` so the
//! username and secret always change together (`list` reads the username
//! from there and prints only that).
//!
//! The native store is chosen at compile time, one per platform, and used
//! directly: keyring-core's process-wide default store is never set or read,
//! so there is no path to its mock store. A platform without a native store
//! gets an explicit "unsupported" error, never a file.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::protocol::Credential;
use crate::registry::RegistryHost;
use crate::service_host::ServiceHost;

/// The keychain "service" under which every entry of ours lives.
pub const SERVICE: &str = "docker-credential-scalr";

/// The keychain "service" of Scalr API tokens (account: the Scalr hostname).
/// Kept apart from registry entries so that `list` never meets a token.
pub const TOKEN_SERVICE: &str = "scalr-oci-token";

/// The OS keychain, connected on first use (opening a Secret Service session
/// costs several milliseconds, which a cached `get` must not pay).
#[derive(Default)]
pub struct Keychain {
    store: OnceLock<Arc<CredentialStore>>,
}

impl Keychain {
    pub fn new() -> Self {
        Self::default()
    }

    fn store(&self) -> Result<&Arc<CredentialStore>> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store = native::open()?;
        Ok(self.store.get_or_init(|| store))
    }

    /// A description of the native store in use, for `doctor` and tests.
    pub fn vendor(&self) -> Result<String> {
        Ok(self.store()?.vendor())
    }

    fn entry(&self, host: &RegistryHost) -> Result<Entry> {
        let key = host.key();
        let label = format!("Registry credentials for {key} (docker-credential-scalr)");
        let modifiers = native::modifiers(&label);
        Ok(self.store()?.build(SERVICE, &key, modifiers.as_ref())?)
    }

    pub fn get(&self, host: &RegistryHost) -> Result<Option<Credential>> {
        let entry = self.entry(host)?;
        match once_more_if_vanished(|| read_secret(&entry))? {
            Some(bytes) => decode(host, bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn store_credential(&self, host: &RegistryHost, credential: &Credential) -> Result<()> {
        let entry = self.entry(host)?;
        let blob = encode(credential);
        match entry.set_secret(blob.as_bytes()) {
            Ok(()) => {}
            Err(keyring_core::Error::Ambiguous(twins)) => {
                for twin in &twins[1..] {
                    twin.delete_credential()?;
                }
                twins[0].set_secret(blob.as_bytes())?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// `Ok(false)` when there was no entry.
    pub fn erase(&self, host: &RegistryHost) -> Result<bool> {
        let entry = self.entry(host)?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(keyring_core::Error::Ambiguous(twins)) => {
                for twin in twins {
                    twin.delete_credential()?;
                }
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The Scalr API token stored for `hostname` by `scalr-oci login`.
    pub fn get_token(&self, hostname: &str) -> Result<Option<SecretString>> {
        let entry = self.token_entry(hostname)?;
        match entry.get_password() {
            Ok(token) => Ok(Some(SecretString::from(token))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn store_token(&self, hostname: &str, token: &SecretString) -> Result<()> {
        Ok(self
            .token_entry(hostname)?
            .set_password(token.expose_secret())?)
    }

    /// `Ok(false)` when there was no token.
    pub fn erase_token(&self, hostname: &str) -> Result<bool> {
        match self.token_entry(hostname)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The Scalr hosts that have a token stored, so that `scalr-oci login`
    /// alone is enough on a workstation (no SCALR_HOSTNAME needed).
    pub fn token_hosts(&self) -> Result<Vec<String>> {
        let mut hosts: Vec<String> = self
            .entries_of(TOKEN_SERVICE)?
            .into_iter()
            .map(|(host, _)| host)
            .collect();
        hosts.sort();
        hosts.dedup();
        Ok(hosts)
    }

    fn token_entry(&self, hostname: &str) -> Result<Entry> {
        // One account per host as OpenTofu compares hosts (`host:443` is
        // `host`), so `scalr-oci login`, this helper and
        // terraform-credentials-scalr all find the same entry.
        let hostname = match ServiceHost::parse(hostname) {
            Ok(host) => host.as_str().to_string(),
            Err(_) => hostname.trim().to_ascii_lowercase(),
        };
        let label = format!("Scalr API token for {hostname} (scalr-oci)");
        let modifiers = native::modifiers(&label);
        Ok(self
            .store()?
            .build(TOKEN_SERVICE, &hostname, modifiers.as_ref())?)
    }

    /// Docker server URL to username, for every entry of ours.
    pub fn list(&self) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (key, entry) in self.entries_of(SERVICE)? {
            let Ok(host) = RegistryHost::parse(&key) else {
                continue;
            };
            // The username is read from the entry itself, written in one step
            // with the secret: a separate attribute could lag behind a racing
            // store. Only the username leaves this loop.
            let bytes = match entry.get_secret() {
                Ok(bytes) => Zeroizing::new(bytes),
                // Erased while we listed.
                Err(keyring_core::Error::NoEntry) => continue,
                Err(e) => return Err(e.into()),
            };
            out.insert(host.docker_server_url(), decode(&host, bytes)?.username);
        }
        Ok(out)
    }

    /// Every entry of `service`, with its account. Stores match searches
    /// loosely (Windows by regular expression), so the service is checked
    /// again on each entry.
    fn entries_of(&self, service: &str) -> Result<Vec<(String, Entry)>> {
        let spec = native::search_spec(service);
        let spec: HashMap<&str, &str> = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(self
            .store()?
            .search(&spec)?
            .into_iter()
            .filter_map(|entry| {
                let (found, account) = entry.get_specifiers()?;
                (found == service).then_some((account, entry))
            })
            .collect())
    }
}

/// The secret of `entry`, or `None` when there is no entry.
fn read_secret(entry: &Entry) -> keyring_core::Result<Option<Zeroizing<Vec<u8>>>> {
    match entry.get_secret() {
        Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        // Two concurrent first stores can leave twins behind on some stores;
        // they hold the same kind of data, so any one answers.
        Err(keyring_core::Error::Ambiguous(entries)) => {
            entries[0].get_secret().map(|b| Some(Zeroizing::new(b)))
        }
        Err(e) => Err(e),
    }
}

/// An erase between finding an item and reading it makes the Secret Service
/// answer that the item's D-Bus object is gone: look again, once, and a
/// vanished entry is then a plain miss. Any other failure is final: trying
/// again would only double the wait for the same answer.
fn once_more_if_vanished<T>(
    mut read: impl FnMut() -> keyring_core::Result<T>,
) -> keyring_core::Result<T> {
    match read() {
        Err(e) if vanished(&e) => read(),
        other => other,
    }
}

/// The D-Bus error names (a protocol contract, unlike their messages) with
/// which a Secret Service refuses a call on an item that no longer exists:
/// gnome-keyring answers `UnknownMethod` ("Object does not exist at path …",
/// or "No such interface …" while the object is being torn down; checked
/// with `gdbus call` on gnome-keyring 42); others use `UnknownObject` or the
/// Secret Service's own `NoSuchObject`. keyring-core keeps the error boxed,
/// and its text carries the name.
const VANISHED_ITEM_ERRORS: &[&str] = &[
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.Secret.Error.NoSuchObject",
];

fn vanished(error: &keyring_core::Error) -> bool {
    match error {
        keyring_core::Error::PlatformFailure(inner) => {
            let text = crate::error::chain(inner.as_ref());
            VANISHED_ITEM_ERRORS.iter().any(|name| text.contains(name))
        }
        _ => false,
    }
}

#[derive(Serialize)]
struct BlobOut<'a> {
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

#[derive(Deserialize)]
struct BlobIn {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: SecretString,
}

/// The stored blob, in one pre-sized buffer wiped on drop
/// ([`crate::secret_json`]); its trailing newline is not stored.
fn encode(credential: &Credential) -> Zeroizing<String> {
    let blob = BlobOut {
        username: &credential.username,
        secret: credential.secret.expose_secret(),
    };
    let capacity =
        crate::secret_json::worst_case(&["Username", blob.username, "Secret", blob.secret]);
    let mut json = crate::secret_json::compact(&blob, capacity);
    json.pop();
    json
}

fn decode(host: &RegistryHost, bytes: Zeroizing<Vec<u8>>) -> Result<Credential> {
    let blob: BlobIn =
        serde_json::from_slice(&bytes).map_err(|_| Error::CorruptEntry { host: host.key() })?;
    Ok(Credential {
        username: blob.username,
        secret: blob.secret,
    })
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
mod native {
    use super::*;

    pub fn open() -> Result<Arc<CredentialStore>> {
        // Connecting fails when there is no session bus or no Secret Service on
        // it: both mean "no keychain here", which callers may skip quietly.
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
            Error::KeychainUnavailable {
                cause: format!("cannot reach a Secret Service on the D-Bus session bus ({e})"),
            }
        })?;
        Ok(store)
    }

    pub fn modifiers(label: &str) -> Option<HashMap<&str, &str>> {
        Some(HashMap::from([("label", label)]))
    }

    pub fn search_spec(service: &str) -> Vec<(&'static str, String)> {
        vec![("service", service.to_string())]
    }
}

#[cfg(target_os = "macos")]
mod native {
    use super::*;

    pub fn open() -> Result<Arc<CredentialStore>> {
        Ok(apple_native_keyring_store::keychain::Store::new()?)
    }

    pub fn modifiers(_label: &str) -> Option<HashMap<&str, &str>> {
        None
    }

    pub fn search_spec(service: &str) -> Vec<(&'static str, String)> {
        vec![("service", service.to_string())]
    }
}

#[cfg(windows)]
mod native {
    use super::*;

    pub fn open() -> Result<Arc<CredentialStore>> {
        Ok(windows_native_keyring_store::Store::new()?)
    }

    pub fn modifiers(_label: &str) -> Option<HashMap<&str, &str>> {
        None
    }

    pub fn search_spec(service: &str) -> Vec<(&'static str, String)> {
        // The Windows store matches a regular expression against target names;
        // entries_of() then keeps only entries whose service is exactly ours.
        vec![("pattern", service.replace('-', "\\-"))]
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    windows
)))]
mod native {
    use super::*;

    pub fn open() -> Result<Arc<CredentialStore>> {
        Err(Error::KeychainUnavailable {
            cause: "this platform has no supported OS keychain".into(),
        })
    }

    pub fn modifiers(_label: &str) -> Option<HashMap<&str, &str>> {
        None
    }

    pub fn search_spec(_service: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn platform_failure(text: &str) -> keyring_core::Error {
        keyring_core::Error::PlatformFailure(Box::new(std::io::Error::other(text.to_string())))
    }

    #[test]
    fn only_a_vanished_item_is_read_again() {
        let vanished_item = "zbus error: org.freedesktop.DBus.Error.UnknownMethod: No such interface \
             \u{201c}org.freedesktop.Secret.Item\u{201d} on object at path /org/freedesktop/secrets/collection/login/7";
        let calls = Cell::new(0);
        let read = || {
            calls.set(calls.get() + 1);
            match calls.get() {
                1 => Err(platform_failure(vanished_item)),
                _ => Ok(None::<()>),
            }
        };
        assert!(matches!(once_more_if_vanished(read), Ok(None)));
        assert_eq!(calls.get(), 2, "a vanished item is looked up again");

        for other in [
            platform_failure("zbus error: org.freedesktop.DBus.Error.NoReply: timed out"),
            keyring_core::Error::NoStorageAccess(Box::new(std::io::Error::other(
                "SS error: prompt dismissed",
            ))),
            keyring_core::Error::BadEncoding(vec![0xff]),
        ] {
            let calls = Cell::new(0);
            let mut failure = Some(other);
            let result = once_more_if_vanished(|| {
                calls.set(calls.get() + 1);
                match failure.take() {
                    Some(e) => Err::<(), _>(e),
                    None => Ok(()),
                }
            });
            assert!(result.is_err(), "the first answer is final");
            assert_eq!(calls.get(), 1, "no second read for another failure");
        }
    }

    #[test]
    fn a_second_vanishing_is_reported_not_retried_forever() {
        let calls = Cell::new(0);
        let result = once_more_if_vanished(|| {
            calls.set(calls.get() + 1);
            Err::<(), _>(platform_failure(
                "org.freedesktop.Secret.Error.NoSuchObject: no such item",
            ))
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 2);
    }
}
