//! Requests to one repository of one registry.
//!
//! Decisions:
//! - [`Repository::connect`] asks `GET /v2/` first: 200 means anonymous
//!   access, 401 carries the challenge that picks Basic or Bearer. A Bearer
//!   token is fetched for the scope the command needs (`pull` or
//!   `pull,push`), and fetched again once if a later request gets a 401 with
//!   a challenge of its own.
//! - Blobs the registry already has (HEAD 200) are not uploaded again.
//!   Uploads are `POST` then `PUT ?digest=` with the whole blob, or, above
//!   the chunk size, `PATCH`es with `Content-Range` and a closing `PUT`.
//!   `Location` may be relative and changes after every step.
//! - A manifest is accepted only when the registry's `Docker-Content-Digest`
//!   (if it sends one) equals ours; what we download is checked against the
//!   digest and size that named it.
//! - Tags follow `Link: <…>; rel="next"` pages.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LINK, LOCATION, WWW_AUTHENTICATE};

use crate::error::{Error, Result};
use crate::oci::auth::{self, Authorization, Challenge, Login, chain};
use crate::oci::{MANIFEST_MEDIA_TYPE, digest_of};

/// Blobs above this size are sent in chunks of this size.
pub const DEFAULT_CHUNK_SIZE: usize = 16 * 1024 * 1024;
/// A manifest larger than this is not a module package (the spec's 4 MiB).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
const DIGEST_HEADER: &str = "docker-content-digest";

/// Which access a command needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

