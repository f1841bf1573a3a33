//! A registry that attacks its client, on two origins of loopback.
//!
//! Origin A (`registry`) is the registry the user named; origin B (`other`)
//! is another origin (another port: scheme, host and port make an origin) that
//! A hands work to: an upload `Location`, a `Link` to the next tags page, a
//! redirect of a blob download, each on B. B may answer with a 401 and a
//! token realm of its own, to fish for the credentials A asked for.
//!
//! Both record every request (origin, method, URI, `Authorization`, body), so
//! a test asserts that no credential reached B in any form: Basic, Bearer,
//! or the raw password sent to a realm.
//!
//! A can also misbehave without bound, streaming from a generator rather
//! than from memory: a layer claiming 1 GiB, an endless tags paginator, a
//! 5 GB error body, an error body that echoes the request's credentials.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::fake_control_plane::drip::Drip;
use crate::https_server::{self, Running};
use crate::oci::sha256_digest as digest;

pub const USER: &str = "hostile-bot";
pub const PASSWORD: &str = "pw-Zq8sLx3v9Kt2";
/// The token A's own realm issues for the user's credentials.
pub const TOKEN: &str = "tok-registry-A-7f3c9e";
pub const REPO: &str = "team/net";

/// How A authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    Basic,
    /// A token realm on A itself.
    Bearer,
}

/// What A (and B) do beyond a plain registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attack {
    #[default]
    None,
    /// Upload `Location` on B.
    UploadElsewhere,
    /// Tags page 2 is on B.
    TagsElsewhere,
    /// Blob GETs 307 to B (storage, as GHCR, Docker Hub, ECR, Quay do).
    BlobRedirect,
    /// Like the three above at once, and B answers every request with a 401
    /// and a token realm of its own.
    OtherChallenges,
    /// The manifest names a layer of 1 GiB; the blob streams without end.
    HugeLayer,
    /// Every tags page links to one more, forever.
    EndlessTags,
    /// Manifest GETs answer 400 with a 5 GB body.
    HugeErrorBody,
    /// The token realm answers 200 with a 5 GB body.
    HugeTokenBody,
    /// The first two manifest GETs answer 503, then 429 with
    /// `Retry-After: 1`; the fourth succeeds.
    Flaky,
    /// Every manifest GET answers 503.
    Down,
    /// Every manifest GET answers 503 with `Retry-After: 2`.
    DownRetryAfter,
    /// Manifest GETs are received and never answered.
    Stall,
    /// Manifest GETs answer 403 with an error body that echoes the
    /// request's `Authorization`, decoded and raw.
    EchoCredentials,
}

/// One request as an origin saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `true` for B.
    pub other: bool,
    pub method: String,
    pub uri: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    seen: Vec<Seen>,
    a: String,
    b: String,
    attack: Attack,
    auth: Option<Auth>,
    /// Manifest GETs answered so far.
    manifest_gets: usize,
    /// The module package A serves, and its manifest.
    zip: Vec<u8>,
    manifest: Vec<u8>,
}

type Store = Arc<Mutex<Shared>>;

pub struct HostileRegistry {
    shared: Store,
    _a: Running,
    _b: Running,
}

