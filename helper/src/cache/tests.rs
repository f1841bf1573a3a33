//! The cache's logic on the in-memory store: epochs, races, tampering,
//! copying, expiry, refusals. The kernel store's own behaviour is tested
//! end to end (tests/tests/cache_attacks.rs).

use std::cell::RefCell;
use std::rc::Rc;

use super::*;

const TTL: Duration = Duration::from_secs(60);

struct Fixture {
    store: Rc<MemoryStore>,
    notes: Rc<RefCell<Vec<Note>>>,
    cache: Cache<'static>,
}

fn fixture(store: MemoryStore) -> Fixture {
    let store = Rc::new(store);
    let notes = Rc::new(RefCell::new(Vec::new()));
    let sink = notes.clone();
    let cache = Cache::with_store(
        Box::new(store.clone()),
        Box::new(move |n: &Note| sink.borrow_mut().push(n.clone())),
    );
    Fixture {
        store,
        notes,
        cache,
    }
}

fn host(name: &str) -> RegistryHost {
    RegistryHost::parse(name).unwrap()
}

fn cred(secret: &str) -> Credential {
    Credential {
        username: "robot".into(),
        secret: SecretString::from(secret),
    }
}

fn token_scope(f: &Fixture, token: &str) -> ScopeKey {
    let token = SecretString::from(token);
    f.cache
        .scope(Owner::ControlPlane {
            hostname: "a.scalr.io".into(),
            token: &token,
        })
        .unwrap()
}

fn secret_of(c: Option<Credential>) -> Option<String> {
    c.map(|c| c.secret.expose_secret().to_string())
}

#[test]
fn round_trip_per_scope() {
    let f = fixture(MemoryStore::in_session());
    let h = host("ghcr.io");
    let a = token_scope(&f, "token-a");
    let b = token_scope(&f, "token-b");
    let epoch = f.cache.epoch(&h);
    f.cache.put(&a, &h, &epoch, &cred("pw-a"), TTL);
    assert_eq!(
        secret_of(f.cache.get(&a, &h, &epoch)).as_deref(),
        Some("pw-a")
    );
    assert_eq!(
        f.cache.get(&b, &h, &epoch).map(|_| ()),
        None,
        "another token"
    );
    assert_eq!(f.cache.get(&a, &host("quay.io"), &epoch).map(|_| ()), None);
    assert_eq!(*f.store.ttls.borrow().values().next().unwrap(), TTL);
    assert!(f.notes.borrow().is_empty(), "{:?}", f.notes.borrow());
}

#[test]
fn a_writer_bump_makes_a_racing_readers_entry_stale() {
    let f = fixture(MemoryStore::in_session());
    let h = host("ghcr.io");
    let s = f.cache.scope(Owner::LoginSession).unwrap();
    // The reader reads the epoch, then the keychain (old secret)...
    let read_epoch = f.cache.epoch(&h);
    // ...a writer changes the keychain, then bumps and forgets...
    f.cache.bump(&h);
    f.cache.forget(&h);
    // ...and the reader caches what it read, too late.
    f.cache.put(&s, &h, &read_epoch, &cred("old"), TTL);
    let now = f.cache.epoch(&h);
    assert_ne!(now, read_epoch);
    assert!(f.cache.get(&s, &h, &now).is_none());
    assert_eq!(
        f.notes.borrow().as_slice(),
        [Note::Refused {
            host: "ghcr.io".into(),
            why: Refused::Stale
        }]
    );
    // The next reader caches the new answer under the new epoch.
    f.cache.put(&s, &h, &now, &cred("new"), TTL);
    assert_eq!(secret_of(f.cache.get(&s, &h, &now)).as_deref(), Some("new"));
}

#[test]
fn forget_drops_every_scope_and_format_of_one_host_only() {
    let f = fixture(MemoryStore::in_session());
    let (h, other) = (host("ghcr.io"), host("quay.io"));
    let s = f.cache.scope(Owner::LoginSession).unwrap();
    let t = token_scope(&f, "t");
    f.cache.bump(&h);
    let e = f.cache.epoch(&h);
    for scope in [&s, &t] {
        f.cache.put(scope, &h, &e, &cred("pw"), TTL);
        f.cache.put(scope, &other, "0", &cred("pw"), TTL);
    }
    f.store
        .write("docker-credential-scalr:v1:keychain-x:ghcr.io", b"{}", TTL)
        .unwrap();
    f.cache.forget(&h);
    let left = f.store.descriptions();
    assert!(
        left.iter()
            .all(|d| !d.ends_with(":ghcr.io") || d.contains(":epoch:")),
        "{left:?}"
    );
    assert_eq!(left.iter().filter(|d| d.ends_with(":quay.io")).count(), 2);
    assert_eq!(f.cache.epoch(&h), e, "forget keeps the epoch");
}

