//! A short-lived, memory-only cache of answers, so that repeated `get`s (one
//! process each) skip the control plane and the D-Bus round trips.
//!
//! On Linux it is the kernel's per-user keyring (`@u`): each entry is a
//! `user` key with a kernel-enforced timeout, so it disappears on its own,
//! never touches a disk, and is gone at reboot. Elsewhere there is no cache
//! (every `get` asks its source).
//!
//! Security trade-off, decided: answers from the OS keychain are cached too.
//! A key in `@u` is readable by processes of the same user, which could also
//! read the unlocked Secret Service over D-Bus; what changes is that a cached
//! copy outlives a keychain lock by at most the TTL. `cache.keychain = false`
//! turns that off. Entries are scoped: control-plane answers by a hash of
//! (hostname, token), keychain answers by a hash of the session bus address,
//! so another account, another token or another session never sees them.
//!
//! Writers and readers race: a `get` may read the keychain just before an
//! `erase` and write the cache just after it. So each host has an *epoch*, a
//! random value that `store` and `erase` replace after changing the keychain;
//! a `get` reads the epoch before asking its source and tags its entry with
//! it, and an entry whose tag is not the current epoch is a miss.
//!
//! Any cache failure degrades to a live call, never to an error.

use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::protocol::Credential;
use crate::registry::RegistryHost;

/// Every key of ours starts with this; the version lets a future format
/// ignore old entries.
pub const PREFIX: &str = "docker-credential-scalr:v1:";

