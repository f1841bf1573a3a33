//! The HTTPS server: one handler that records, applies faults, then answers
//! like the real API.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{self, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::api::{self, Route};
use super::drip::Drip;
use super::faults::{self, PathKind};
use super::scalr_host;
use super::state::{AuthSeen, RecordedRequest, Redacted, State};

pub(crate) const BASE: &str = "/api/iacp/v3";
const JSON_API: &str = "application/vnd.api+json";
/// Valid UTF-8, plausibly the start of a document, but not JSON.
const MALFORMED: &[u8] = br#"{"data":[{"type":"docker-integrations","id":"in-"#;

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not take every later
    // request down with it.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) use crate::https_server::Running;

pub(crate) fn spawn(shared: Shared, cert_pem: &str, key_pem: &str) -> Running {
    let app = Router::new().fallback(answer).with_state(shared);
    crate::https_server::spawn(app, cert_pem, key_pem, "fake-control-plane")
}

/// `Some(token)` for `Bearer <token>`; `Err` for an Authorization header of another scheme.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(()),
    }
}

async fn answer(extract::State(shared): extract::State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let route = api::route(&path);
    let kind = match route {
        Route::List => PathKind::List,
        Route::Credentials(_) => PathKind::Credentials,
        Route::Other => PathKind::Other,
    };
    let bearer = bearer(request.headers());
    let (seq, plan) = {
        let mut state = lock(&shared);
        let auth = match &bearer {
            Err(()) => AuthSeen::NotBearer,
            Ok(None) => AuthSeen::Missing,
            Ok(Some(token)) => state.auth(Some(token)),
        };
        let seq = state.next_seq;
        state.next_seq += 1;
        *state.counters.entry(path.clone()).or_default() += 1;
        state.log.push(record(&request, &path, auth, seq, &bearer));
        let plan = faults::plan(&mut state.faults, kind);
        (seq, plan)
    };
    if plan.hang {
        std::future::pending::<()>().await;
    }
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    let mut answer = match plan.early {
        Some(early) => api::early_answer(early, bearer.as_ref().ok().and_then(Option::as_deref)),
        None => {
            let state = lock(&shared);
            let token = bearer.ok().flatten();
            match scalr_host::route(&path) {
                Some(host) => scalr_host::answer(&state, &request, host, token.as_deref()),
                None => api::normal_answer(&state, &request, route, token.as_deref()),
            }
        }
    };
    if plan.malformed && plan.early.is_none() {
        answer.status = StatusCode::OK;
        answer.body = MALFORMED.to_vec();
    }
    if let Some(entry) = lock(&shared).log.iter_mut().rev().find(|r| r.seq == seq) {
        entry.status = Some(answer.status.as_u16());
    }

    let promised = answer.body.len();
    let body = if plan.truncated || plan.slow.is_some() {
        Body::new(Drip::new(answer.body, plan.slow, plan.truncated))
    } else {
        Body::from(answer.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(promised));
    for (name, value) in answer.headers {
        headers.insert(name, HeaderValue::from_str(&value).expect("a header value"));
    }
    response
}

fn record(
    request: &Request,
    path: &str,
    auth: AuthSeen,
    seq: u64,
    bearer: &Result<Option<String>, ()>,
) -> RecordedRequest {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = if name == header::AUTHORIZATION {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect();
    RecordedRequest {
        method: request.method().to_string(),
        path: path.to_string(),
        path_and_query: request
            .uri()
            .path_and_query()
            .map_or_else(|| path.to_string(), |pq| pq.to_string()),
        headers,
        auth,
        status: None,
        seq,
        bearer: Redacted(bearer.clone().ok().flatten()),
    }
}
