//! The cache attacked by a process of the same user: the real helper binary
//! answers `get`s from the fake control plane and keeps them in the kernel
//! keyring (`@u`); this test process then plays a later CI job on the same
//! node, with another token or none: it reads every key of ours, rewrites,
//! plants, copies and un-expires them, and checks what the next `get` says.
//!
//! `@u` is shared by every test on this uid, so each test uses its own
//! control plane and its own registry host names.

#![cfg(target_os = "linux")]

use std::time::Duration;

use linux_keyutils::{Key, KeyRing, KeyRingIdentifier, KeyType, Permission};
use scalr_oci_e2e::keyring_session::{NoKeychain, parse_get};
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::scalr_run::ScalrRun as Run;
use scalr_oci_e2e::secrets::fresh_secret;

scalr_oci_e2e::ci_runs_the_ignored_tests!();

/// Every key the helper makes starts with this (any format version).
const OURS: &str = "docker-credential-scalr:";

/// The helper in a Scalr-run-like environment, with debug output on: the
/// attacks assert what the cache says.
fn debug_run() -> Run {
    Run::new().env("SCALR_OCI_DEBUG", "1")
}

/// An integration for a registry host of its own, with a fresh password,
/// fetched once through the run: what the attacks find in the cache.
struct Cached {
    host: String,
    id: String,
    password: String,
}

impl Cached {
    /// `tag` goes into the host name (see [`unique_host`]).
    fn new(run: &Run, tag: &str) -> Cached {
        let host = unique_host(tag);
        let password = fresh_secret("cache-attack");
        let id = run.integration(&format!("https://{host}"), "robot", &password);
        assert_eq!(secret_of(&run.get(&host)), password);
        Cached { host, id, password }
    }

    /// The next get answers the genuine password, and the source has been
    /// asked `requests` times in all (`why`).
    #[track_caller]
    fn assert_get(&self, run: &Run, requests: usize, why: &str) {
        let out = run.get(&self.host);
        assert_eq!(secret_of(&out), self.password, "{}", out.show());
        assert_eq!(
            run.fake.credentials_requests(&self.id),
            requests,
            "{why}: {}",
            out.stderr_lossy()
        );
    }
}

/// A registry host no other test (or run) uses.
fn unique_host(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}-{}-{nanos}.cache-attack.test", std::process::id())
}

fn user_keyring() -> KeyRing {
    KeyRing::from_special_id(KeyRingIdentifier::User, false).expect("the user keyring")
}

/// Our keys in `@u` whose description names `host`: (key, description).
fn our_keys(host: &str) -> Vec<(Key, String)> {
    let links = user_keyring().get_links(65536).expect("list @u");
    links
        .iter()
        .filter_map(|node| node.as_key())
        .filter_map(|key| {
            let meta = key.metadata().ok()?;
            let d = meta.get_description().to_string();
            (d.starts_with(OURS) && d.ends_with(&format!(":{host}"))).then_some((key, d))
        })
        .collect()
}

/// Our entries (not epoch keys) for `host`.
fn entries(host: &str) -> Vec<(Key, String)> {
    our_keys(host)
        .into_iter()
        .filter(|(_, d)| !d.contains(":epoch:"))
        .collect()
}

/// `keys`, asserted not empty: else the get was not cached and an attack
/// on them would prove nothing.
#[track_caller]
fn to_attack(keys: Vec<(Key, String)>) -> Vec<(Key, String)> {
    assert!(!keys.is_empty(), "the get was cached: nothing to attack");
    keys
}

/// Replaces whatever `@u` holds under `description` by a key of the
/// attacker's own, with `payload` and no timeout.
fn plant(description: &str, payload: &[u8]) -> Key {
    let user = user_keyring();
    if let Ok(old) = user.search(description) {
        let _ = user.unlink_key(old);
    }
    user.add_key(description, payload)
        .expect("plant a key in @u")
}

/// Every spelling of `secret` a careless format could hold it in.
fn forms(secret: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let raw = secret.as_bytes();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let percent: String = raw.iter().map(|b| format!("%{b:02X}")).collect();
    let mut forms = vec![
        raw.to_vec(),
        secret.to_uppercase().into_bytes(),
        serde_json::to_string(secret).unwrap().into_bytes(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        percent.into_bytes(),
        raw.iter().rev().copied().collect(),
    ];
    // base64 of the secret at each of the three alignments inside a longer text.
    for skip in 0..3 {
        let padded: Vec<u8> = std::iter::repeat_n(b'x', skip)
            .chain(raw.iter().copied())
            .collect();
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&padded);
            // Drop the characters that also depend on the prefix and the end.
            let start = (skip * 4).div_ceil(3) + 1;
            forms.push(text.as_bytes()[start..text.len() - 4].to_vec());
        }
    }
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn secret_of(out: &Output) -> String {
    parse_get("get", out)
        .expect("a hit, not `credentials not found`")
        .1
}

