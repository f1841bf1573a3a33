//! The fake as a Scalr *host*, beside its control-plane API: what OpenTofu
//! talks to with the host token (issue 8).
//!
//! - `GET /.well-known/terraform.json`: service discovery, as Scalr serves
//!   it: `modules.v1` (the private module registry) and `tfe.v2` (which
//!   `tofu login` needs: with no `login.v1` it asks for a token and checks it
//!   with `GET {tfe.v2}account/details`, after a `ping`).
//! - The module registry protocol under `modules.v1`:
//!   `NS/NAME/SYSTEM/versions` and `NS/NAME/SYSTEM/VERSION/download`, the
//!   latter answering 204 with `X-Terraform-Get`. Both refuse any request
//!   without `Authorization: Bearer <a valid token>` (401), as does
//!   `account/details`.
//! - The package itself at an unguessable path, without a token, as real
//!   registries hand out pre-signed URLs: OpenTofu fetches `X-Terraform-Get`
//!   locations with go-getter, which never sends the host token.
//!
//! The tokens are the control plane's ([`FakeControlPlane::token`]): one
//! Scalr token serves both, as on a real Scalr account.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use super::FakeControlPlane;
use super::api::{Answer, error};
use super::server::lock;
use super::state::{AuthSeen, State, random_hex};

const DISCOVERY: &str = "/.well-known/terraform.json";
const TFE: &str = "/api/tfe/v2/";
const MODULES: &str = "/api/tfe/v2/registry/modules/";
const ARCHIVES: &str = "/module-archives/";

/// One published module version.
#[derive(Clone)]
pub(crate) struct ModuleVersion {
    /// `NS/NAME/SYSTEM`.
    address: String,
    version: String,
    /// The unguessable path segment of its package.
    key: String,
    zip: Vec<u8>,
}

/// What a request to the Scalr host asks for.
pub(crate) enum Route {
    Discovery,
    Ping,
    AccountDetails,
    Versions(String),
    Download(String, String),
    Archive(String),
    Unknown,
}

/// `Some` for the host's own paths; `None` leaves the path to the API.
pub(crate) fn route(path: &str) -> Option<Route> {
    if path == DISCOVERY {
        return Some(Route::Discovery);
    }
    if let Some(key) = path.strip_prefix(ARCHIVES) {
        return Some(Route::Archive(key.trim_end_matches(".zip").to_string()));
    }
    if let Some(rest) = path.strip_prefix(MODULES) {
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        return Some(match parts.as_slice() {
            [ns, name, system, "versions"] => Route::Versions(format!("{ns}/{name}/{system}")),
            [ns, name, system, version, "download"] => {
                Route::Download(format!("{ns}/{name}/{system}"), version.to_string())
            }
            _ => Route::Unknown,
        });
    }
    match path.strip_prefix(TFE)? {
        "ping" => Some(Route::Ping),
        "account/details" => Some(Route::AccountDetails),
        _ => None,
    }
}

pub(crate) fn answer(
    state: &State,
    request: &Request,
    route: Route,
    token: Option<&str>,
) -> Answer {
    if request.method() != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET is supported here.",
        );
    }
    let needs_token = matches!(
        route,
        Route::AccountDetails | Route::Versions(_) | Route::Download(..) | Route::Unknown
    );
    if needs_token && state.auth(token) != AuthSeen::Valid {
        return error(
            StatusCode::UNAUTHORIZED,
            "A valid API token is required: Authorization: Bearer <token>.",
        );
    }
    match route {
        Route::Discovery => json_answer(
            StatusCode::OK,
            json!({
                "modules.v1": MODULES,
                "providers.v1": "/api/tfe/v2/registry/providers/",
                "state.v2": TFE,
                "tfe.v2": TFE,
                "tfe.v2.1": TFE,
                "versions.v1": "https://registry.scalr.io/v1/versions/",
            }),
        ),
        Route::Ping => Answer {
            status: StatusCode::NO_CONTENT,
            headers: Vec::new(),
            body: Vec::new(),
        },
        Route::AccountDetails => json_answer(
            StatusCode::OK,
            json!({"data": {
                "type": "users",
                "id": "user-e2e",
                "attributes": {"username": "scalr-e2e", "email": "e2e@scalr.test"},
            }}),
        ),
        Route::Versions(address) => {
            let versions: Vec<_> = state
                .modules
                .iter()
                .filter(|m| m.address == address)
                .map(|m| json!({"version": m.version}))
                .collect();
            if versions.is_empty() {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!("Module {address} was not found."),
                );
            }
            json_answer(
                StatusCode::OK,
                json!({"modules": [{"source": address, "versions": versions}]}),
            )
        }
        Route::Download(address, version) => {
            match state
                .modules
                .iter()
                .find(|m| m.address == address && m.version == version)
            {
                Some(m) => Answer {
                    status: StatusCode::NO_CONTENT,
                    headers: vec![(
                        header::HeaderName::from_static("x-terraform-get"),
                        format!("{ARCHIVES}{}.zip", m.key),
                    )],
                    body: Vec::new(),
                },
                None => error(
                    StatusCode::NOT_FOUND,
                    &format!("Module {address} version {version} was not found."),
                ),
            }
        }
        Route::Archive(key) => match state.modules.iter().find(|m| m.key == key) {
            Some(m) => Answer {
                status: StatusCode::OK,
                headers: vec![(header::CONTENT_TYPE, "application/zip".into())],
                body: m.zip.clone(),
            },
            None => error(StatusCode::NOT_FOUND, "No such package."),
        },
        Route::Unknown => error(StatusCode::NOT_FOUND, "No such resource."),
    }
}

fn json_answer(status: StatusCode, doc: serde_json::Value) -> Answer {
    Answer {
        status,
        headers: vec![(header::CONTENT_TYPE, "application/json".into())],
        body: serde_json::to_vec(&doc).expect("serialise a document"),
    }
}

/// The fake's Scalr-host side, for tests.
impl FakeControlPlane {
    /// Publishes `zip` as version `version` of module `NS/NAME/SYSTEM` in the
    /// account's private registry.
    pub fn publish_module(&self, address: &str, version: &str, zip: Vec<u8>) {
        assert_eq!(
            address.split('/').count(),
            3,
            "NS/NAME/SYSTEM, not {address:?}"
        );
        lock(&self.shared).modules.push(ModuleVersion {
            address: address.to_string(),
            version: version.to_string(),
            key: random_hex(16),
            zip,
        });
    }

    /// `HOST/NS/NAME/SYSTEM`: a module `source` in this host's registry.
    pub fn module_source(&self, address: &str) -> String {
        format!("{}/{address}", self.hostname())
    }

    /// Requests to the registry's `versions` and `download` endpoints, with
    /// how each authenticated and what it was answered.
    pub fn registry_requests(&self) -> Vec<super::RecordedRequest> {
        self.request_log()
            .into_iter()
            .filter(|r| r.path.starts_with(MODULES))
            .collect()
    }
}