/// A cache scope: which source, for whom. Built from a hash, so a token never
/// appears in a key description (those are visible in /proc/keys).
pub fn scope(kind: &str, identity: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    for part in identity {
        h.update([0u8]);
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{hex}")
}

fn description(scope: &str, host: &RegistryHost) -> String {
    format!("{PREFIX}{scope}:{}", host.key())
}

fn epoch_description(host: &RegistryHost) -> String {
    format!("{PREFIX}epoch:{}", host.key())
}

/// The epoch of a host nobody has written to (or whose epoch key expired).
const NO_EPOCH: &str = "0";

/// Outlives every entry that could carry it (entries live at most
/// `MAX_CACHE_TTL`); should it expire anyway, old tags simply miss.
const EPOCH_LIFETIME: Duration = Duration::from_secs(2 * 3600);

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

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Serialize};
    use zeroize::Zeroizing;

    pub struct Cache {
        user: Option<KeyRing>,
    }

    #[derive(Serialize)]
    struct Out<'a> {
        e: &'a str,
        u: &'a str,
        s: &'a str,
    }

    #[derive(Deserialize)]
    struct In {
        e: String,
        u: String,
        s: SecretString,
    }

    impl Cache {
        pub fn open() -> Cache {
            Cache {
                user: KeyRing::from_special_id(KeyRingIdentifier::User, false).ok(),
            }
        }

        /// The host's current epoch; read it before asking a source.
        pub fn epoch(&self, host: &RegistryHost) -> String {
            let read = || {
                let key = self.user.as_ref()?.search(&epoch_description(host)).ok()?;
                String::from_utf8(key.read_to_vec().ok()?).ok()
            };
            read().unwrap_or_else(|| NO_EPOCH.to_string())
        }

        /// Marks every cached answer for `host` stale; call it after the
        /// keychain changed.
        pub fn bump(&self, host: &RegistryHost) {
            self.add(
                &epoch_description(host),
                fresh_epoch().as_bytes(),
                EPOCH_LIFETIME,
            );
        }

        pub fn get(&self, scope: &str, host: &RegistryHost, epoch: &str) -> Option<Credential> {
            let key = self.user.as_ref()?.search(&description(scope, host)).ok()?;
            let bytes = Zeroizing::new(key.read_to_vec().ok()?);
            let entry: In = serde_json::from_slice(&bytes).ok()?;
            if entry.e != epoch {
                return None;
            }
            Some(Credential {
                username: entry.u,
                secret: entry.s,
            })
        }

        pub fn put(
            &self,
            scope: &str,
            host: &RegistryHost,
            epoch: &str,
            credential: &Credential,
            ttl: Duration,
        ) {
            let payload = Zeroizing::new(
                serde_json::to_vec(&Out {
                    e: epoch,
                    u: &credential.username,
                    s: credential.secret.expose_secret(),
                })
                .expect("strings always serialise"),
            );
            self.add(&description(scope, host), &payload, ttl);
        }

        fn add(&self, description: &str, payload: &[u8], ttl: Duration) {
            let Some(user) = &self.user else { return };
            // Build the key in this process's own keyring first and link it into
            // @u only once its timeout is set: if we die half-way, the kernel
            // drops it with the process instead of keeping a secret forever.
            let Ok(process) = KeyRing::from_special_id(KeyRingIdentifier::Process, true) else {
                return;
            };
            let Ok(key) = process.add_key(description, payload) else {
                return;
            };
            let perms = KeyPermissionsBuilder::builder()
                .posessor(Permission::ALL)
                .user(
                    Permission::VIEW
                        | Permission::READ
                        | Permission::SEARCH
                        | Permission::WRITE
                        | Permission::SETATTR,
                )
                .build();
            let ready = key.set_timeout(ttl.as_secs().max(1) as usize).is_ok()
                && key.set_perms(perms).is_ok();
            if ready {
                let _ = user.link_key(key);
            }
            let _ = process.unlink_key(key);
            if !ready {
                let _ = key.invalidate();
            }
        }

        /// Drops every cached answer for `host`, in every scope, so that a
        /// changed or erased credential is seen at once.
        pub fn forget(&self, host: &RegistryHost) {
            let Some(user) = &self.user else { return };
            let suffix = format!(":{}", host.key());
            let epoch = epoch_description(host);
            let Ok(links) = user.get_links(4096) else {
                return;
            };
            for node in links.iter() {
                let Some(key) = node.as_key() else { continue };
                let Ok(meta) = key.metadata() else { continue };
                let d = meta.get_description();
                if d.starts_with(PREFIX) && d.ends_with(&suffix) && d != epoch {
                    let _ = key.invalidate();
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    /// No memory-only store with timeouts on this platform: every `get` asks
    /// its source.
    pub struct Cache;

    impl Cache {
        pub fn open() -> Cache {
            Cache
        }
        pub fn get(&self, _scope: &str, _host: &RegistryHost) -> Option<Credential> {
            None
        }
        pub fn put(
            &self,
            _scope: &str,
            _host: &RegistryHost,
            _credential: &Credential,
            _ttl: Duration,
        ) {
        }
        pub fn forget(&self, _host: &RegistryHost) {}
    }
}

pub use imp::Cache;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_separate_identities_and_hide_them() {
        let a = scope("control-plane", &["a.scalr.io", "token-1"]);
        let b = scope("control-plane", &["a.scalr.io", "token-2"]);
        let c = scope("control-plane", &["a.scalr.iotoken-1", ""]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(!a.contains("token"));
        assert_eq!(a, scope("control-plane", &["a.scalr.io", "token-1"]));
    }

    #[test]
    fn lifetime_is_capped_by_expiry() {
        let ttl = Duration::from_secs(300);
        assert_eq!(lifetime(ttl, None), Some(ttl));
        let soon = SystemTime::now() + Duration::from_secs(60);
        let l = lifetime(ttl, Some(soon)).unwrap();
        assert!(l <= Duration::from_secs(60) && l >= Duration::from_secs(58));
        assert_eq!(
            lifetime(ttl, Some(SystemTime::now() - Duration::from_secs(1))),
            None
        );
        assert_eq!(lifetime(Duration::ZERO, None), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_cache_round_trip_and_forget() {
        use secrecy::{ExposeSecret, SecretString};
        let cache = Cache::open();
        let host = RegistryHost::parse(&format!("cache-test-{}.example:5000", std::process::id()))
            .unwrap();
        let s = scope("test", &[&std::process::id().to_string()]);
        let cred = Credential {
            username: "u".into(),
            secret: SecretString::from("s3cret"),
        };
        let epoch = cache.epoch(&host);
        cache.put(&s, &host, &epoch, &cred, Duration::from_secs(30));
        let Some(got) = cache.get(&s, &host, &epoch) else {
            // Some sandboxes forbid keyctl; the cache must then simply miss.
            std::io::Write::write_all(
                &mut std::io::stderr(),
                b"NOTE: kernel keyring unavailable here; cache test only checked the miss path\n",
            )
            .ok();
            return;
        };
        assert_eq!(
            (got.username.as_str(), got.secret.expose_secret()),
            ("u", "s3cret")
        );
        assert!(cache.get(&scope("other", &[]), &host, &epoch).is_none());

        // A writer bumps the epoch: the entry (written by a reader that read
        // the old epoch) is stale from then on.
        cache.bump(&host);
        let bumped = cache.epoch(&host);
        assert_ne!(bumped, epoch);
        assert!(cache.get(&s, &host, &bumped).is_none());
        assert!(
            cache.get(&s, &host, &epoch).is_some(),
            "the key itself is still there"
        );

        cache.forget(&host);
        assert!(cache.get(&s, &host, &epoch).is_none());
        assert_eq!(cache.epoch(&host), bumped, "forget keeps the epoch");
    }
}
