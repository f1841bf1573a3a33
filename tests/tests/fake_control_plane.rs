//! The fake control plane, driven by a real HTTPS client that trusts only the test CA.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, Response};
use scalr_oci_e2e::fake_control_plane::{
    AuthSeen, FakeControlPlane, Fault, IntegrationSpec, RetryAfter, Scope, Status, rfc3339,
};
use serde_json::Value;

const UA: &str = "docker-credential-scalr/0.0.0-test";
const JSON_API: &str = "application/vnd.api+json";

fn client(fake: &FakeControlPlane, timeout: Duration) -> Client {
    let pem = std::fs::read(fake.ca_cert_path()).unwrap();
    Client::builder()
        .tls_backend_preconfigured(scalr_oci_e2e::tls::client_config(&pem))
        .user_agent(UA)
        .timeout(timeout)
        .build()
        .unwrap()
}

fn get_as(fake: &FakeControlPlane, token: &str, path: &str) -> reqwest::Result<Response> {
    client(fake, Duration::from_secs(5))
        .get(format!("{}{path}", fake.url()))
        .header("Accept", JSON_API)
        .bearer_auth(token)
        .send()
}

fn get(fake: &FakeControlPlane, path: &str) -> Response {
    get_as(fake, &fake.token(), path).unwrap()
}

fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], JSON_API);
    (status, response.json().unwrap())
}

fn assert_error(response: Response, status: u16) -> Value {
    let (got, body) = json(response);
    assert_eq!(got, status, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["status"], status.to_string());
    assert!(
        error["title"].is_string() && error["detail"].is_string(),
        "{body}"
    );
    body
}

#[test]
fn pagination_over_250_integrations() {
    let fake = FakeControlPlane::start();
    for n in 0..250 {
        fake.add_integration(IntegrationSpec::new(
            &format!("https://r{n}.example.com"),
            "u",
            &format!("pw-{n}"),
        ));
    }
    let mut ids = Vec::new();
    for (page, len, next) in [
        (1, 100, Value::from(2)),
        (2, 100, 3.into()),
        (3, 50, Value::Null),
    ] {
        let (status, body) = json(get(
            &fake,
            &format!("/integrations/docker?page[number]={page}&page[size]=100"),
        ));
        assert_eq!(status, 200);
        let p = &body["meta"]["pagination"];
        assert_eq!(p["current-page"], page);
        assert_eq!(p["next-page"], next);
        assert_eq!(
            p["prev-page"],
            if page == 1 {
                Value::Null
            } else {
                (page - 1).into()
            }
        );
        assert_eq!(
            (p["total-pages"].as_u64(), p["total-count"].as_u64()),
            (Some(3), Some(250))
        );
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), len);
        for item in data {
            assert_eq!(item["type"], "docker-integrations");
            assert!(item["attributes"].get("password").is_none());
            assert_eq!(item["attributes"]["status"], "active");
            assert_eq!(item["attributes"]["export-credentials"], true);
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        assert!(
            !body.to_string().contains("pw-"),
            "a password leaked into the list"
        );
    }
    let expected: Vec<String> = fake.integrations().into_iter().map(|i| i.id).collect();
    assert_eq!(ids, expected, "API order is insertion order");
    assert!(ids.iter().all(|id| id.starts_with("in-")));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250);

    // No page[size]: 100. Too large: capped at 100.
    let (_, body) = json(get(&fake, "/integrations/docker"));
    assert_eq!(body["data"].as_array().unwrap().len(), 100);
    let (_, body) = json(get(&fake, "/integrations/docker?page%5Bsize%5D=1000"));
    assert_eq!(body["data"].as_array().unwrap().len(), 100);
    assert_error(get(&fake, "/integrations/docker?page[number]=0"), 400);
    assert_eq!(fake.list_requests(), 6);
}

