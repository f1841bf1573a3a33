//! One cache entry as the store holds it: sealed with an AEAD, so that only
//! a process entitled to the answer can read it, and nobody can forge,
//! modify, copy or prolong it unseen.
//!
//! - The key comes from what entitles a process to the answer, through
//!   HKDF-SHA256: the control plane's hostname and token, or the login
//!   session's secret. The same derivation names the scope (a separate HKDF
//!   output), so the description a key carries in `/proc/keys` says nothing
//!   about the token, and no two scopes share a key.
//! - ChaCha20-Poly1305 (`ring`, the library the TLS stack already links),
//!   with a random 96-bit nonce per entry: an entry is written at most once
//!   per `get`, far below the 2^32 messages a random nonce allows per key.
//! - The associated data binds the key description (scope and host) and the
//!   epoch, so an entry copied under another name or replayed after a
//!   `store`/`erase` fails.
//! - The plaintext carries an absolute expiry: an entry past it, or further
//!   out than the longest TTL allowed, is refused, so stripping the kernel
//!   timeout (or replaying the bytes in a permanent key) extends nothing.
//!
//! Layout: `[format][epoch length][epoch][nonce][ciphertext and tag]`, the
//! plaintext `[expiry, u64 BE seconds][username length, u32 BE][username]
//! [secret]`. The epoch is in clear so a stale entry is told apart from a
//! forged one (in the debug output only; both are misses).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::protocol::Credential;

/// Bumped with any change of layout or derivation.
const FORMAT: u8 = 2;
const SALT: &[u8] = b"docker-credential-scalr cache v2";
const MAX_EPOCH_LEN: usize = 64;

/// A scope's name and entry key, derived from its owner's secret material.
pub struct ScopeKey {
    name: String,
    key: LessSafeKey,
}

/// An HKDF output length for byte strings that are not AEAD keys.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl ScopeKey {
    /// `kind` names the source ("control-plane", "keychain"); `parts` are its
    /// secret material, each length-prefixed so no two lists collide.
    pub fn derive(kind: &str, parts: &[&[u8]]) -> ScopeKey {
        let mut ikm = Zeroizing::new(Vec::new());
        for part in parts {
            ikm.extend_from_slice(&(part.len() as u64).to_be_bytes());
            ikm.extend_from_slice(part);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(&ikm);
        let mut id = [0u8; 12];
        prk.expand(&[kind.as_bytes(), b"\0scope name"], Len(id.len()))
            .and_then(|okm| okm.fill(&mut id))
            .expect("12 bytes is a valid HKDF-SHA256 length");
        let key: UnboundKey = prk
            .expand(&[kind.as_bytes(), b"\0entry key"], &CHACHA20_POLY1305)
            .expect("a key length is a valid HKDF-SHA256 length")
            .into();
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        ScopeKey {
            name: format!("{kind}-{hex}"),
            key: LessSafeKey::new(key),
        }
    }

    /// Safe to show: part of a key description.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Why an entry was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Written before the host's last `store`/`erase`.
    Stale,
    /// Past its expiry.
    Expired,
    /// Authentic, yet claims to live longer than any TTL allows.
    TooFarOut,
    /// Not sealed by an entitled process under this name: forged, modified,
    /// copied, or from another scope or format.
    Unauthentic,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Stale => "stale (written before the last store or erase)",
            Refused::Expired => "past its expiry",
            Refused::TooFarOut => "claiming a lifetime beyond the longest TTL",
            Refused::Unauthentic => "failing authentication (forged, modified or copied)",
        })
    }
}

