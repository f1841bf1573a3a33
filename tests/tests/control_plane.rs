//! The helper binary against the fake Scalr control plane, in the shape of a
//! Scalr run: no keychain, an empty HOME, only SCALR_HOSTNAME, SCALR_TOKEN and
//! SSL_CERT_FILE. Each test has its own control plane (its own port and
//! token), so their cache scopes never meet.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::time::{Duration, Instant, SystemTime};

use scalr_oci_e2e::fake_control_plane::{
    FakeControlPlane, Fault, IntegrationSpec, RetryAfter, Scope, Status, rfc3339, token_echoes,
};
use scalr_oci_e2e::keyring_session::{NoKeychain, parse_get};
use scalr_oci_e2e::peers::Output;
use scalr_oci_e2e::scalr_run::ScalrRun as Run;
use scalr_oci_e2e::secrets::assert_no_file_contains;

const NOT_FOUND: &str = "credentials not found in native keychain\n";

trait Clean {
    fn assert_clean(&self, secret: &str);
}

impl Clean for Run {
    /// Nothing the run touched holds the token or `secret`.
    fn assert_clean(&self, secret: &str) {
        assert_no_file_contains(self.home.root(), secret);
        assert_no_file_contains(self.home.root(), &self.fake.token());
    }
}

/// The secret of a successful `get`, checked for the exact wire shape.
fn secret_of(out: &Output) -> String {
    parse_get("get", out)
        .expect("a hit, not `credentials not found`")
        .1
}

/// Runs `get` and asserts that the process ended (not only printed) within
/// `limit`; the message proves whose deadline it was.
#[track_caller]
fn ends_within(limit: Duration, get: impl FnOnce() -> Output) -> Output {
    let started = Instant::now();
    let out = get();
    let took = started.elapsed();
    assert!(took < limit, "took {took:?}: {}", out.show());
    out
}

#[test]
fn credentials_come_from_the_control_plane_and_repeated_gets_hit_the_cache() {
    let run = Run::new();
    let id = run.integration("https://127.0.0.1:5999", "robot", "pw-from-scalr-1");
    for spelling in [
        "https://127.0.0.1:5999",
        "127.0.0.1:5999",
        "127.0.0.1:5999",
        "https://127.0.0.1:5999/",
        "http://127.0.0.1:5999",
    ] {
        let out = run.get(spelling);
        assert_eq!(secret_of(&out), "pw-from-scalr-1");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Username"], "robot");
    }
    assert_eq!(
        run.fake.credentials_requests(&id),
        1,
        "five gets, one credentials request"
    );
    assert_eq!(run.fake.list_requests(), 1);
    run.assert_clean("pw-from-scalr-1");
}

#[test]
fn every_request_carries_the_contract_headers() {
    let run = Run::new();
    run.integration("https://ghcr.io", "octo", "pw-headers");
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-headers");
    let log = run.fake.request_log();
    assert_eq!(log.len(), 2, "one list, one credentials request: {log:?}");
    for request in &log {
        assert!(request.sent_bearer(&run.fake.token()), "{request:?}");
        assert_eq!(request.accept(), Some("application/vnd.api+json"));
        let ua = request.user_agent().unwrap_or_default();
        assert!(ua.starts_with("docker-credential-scalr/"), "{ua}");
        assert_eq!(request.method, "GET");
    }
    assert!(
        log[0].path_and_query.contains("page[number]=1")
            || log[0].path_and_query.contains("page%5Bnumber%5D=1"),
        "{}",
        log[0].path_and_query
    );
    assert!(
        log[0].path_and_query.contains("size") && log[0].path_and_query.contains("=100"),
        "{}",
        log[0].path_and_query
    );
}

#[test]
fn pagination_is_followed_to_the_last_page() {
    let run = Run::new();
    for i in 0..230 {
        run.integration(&format!("https://reg{i}.example"), "u", &format!("pw{i}"));
    }
    assert_eq!(secret_of(&run.get("reg229.example")), "pw229");
    assert_eq!(run.fake.list_requests(), 3);
    // A host on no page: not found, after reading every page.
    run.fake.reset_counters();
    let out = run.get("reg999.example");
    assert_eq!(out.stdout_lossy(), NOT_FOUND);
    assert_eq!(run.fake.list_requests(), 3);
}