#[test]
fn bad_missing_and_revoked_tokens_get_401() {
    let fake = FakeControlPlane::start();
    assert!(fake.token().len() >= 32);
    assert_ne!(fake.token(), FakeControlPlane::start().token());
    assert_error(get_as(&fake, "nope", "/integrations/docker").unwrap(), 401);
    let no_token = client(&fake, Duration::from_secs(5))
        .get(format!("{}/integrations/docker", fake.url()))
        .send()
        .unwrap();
    assert_error(no_token, 401);

    let second = fake.add_token();
    assert_eq!(
        get_as(&fake, &second, "/integrations/docker")
            .unwrap()
            .status(),
        200
    );
    fake.revoke_token(&second);
    assert_error(get_as(&fake, &second, "/integrations/docker").unwrap(), 401);
    assert_eq!(get(&fake, "/integrations/docker").status(), 200);

    let auth: Vec<AuthSeen> = fake.request_log().iter().map(|r| r.auth).collect();
    use AuthSeen::*;
    assert_eq!(auth, [Unknown, Missing, Valid, Revoked, Valid]);
}

#[test]
fn credentials_and_their_refusals() {
    let fake = FakeControlPlane::start();
    let ghcr = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "bot", "s3cret"));
    let hub = fake.add_integration(
        IntegrationSpec::new("https://registry-1.docker.io", "hub", "x")
            .expires_at("2030-01-02T03:04:05Z"),
    );
    let closed = fake.add_integration(
        IntegrationSpec::new("https://quay.io", "q", "y").export_credentials(false),
    );
    let creds = |id: &str| format!("/integrations/docker/{id}/credentials");

    let (status, body) = json(get(&fake, &creds(&ghcr)));
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"data": {"type": "docker-integration-credentials", "id": ghcr,
            "attributes": {"username": "bot", "password": "s3cret", "expires-at": null}}})
    );
    let (_, body) = json(get(&fake, &creds(&hub)));
    assert_eq!(
        body["data"]["attributes"]["expires-at"],
        "2030-01-02T03:04:05Z"
    );

    fake.set_password(&ghcr, "rotated");
    let (_, body) = json(get(&fake, &creds(&ghcr)));
    assert_eq!(body["data"]["attributes"]["password"], "rotated");

    assert_error(get(&fake, &creds("in-doesnotexist")), 404);
    let body = assert_error(get(&fake, &creds(&closed)), 403);
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("export is disabled")
    );

    let limited = fake.add_token();
    fake.allow_only(&limited, &[&hub]);
    assert_error(get_as(&fake, &limited, &creds(&ghcr)).unwrap(), 404);
    assert_eq!(get_as(&fake, &limited, &creds(&hub)).unwrap().status(), 200);
    // Not allowed and export disabled: 404 first, so nothing is revealed.
    assert_error(get_as(&fake, &limited, &creds(&closed)).unwrap(), 404);

    assert!(fake.remove_integration(&ghcr));
    assert_error(get(&fake, &creds(&ghcr)), 404);
    assert_eq!(fake.credentials_requests(&ghcr), 4);
    assert_eq!(fake.credentials_requests(&hub), 2);
    assert_eq!(fake.total_requests(), 9);
}

#[test]
fn duplicate_hosts_and_disabled_status_are_listed_as_they_are() {
    let fake = FakeControlPlane::start();
    let first = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "a", "1"));
    let second = fake.add_integration(IntegrationSpec::new("ghcr.io/", "b", "2"));
    let off = fake.add_integration(
        IntegrationSpec::new("https://quay.io", "c", "3")
            .name("quay")
            .status(Status::Disabled),
    );
    let (_, body) = json(get(&fake, "/integrations/docker"));
    let data = body["data"].as_array().unwrap();
    let ids: Vec<&str> = data.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [&first, &second, &off]);
    assert_eq!(data[2]["attributes"]["status"], "disabled");
    assert_eq!(data[2]["attributes"]["name"], "quay");
}