impl HostileRegistry {
    /// Starts A and B with the certificate and key (PEM) of a test CA;
    /// `zip` is the module package served under every tag.
    pub fn start(cert_pem: &str, key_pem: &str, auth: Auth, attack: Attack, zip: Vec<u8>) -> Self {
        let zip_digest = digest(&zip);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.opentofu.modulepkg",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest(b"{}"),
                "size": 2,
            },
            "layers": [{
                "mediaType": "archive/zip",
                "digest": zip_digest,
                "size": if attack == Attack::HugeLayer { 1u64 << 30 } else { zip.len() as u64 },
            }],
        });
        let shared: Store = Arc::new(Mutex::new(Shared {
            attack,
            auth: Some(auth),
            manifest: serde_json::to_vec(&manifest).expect("a manifest"),
            zip,
            ..Shared::default()
        }));
        let app = |other: bool| {
            let shared = shared.clone();
            Router::new().fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let shared = shared.clone();
                    async move {
                        let stall = !other
                            && method == Method::GET
                            && uri.path().contains("/manifests/")
                            && shared.lock().expect("state").attack == Attack::Stall;
                        // Recorded, then never sent.
                        let response = answer(&shared, other, method, uri, headers, body);
                        if stall {
                            std::future::pending::<()>().await;
                        }
                        response
                    }
                },
            )
        };
        let a = https_server::spawn(app(false), cert_pem, key_pem, "hostile-a");
        let b = https_server::spawn(app(true), cert_pem, key_pem, "hostile-b");
        {
            let mut s = shared.lock().expect("state");
            s.a = a.addr.to_string();
            s.b = b.addr.to_string();
        }
        HostileRegistry {
            shared,
            _a: a,
            _b: b,
        }
    }

    /// `127.0.0.1:PORT` of A, the registry the user names.
    pub fn authority(&self) -> String {
        self.shared.lock().expect("state").a.clone()
    }

    /// `127.0.0.1:PORT` of B.
    pub fn other_authority(&self) -> String {
        self.shared.lock().expect("state").b.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().expect("state").seen.clone()
    }

    /// Requests A saw for paths containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| !s.other && s.uri.contains(needle))
            .count()
    }

    pub fn seen_by_other(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.other).collect()
    }

    /// Every form in which a credential of A could travel: the password,
    /// its base64, the Basic header value, A's token.
    pub fn credential_forms() -> Vec<String> {
        let basic = STANDARD.encode(format!("{USER}:{PASSWORD}"));
        vec![
            PASSWORD.to_string(),
            STANDARD.encode(PASSWORD),
            basic.clone(),
            basic.trim_end_matches('=').to_string(),
            TOKEN.to_string(),
            STANDARD.encode(TOKEN),
        ]
    }

    /// Panics with the request if any credential form reached B, in a
    /// header, the URI or the body.
    #[track_caller]
    pub fn assert_nothing_reached_other(&self) {
        for seen in self.seen_by_other() {
            let text = format!(
                "{} {}\n{:?}\n{}",
                seen.method,
                seen.uri,
                seen.authorization,
                String::from_utf8_lossy(&seen.body)
            );
            for form in Self::credential_forms() {
                assert!(
                    !text.contains(&form),
                    "a credential of A reached the other origin B: {} {} (Authorization: {:?})",
                    seen.method,
                    seen.uri,
                    seen.authorization.as_deref().map(|_| "[present]")
                );
            }
            assert!(
                seen.authorization.is_none(),
                "the other origin got an Authorization header: {} {}",
                seen.method,
                seen.uri
            );
        }
    }
}

fn reply(status: StatusCode, headers: &[(header::HeaderName, String)], body: Body) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(body).expect("a response")
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    reply(
        status,
        &[(header::CONTENT_TYPE, "application/json".to_string())],
        Body::from(value.to_string()),
    )
}