#[test]
fn docker_hub_integration_answers_every_docker_hub_spelling() {
    let run = Run::new();
    run.integration("https://registry-1.docker.io", "hubuser", "pw-hub");
    for spelling in [
        "docker.io",
        "https://index.docker.io/v1/",
        "registry-1.docker.io",
        "index.docker.io",
    ] {
        assert_eq!(secret_of(&run.get(spelling)), "pw-hub", "{spelling}");
    }
}

#[test]
fn only_exported_enabled_integrations_answer_and_misses_say_where_they_looked() {
    let run = Run::new();
    run.fake.add_integration(
        IntegrationSpec::new("https://noexport.example", "u", "pw-noexport")
            .export_credentials(false),
    );
    run.fake.add_integration(
        IntegrationSpec::new("https://disabled.example", "u", "pw-disabled")
            .status(Status::Disabled),
    );
    run.fake.add_integration(
        IntegrationSpec::new("https://failed.example", "u", "pw-failed").status(Status::Failed),
    );
    for host in ["noexport.example", "disabled.example"] {
        let out = run.get(host);
        assert_eq!(
            (out.code(), out.stdout_lossy().as_str()),
            (Some(1), NOT_FOUND),
            "{host}"
        );
        let err = out.stderr_lossy();
        assert!(
            err.contains(host) && err.contains(&run.fake.hostname()),
            "{err}"
        );
        assert!(err.contains("disabled or do not export"), "{err}");
    }
    // `failed` is not `disabled`: Scalr may still hand out its credentials.
    assert_eq!(secret_of(&run.get("failed.example")), "pw-failed");
    let out = run.get("unknown.example");
    assert_eq!(out.stdout_lossy(), NOT_FOUND);
    assert!(
        out.stderr_lossy()
            .contains("no Docker registry integration"),
        "{}",
        out.stderr_lossy()
    );
    assert!(!out.stderr_lossy().contains(&run.fake.token()));
}

#[test]
fn duplicate_hosts_use_the_first_in_api_order_and_warn() {
    let run = Run::new();
    let first = run.fake.add_integration(
        IntegrationSpec::new("https://dup.example", "first", "pw-first").name("first one"),
    );
    let second = run.integration("https://DUP.example:443/", "second", "pw-second");
    let out = run.get("dup.example");
    assert_eq!(secret_of(&out), "pw-first");
    let err = out.stderr_lossy();
    assert!(
        err.contains(&second) && err.contains(&first) && err.contains("first in API order"),
        "{err}"
    );
}

#[test]
fn a_rejected_token_fails_with_the_cause_and_never_the_token() {
    let run = Run::new();
    run.integration("https://ghcr.io", "u", "pw");
    run.fake.revoke_token(&run.fake.token());
    let out = run.get("ghcr.io");
    // Not `failure()`: nothing is shown before it is known to be clean.
    assert_eq!(out.code(), Some(1));
    let msg = out.stdout_lossy();
    assert!(
        msg.contains("rejected the Scalr token from the SCALR_TOKEN environment variable"),
        "{msg}"
    );
    assert!(
        msg.contains("401") && msg.contains(&run.fake.hostname()),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "one protocol line: {msg}");
    assert!(!msg.contains(&run.fake.token()) && !out.stderr_lossy().contains(&run.fake.token()));
}

#[test]
fn a_token_without_permission_gets_a_clear_404() {
    let run = Run::new();
    let id = run.integration("https://ghcr.io", "u", "pw");
    run.fake.allow_only(&run.fake.token(), &[]);
    let msg = run.get("ghcr.io").failure();
    assert!(msg.contains("HTTP 404"), "{msg}");
    // The message names the permission the token lacks (the contract's
    // x-scalr-permission), so a run's admin knows what to grant.
    assert!(
        msg.contains("needs the docker-integrations:read-credentials permission"),
        "{msg}"
    );
    assert_eq!(run.fake.credentials_requests(&id), 1);
}