#[test]
fn tampered_planted_and_copied_entries_miss_and_are_removed() {
    let f = fixture(MemoryStore::in_session());
    let (h, other) = (host("ghcr.io"), host("quay.io"));
    let s = f.cache.scope(Owner::LoginSession).unwrap();
    f.cache.put(&s, &h, "0", &cred("pw-ghcr"), TTL);
    f.cache.put(&s, &other, "0", &cred("pw-quay"), TTL);
    let d = description(&s, &h);
    let genuine = f.store.read(&d).unwrap().to_vec();

    let mut flipped = genuine.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let quay = f.store.read(&description(&s, &other)).unwrap().to_vec();
    let planted = br#"{"e":"0","u":"attacker","s":"X"}"#.to_vec();
    for bad in [flipped, quay, planted] {
        f.store.entries.borrow_mut().insert(d.clone(), bad);
        assert!(f.cache.get(&s, &h, "0").is_none());
        assert!(f.store.read(&d).is_none(), "removed");
    }
    assert_eq!(f.notes.borrow().len(), 3);
    assert!(f.notes.borrow().iter().all(|n| matches!(
        n,
        Note::Refused {
            why: Refused::Unauthentic,
            ..
        }
    )));
    // Another session's secret opens nothing of this one's.
    let g = fixture(MemoryStore {
        session: Some(vec![7; 32]),
        ..MemoryStore::default()
    });
    let theirs = g.cache.scope(Owner::LoginSession).unwrap();
    assert_ne!(theirs.name(), s.name());
    g.store
        .entries
        .borrow_mut()
        .insert(description(&theirs, &h), genuine);
    assert!(g.cache.get(&theirs, &h, "0").is_none());
}

#[test]
fn a_store_that_keeps_entries_past_their_timeout_gets_them_refused() {
    let f = fixture(MemoryStore::in_session());
    let h = host("ghcr.io");
    let s = f.cache.scope(Owner::LoginSession).unwrap();
    let d = description(&s, &h);
    let past = SystemTime::now() - Duration::from_secs(1);
    let far = SystemTime::now() + MAX_CACHE_TTL + Duration::from_secs(120);
    for (at, why) in [(past, Refused::Expired), (far, Refused::TooFarOut)] {
        let bytes = sealed::seal(&s, &d, "0", &cred("pw"), at).unwrap();
        f.store
            .entries
            .borrow_mut()
            .insert(d.clone(), bytes.to_vec());
        assert!(f.cache.get(&s, &h, "0").is_none());
        assert!(f.store.read(&d).is_none(), "removed");
        assert_eq!(
            f.notes.borrow().last(),
            Some(&Note::Refused {
                host: "ghcr.io".into(),
                why
            })
        );
    }
}

#[test]
fn without_a_session_secret_keychain_answers_are_not_cached() {
    let f = fixture(MemoryStore::default());
    assert!(f.cache.scope(Owner::LoginSession).is_none());
    assert!(f.cache.scope(Owner::LoginSession).is_none());
    assert_eq!(
        f.notes.borrow().as_slice(),
        [Note::KeychainNotCached(
            NoSessionSecret::SharedSessionKeyring
        )],
        "said once per process"
    );
    assert!(f.notes.borrow()[0].to_string().contains("not cached"));
    assert!(token_scope(&f, "t").name().starts_with("control-plane-"));
}

#[test]
fn a_full_quota_is_reported_and_nothing_breaks() {
    let f = fixture(MemoryStore::in_session());
    f.store.refuse_writes.set(Some(Refusal::QuotaFull));
    let h = host("ghcr.io");
    let s = token_scope(&f, "t");
    f.cache.put(&s, &h, "0", &cred("pw"), TTL);
    f.cache.bump(&h);
    assert!(f.cache.get(&s, &h, "0").is_none());
    assert_eq!(f.cache.epoch(&h), "0");
    let notes: Vec<String> = f.notes.borrow().iter().map(ToString::to_string).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes.iter().all(|n| n.contains("quota is full")),
        "{notes:?}"
    );
    assert!(notes[0].contains("came from the source"), "{notes:?}");
}

#[test]
fn an_unavailable_store_says_so_once_and_keeps_nothing() {
    let notes = Rc::new(RefCell::new(Vec::new()));
    let sink = notes.clone();
    let cache = Cache {
        available: false,
        ..Cache::with_store(
            Box::new(NullStore),
            Box::new(move |n: &Note| sink.borrow_mut().push(n.to_string())),
        )
    };
    assert!(cache.scope(Owner::LoginSession).is_none());
    let s = ScopeKey::derive("control-plane", &[b"x"]);
    let h = host("ghcr.io");
    cache.put(&s, &h, "0", &cred("pw"), TTL);
    assert!(cache.get(&s, &h, "0").is_none());
    cache.bump(&h);
    cache.forget(&h);
    assert!(notes.borrow().is_empty(), "{:?}", notes.borrow());
    assert!(
        Note::Unavailable(Refusal::NotPermitted)
            .to_string()
            .starts_with("the cache is unavailable")
    );
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