/// Builds the HTTPS client every command shares: the helper's TLS setup
/// (its provider and trust roots, `SSL_CERT_FILE` honoured), HTTPS only (a
/// redirect to plain HTTP is refused too), proxies honoured.
pub fn http_client() -> Result<Client> {
    docker_credential_scalr::https::builder()?
        .https_only(true)
        .timeout(Duration::from_secs(300))
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("scalr-oci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(Error::HttpClient)
}

pub struct Repository {
    http: Client,
    base: String,
    repository: String,
    scope: String,
    login: Option<Login>,
    authorization: Authorization,
}

impl Repository {
    /// Pings `https://ENDPOINT/v2/` and authenticates for `access` to `repository`.
    pub fn connect(
        http: Client,
        endpoint: &str,
        repository: &str,
        access: Access,
        login: Option<Login>,
    ) -> Result<Repository> {
        let base = format!("https://{endpoint}");
        let mut repo = Repository {
            http,
            scope: format!("repository:{repository}:{}", access.actions()),
            repository: repository.to_string(),
            base,
            login,
            authorization: Authorization::Anonymous,
        };
        let url = format!("{}/v2/", repo.base);
        let ping = repo
            .http
            .get(&url)
            .send()
            .map_err(|e| Error::Registry(format!("{url}: {}", chain(&e))))?;
        match ping.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED => repo.answer(ping.headers(), &url)?,
            StatusCode::NOT_FOUND => {
                return Err(Error::Registry(format!(
                    "GET {url} gives 404: this is not an OCI (Docker Registry V2) endpoint"
                )));
            }
            other => {
                return Err(Error::Registry(format!(
                    "GET {url} gives {other}, expected 200 or a 401 challenge"
                )));
            }
        }
        Ok(repo)
    }

    /// Sets the authorization a 401's challenge asks for.
    fn answer(&mut self, headers: &HeaderMap, url: &str) -> Result<()> {
        let challenge = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(Challenge::parse)
            .ok_or_else(|| {
                Error::Registry(format!(
                    "{url} gives 401 without a WWW-Authenticate challenge"
                ))
            })?;
        self.authorization = match challenge.scheme.as_str() {
            "basic" => {
                let login = self.login.as_ref().ok_or_else(|| self.no_credentials())?;
                Authorization::Basic {
                    username: login.username.clone(),
                    secret: login.secret.clone(),
                }
            }
            "bearer" => Authorization::Bearer(auth::fetch_token(
                &self.http,
                &challenge,
                &self.scope,
                self.login.as_ref(),
            )?),
            other => {
                return Err(Error::Registry(format!(
                    "{url} asks for {other:?} authentication, which scalr-oci does not speak (Basic and Bearer only)"
                )));
            }
        };
        Ok(())
    }

    fn no_credentials(&self) -> Error {
        let host = self.base.trim_start_matches("https://");
        Error::Registry(format!(
            "{host} wants credentials and none were found: `scalr-oci registry add {host} --username NAME`, or export a Scalr Docker registry integration for it"
        ))
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.repository)
    }

    /// Sends with our authorization; on a 401, re-authenticates once with
    /// the new challenge and sends again (`build` must be repeatable).
    fn send(&mut self, what: &str, build: impl Fn(&Client) -> RequestBuilder) -> Result<Response> {
        let response = self
            .authorization
            .apply(build(&self.http))
            .send()
            .map_err(|e| Error::Registry(format!("{what}: {}", chain(&e))))?;
        if response.status() != StatusCode::UNAUTHORIZED
            || matches!(self.authorization, Authorization::Basic { .. })
        {
            return Ok(response);
        }
        self.answer(response.headers(), what)?;
        self.authorization
            .apply(build(&self.http))
            .send()
            .map_err(|e| Error::Registry(format!("{what}: {}", chain(&e))))
    }

    /// Whether the registry holds blob `digest`.
    pub fn has_blob(&mut self, digest: &str) -> Result<bool> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = self.send(&format!("HEAD {url}"), |c| c.head(&url))?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.refused("HEAD", &url, response)),
        }
    }

    /// Uploads `bytes` as blob `digest` unless the registry has it.
    /// Returns whether it was uploaded. `progress(sent, total)` is called
    /// after each chunk.
    pub fn push_blob(
        &mut self,
        digest: &str,
        bytes: &[u8],
        chunk_size: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<bool> {
        if self.has_blob(digest)? {
            return Ok(false);
        }
        let start = self.url("blobs/uploads/");
        let response = self.send(&format!("POST {start}"), |c| {
            c.post(&start).header(CONTENT_LENGTH, 0)
        })?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.refused("POST", &start, response));
        }
        let mut location = self.location(&response, &start)?;
        let total = bytes.len() as u64;
        let chunk_size = chunk_size.max(1);
        let body_of_put: &[u8] = if bytes.len() > chunk_size {
            let mut sent = 0usize;
            for chunk in bytes.chunks(chunk_size) {
                let range = format!("{}-{}", sent, sent + chunk.len() - 1);
                let at = location.clone();
                let response = self.send(&format!("PATCH {at}"), |c| {
                    c.patch(&at)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header("content-range", &range)
                        .body(chunk.to_vec())
                })?;
                if response.status() != StatusCode::ACCEPTED {
                    return Err(self.refused("PATCH", &at, response));
                }
                location = self.location(&response, &at)?;
                sent += chunk.len();
                progress(sent as u64, total);
            }
            &[]
        } else {
            bytes
        };
        let mut put = reqwest::Url::parse(&location).map_err(|_| {
            Error::Registry(format!("the upload location {location:?} is not a URL"))
        })?;
        put.query_pairs_mut().append_pair("digest", digest);
        let response = self.send(&format!("PUT {location}"), |c| {
            c.put(put.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body_of_put.to_vec())
        })?;
        if response.status() != StatusCode::CREATED {
            return Err(self.refused("PUT", location.as_str(), response));
        }
        if body_of_put.len() as u64 == total {
            progress(total, total);
        }
        self.check_digest(&response, digest, "blob")?;
        Ok(true)
    }

    /// Puts `manifest` under `reference` (a tag or its digest); the
    /// registry must agree on its digest.
    pub fn push_manifest(&mut self, reference: &str, manifest: &[u8]) -> Result<()> {
        let url = self.url(&format!("manifests/{reference}"));
        let response = self.send(&format!("PUT {url}"), |c| {
            c.put(&url)
                .header(CONTENT_TYPE, MANIFEST_MEDIA_TYPE)
                .body(manifest.to_vec())
        })?;
        if response.status() != StatusCode::CREATED {
            return Err(self.refused("PUT", &url, response));
        }
        self.check_digest(&response, &digest_of(manifest), "manifest")
    }

    /// The manifest under `reference`, its bytes checked against the digest
    /// that named it (or the one the registry sent).
    pub fn manifest(&mut self, reference: &str) -> Result<Vec<u8>> {
        let url = self.url(&format!("manifests/{reference}"));
        let response = self.send(&format!("GET {url}"), |c| {
            c.get(&url).header(
                "accept",
                format!("{MANIFEST_MEDIA_TYPE}, application/vnd.oci.image.index.v1+json"),
            )
        })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(Error::Registry(format!(
                "{reference} does not exist in {}/{} (GET {url} gives 404)",
                self.base.trim_start_matches("https://"),
                self.repository
            )));
        }
        if !response.status().is_success() {
            return Err(self.refused("GET", &url, response));
        }
        let sent = header(response.headers(), DIGEST_HEADER);
        let bytes = read_limited(response, MAX_MANIFEST, &url)?;
        let ours = digest_of(&bytes);
        let expected = if super::is_digest(reference) {
            Some(reference.to_string())
        } else {
            sent
        };
        if let Some(expected) = expected
            && expected != ours
        {
            return Err(Error::Registry(format!(
                "the manifest {url} has digest {ours}, but {expected} was expected"
            )));
        }
        Ok(bytes)
    }

    /// Blob `digest`, which must be `size` bytes and hash to `digest`.
    pub fn blob(&mut self, digest: &str, size: u64) -> Result<Vec<u8>> {
        let url = self.url(&format!("blobs/{digest}"));
        let response = self.send(&format!("GET {url}"), |c| c.get(&url))?;
        if !response.status().is_success() {
            return Err(self.refused("GET", &url, response));
        }
        let bytes = read_limited(response, size.saturating_add(1), &url)?;
        if bytes.len() as u64 != size {
            return Err(Error::Registry(format!(
                "the blob {digest} is {} bytes, but its descriptor says {size}",
                bytes.len()
            )));
        }
        let ours = digest_of(&bytes);
        if ours != digest {
            return Err(Error::Registry(format!(
                "the blob named {digest} hashes to {ours}: its content does not match"
            )));
        }
        Ok(bytes)
    }

    /// Every tag, following the registry's pages; `page_size` asks for
    /// pages of that many (`?n=`), else the registry picks.
    pub fn tags(&mut self, page_size: Option<usize>) -> Result<Vec<String>> {
        let mut url = self.url("tags/list");
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let mut tags = Vec::new();
        for _ in 0..10_000 {
            let at = url.clone();
            let response = self.send(&format!("GET {at}"), |c| c.get(&at))?;
            if response.status() == StatusCode::NOT_FOUND {
                // distribution: NAME_UNKNOWN before the first push.
                return Ok(tags);
            }
            if !response.status().is_success() {
                return Err(self.refused("GET", &at, response));
            }
            let next = header(response.headers(), LINK.as_str()).and_then(|l| next_link(&l));
            #[derive(serde::Deserialize)]
            struct Page {
                tags: Option<Vec<String>>,
            }
            let bytes = read_limited(response, MAX_MANIFEST, &at)?;
            let page: Page = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Registry(format!("GET {at}: the tag list is not JSON: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => url = self.resolve(&next, &at)?,
                None => return Ok(tags),
            }
        }
        Err(Error::Registry(format!(
            "{} keeps sending tag pages; stopped after 10000",
            self.base
        )))
    }

    fn location(&self, response: &Response, request: &str) -> Result<String> {
        let location = header(response.headers(), LOCATION.as_str()).ok_or_else(|| {
            Error::Registry(format!(
                "{request}: the registry answered without a Location"
            ))
        })?;
        self.resolve(&location, request)
    }

    /// A `Location` or `Link` target, made absolute against the request URL.
    fn resolve(&self, target: &str, request: &str) -> Result<String> {
        reqwest::Url::parse(request)
            .and_then(|base| base.join(target))
            .map(String::from)
            .map_err(|_| {
                Error::Registry(format!("{request}: the registry sent a bad URL {target:?}"))
            })
    }

    fn check_digest(&self, response: &Response, ours: &str, what: &str) -> Result<()> {
        match header(response.headers(), DIGEST_HEADER) {
            Some(theirs) if theirs != ours => Err(Error::Registry(format!(
                "the registry stored the {what} as {theirs}, but its digest is {ours}: refusing to trust it"
            ))),
            _ => Ok(()),
        }
    }

    /// A failed request as one message: the status, the registry's own error
    /// code and message (from the spec's error body), and what to do.
    fn refused(&self, method: &str, url: &str, response: Response) -> Error {
        let status = response.status();
        let insufficient_scope = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(Challenge::parse)
            .is_some_and(|c| c.param("error") == Some("insufficient_scope"));
        #[derive(serde::Deserialize)]
        struct Body {
            errors: Option<Vec<Item>>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            code: Option<String>,
            message: Option<String>,
        }
        let url = url.split('?').next().unwrap_or(url);
        let details = response
            .bytes()
            .ok()
            .and_then(|b| serde_json::from_slice::<Body>(&b).ok())
            .and_then(|b| b.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|i| {
                format!(
                    "{}: {}",
                    i.code.unwrap_or_default(),
                    i.message.unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let hint = match status {
            StatusCode::UNAUTHORIZED if insufficient_scope => {
                " The credentials are accepted but lack the permission for this (push needs write access, e.g. write:packages on GHCR, write_registry on GitLab)."
            }
            StatusCode::UNAUTHORIZED => {
                " The registry rejects the credentials: they are wrong, revoked or expired."
            }
            StatusCode::FORBIDDEN => {
                " The credentials are accepted but lack the permission (push needs write access, e.g. write:packages on GHCR, write_registry on GitLab)."
            }
            _ => "",
        };
        let details = if details.is_empty() {
            String::new()
        } else {
            format!(" ({details})")
        };
        Error::Registry(format!("{method} {url} gives {status}{details}.{hint}"))
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

/// The target of `<…>; rel="next"` in a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn read_limited(response: Response, limit: u64, url: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    response
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Registry(format!("GET {url}: {}", chain(&e))))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
        assert_eq!(
            next_link(r#"<https://x/p>; rel="prev", <https://x/n>; rel=next"#).as_deref(),
            Some("https://x/n")
        );
    }
}
