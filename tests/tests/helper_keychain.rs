//! The real `docker-credential-scalr` binary against a real Secret Service
//! (gnome-keyring on a private session bus): the credential-helper protocol
//! as clients drive it, for every spelling they send.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scalr_oci_e2e::keyring_session::{KeyringSession, NOT_FOUND, NoKeychain, parse_get};
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::secrets::{assert_no_credential_in_files, fresh_secret, regular_files};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

/// The helper keeps recent answers in a kernel-keyring cache. With it off,
/// every `get` is answered by the Secret Service itself, which is what most
/// tests here are about; the concurrency tests keep it on, as users run it.
const NO_CACHE: &[(&str, &str)] = &[("SCALR_OCI_CACHE_TTL", "0")];

/// The helper in a fresh keyring session, with the cache off; `None` (after
/// a loud skip) without the peers.
fn helper() -> Option<Helper> {
    Some(Helper {
        session: Arc::new(KeyringSession::start_in_fresh_login()?),
        env: NO_CACHE,
    })
}

fn store_json(server_url: &str, username: &str, secret: &str) -> String {
    serde_json::json!({"ServerURL": server_url, "Username": username, "Secret": secret}).to_string()
}

/// A keyring session plus the environment every helper call gets.
#[derive(Clone)]
struct Helper {
    session: Arc<KeyringSession>,
    env: &'static [(&'static str, &'static str)],
}

impl Helper {
    fn call(&self, verb: &str, stdin: &str) -> Output {
        self.session.helper_with(verb, stdin, self.env)
    }

    /// The helper in the same session with the cache on, as users run it.
    fn cached(&self) -> Helper {
        Helper {
            session: Arc::clone(&self.session),
            env: &[],
        }
    }

    /// The session's HOME, where no credential may end up in a file.
    fn home(&self) -> PathBuf {
        self.session.home()
    }
}

fn store(s: &Helper, server_url: &str, username: &str, secret: &str) {
    let out = s.call("store", &store_json(server_url, username, secret));
    assert!(
        out.code() == Some(0) && out.stdout.is_empty(),
        "store {server_url:?}: {}",
        out.show()
    );
}

/// Stores a fresh secret (see [`fresh_secret`]) and returns it.
fn store_fresh(s: &Helper, server_url: &str, username: &str) -> String {
    let secret = fresh_secret(username);
    store(s, server_url, username, &secret);
    secret
}

/// [`store_fresh`] of each `(server_url, username)`, in order: their secrets.
fn store_fresh_each<const N: usize>(s: &Helper, entries: [(&str, &str); N]) -> [String; N] {
    entries.map(|(server_url, username)| store_fresh(s, server_url, username))
}

/// `Some((username, secret))`, or `None` on exactly the not-found answer.
fn get(s: &Helper, server_url: &str) -> Option<(String, String)> {
    parse_get(server_url, &s.call("get", server_url))
}

/// True when erased; false on exactly the not-found answer.
fn erase(s: &Helper, server_url: &str) -> bool {
    let out = s.call("erase", server_url);
    match out.code() {
        Some(0) if out.stdout.is_empty() => true,
        Some(1) if out.stdout_lossy().trim() == NOT_FOUND => false,
        _ => panic!("erase {server_url:?}: {}", out.show()),
    }
}