/// One 429 on the requests of `scope`, telling the helper to wait
/// `retry_after`: the get succeeds, retried once, no sooner than `at_least`.
fn retry_after_is_honoured(scope: Scope, retry_after: RetryAfter, at_least: Duration) {
    let run = Run::new();
    let id = run.integration("https://ghcr.io", "u", "pw-429");
    run.fake.inject(
        scope,
        Fault::TooManyRequests {
            retry_after,
            times: 1,
        },
    );
    let started = Instant::now();
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-429");
    let waited = started.elapsed();
    assert!(
        waited >= at_least,
        "retried after {waited:?}, before Retry-After"
    );
    let requests = match scope {
        Scope::List => run.fake.list_requests(),
        Scope::Credentials => run.fake.credentials_requests(&id),
        Scope::All => run.fake.total_requests(),
    };
    assert_eq!(requests, 2, "{scope:?} requests");
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    retry_after_is_honoured(
        Scope::List,
        RetryAfter::Seconds(2),
        Duration::from_millis(1900),
    );
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have whole-second precision.
    retry_after_is_honoured(
        Scope::Credentials,
        RetryAfter::HttpDateIn(Duration::from_secs(2)),
        Duration::from_millis(900),
    );
}

#[test]
fn runs_of_server_errors_and_broken_bodies_are_retried() {
    let run = Run::new();
    let id = run.integration("https://ghcr.io", "u", "pw-5xx");
    run.fake.inject(
        Scope::List,
        Fault::ServerErrors {
            status: 503,
            times: 2,
        },
    );
    run.fake.inject(
        Scope::Credentials,
        Fault::ServerErrors {
            status: 502,
            times: 1,
        },
    );
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-5xx");
    assert_eq!(
        (run.fake.list_requests(), run.fake.credentials_requests(&id)),
        (3, 2)
    );
}

#[test]
fn endless_server_errors_give_up_with_a_clear_message() {
    let run = Run::new();
    run.integration("https://ghcr.io", "u", "pw");
    run.fake.inject(
        Scope::List,
        Fault::ServerErrors {
            status: 500,
            times: 1000,
        },
    );
    let msg = run.get("ghcr.io").failure();
    assert!(
        msg.contains("answered HTTP 500") && msg.contains("giving up"),
        "{msg}"
    );
    assert_eq!(run.fake.list_requests(), 5, "capped attempts");
}

#[test]
fn malformed_and_truncated_answers_are_errors_not_panics() {
    let run = Run::new();
    run.integration("https://ghcr.io", "u", "pw");
    run.fake.inject(Scope::List, Fault::MalformedJson);
    let out = run.get("ghcr.io");
    let msg = out.failure();
    assert!(msg.contains("malformed JSON:API"), "{msg}");
    assert!(
        !out.stderr_lossy().contains("panicked") && !out.stderr_lossy().contains("internal error")
    );

    run.fake.clear_faults();
    run.fake.inject(Scope::Credentials, Fault::TruncatedBody);
    let msg = run.get("ghcr.io").failure();
    assert!(msg.contains("broke off its answer"), "{msg}");
}

/// A control plane that accepts every request and never answers: the get
/// fails at the helper's deadline of `limit_secs`, and the process also
/// *exits* (not only prints) within `bound`.
fn a_hanging_control_plane_fails_after(run: Run, limit_secs: u32, bound: Duration) {
    run.integration("https://ghcr.io", "u", "pw");
    run.fake.inject(Scope::All, Fault::Hang);
    let msg = ends_within(bound, || run.get("ghcr.io")).failure();
    let said = format!("did not answer within {limit_secs} s");
    assert!(msg.contains(&said), "{msg}");
}

#[test]
fn a_control_plane_that_never_answers_fails_within_the_configured_limit() {
    let run = Run::new().env("SCALR_OCI_TIMEOUT", "3");
    a_hanging_control_plane_fails_after(run, 3, Duration::from_secs(15));
}

// The default limit (30 s) is a unit test in the helper
// (control_plane::tests::without_settings_a_control_plane_gets_30_seconds):
// waiting 30 s here proved only a constant.

#[test]
fn slow_dripping_bodies_are_cut_off_by_the_deadline() {
    let run = Run::new().env("SCALR_OCI_TIMEOUT", "2");
    run.integration("https://ghcr.io", "u", "pw");
    run.fake.inject(
        Scope::List,
        Fault::SlowBody {
            chunk_bytes: 1,
            interval: Duration::from_millis(200),
        },
    );
    let msg = run.get("ghcr.io").failure();
    assert!(msg.contains("did not answer within 2 s"), "{msg}");
}

