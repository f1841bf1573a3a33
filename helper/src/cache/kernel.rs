//! The cache store on Linux: the kernel's per-user keyring (`@u`). Memory
//! only, per user, gone at reboot; each entry a `user` key with a
//! kernel-enforced timeout.
//!
//! Every process of the user can read `@u` and add keys to it, so the store
//! is only where sealed bytes live (see [`super::sealed`]); what it adds:
//! - A key is built in this process's own keyring, gets its timeout and its
//!   final permissions there, and only then is linked into `@u`: if we die
//!   half-way the kernel drops it with the process. The final permissions
//!   give nobody (possessor, user, group, other) write or setattr, so no
//!   process can swap the payload or strip the timeout afterwards. (Keys
//!   found through `@u` count as possessed, so the possessor set matters.)
//! - The session secret lives in the session keyring (`@s`) with
//!   possessor-only rights: processes of this login session reach it, other
//!   processes of the user cannot read it, link it or change it. That holds
//!   only for a session keyring of our own (`pam_keyinit` makes one per
//!   login): a process without one is given the user-default session
//!   keyring `_uid_ses.UID`, shared by every process of the uid (containers,
//!   CI), and then there is no such secret.

use std::time::Duration;

use linux_keyutils::{
    Key, KeyError, KeyPermissions, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, KeyType,
    Permission,
};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::store::{NoSessionSecret, Refusal, Store};

/// The session secret's description in `@s`.
const SESSION_SECRET: &str = "docker-credential-scalr:v2:session-secret";
const SESSION_SECRET_LEN: usize = 32;
/// More links than `@u` can hold under the default quota (200 keys).
const MAX_LINKS: usize = 4096;

fn refusal(e: KeyError) -> Refusal {
    match e {
        KeyError::QuotaExceeded => Refusal::QuotaFull,
        KeyError::PermissionDenied => Refusal::NotPermitted,
        KeyError::AccessDenied => Refusal::Kernel(13),
        KeyError::OutOfMemory => Refusal::Kernel(12),
        KeyError::InvalidArguments => Refusal::Kernel(22),
        KeyError::OperationNotSupported => Refusal::Kernel(95),
        KeyError::KeyDoesNotExist => Refusal::Kernel(126),
        KeyError::KeyExpired => Refusal::Kernel(127),
        KeyError::KeyRevoked => Refusal::Kernel(128),
        KeyError::KeyRejected => Refusal::Kernel(129),
        KeyError::Unknown(errno) => Refusal::Kernel(errno),
        _ => Refusal::Kernel(-1),
    }
}

/// Rights that would let a process of this user into a keyring or key.
const SHARING: Permission = Permission::WRITE
    .union(Permission::SEARCH)
    .union(Permission::LINK)
    .union(Permission::SETATTR);

fn non_possessor_sets(perms: KeyPermissions) -> [Permission; 3] {
    let bits = perms.bits();
    [16, 8, 0].map(|shift| Permission::from_bits_truncate((bits >> shift) as u8))
}

pub struct KernelStore {
    user: KeyRing,
}

impl KernelStore {
    /// Fails where the kernel forbids keyrings (Docker's default seccomp
    /// profile) or has none.
    pub fn open() -> Result<KernelStore, Refusal> {
        let user = KeyRing::from_special_id(KeyRingIdentifier::User, false).map_err(refusal)?;
        Ok(KernelStore { user })
    }

    fn find(&self, description: &str) -> Option<Key> {
        self.user.search(description).ok()
    }

    /// Reads our session secret among the session keyring's own links (not
    /// a recursive search: that would also find a key anyone planted in a
    /// keyring linked from it, such as `@u`).
    fn existing_secret(session: &KeyRing) -> Option<Zeroizing<Vec<u8>>> {
        let links = session.get_links(MAX_LINKS).ok()?;
        links
            .iter()
            .filter_map(|node| node.as_key())
            .find_map(|key| {
                let meta = key.metadata().ok()?;
                if meta.get_type() != KeyType::User || meta.get_description() != SESSION_SECRET {
                    return None;
                }
                let secret = Zeroizing::new(key.read_to_vec().ok()?);
                (secret.len() == SESSION_SECRET_LEN).then_some(secret)
            })
    }
}

impl Store for KernelStore {
    fn read(&self, description: &str) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(self.find(description)?.read_to_vec().ok()?))
    }

    fn write(&self, description: &str, payload: &[u8], ttl: Duration) -> Result<(), Refusal> {
        let process =
            KeyRing::from_special_id(KeyRingIdentifier::Process, true).map_err(refusal)?;
        let key = process.add_key(description, payload).map_err(refusal)?;
        let read_only = Permission::VIEW | Permission::READ | Permission::SEARCH;
        let perms = KeyPermissionsBuilder::builder()
            // LINK for the one link below; neither set may write or setattr.
            .posessor(Permission::VIEW | Permission::READ | Permission::SEARCH | Permission::LINK)
            .user(read_only)
            .build();
        let seconds = usize::try_from(ttl.as_secs().max(1)).unwrap_or(usize::MAX);
        let linked = key
            .set_timeout(seconds)
            .and_then(|()| key.set_perms(perms))
            .and_then(|()| self.user.link_key(key));
        let _ = process.unlink_key(key);
        if linked.is_err() {
            let _ = key.invalidate();
        }
        linked.map_err(refusal)
    }

    fn remove(&self, description: &str) {
        if let Some(key) = self.find(description)
            && key.invalidate().is_err()
        {
            let _ = self.user.unlink_key(key);
        }
    }

    fn descriptions(&self) -> Vec<String> {
        let Ok(links) = self.user.get_links(MAX_LINKS) else {
            return Vec::new();
        };
        links
            .iter()
            .filter_map(|node| node.as_key())
            .filter_map(|key| Some(key.metadata().ok()?.get_description().to_string()))
            .collect()
    }

    fn session_secret(&self) -> Result<Zeroizing<Vec<u8>>, NoSessionSecret> {
        let refused = |e| NoSessionSecret::Refused(refusal(e));
        let session =
            KeyRing::from_special_id(KeyRingIdentifier::Session, false).map_err(refused)?;
        let shared =
            KeyRing::from_special_id(KeyRingIdentifier::UserSession, false).map_err(refused)?;
        let meta = session.metadata().map_err(refused)?;
        let lets_others_in = non_possessor_sets(meta.get_perms())
            .iter()
            .any(|set| set.intersects(SHARING));
        if session == shared || meta.get_description().starts_with("_uid") || lets_others_in {
            return Err(NoSessionSecret::SharedSessionKeyring);
        }
        if let Some(secret) = Self::existing_secret(&session) {
            return Ok(secret);
        }
        let mut fresh = Zeroizing::new([0u8; SESSION_SECRET_LEN]);
        SystemRandom::new()
            .fill(&mut *fresh)
            .map_err(|_| NoSessionSecret::Refused(Refusal::Kernel(0)))?;
        // Created in place with the kernel's default rights (the user set may
        // only view), then narrowed to possessor-only, read-only. A racing
        // helper that creates it too either updates the same key before it
        // turns read-only, or is refused after: both then read back one value.
        let key = session.add_key(SESSION_SECRET, &*fresh).map_err(refused)?;
        let _ = key.set_perms(
            KeyPermissionsBuilder::builder()
                .posessor(Permission::VIEW | Permission::READ | Permission::SEARCH)
                .build(),
        );
        Self::existing_secret(&session).ok_or(NoSessionSecret::SharedSessionKeyring)
    }
}