#[test]
fn request_log_keeps_headers_but_not_the_token() {
    let fake = FakeControlPlane::start();
    get(&fake, "/integrations/docker?page[number]=1&page[size]=100");
    let log = fake.request_log();
    let request = &log[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/api/iacp/v3/integrations/docker");
    assert!(
        request.path_and_query.contains("page"),
        "{}",
        request.path_and_query
    );
    assert_eq!(request.user_agent(), Some(UA));
    assert_eq!(request.accept(), Some(JSON_API));
    assert_eq!(request.status, Some(200));
    assert!(request.sent_bearer(&fake.token()));
    assert_eq!(request.header("Authorization"), Some("<redacted>"));
    assert!(!format!("{log:?}").contains(&fake.token()));
    assert!(!format!("{fake:?}").contains(&fake.token()));
    fake.reset_counters();
    assert_eq!((fake.total_requests(), fake.request_log().len()), (0, 0));
}

#[test]
fn latency_and_slow_body() {
    let fake = FakeControlPlane::start();
    let id = fake.add_integration(IntegrationSpec::new("https://ghcr.io", "bot", "pw"));
    let latency = Duration::from_millis(600);
    fake.inject(Scope::List, Fault::Latency(latency));
    let start = Instant::now();
    get(&fake, &format!("/integrations/docker/{id}/credentials"));
    assert!(start.elapsed() < latency, "scoped to the list");
    let start = Instant::now();
    get(&fake, "/integrations/docker");
    assert!(start.elapsed() >= latency);

    fake.clear_faults();
    fake.inject(
        Scope::All,
        Fault::SlowBody {
            chunk_bytes: 40,
            interval: Duration::from_millis(100),
        },
    );
    let start = Instant::now();
    let response = get(&fake, &format!("/integrations/docker/{id}/credentials"));
    let headers_after = start.elapsed();
    let (status, body) = json(response);
    let body_after = start.elapsed();
    let pw = &body["data"]["attributes"]["password"];
    assert_eq!((status, pw), (200, &"pw".into()));
    // ~150 bytes in 40-byte chunks: four intervals in all, at least three of
    // them after the headers, whether or not the headers wait for the first chunk.
    assert!(body_after >= Duration::from_millis(400), "{body_after:?}");
    assert!(body_after - headers_after >= Duration::from_millis(300));
}

#[test]
fn runs_of_server_errors_then_normal() {
    let fake = FakeControlPlane::start();
    fake.inject(
        Scope::List,
        Fault::ServerErrors {
            status: 503,
            times: 2,
        },
    );
    fake.inject(
        Scope::List,
        Fault::ServerErrors {
            status: 502,
            times: 1,
        },
    );
    let statuses: Vec<u16> = (0..4)
        .map(|_| get(&fake, "/integrations/docker").status().as_u16())
        .collect();
    assert_eq!(statuses, [503, 503, 502, 200]);
    fake.inject(
        Scope::All,
        Fault::ServerErrors {
            status: 500,
            times: 1,
        },
    );
    assert_error(get(&fake, "/integrations/docker"), 500);
}

#[test]
fn too_many_requests_with_retry_after() {
    let fake = FakeControlPlane::start();
    fake.inject(
        Scope::List,
        Fault::TooManyRequests {
            retry_after: RetryAfter::Seconds(2),
            times: 1,
        },
    );
    let response = get(&fake, "/integrations/docker");
    assert_eq!(response.headers()["retry-after"], "2");
    assert_error(response, 429);
    assert_eq!(get(&fake, "/integrations/docker").status(), 200);

    fake.inject(
        Scope::List,
        Fault::TooManyRequests {
            retry_after: RetryAfter::HttpDateIn(Duration::from_secs(30)),
            times: 1,
        },
    );
    let response = get(&fake, "/integrations/docker");
    assert_eq!(response.status(), 429);
    let date = response.headers()["retry-after"].to_str().unwrap();
    let when = httpdate::parse_http_date(date).unwrap();
    let wait = when.duration_since(SystemTime::now()).unwrap();
    assert!(
        wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
        "{date}"
    );
}

#[test]
fn malformed_json_and_truncated_body() {
    let fake = FakeControlPlane::start();
    fake.inject(Scope::List, Fault::MalformedJson);
    let response = get(&fake, "/integrations/docker");
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().unwrap()).is_err());

    fake.clear_faults_for(Scope::List);
    fake.inject(Scope::List, Fault::TruncatedBody);
    let response = get(&fake, "/integrations/docker");
    assert_eq!(response.status(), 200);
    let promised = response.content_length().unwrap();
    assert!(promised > 0);
    assert!(
        response.bytes().is_err(),
        "a short body must be a client error"
    );
    fake.clear_faults();
    assert!(get(&fake, "/integrations/docker").bytes().is_ok());
}