#[test]
fn a_process_with_another_token_or_none_reads_no_password_from_the_keyring() {
    let run = debug_run();
    let Cached { host, password, .. } = Cached::new(&run, "read");
    let needles = forms(&password);
    for (key, description) in &to_attack(entries(&host)) {
        assert!(!description.contains(&password) && !description.contains(&run.fake.token()));
        let Ok(payload) = key.read_to_vec() else {
            continue;
        };
        for needle in &needles {
            assert!(
                !contains(&payload, needle),
                "{description} holds the password as {:?}: {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&payload)
            );
        }
        assert!(
            !contains(&payload, b"robot"),
            "{description} holds the username in clear"
        );
    }
}

#[test]
fn our_keys_give_nobody_write_or_setattr() {
    let run = debug_run();
    let cached = Cached::new(&run, "perms");
    for (key, description) in to_attack(our_keys(&cached.host)) {
        // The attacks themselves: swap the payload, make it permanent.
        assert!(
            key.update(b"swapped").is_err(),
            "{description}: pupdate worked"
        );
        assert!(
            key.set_timeout(0).is_err(),
            "{description}: timeout 0 worked"
        );
        let perms = key.metadata().unwrap().get_perms().bits();
        for (set, shift) in [("possessor", 24), ("user", 16), ("group", 8), ("other", 0)] {
            let bits = Permission::from_bits_truncate((perms >> shift) as u8);
            assert!(
                !bits.intersects(Permission::WRITE | Permission::SETATTR),
                "{description}: the {set} set has {:#x}",
                bits.bits()
            );
        }
    }
}