#[test]
fn an_untrusted_certificate_is_an_error_that_says_so() {
    let run = Run::with(FakeControlPlane::start_untrusted());
    run.integration("https://ghcr.io", "u", "pw");
    let msg = run.get("ghcr.io").failure();
    assert!(
        msg.contains("TLS certificate this machine does not trust")
            && msg.contains("SSL_CERT_FILE"),
        "{msg}"
    );
    assert_eq!(
        run.fake.total_requests(),
        0,
        "no request may pass an untrusted TLS handshake"
    );
}

#[test]
fn plain_http_is_refused_unless_loopback_and_asked_for() {
    let run = Run::new();
    let plain = format!("http://{}", run.fake.hostname());
    let msg = run
        .get_with("ghcr.io", &[("SCALR_HOSTNAME", &plain)])
        .failure();
    assert!(msg.contains("HTTPS only"), "{msg}");
    assert_eq!(run.fake.total_requests(), 0);
}

#[test]
fn the_cache_lifetime_is_capped_by_expires_at() {
    let run = Run::new();
    // Wide enough that a loaded CI machine still fits two gets in it.
    let expiry = SystemTime::now() + Duration::from_secs(8);
    let expires = rfc3339(expiry);
    let id = run.fake.add_integration(
        IntegrationSpec::new("https://ghcr.io", "u", "pw-short").expires_at(&expires),
    );
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-short");
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-short");
    assert_eq!(run.fake.credentials_requests(&id), 1, "cached while valid");
    // rfc3339 has whole seconds; wait until a second past the expiry.
    let left = expiry.duration_since(SystemTime::now()).unwrap_or_default();
    std::thread::sleep(left + Duration::from_millis(1100));
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-short");
    assert_eq!(
        run.fake.credentials_requests(&id),
        2,
        "asked again once expired"
    );
}

#[test]
fn a_zero_ttl_turns_the_cache_off() {
    let run = Run::new().env("SCALR_OCI_CACHE_TTL", "0");
    let id = run.integration("https://ghcr.io", "u", "pw");
    for _ in 0..3 {
        assert_eq!(secret_of(&run.get("ghcr.io")), "pw");
    }
    assert_eq!(run.fake.credentials_requests(&id), 3);
}

#[test]
fn another_token_never_sees_a_cached_answer() {
    let run = Run::new();
    let id = run.integration("https://ghcr.io", "u", "pw-a");
    assert_eq!(secret_of(&run.get("ghcr.io")), "pw-a");
    let other = run.fake.add_token();
    run.fake.allow_only(&other, &[]);
    let out = run.get_with("ghcr.io", &[("SCALR_TOKEN", &other)]);
    assert_eq!(
        out.code(),
        Some(1),
        "the other token has no permission: {}",
        out.stdout_lossy()
    );
    assert!(out.stdout_lossy().contains("404"));
    assert_eq!(run.fake.credentials_requests(&id), 2);
}

#[test]
fn token_without_hostname_and_bad_settings_are_clear_errors() {
    let home = NoKeychain::new();
    let msg = home
        .helper_with("get", "ghcr.io", &[("SCALR_TOKEN", "t")])
        .failure();
    assert!(msg.contains("SCALR_HOSTNAME"), "{msg}");

    let settings = home.home().join("settings.toml");
    std::fs::write(&settings, "[cache]\nttl = 5\n").unwrap();
    let msg = home
        .helper_with("get", "ghcr.io", &[("SCALR_OCI_CONFIG", &settings)])
        .failure();
    assert!(
        msg.contains("settings.toml") && msg.contains("ttl"),
        "{msg}"
    );
}

#[test]
fn with_no_source_at_all_the_error_names_each_cause() {
    let home = NoKeychain::new();
    let out = home.helper("get", "ghcr.io");
    let msg = out.failure();
    assert!(
        msg.contains("OS keychain is not available") && msg.contains("not configured"),
        "{msg}"
    );
    assert!(
        out.stderr_lossy().contains("SCALR_TOKEN"),
        "stderr explains the fix: {}",
        out.stderr_lossy()
    );
}