fn answer(
    shared: &Store,
    other: bool,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut s = shared.lock().expect("state");
    s.seen.push(Seen {
        other,
        method: method.to_string(),
        uri: uri.to_string(),
        authorization: authorization.clone(),
        body: body.to_vec(),
    });
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    if other {
        return answer_other(&s, &method, &path, &query, &body);
    }
    let attack = s.attack;
    let (a, b) = (s.a.clone(), s.b.clone());
    // A's token realm.
    if path == "/token" {
        let expected = format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
        if authorization.as_deref() != Some(expected.as_str()) {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"details": "no"}),
            );
        }
        if attack == Attack::HugeTokenBody {
            return reply(StatusCode::OK, &[], Body::new(Drip::endless(5_000_000_000)));
        }
        return json(StatusCode::OK, serde_json::json!({ "token": TOKEN }));
    }
    let authorized = match s.auth {
        Some(Auth::Basic) => {
            authorization.as_deref()
                == Some(&format!(
                    "Basic {}",
                    STANDARD.encode(format!("{USER}:{PASSWORD}"))
                ))
        }
        _ => authorization.as_deref() == Some(&format!("Bearer {TOKEN}")),
    };
    if !authorized {
        let challenge = match s.auth {
            Some(Auth::Basic) => r#"Basic realm="hostile""#.to_string(),
            _ => format!(
                r#"Bearer realm="https://{a}/token",service="hostile",scope="repository:{REPO}:pull""#
            ),
        };
        return reply(
            StatusCode::UNAUTHORIZED,
            &[(header::WWW_AUTHENTICATE, challenge)],
            Body::from(
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            ),
        );
    }
    let repo = format!("/v2/{REPO}/");
    let elsewhere = |wanted: Attack| attack == wanted || attack == Attack::OtherChallenges;
    if path == "/v2/" {
        return json(StatusCode::OK, serde_json::json!({}));
    }
    let Some(rest) = path.strip_prefix(&repo) else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"errors":[{"code":"NAME_UNKNOWN"}]}),
        );
    };
    match (&method, rest) {
        (&Method::HEAD, r) if r.starts_with("blobs/") => {
            reply(StatusCode::NOT_FOUND, &[], Body::empty())
        }
        (&Method::POST, "blobs/uploads/") => {
            let location = if elsewhere(Attack::UploadElsewhere) {
                format!("https://{b}/upload/1?signature=presigned")
            } else {
                format!("{repo}blobs/uploads/1")
            };
            reply(
                StatusCode::ACCEPTED,
                &[(header::LOCATION, location)],
                Body::empty(),
            )
        }
        (&Method::PATCH, r) | (&Method::PUT, r) if r.starts_with("blobs/uploads/") => {
            upload_step(&method, &query, &body, &format!("{repo}blobs/uploads/1"))
        }
        (&Method::PUT, r) if r.starts_with("manifests/") => reply(
            StatusCode::CREATED,
            &[(
                header::HeaderName::from_static("docker-content-digest"),
                digest(&body),
            )],
            Body::empty(),
        ),
        (&Method::GET, "tags/list") if attack == Attack::EndlessTags => {
            let page: u64 = query
                .split('&')
                .find_map(|p| p.strip_prefix("last=page"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
                + 1;
            let tags: Vec<String> = (0..1000)
                .map(|i| format!("v{page}.{i}.0-{}", "x".repeat(100)))
                .collect();
            reply(
                StatusCode::OK,
                &[(
                    header::LINK,
                    format!(r#"</v2/{REPO}/tags/list?last=page{page}>; rel="next""#),
                )],
                Body::from(serde_json::json!({ "name": REPO, "tags": tags }).to_string()),
            )
        }
        (&Method::GET, "tags/list") => {
            let mut headers = Vec::new();
            if elsewhere(Attack::TagsElsewhere) {
                headers.push((
                    header::LINK,
                    format!(r#"<https://{b}/v2/{REPO}/tags/list?last=a>; rel="next""#),
                ));
            }
            reply(
                StatusCode::OK,
                &headers,
                Body::from(serde_json::json!({ "name": REPO, "tags": ["a"] }).to_string()),
            )
        }
        (&Method::GET, r) if r.starts_with("manifests/") => match attack {
            Attack::DownRetryAfter => {
                s.manifest_gets += 1;
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &[(header::RETRY_AFTER, "2".to_string())],
                    Body::empty(),
                )
            }
            Attack::Flaky | Attack::Down if attack == Attack::Down || s.manifest_gets < 3 => {
                s.manifest_gets += 1;
                let (status, after) = if attack == Attack::Flaky && s.manifest_gets == 3 {
                    (StatusCode::TOO_MANY_REQUESTS, "1")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "0")
                };
                reply(
                    status,
                    &[(header::RETRY_AFTER, after.to_string())],
                    Body::empty(),
                )
            }
            Attack::HugeErrorBody => reply(
                StatusCode::BAD_REQUEST,
                &[(header::CONTENT_TYPE, "application/json".into())],
                Body::new(Drip::endless(5_000_000_000)),
            ),
            Attack::EchoCredentials => {
                let raw = authorization.unwrap_or_default();
                let decoded = raw
                    .strip_prefix("Basic ")
                    .and_then(|b| STANDARD.decode(b).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                json(
                    StatusCode::FORBIDDEN,
                    serde_json::json!({"errors": [{
                        "code": "DENIED",
                        "message": format!("you sent Authorization: {raw} ({decoded})"),
                        "detail": { "authorization": raw, "password": decoded },
                    }]}),
                )
            }
            _ => reply(
                StatusCode::OK,
                &[
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    ),
                    (
                        header::HeaderName::from_static("docker-content-digest"),
                        digest(&s.manifest),
                    ),
                ],
                Body::from(s.manifest.clone()),
            ),
        },
        (&Method::GET, r) if r.starts_with("blobs/") => {
            let d = r.trim_start_matches("blobs/");
            if attack == Attack::HugeLayer {
                return reply(StatusCode::OK, &[], Body::new(Drip::endless(u64::MAX)));
            }
            if elsewhere(Attack::BlobRedirect) {
                return reply(
                    StatusCode::TEMPORARY_REDIRECT,
                    &[(
                        header::LOCATION,
                        format!("https://{b}/storage/{d}?X-Amz-Signature=presigned"),
                    )],
                    Body::empty(),
                );
            }
            if d == digest(&s.zip) {
                reply(StatusCode::OK, &[], Body::from(s.zip.clone()))
            } else {
                json(
                    StatusCode::NOT_FOUND,
                    serde_json::json!({"errors":[{"code":"BLOB_UNKNOWN"}]}),
                )
            }
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"errors":[{"code":"UNSUPPORTED"}]}),
        ),
    }
}