#[test]
fn a_planted_or_modified_entry_is_never_served() {
    let run = debug_run();
    let cached = Cached::new(&run, "plant");
    let host = &cached.host;
    let epoch = our_keys(host)
        .into_iter()
        .find(|(_, d)| d.contains(":epoch:"))
        .and_then(|(k, _)| String::from_utf8(k.read_to_vec().ok()?).ok())
        .unwrap_or_else(|| "0".into());
    let forged = format!(r#"{{"e":"{epoch}","u":"attacker","s":"forged-by-attacker"}}"#);
    for (key, description) in &to_attack(entries(host)) {
        // In place first (pupdate), else a key of the attacker's own.
        if key.update(&forged).is_err() {
            plant(description, forged.as_bytes());
        }
    }
    cached.assert_get(&run, 2, "asked the source again");

    // A bit flipped in a genuine entry is no better.
    let (_, description) = &entries(host)[0];
    let mut bytes = user_keyring()
        .search(description)
        .unwrap()
        .read_to_vec()
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    plant(description, &bytes);
    cached.assert_get(&run, 3, "asked the source again");
}

/// A forged keychain answer, planted where the helper used to look when there
/// is no session bus, on a machine with no keychain at all.
#[test]
fn a_planted_keychain_answer_is_never_served_without_a_keychain() {
    use sha2::{Digest, Sha256};
    let home = NoKeychain::new();
    let host = unique_host("forge-keychain");
    let digest = Sha256::digest(b"keychain\0\0");
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let planted = plant(
        &format!("{OURS}v1:keychain-{hex}:{host}"),
        br#"{"e":"0","u":"attacker","s":"forged-by-attacker"}"#,
    );
    let mut cmd = home.command(peers::helper_bin());
    cmd.env_remove("XDG_RUNTIME_DIR").arg("get");
    let out = peers::run(&mut cmd, host.as_bytes(), Duration::from_secs(60));
    let _ = user_keyring().unlink_key(planted);
    assert!(
        !out.stdout_lossy().contains("forged-by-attacker"),
        "served a planted entry: {}",
        out.show()
    );
    assert_eq!(out.code(), Some(1), "{}", out.show());
}

#[test]
fn an_entry_without_a_timeout_is_refused_after_its_time() {
    let ttl = 3;
    let run = debug_run().env("SCALR_OCI_CACHE_TTL", &ttl.to_string());
    let cached = Cached::new(&run, "timeout");
    for (key, description) in &to_attack(entries(&cached.host)) {
        // Strip the kernel timeout; where that is refused, replay the same
        // bytes in a permanent key of the attacker's own.
        if key.set_timeout(0).is_err() {
            let bytes = key.read_to_vec().expect("entries are readable");
            plant(description, &bytes);
        }
    }
    cached.assert_get(&run, 1, "still fresh: a hit");
    std::thread::sleep(Duration::from_millis(ttl * 1000 + 1500));
    cached.assert_get(&run, 2, "past its time the entry is refused");
}

#[test]
fn an_entry_copied_under_another_name_fails() {
    let run = debug_run();
    let a = Cached::new(&run, "copy-a");
    let b = Cached::new(&run, "copy-b");
    let (key_a, _) = entries(&a.host).pop().expect("host a cached");
    let (_, description_b) = entries(&b.host).pop().expect("host b cached");
    plant(&description_b, &key_a.read_to_vec().unwrap());
    b.assert_get(&run, 2, "asked the source again");
}

/// Epoch keys count against the user's key quota and live two hours: only a
/// keychain change that happened writes one.
#[test]
fn a_failing_store_or_erase_writes_no_epoch_key() {
    let home = NoKeychain::new();
    let host = unique_host("epoch");
    let store = serde_json::json!({"ServerURL": host, "Username": "u", "Secret": "pw-epoch"});
    for (verb, stdin) in [("store", store.to_string()), ("erase", host.clone())] {
        let out = home.helper(verb, &stdin);
        assert_eq!(
            out.code(),
            Some(1),
            "{verb} without a keychain fails: {}",
            out.show()
        );
    }
    let epochs: Vec<String> = our_keys(&host).into_iter().map(|(_, d)| d).collect();
    assert!(epochs.is_empty(), "failed changes wrote {epochs:?}");
}

/// Keeps the test honest: the keys listed are really ours and readable.
#[test]
fn our_keys_are_user_keys() {
    let run = debug_run();
    let cached = Cached::new(&run, "types");
    for (key, description) in our_keys(&cached.host) {
        assert_eq!(
            key.metadata().unwrap().get_type(),
            KeyType::User,
            "{description}"
        );
    }
}

/// On a desktop each login has a session keyring of its own: keychain
/// answers are cached under a secret kept there, which another session of
/// the same user can neither read nor use.
#[test]
#[ignore = "needs peers"]
fn keychain_answers_are_cached_only_for_their_login_session() {
    use scalr_oci_e2e::keyring_session::KeyringSession;
    let Some(s) = KeyringSession::start_in_fresh_login() else {
        return;
    };
    let host = unique_host("keychain");
    let password = fresh_secret("keychain-cache");
    let store = serde_json::json!({"ServerURL": host, "Username": "robot", "Secret": password});
    assert_eq!(s.helper("store", &store.to_string()).code(), Some(0));
    let debug = [("SCALR_OCI_DEBUG", "1")];
    for _ in 0..2 {
        let out = s.helper_with("get", &host, &debug);
        assert_eq!(secret_of(&out), password);
    }
    let out = s.helper_with("get", &host, &debug);
    assert!(
        out.stderr_lossy()
            .contains("answered from the cache (keychain)"),
        "{}",
        out.show()
    );
    let needles = forms(&password);
    let found = entries(&host);
    assert!(!found.is_empty());
    for (key, description) in found {
        let payload = key.read_to_vec().unwrap();
        assert!(
            needles.iter().all(|n| !contains(&payload, n)),
            "{description}"
        );
    }
    // The secret, as another login session of this user tries to read it.
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false).unwrap();
    let secret = session
        .get_links(64)
        .unwrap()
        .iter()
        .filter_map(|n| n.as_key())
        .find(|k| {
            k.metadata()
                .is_ok_and(|m| m.get_description().ends_with(":session-secret"))
        })
        .expect("the session secret lives in the session keyring");
    let Some(keyctl) = peers::find("keyctl") else {
        peers::loud("SKIPPED the cross-session read: no keyctl (Debian keyutils)");
        return;
    };
    let confined = peers::our_bin("SCALR_OCI_CONFINED_BIN", "scalr-oci-e2e", "confined");
    let mut cmd = std::process::Command::new(confined);
    cmd.arg("--new-session")
        .arg("--")
        .arg(keyctl)
        .args(["pipe", &secret.get_id().as_raw_id().to_string()]);
    let out = peers::run(&mut cmd, b"", Duration::from_secs(30));
    assert_ne!(
        out.code(),
        Some(0),
        "another session read it: {}",
        out.show()
    );
    assert!(out.stdout.is_empty());
}