fn aad(description: &str, epoch: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(description.len() + epoch.len() + 1);
    aad.extend_from_slice(description.as_bytes());
    aad.push(0);
    aad.extend_from_slice(epoch);
    aad
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The bytes to store under `description`; `None` only if the system's
/// random source fails (then nothing is cached).
pub fn seal(
    scope: &ScopeKey,
    description: &str,
    epoch: &str,
    credential: &Credential,
    expires: SystemTime,
) -> Option<Zeroizing<Vec<u8>>> {
    let epoch = epoch.as_bytes();
    if epoch.len() > MAX_EPOCH_LEN {
        return None;
    }
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).ok()?;
    let username = credential.username.as_bytes();
    let secret = credential.secret.expose_secret().as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(
        2 + epoch.len() + NONCE_LEN + 12 + username.len() + secret.len() + 16,
    ));
    out.push(FORMAT);
    out.push(epoch.len() as u8);
    out.extend_from_slice(epoch);
    out.extend_from_slice(&nonce);
    let header = out.len();
    out.extend_from_slice(&unix_secs(expires).to_be_bytes());
    out.extend_from_slice(&u32::try_from(username.len()).ok()?.to_be_bytes());
    out.extend_from_slice(username);
    out.extend_from_slice(secret);
    // Sealed in place: the plaintext never sits in a second buffer.
    let mut body = Zeroizing::new(out.split_off(header));
    scope
        .key
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(description, epoch)),
            &mut *body,
        )
        .ok()?;
    out.extend_from_slice(&body);
    Some(out)
}