/// The parsed listing; also checks that no `secret` appears in the output.
fn list(s: &Helper, secrets: &[&str]) -> BTreeMap<String, String> {
    let out = s.call("list", "unused");
    assert_eq!(out.code(), Some(0), "list: {}", out.show());
    let text = out.stdout_lossy();
    for secret in secrets {
        assert!(!text.contains(secret), "list shows a secret: {text}");
    }
    assert!(text.ends_with('\n'), "list ends with a newline: {text:?}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("list printed bad JSON ({e}): {text}"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Stores through each spelling in turn, then proves that every spelling
/// (including the one stored through) finds exactly that credential, that
/// `list` shows the one canonical key, and that erasing through another
/// spelling removes it for all.
fn every_spelling_is_one_entry(spellings: &[&str], listed_as: &str) {
    let Some(s) = &helper() else { return };
    let mut used = Vec::new();
    for (i, stored_as) in spellings.iter().enumerate() {
        let user = format!("user-{i}");
        let secret = fresh_secret("spelling");
        store(s, stored_as, &user, &secret);
        for asked_as in spellings {
            assert_eq!(
                get(s, asked_as),
                Some((user.clone(), secret.clone())),
                "stored as {stored_as:?}, asked as {asked_as:?}"
            );
        }
        assert_eq!(
            list(s, &[&secret]),
            map(&[(listed_as, &user)]),
            "stored as {stored_as:?}"
        );
        let erased_as = spellings[(i + 1) % spellings.len()];
        assert!(
            erase(s, erased_as),
            "erase {erased_as:?} after storing {stored_as:?}"
        );
        for asked_as in spellings {
            assert_eq!(
                get(s, asked_as),
                None,
                "erased as {erased_as:?}, asked as {asked_as:?}"
            );
        }
        assert_eq!(list(s, &[]), BTreeMap::new());
        used.push((user, secret));
    }
    for (user, secret) in &used {
        assert_no_credential_in_files(&s.home(), user, secret);
    }
}

#[test]
#[ignore = "needs peers"]
fn every_spelling_of_a_bare_host_is_one_entry() {
    every_spelling_is_one_entry(
        &[
            "ghcr.io",
            "ghcr.io\n",
            "https://ghcr.io",
            "http://ghcr.io",
            "ghcr.io/",
            "https://ghcr.io/",
            "https://ghcr.io/v1/",
            "https://ghcr.io/v2/",
            "https://ghcr.io/v2/\n",
            "GHCR.IO",
        ],
        "ghcr.io",
    );
}

#[test]
#[ignore = "needs peers"]
fn every_spelling_of_host_and_port_is_one_entry() {
    every_spelling_is_one_entry(
        &[
            "registry.example.com:5000",
            "registry.example.com:5000\n",
            "https://registry.example.com:5000",
            "http://registry.example.com:5000",
            "registry.example.com:5000/",
            "https://registry.example.com:5000/v1/",
            "https://registry.example.com:5000/v2/",
        ],
        "registry.example.com:5000",
    );
}

#[test]
#[ignore = "needs peers"]
fn every_spelling_of_docker_hub_is_one_entry() {
    every_spelling_is_one_entry(
        &[
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
            "https://index.docker.io/v1/\n",
            "https://registry-1.docker.io/v2/",
            "docker.io\n",
        ],
        // Docker's own key for Docker Hub, as in `credHelpers` and `auths`.
        "https://index.docker.io/v1/",
    );
}

#[test]
#[ignore = "needs peers"]
fn list_is_an_empty_object_then_every_host_and_never_a_secret() {
    let Some(s) = &helper() else { return };
    let out = s.call("list", "unused");
    assert_eq!(
        (out.code(), out.stdout_lossy().as_str()),
        (Some(0), "{}\n"),
        "{}",
        out.show()
    );

    let [a, b, c] = store_fresh_each(
        s,
        [
            ("https://ghcr.io", "alice"),
            ("localhost:5000", "bob"),
            ("docker.io", "carol"),
        ],
    );
    let out = s.call("list", "unused");
    for secret in [&a, &b, &c] {
        assert!(
            !out.stdout_lossy().contains(secret.as_str()),
            "{}",
            out.show()
        );
        assert!(
            !out.stderr_lossy().contains(secret.as_str()),
            "{}",
            out.show()
        );
    }
    assert_eq!(
        list(s, &[&a, &b, &c]),
        map(&[
            ("ghcr.io", "alice"),
            ("localhost:5000", "bob"),
            ("https://index.docker.io/v1/", "carol"),
        ])
    );
    for (user, secret) in [("alice", &a), ("bob", &b), ("carol", &c)] {
        assert_no_credential_in_files(&s.home(), user, secret);
    }
}

#[test]
#[ignore = "needs peers"]
fn store_replaces_username_and_secret_together() {
    let Some(s) = &helper() else { return };
    let [first, second] = store_fresh_each(
        s,
        [
            ("registry.example.com", "first-user"),
            ("https://registry.example.com/v2/", "second-user"),
        ],
    );
    assert_eq!(
        get(s, "registry.example.com"),
        Some(("second-user".into(), second.clone()))
    );
    assert_eq!(
        list(s, &[&first, &second]),
        map(&[("registry.example.com", "second-user")])
    );
    // One erase removes it: the replacement left no second entry behind.
    assert!(erase(s, "registry.example.com"));
    assert_eq!(get(s, "registry.example.com"), None);
    assert_no_credential_in_files(&s.home(), "first-user", &first);
    assert_no_credential_in_files(&s.home(), "second-user", &second);
}

/// Long registry tokens (JWTs, GitLab deploy tokens in a JSON wrapper) are
/// several KiB: 8 KiB secrets round-trip byte for byte, JSON escapes and all,
/// from the Secret Service and from the cache.
#[test]
#[ignore = "needs peers"]
fn secrets_of_8_kib_round_trip() {
    let Some(s) = &helper() else { return };
    let mut secret = fresh_secret("8kib");
    let alphabet = "abcXYZ019<>&\"\\/+=._-~";
    secret.extend(alphabet.chars().cycle().take(8192 - secret.len()));
    assert_eq!(secret.len(), 8192);
    // The cache is the user's kernel keyring, shared with every other run.
    let pid = std::process::id();
    for (s, host) in [
        (s.clone(), format!("big-uncached-{pid}.example.com")),
        (s.cached(), format!("big-cached-{pid}.example.com")),
    ] {
        let host = host.as_str();
        store(&s, host, "big-user", &secret);
        for _ in 0..2 {
            assert_eq!(
                get(&s, &format!("https://{host}")),
                Some(("big-user".into(), secret.clone())),
                "{host}"
            );
        }
        assert!(erase(&s, host));
    }
    assert_no_credential_in_files(&s.home(), "big-user", &secret);
}

#[test]
#[ignore = "needs peers"]
fn misses_answer_exactly_not_found() {
    let Some(s) = &helper() else { return };
    for verb in ["get", "erase"] {
        for input in [
            "never.example.com",
            "https://never.example.com\n",
            "docker.io",
        ] {
            let out = s.call(verb, input);
            assert_eq!(out.code(), Some(1), "{verb} {input:?}: {}", out.show());
            assert_eq!(
                out.stdout_lossy(),
                format!("{NOT_FOUND}\n"),
                "{verb} {input:?}: {}",
                out.show()
            );
        }
    }
    // An erase that found something answers nothing; the next one misses.
    let secret = store_fresh(s, "twice.example.com", "u");
    assert!(erase(s, "twice.example.com"));
    assert!(!erase(s, "twice.example.com"));
    assert_no_credential_in_files(&s.home(), "u", &secret);
}

#[test]
#[ignore = "needs peers"]
fn a_host_never_gets_another_hosts_secret() {
    let Some(s) = &helper() else { return };
    let [ghcr, local] = store_fresh_each(
        s,
        [("ghcr.io", "ghcr-user"), ("localhost:5000", "local-user")],
    );

    // Other hosts, or the same host on another port: a plain miss.
    for other in [
        "ghcr.io.evil.com",
        "https://ghcr.io.evil.com",
        "evil.com/ghcr.io",
        "https://evil.com/ghcr.io",
        "https://evil.com/https://ghcr.io",
        "evil-ghcr.io",
        "ghcr.io:5000",
        "ghcr.com",
        "io",
        "localhost",
        "localhost:5001",
        "https://localhost:50000",
        "127.0.0.1:5000",
    ] {
        assert_eq!(get(s, other), None, "{other:?} must not get a secret");
    }
    // Spellings that smuggle a second host in: refused, with a reason.
    for smuggled in [
        "https://ghcr.io@evil.com",
        "ghcr.io@evil.com",
        "https://user:pw@ghcr.io",
        "ghcr.io?x=1",
        "ghcr.io#x",
        "ghcr.io\\@evil.com",
    ] {
        let out = s.call("get", smuggled);
        assert_eq!(out.code(), Some(1), "{smuggled:?}: {}", out.show());
        let text = out.stdout_lossy();
        assert!(
            !text.contains(&ghcr) && !text.contains(&local) && text.trim() != NOT_FOUND,
            "{smuggled:?} must be refused, not looked up: {}",
            out.show()
        );
        assert!(text.contains("invalid registry address"), "{}", out.show());
    }
    // And the look-alike's own secret stays its own, in both directions.
    let evil = store_fresh(s, "ghcr.io.evil.com", "evil-user");
    assert_eq!(get(s, "ghcr.io"), Some(("ghcr-user".into(), ghcr.clone())));
    assert_eq!(
        get(s, "https://ghcr.io.evil.com"),
        Some(("evil-user".into(), evil.clone()))
    );
    for (user, secret) in [
        ("ghcr-user", &ghcr),
        ("local-user", &local),
        ("evil-user", &evil),
    ] {
        assert_no_credential_in_files(&s.home(), user, secret);
    }
}

/// What every verb must answer when no keychain can be reached.
fn assert_clear_keychain_error(out: &Output, what: &str) {
    let stdout = out.stdout_lossy();
    assert_eq!(out.code(), Some(1), "{what}: {}", out.show());
    assert_eq!(
        stdout.lines().count(),
        1,
        "{what}: one protocol line: {}",
        out.show()
    );
    assert!(
        stdout.contains("keychain is not available") && stdout.trim() != NOT_FOUND,
        "{what}: the protocol line names the cause: {}",
        out.show()
    );
    // stderr carries more than the protocol line: what to do about it.
    let stderr = out.stderr_lossy();
    assert!(
        stderr.lines().count() > 1
            && stderr.contains("Secret Service")
            && (stderr.contains("unlock") || stderr.contains("DBUS_SESSION_BUS_ADDRESS")),
        "{what}: stderr explains the cause and the fix: {}",
        out.show()
    );
}

/// Every verb through a helper runner that has no keychain.
fn every_verb_fails_clearly(helper: impl Fn(&str, &str) -> Output, secret: &str) {
    let out = helper("store", &store_json("ghcr.io", "u", secret));
    assert_clear_keychain_error(&out, "store");
    assert!(!out.stdout_lossy().contains(secret) && !out.stderr_lossy().contains(secret));
    assert_clear_keychain_error(&helper("get", "ghcr.io"), "get");
    assert_clear_keychain_error(&helper("erase", "https://ghcr.io"), "erase");
    assert_clear_keychain_error(&helper("list", "unused"), "list");
}

#[test]
fn no_session_bus_is_a_clear_error_and_writes_nothing() {
    // Needs only our binary: no peer to require.
    let env = NoKeychain::new();
    let secret = fresh_secret("no-bus");
    every_verb_fails_clearly(|verb, stdin| env.helper(verb, stdin), &secret);
    let written = regular_files(env.root());
    assert!(
        written.is_empty(),
        "files written without a keychain: {written:?}"
    );
}

#[test]
#[ignore = "needs peers"]
fn a_bus_without_secret_service_is_a_clear_error_and_writes_nothing() {
    let Some(found) = peers::require(KeyringSession::PEERS) else {
        return;
    };
    let session = KeyringSession::without_secret_service(&found);
    let secret = fresh_secret("no-ss");
    every_verb_fails_clearly(|verb, stdin| session.helper(verb, stdin), &secret);
    let written = regular_files(&session.home());
    assert!(
        written.is_empty(),
        "files written without a keychain: {written:?}"
    );
}

#[test]
#[ignore = "needs peers"]
fn opentofu_3086_a_bare_store_answers_the_https_get() {
    // `docker login host` stores under the bare host; OpenTofu then asks for
    // `https://host` (no path, no newline). Every other helper misses here.
    let Some(s) = &helper() else { return };
    let secret = store_fresh(s, "registry.example.com:5443", "tofu-user");
    assert_eq!(
        get(s, "https://registry.example.com:5443"),
        Some(("tofu-user".into(), secret.clone()))
    );
    assert_no_credential_in_files(&s.home(), "tofu-user", &secret);
}

/// Runs all `calls` (verb, stdin) at once, one process each, and returns
/// their outputs in order.
fn in_parallel(s: &Helper, calls: &[(&str, String)]) -> Vec<Output> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = calls
            .iter()
            .map(|(verb, stdin)| scope.spawn(move || s.call(verb, stdin)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a helper thread"))
            .collect()
    })
}

/// Parses a successful `get` answer into (username, secret).
fn pair(out: &Output) -> (String, String) {
    assert_eq!(out.code(), Some(0), "get: {}", out.show());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("get prints JSON");
    let field = |k: &str| answer[k].as_str().expect("a string field").to_string();
    (field("Username"), field("Secret"))
}

#[test]
#[ignore = "needs peers"]
fn parallel_processes_lose_nothing() {
    // The cache stays on: parallel pulls are exactly when it is used.
    let Some(s) = &helper() else { return };
    let s = &s.cached();
    let distinct: Vec<(String, String, String)> = (0..16)
        .map(|i| {
            (
                format!("host{i}.example.com"),
                format!("user{i}"),
                fresh_secret("par"),
            )
        })
        .collect();
    let shared: Vec<(String, String)> = (0..8)
        .map(|i| (format!("shared-user{i}"), fresh_secret("shared")))
        .collect();
    let shared_host = "shared.example.com";
    let fresh: Vec<(String, String, String)> = (0..6)
        .map(|i| {
            let host = format!("https://new{i}.example.com/v2/");
            (host, format!("new-user{i}"), fresh_secret("new"))
        })
        .collect();

    // Round 1: 24 stores at once, 16 on different hosts and 8 on one host.
    let mut calls: Vec<(&str, String)> = Vec::new();
    calls.extend(
        distinct
            .iter()
            .map(|(h, u, p)| ("store", store_json(h, u, p))),
    );
    calls.extend(
        shared
            .iter()
            .map(|(u, p)| ("store", store_json(shared_host, u, p))),
    );
    for out in in_parallel(s, &calls) {
        assert!(
            out.code() == Some(0) && out.stdout.is_empty(),
            "store: {}",
            out.show()
        );
    }
    for (h, u, p) in &distinct {
        assert_eq!(get(s, h), Some((u.clone(), p.clone())), "{h}");
    }
    // One of the eight won, whole: a username with its own secret.
    let winner = get(s, shared_host).expect("the shared host was stored");
    assert!(shared.contains(&winner), "a mixed-up pair: {winner:?}");

    // Round 2: 24 mixed calls at once: 6 gets, 6 erases and 6 stores on
    // hosts of their own, and 3 gets racing 3 stores on the shared host.
    let mut calls: Vec<(&str, String)> = Vec::new();
    calls.extend(distinct[0..6].iter().map(|(h, _, _)| ("get", h.clone())));
    calls.extend(distinct[8..14].iter().map(|(h, _, _)| ("erase", h.clone())));
    calls.extend(fresh.iter().map(|(h, u, p)| ("store", store_json(h, u, p))));
    calls.extend((0..3).map(|_| ("get", shared_host.to_string())));
    calls.extend(
        shared[0..3]
            .iter()
            .map(|(u, p)| ("store", store_json(shared_host, u, p))),
    );
    assert_eq!(calls.len(), 24);
    for (out, (verb, input)) in in_parallel(s, &calls).iter().zip(&calls) {
        assert_eq!(out.code(), Some(0), "{verb}: {}", out.show());
        if *verb != "get" {
            continue;
        }
        let got = pair(out);
        if input == shared_host {
            assert!(shared.contains(&got), "a mixed-up pair: {got:?}");
        } else {
            let (_, u, p) = distinct.iter().find(|(h, _, _)| h == input).unwrap();
            assert_eq!(got, (u.clone(), p.clone()), "{input}");
        }
    }

    let kept: Vec<&(String, String, String)> =
        distinct[0..8].iter().chain(&distinct[14..16]).collect();
    for (h, u, p) in &kept {
        assert_eq!(get(s, h), Some((u.clone(), p.clone())), "{h}");
    }
    for (h, _, _) in &distinct[8..14] {
        assert_eq!(get(s, h), None, "{h} was erased");
    }
    for (h, u, p) in &fresh {
        assert_eq!(get(s, h), Some((u.clone(), p.clone())), "{h}");
    }
    let winner = get(s, shared_host).expect("the shared host survives");
    assert!(shared.contains(&winner), "a mixed-up pair: {winner:?}");

    // `list` names every stored host once, with one of its usernames, and
    // no erased host.
    let all_secrets: Vec<&str> = distinct
        .iter()
        .chain(&fresh)
        .map(|(_, _, p)| p.as_str())
        .chain(shared.iter().map(|(_, p)| p.as_str()))
        .collect();
    let listed = list(s, &all_secrets);
    let mut expected: BTreeMap<String, String> = kept
        .iter()
        .map(|(h, u, _)| (h.clone(), u.clone()))
        .collect();
    for (h, u, _) in &fresh {
        let key = h.trim_start_matches("https://").trim_end_matches("/v2/");
        expected.insert(key.to_string(), u.clone());
    }
    let shared_listed = listed.get(shared_host).cloned();
    assert!(
        shared
            .iter()
            .any(|(u, _)| Some(u) == shared_listed.as_ref()),
        "list names the shared host with one of its users: {listed:?}"
    );
    expected.insert(shared_host.to_string(), shared_listed.unwrap_or_default());
    assert_eq!(listed, expected);

    // One erase removes the shared host for good: racing first stores left
    // no twin behind that a later get could still find.
    assert!(erase(s, shared_host));
    assert_eq!(get(s, shared_host), None);

    for (_, u, p) in distinct.iter().chain(&fresh) {
        assert_no_credential_in_files(&s.home(), u, p);
    }
    for (u, p) in &shared {
        assert_no_credential_in_files(&s.home(), u, p);
    }
}

#[test]
#[ignore = "needs peers"]
fn racing_stores_on_one_host_list_the_username_that_get_returns() {
    let Some(s) = &helper() else { return };
    for round in 0..6 {
        let host = format!("race{round}.example.com");
        let stores: Vec<(String, String)> = (0..12)
            .map(|i| (format!("race-user{i}"), fresh_secret("race")))
            .collect();
        let calls: Vec<(&str, String)> = stores
            .iter()
            .map(|(u, p)| ("store", store_json(&host, u, p)))
            .collect();
        for out in in_parallel(s, &calls) {
            assert_eq!(out.code(), Some(0), "store: {}", out.show());
        }
        let (user, _) = get(s, &host).expect("stored");
        assert_eq!(list(s, &[]).get(&host), Some(&user), "round {round}");
        assert!(erase(s, &host));
    }
}

/// `rounds` times, on a host of its own (`{tag}{round}.example.com`):
/// stores a fresh secret, runs 11 gets and one erase of it at once, and hands
/// `check` the round, the host and the outputs with their verbs. No round
/// may leave its secret in a file.
fn gets_racing_an_erase(
    s: &Helper,
    tag: &str,
    rounds: u32,
    check: impl Fn(u32, &str, Vec<(&'static str, Output)>),
) {
    for round in 0..rounds {
        let host = format!("{tag}{round}.example.com");
        let secret = store_fresh(s, &host, "u");
        let mut calls: Vec<(&str, String)> = (0..11).map(|_| ("get", host.clone())).collect();
        calls.insert(5, ("erase", host.clone()));
        let outs = in_parallel(s, &calls);
        check(
            round,
            &host,
            calls.iter().map(|(verb, _)| *verb).zip(outs).collect(),
        );
        assert_no_credential_in_files(&s.home(), "u", &secret);
    }
}

#[test]
#[ignore = "needs peers"]
fn gets_racing_an_erase_answer_a_hit_or_a_miss() {
    let Some(s) = &helper() else { return };
    gets_racing_an_erase(s, "get-race", 6, |round, _, outs| {
        for (verb, out) in outs {
            let ok =
                out.code() == Some(0) || (verb == "get" && out.stdout_lossy().trim() == NOT_FOUND);
            assert!(ok, "round {round}, {verb}: {}", out.show());
        }
    });
}

#[test]
#[ignore = "needs peers"]
fn an_erase_racing_gets_stays_erased() {
    let Some(s) = &helper() else { return };
    let s = &s.cached();
    gets_racing_an_erase(s, "erase-race", 3, |round, host, outs| {
        for (verb, out) in outs {
            if verb == "erase" {
                assert_eq!(out.code(), Some(0), "erase: {}", out.show());
            }
        }
        assert_eq!(get(s, host), None, "round {round}: erased, yet answered");
    });
}

/// A locked collection with nobody to answer the unlock prompt (an SSH
/// session, a terminal): a prompt outside our control would hang `tofu init`,
/// so the helper must fail at once, saying the keyring is locked.
#[test]
#[ignore = "needs peers"]
fn a_locked_keyring_fails_fast_and_says_so() {
    let Some(h) = &helper() else { return };
    let secret = store_fresh(h, "locked.example", "u");
    let out = peers::run(
        h.session.command("dbus-send").args([
            "--session",
            "--dest=org.freedesktop.secrets",
            "--print-reply",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.code(), Some(0), "lock the collection: {}", out.show());
    // Bounded well below any client's patience; peers::run kills at 60 s.
    let out = h.call("get", "locked.example");
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let said = out.stdout_lossy();
    assert!(said.contains("the keyring is locked"), "{said}");
    assert!(!said.contains(&secret) && !out.stderr_lossy().contains(&secret));
    assert_no_credential_in_files(&h.home(), "u", &secret);
}

/// A writer that does not cache (TTL 0) must still invalidate what other,
/// caching processes keep: a changed or erased secret is seen at once.
#[test]
#[ignore = "needs peers"]
fn a_non_caching_writer_still_invalidates_the_cache() {
    let Some(writer) = helper() else { return };
    let caching = writer.cached();
    let (old, new) = (fresh_secret("before"), fresh_secret("after"));
    store(&caching, "stale.example", "u", &old);
    assert_eq!(
        get(&caching, "stale.example"),
        Some(("u".into(), old.clone()))
    );
    store(&writer, "stale.example", "u", &new);
    assert_eq!(
        get(&caching, "stale.example"),
        Some(("u".into(), new.clone()))
    );
    assert!(erase(&writer, "stale.example"));
    assert_eq!(get(&caching, "stale.example"), None);
    assert_no_credential_in_files(&writer.home(), "u", &old);
    assert_no_credential_in_files(&writer.home(), "u", &new);
}