/// An upload's PATCH (202, the next Location) or closing PUT (201).
fn upload_step(method: &Method, query: &str, body: &Bytes, next: &str) -> Response {
    if method == Method::PATCH {
        return reply(
            StatusCode::ACCEPTED,
            &[(header::LOCATION, next.to_string())],
            Body::empty(),
        );
    }
    let d = query
        .split('&')
        .find_map(|p| p.strip_prefix("digest="))
        .unwrap_or("")
        .replace("%3A", ":");
    let _ = body;
    reply(
        StatusCode::CREATED,
        &[(header::HeaderName::from_static("docker-content-digest"), d)],
        Body::empty(),
    )
}

fn answer_other(s: &Shared, method: &Method, path: &str, query: &str, body: &Bytes) -> Response {
    if path == "/token" {
        // The fishing realm: grants anything to anyone.
        return json(StatusCode::OK, serde_json::json!({ "token": "evil-token" }));
    }
    if s.attack == Attack::OtherChallenges {
        return reply(
            StatusCode::UNAUTHORIZED,
            &[(
                header::WWW_AUTHENTICATE,
                format!(r#"Bearer realm="https://{}/token",service="evil""#, s.b),
            )],
            Body::empty(),
        );
    }
    if path.starts_with("/upload/") {
        return upload_step(
            method,
            query,
            body,
            &format!("https://{}/upload/2?signature=presigned", s.b),
        );
    }
    if path.ends_with("/tags/list") {
        return json(
            StatusCode::OK,
            serde_json::json!({ "name": REPO, "tags": ["b"] }),
        );
    }
    if let Some(d) = path.strip_prefix("/storage/")
        && d == digest(&s.zip)
    {
        return reply(StatusCode::OK, &[], Body::from(s.zip.clone()));
    }
    json(StatusCode::NOT_FOUND, serde_json::json!({}))
}