/// The credential in `bytes`, if it is authentic for `description` at the
/// current `epoch`, and fresh at `now`.
pub fn open(
    scope: &ScopeKey,
    description: &str,
    epoch: &str,
    bytes: &[u8],
    now: SystemTime,
    max_ttl: Duration,
) -> Result<Credential, Refused> {
    let (&format, rest) = bytes.split_first().ok_or(Refused::Unauthentic)?;
    let (&len, rest) = rest.split_first().ok_or(Refused::Unauthentic)?;
    let len = usize::from(len);
    if format != FORMAT || len > MAX_EPOCH_LEN || rest.len() < len + NONCE_LEN {
        return Err(Refused::Unauthentic);
    }
    let (written_epoch, rest) = rest.split_at(len);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Refused::Unauthentic)?;
    let mut body = Zeroizing::new(sealed.to_vec());
    let plain = scope
        .key
        .open_in_place(nonce, Aad::from(aad(description, written_epoch)), &mut body)
        .map_err(|_: ring::error::Unspecified| Refused::Unauthentic)?;
    if written_epoch != epoch.as_bytes() {
        return Err(Refused::Stale);
    }
    let (expires, rest) = plain.split_at_checked(8).ok_or(Refused::Unauthentic)?;
    let (ulen, rest) = rest.split_at_checked(4).ok_or(Refused::Unauthentic)?;
    let expires = u64::from_be_bytes(expires.try_into().expect("8 bytes"));
    let ulen = u32::from_be_bytes(ulen.try_into().expect("4 bytes")) as usize;
    let (username, secret) = rest.split_at_checked(ulen).ok_or(Refused::Unauthentic)?;
    let now = unix_secs(now);
    if expires <= now {
        return Err(Refused::Expired);
    }
    if expires > now.saturating_add(max_ttl.as_secs()) {
        return Err(Refused::TooFarOut);
    }
    let username = String::from_utf8(username.to_vec()).map_err(|_| Refused::Unauthentic)?;
    let secret = std::str::from_utf8(secret).map_err(|_| Refused::Unauthentic)?;
    Ok(Credential {
        username,
        secret: SecretString::from(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn cred(u: &str, s: &str) -> Credential {
        Credential {
            username: u.into(),
            secret: SecretString::from(s),
        }
    }

    fn sealed(scope: &ScopeKey, description: &str, epoch: &str, ttl: u64) -> Vec<u8> {
        let expires = SystemTime::now() + Duration::from_secs(ttl);
        seal(scope, description, epoch, &cred("robot", "pw-1"), expires)
            .unwrap()
            .to_vec()
    }

    fn opened(
        scope: &ScopeKey,
        description: &str,
        epoch: &str,
        bytes: &[u8],
    ) -> Result<(String, String), Refused> {
        open(scope, description, epoch, bytes, SystemTime::now(), HOUR)
            .map(|c| (c.username, c.secret.expose_secret().to_string()))
    }

    #[test]
    fn round_trip_hides_username_and_secret() {
        let k = ScopeKey::derive("control-plane", &[b"a.scalr.io", b"token"]);
        let bytes = sealed(&k, "d", "e1", 60);
        for needle in [&b"robot"[..], b"pw-1"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        }
        assert_eq!(
            opened(&k, "d", "e1", &bytes),
            Ok(("robot".into(), "pw-1".into()))
        );
    }

    #[test]
    fn scopes_separate_owners_and_hide_them() {
        let a = ScopeKey::derive("control-plane", &[b"a.scalr.io", b"token-1"]);
        let b = ScopeKey::derive("control-plane", &[b"a.scalr.io", b"token-2"]);
        let c = ScopeKey::derive("control-plane", &[b"a.scalr.iotoken-1", b""]);
        let d = ScopeKey::derive("keychain", &[b"a.scalr.io", b"token-1"]);
        let names = [a.name(), b.name(), c.name(), d.name()];
        for (i, x) in names.iter().enumerate() {
            assert!(!x.contains("token") && !x.contains("scalr"));
            for y in &names[i + 1..] {
                assert_ne!(x, y);
            }
        }
        let same = ScopeKey::derive("control-plane", &[b"a.scalr.io", b"token-1"]);
        assert_eq!(a.name(), same.name());
        // Another token's key opens nothing of this one's.
        let bytes = sealed(&a, "d", "0", 60);
        assert_eq!(opened(&b, "d", "0", &bytes), Err(Refused::Unauthentic));
        assert!(opened(&same, "d", "0", &bytes).is_ok());
    }

    #[test]
    fn every_changed_byte_and_every_other_name_fails() {
        let k = ScopeKey::derive("keychain", &[&[7u8; 32]]);
        let bytes = sealed(&k, "scope:host-a", "e1", 60);
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            // Flipping the epoch in clear turns it stale at best, never valid.
            assert!(opened(&k, "scope:host-a", "e1", &t).is_err(), "byte {i}");
        }
        for cut in 0..bytes.len() {
            assert!(opened(&k, "scope:host-a", "e1", &bytes[..cut]).is_err());
        }
        assert_eq!(
            opened(&k, "scope:host-b", "e1", &bytes),
            Err(Refused::Unauthentic),
            "copied under another host"
        );
    }

    #[test]
    fn epochs_expiry_and_far_futures_are_refused() {
        let k = ScopeKey::derive("keychain", &[&[1u8; 32]]);
        let bytes = sealed(&k, "d", "e1", 60);
        assert_eq!(opened(&k, "d", "e2", &bytes), Err(Refused::Stale));
        let past = seal(&k, "d", "e1", &cred("u", "s"), SystemTime::now() - HOUR).unwrap();
        assert_eq!(opened(&k, "d", "e1", &past), Err(Refused::Expired));
        let far = sealed(&k, "d", "e1", 2 * 3600);
        assert_eq!(opened(&k, "d", "e1", &far), Err(Refused::TooFarOut));
        let later = SystemTime::now() + Duration::from_secs(61);
        assert_eq!(
            open(&k, "d", "e1", &bytes, later, HOUR).map(|_| ()),
            Err(Refused::Expired),
            "a store that kept it past its timeout does not get it served"
        );
    }

    #[test]
    fn old_plain_text_entries_are_unauthentic() {
        let k = ScopeKey::derive("keychain", &[&[1u8; 32]]);
        let old = br#"{"e":"0","u":"attacker","s":"X"}"#;
        assert_eq!(opened(&k, "d", "0", old), Err(Refused::Unauthentic));
        assert_eq!(opened(&k, "d", "0", b""), Err(Refused::Unauthentic));
    }
}
