//! A storage host in front of a registry's filesystem storage, on an origin
//! of its own: what distribution's `redirect` storage middleware sends blob
//! downloads to (`307` to `https://FRONT/docker/registry/v2/blobs/…/data`),
//! as GHCR, Docker Hub, ECR and Quay send theirs to S3, Azure or GCS.
//!
//! It serves the registry's files read-only and records every request with
//! its `Authorization` header: a storage URL is presigned, and a client
//! must send it none of the registry's credentials.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use crate::https_server::{self, Running};

/// One request as the front saw it.
#[derive(Clone, Debug)]
pub struct FrontRequest {
    pub path: String,
    pub authorization: Option<String>,
}

pub struct StorageFront {
    running: Running,
    seen: Arc<Mutex<Vec<FrontRequest>>>,
}

impl StorageFront {
    /// Serves the files under `root` over HTTPS with the given certificate.
    pub fn start(root: &Path, cert_pem: &str, key_pem: &str) -> StorageFront {
        let seen: Arc<Mutex<Vec<FrontRequest>>> = Arc::default();
        let root = root.to_path_buf();
        let record = seen.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let root = root.clone();
            let record = record.clone();
            async move {
                record.lock().expect("front log").push(FrontRequest {
                    path: uri.path().to_string(),
                    authorization: headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                });
                serve(&root, uri.path())
            }
        });
        StorageFront {
            running: https_server::spawn(app, cert_pem, key_pem, "storage-front"),
            seen,
        }
    }

    /// `https://127.0.0.1:PORT`: the middleware's `baseurl`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.running.addr)
    }

    pub fn seen(&self) -> Vec<FrontRequest> {
        self.seen.lock().expect("front log").clone()
    }
}

fn serve(root: &Path, path: &str) -> Response {
    let relative = PathBuf::from(path.trim_start_matches('/'));
    let inside = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let status = |s: StatusCode| {
        Response::builder()
            .status(s)
            .body(Body::empty())
            .expect("a response")
    };
    if !inside {
        return status(StatusCode::BAD_REQUEST);
    }
    match std::fs::read(root.join(relative)) {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .expect("a response"),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}
