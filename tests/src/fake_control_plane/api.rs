//! The API proper: routes and JSON:API documents, as real Scalr answers them.

use std::time::SystemTime;

use axum::extract::{Query, Request};
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use super::faults::{Early, RetryAfter, token_echoes};
use super::server::BASE;
use super::state::{AuthSeen, State};

const MAX_PAGE_SIZE: u64 = 100;

pub(crate) enum Route {
    List,
    Credentials(String),
    Other,
}

pub(crate) fn route(path: &str) -> Route {
    let Some(rest) = path.strip_prefix(BASE) else {
        return Route::Other;
    };
    if rest == "/integrations/docker" {
        return Route::List;
    }
    match rest
        .strip_prefix("/integrations/docker/")
        .and_then(|r| r.strip_suffix("/credentials"))
    {
        Some(id) if !id.is_empty() && !id.contains('/') => Route::Credentials(id.to_string()),
        _ => Route::Other,
    }
}

/// Status, extra headers and body of one answer, before body faults.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(header::HeaderName, String)>,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn error(status: StatusCode, detail: &str) -> Answer {
    let title = status.canonical_reason().unwrap_or("Error");
    let doc = json!({"errors": [{"status": status.as_str(), "title": title, "detail": detail}]});
    Answer {
        status,
        headers: Vec::new(),
        body: serde_json::to_vec(&doc).expect("serialise an error document"),
    }
}

fn document(doc: Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        headers: Vec::new(),
        body: serde_json::to_vec(&doc).expect("serialise a document"),
    }
}

const INVALID_TOKEN: &str = "The token is not valid.";

/// `token` is the bearer token the request carried, if any.
pub(crate) fn early_answer(early: Early, token: Option<&str>) -> Answer {
    match early {
        Early::Reject => error(StatusCode::UNAUTHORIZED, INVALID_TOKEN),
        Early::EchoToken(status) => error(
            StatusCode::from_u16(status).expect("an HTTP status"),
            &format!(
                "Token {} is not valid here.",
                token_echoes(token.unwrap_or_default()).join(" aka ")
            ),
        ),
        Early::ServerError(status) => error(
            StatusCode::from_u16(status).expect("a 5xx status"),
            "The control plane failed to handle the request.",
        ),
        Early::TooManyRequests(retry_after) => {
            let mut answer = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded; retry later.",
            );
            let value = match retry_after {
                RetryAfter::Seconds(s) => s.to_string(),
                RetryAfter::HttpDateIn(d) => httpdate::fmt_http_date(SystemTime::now() + d),
            };
            answer.headers.push((header::RETRY_AFTER, value));
            answer
        }
    }
}

pub(crate) fn normal_answer(
    state: &State,
    request: &Request,
    route: Route,
    token: Option<&str>,
) -> Answer {
    match state.auth(token) {
        AuthSeen::Valid => {}
        AuthSeen::Revoked => return error(StatusCode::UNAUTHORIZED, "The token has been revoked."),
        _ if request.headers().contains_key(header::AUTHORIZATION) => {
            return error(StatusCode::UNAUTHORIZED, INVALID_TOKEN);
        }
        _ => {
            return error(
                StatusCode::UNAUTHORIZED,
                "No bearer token in the Authorization header.",
            );
        }
    }
    let token = token.expect("a valid token");
    if request.method() != Method::GET {
        let mut answer = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET is supported here.",
        );
        answer.headers.push((header::ALLOW, "GET".to_string()));
        return answer;
    }
    match route {
        Route::List => list(state, request),
        Route::Credentials(id) => credentials(state, token, &id),
        Route::Other => error(StatusCode::NOT_FOUND, "No such resource."),
    }
}

fn page_param(pairs: &[(String, String)], name: &str, default: u64) -> Result<u64, Answer> {
    match pairs.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("{name} must be a positive integer, not {v:?}."),
            )
        }),
    }
}

fn list(state: &State, request: &Request) -> Answer {
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()) else {
        return error(StatusCode::BAD_REQUEST, "The query string is malformed.");
    };
    let (number, size) = match (
        page_param(&pairs, "page[number]", 1),
        page_param(&pairs, "page[size]", MAX_PAGE_SIZE),
    ) {
        (Ok(n), Ok(s)) => (n, s.min(MAX_PAGE_SIZE)),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let total = state.integrations.len() as u64;
    // An empty list still has its one (empty) page.
    let total_pages = total.div_ceil(size).max(1);
    let data: Vec<Value> = state
        .integrations
        .iter()
        .skip(usize::try_from((number - 1).saturating_mul(size)).unwrap_or(usize::MAX))
        .take(size as usize)
        .map(|i| {
            json!({
                "type": "docker-integrations",
                "id": i.id,
                "attributes": {
                    "name": i.name(),
                    "registry-url": i.spec.registry_url,
                    "username": i.spec.username,
                    "export-credentials": i.spec.export_credentials,
                    "status": i.spec.status.as_str(),
                },
                "links": {"self": format!("{BASE}/integrations/docker/{}", i.id)},
            })
        })
        .collect();
    document(json!({
        "data": data,
        "meta": {"pagination": {
            "current-page": number,
            "prev-page": if number > 1 { Some(number - 1) } else { None },
            "next-page": if number < total_pages { Some(number + 1) } else { None },
            "total-pages": total_pages,
            "total-count": total,
        }},
    }))
}

fn credentials(state: &State, token: &str, id: &str) -> Answer {
    // Unknown and not-allowed look the same, so a token cannot probe for ids.
    let found = state.integrations.iter().find(|i| i.id == id);
    let Some(integration) = found.filter(|_| state.may_use(token, id)) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Docker integration {id} was not found."),
        );
    };
    let integration = &integration.spec;
    if !integration.export_credentials {
        return error(
            StatusCode::FORBIDDEN,
            &format!("Credential export is disabled for Docker integration {id}."),
        );
    }
    document(json!({"data": {
        "type": "docker-integration-credentials",
        "id": id,
        "attributes": {
            "username": integration.username,
            "password": integration.password,
            "expires-at": integration.expires_at,
        },
    }}))
}