#[test]
fn hang_outlasts_a_client_timeout_and_drop_ends_it() {
    let fake = FakeControlPlane::start();
    fake.inject(Scope::All, Fault::Hang);
    let start = Instant::now();
    let error = client(&fake, Duration::from_secs(1))
        .get(format!("{}/integrations/docker", fake.url()))
        .bearer_auth(fake.token())
        .send()
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.list_requests(), 1, "accepted and read, never answered");
    assert_eq!(fake.request_log()[0].status, None);

    let addr = fake.hostname();
    let start = Instant::now();
    drop(fake);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped on drop"
    );
}

#[test]
fn token_rejection_can_be_set_and_cleared() {
    let fake = FakeControlPlane::start();
    fake.inject(Scope::Credentials, Fault::RejectTokens);
    assert_error(get(&fake, "/integrations/docker/in-x/credentials"), 401);
    assert_eq!(get(&fake, "/integrations/docker").status(), 200);
    fake.inject(Scope::All, Fault::RejectTokens);
    assert_error(get(&fake, "/integrations/docker"), 401);
    fake.clear_faults();
    assert_eq!(get(&fake, "/integrations/docker").status(), 200);
}

#[test]
fn untrusted_certificate_is_refused() {
    let fake = FakeControlPlane::start_untrusted();
    let error = get_as(&fake, &fake.token(), "/integrations/docker").unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert!(
        format!("{error:?}").to_lowercase().contains("certificate"),
        "{error:?}"
    );
    assert_eq!(fake.total_requests(), 0);
}

#[test]
fn rfc3339_formats_utc() {
    assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
    assert_eq!(rfc3339(t), "2024-02-29T12:34:56Z");
}

#[test]
fn fake_scalr_binary_serves_a_spec_until_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"[{"registry-url": "https://ghcr.io", "username": "bot", "password": "from-spec"},
            {"registry-url": "https://quay.io", "username": "q", "password": "p",
             "export-credentials": false, "status": "failed"}]"#,
    )
    .unwrap();
    let run = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-scalr"))
        .arg("--dir")
        .arg(&run)
        .arg("--spec")
        .arg(&spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");

    let env_file = run.join("env");
    // Windows has no mode bits: the file inherits the directory's ACL.
    #[cfg(unix)]
    assert_eq!(
        std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let env = std::fs::read_to_string(&env_file).unwrap();
    let var = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing from env"))
            .to_string()
    };
    let pem = std::fs::read(var("SSL_CERT_FILE")).unwrap();
    let client = Client::builder()
        .tls_backend_preconfigured(scalr_oci_e2e::tls::client_config(&pem))
        .build()
        .unwrap();
    let list: Value = client
        .get(format!(
            "https://{}/api/iacp/v3/integrations/docker",
            var("SCALR_HOSTNAME")
        ))
        .bearer_auth(var("SCALR_TOKEN"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["attributes"]["status"], "failed");
    assert_eq!(data[1]["attributes"]["export-credentials"], false);
    let creds: Value = client
        .get(format!(
            "https://{}/api/iacp/v3/integrations/docker/{}/credentials",
            var("SCALR_HOSTNAME"),
            data[0]["id"].as_str().unwrap()
        ))
        .bearer_auth(var("SCALR_TOKEN"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(creds["data"]["attributes"]["password"], "from-spec");

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "fake-scalr did not stop when stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
}