#[test]
fn settings_choose_the_sources_per_registry() {
    let run = Run::new();
    let id = run.integration("https://ghcr.io", "u", "pw");
    let settings = run.home.home().join("settings.toml");
    std::fs::write(
        &settings,
        "sources = [\"control-plane\"]\n[registries.\"ghcr.io\"]\nsources = [\"keychain\"]\n",
    )
    .unwrap();
    let out = run.get_with("ghcr.io", &[("SCALR_OCI_CONFIG", &settings)]);
    // Only the keychain may answer for ghcr.io, and there is none here.
    let msg = out.failure();
    assert!(msg.contains("OS keychain is not available"), "{msg}");
    assert_eq!(run.fake.credentials_requests(&id), 0);
}

#[test]
fn an_unreachable_control_plane_is_retried_then_named() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = Run::new();
    let unreachable = format!("127.0.0.1:{port}");
    let msg = ends_within(Duration::from_secs(30), || {
        run.get_with("ghcr.io", &[("SCALR_HOSTNAME", &unreachable)])
    })
    .failure();
    assert!(
        msg.contains(&unreachable) && msg.contains("cannot be reached"),
        "{msg}"
    );
    assert!(msg.contains("5 times"), "retried before giving up: {msg}");
}

/// Debug output is for humans and CI logs: every step, never a secret.
#[test]
fn debug_logging_never_prints_the_token_or_a_password() {
    let run = Run::new().env("SCALR_OCI_DEBUG", "1");
    run.integration("https://ghcr.io", "u", "pw-debug-secret");
    let out = run.get("ghcr.io");
    assert_eq!(secret_of(&out), "pw-debug-secret");
    let again = run.get("ghcr.io");
    assert_eq!(secret_of(&again), "pw-debug-secret");
    let logs = format!("{}{}", out.stderr_lossy(), again.stderr_lossy());
    assert!(
        logs.contains("GET /api/iacp/v3/integrations/docker"),
        "debug shows the requests: {logs}"
    );
    assert!(logs.contains("answered from the cache"), "{logs}");
    run.fake.revoke_token(&run.fake.token());
    let failed = run.get_with("ghcr.io", &[("SCALR_OCI_CACHE_TTL", "0")]);
    // Not `failure()`: nothing is shown before it is known to be clean.
    assert_eq!(failed.code(), Some(1));
    let logs = format!("{logs}{}{}", failed.stdout_lossy(), failed.stderr_lossy());
    assert!(!logs.contains(&run.fake.token()), "{logs}");
    assert!(!logs.contains("pw-debug-secret"), "{logs}");
}

/// Attack: a control plane that echoes the token back in its error text, in
/// forms an exact-match scrubber misses. Nothing the helper prints, on either
/// stream and with debug output on, may hold the token in any form; the
/// message says where the token came from instead.
#[test]
fn a_control_plane_echoing_the_token_in_any_form_never_gets_it_printed() {
    for status in [401, 403, 404, 422, 500] {
        let run = Run::new()
            .env("SCALR_OCI_DEBUG", "1")
            .env("SCALR_OCI_CACHE_TTL", "0");
        run.integration("https://ghcr.io", "u", "pw-echo-secret");
        run.fake.inject(Scope::All, Fault::EchoToken { status });
        let out = run.get("ghcr.io");
        // Nothing of the output is shown before it is known to be clean.
        assert_eq!(out.code(), Some(1), "HTTP {status}");
        let printed = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
        for form in token_echoes(&run.fake.token()) {
            assert!(
                !printed.contains(&form),
                "HTTP {status}: the token was printed in a form the server made of it"
            );
        }
        assert!(
            !printed
                .to_ascii_lowercase()
                .contains(&run.fake.token().to_ascii_lowercase()),
            "HTTP {status}: the token was printed"
        );
        let message = out.stdout_lossy();
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        // The answers that are about the token name where it came from.
        if [401, 403, 404].contains(&status) {
            assert!(
                message.contains("the SCALR_TOKEN environment variable"),
                "HTTP {status}: the message says where the token came from: {message}"
            );
        }
        run.assert_clean("pw-echo-secret");
    }
}
