//! Where sealed entries live: a small trait, so that epochs, sealing and
//! invalidation are written once and tested everywhere. The kernel keyring
//! implements it on Linux ([`super::kernel`]); [`NullStore`] keeps nothing
//! (other platforms, or a kernel that refuses keys); [`MemoryStore`] is the
//! unit tests' store, with the faults a hostile or full store shows.
//!
//! A store holds bytes only: everything it returns is untrusted and opened
//! by [`super::sealed`].

use std::time::Duration;

use zeroize::Zeroizing;

/// Why a store did not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The per-user key quota is full (`/proc/key-users`).
    #[error("the kernel refused a key: this user's key quota is full (see /proc/key-users)")]
    QuotaFull,
    /// The kernel forbids key operations here (a container's seccomp
    /// profile, for instance).
    #[error("the kernel keyring is not permitted here (EPERM, e.g. seccomp)")]
    NotPermitted,
    /// This platform has no memory-only store with timeouts.
    #[error("this platform has no memory-only cache")]
    NoStoreHere,
    /// Any other error number from the kernel.
    #[error("the kernel keyring failed (errno {0})")]
    Kernel(i32),
}

/// Why keychain answers are not cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoSessionSecret {
    /// The session keyring is shared by every process of this user (the
    /// user-default one, typical in containers and CI), or lets them in.
    #[error(
        "this process has no login-session keyring of its own (only one every process of \
         this user shares), so no secret only this session holds"
    )]
    SharedSessionKeyring,
    #[error(transparent)]
    Refused(Refusal),
}

pub trait Store {
    /// The bytes under `description`, if any.
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>>;
    /// Keeps `payload` under `description` (replacing what was there) for
    /// `ttl`; once written, nobody may change it or its timeout.
    fn write(&self, description: &str, payload: &[u8], ttl: Duration) -> Result<(), Refusal>;
    /// Drops `description`, where possible.
    fn remove(&self, description: &str);
    /// Every description held, ours or not.
    fn descriptions(&self) -> Vec<String>;
    /// A random secret that only processes of this login session can read,
    /// made on first use.
    fn session_secret(&self) -> Result<Zeroizing<Vec<u8>>, NoSessionSecret>;
}

/// Keeps nothing: every `get` asks its source.
pub struct NullStore;

impl Store for NullStore {
    fn read(&self, _: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn write(&self, _: &str, _: &[u8], _: Duration) -> Result<(), Refusal> {
        Ok(())
    }
    fn remove(&self, _: &str) {}
    fn descriptions(&self) -> Vec<String> {
        Vec::new()
    }
    fn session_secret(&self) -> Result<Zeroizing<Vec<u8>>, NoSessionSecret> {
        Err(NoSessionSecret::Refused(Refusal::NoStoreHere))
    }
}

#[cfg(test)]
pub use memory::MemoryStore;

#[cfg(test)]
mod memory {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    /// A store in a map. It ignores timeouts (as a store whose kernel
    /// timeout an attacker stripped would), and can be made to refuse writes
    /// or to lack a session secret.
    #[derive(Default)]
    pub struct MemoryStore {
        pub entries: RefCell<BTreeMap<String, Vec<u8>>>,
        pub ttls: RefCell<BTreeMap<String, Duration>>,
        pub refuse_writes: Cell<Option<Refusal>>,
        pub session: Option<Vec<u8>>,
    }

    impl MemoryStore {
        pub fn in_session() -> MemoryStore {
            MemoryStore {
                session: Some(vec![42; 32]),
                ..MemoryStore::default()
            }
        }
    }

    impl Store for MemoryStore {
        fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
            self.entries
                .borrow()
                .get(description)
                .map(|b| Zeroizing::new(b.clone()))
        }
        fn write(&self, description: &str, payload: &[u8], ttl: Duration) -> Result<(), Refusal> {
            if let Some(refusal) = self.refuse_writes.get() {
                return Err(refusal);
            }
            self.entries
                .borrow_mut()
                .insert(description.to_string(), payload.to_vec());
            self.ttls.borrow_mut().insert(description.to_string(), ttl);
            Ok(())
        }
        fn remove(&self, description: &str) {
            self.entries.borrow_mut().remove(description);
        }
        fn descriptions(&self) -> Vec<String> {
            self.entries.borrow().keys().cloned().collect()
        }
        fn session_secret(&self) -> Result<Zeroizing<Vec<u8>>, NoSessionSecret> {
            self.session
                .clone()
                .map(Zeroizing::new)
                .ok_or(NoSessionSecret::SharedSessionKeyring)
        }
    }

    /// Lets a test keep a handle on the store it gave the cache.
    impl<S: Store> Store for std::rc::Rc<S> {
        fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
            (**self).read(description)
        }
        fn write(&self, description: &str, payload: &[u8], ttl: Duration) -> Result<(), Refusal> {
            (**self).write(description, payload, ttl)
        }
        fn remove(&self, description: &str) {
            (**self).remove(description)
        }
        fn descriptions(&self) -> Vec<String> {
            (**self).descriptions()
        }
        fn session_secret(&self) -> Result<Zeroizing<Vec<u8>>, NoSessionSecret> {
            (**self).session_secret()
        }
    }
}
