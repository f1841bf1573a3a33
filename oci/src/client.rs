//! Requests to one repository of one registry.
//!
//! Decisions:
//! - **Credentials go only to the registry's origin** (scheme, host and
//!   port of the endpoint the user named). An upload `Location`, a `Link`
//!   to the next tags page or a redirect on another origin is requested
//!   without them (a presigned storage URL needs none), and a 401 from
//!   another origin is an error, never answered: answering it would hand
//!   the password to that origin's token realm. Docker and oras-go do the
//!   same.
//! - [`Repository::connect`] asks `GET /v2/` first: 200 means anonymous
//!   access, 401 carries the challenges that pick Basic or Bearer (Bearer
//!   preferred). A Bearer token is fetched for the scope the command needs
//!   (`pull` or `pull,push`), and fetched again once if a later request of
//!   the registry's origin gets a 401 with a challenge of its own.
//! - GETs of manifests and blobs follow redirects (at most
//!   [`MAX_REDIRECTS`], HTTPS only): GHCR, Docker Hub, ECR and Quay send
//!   blob downloads to storage hosts. Other requests follow none.
//! - 429 and 5xx answers to requests that can be repeated (not the steps of
//!   an upload session) are retried with the control plane's policy
//!   (capped backoff with jitter, `Retry-After` honoured); every request of
//!   the command shares one deadline.
//! - Every read is bounded ([`limits`]); a blob is checked against its size
//!   and digest while it is read.
//! - Blobs the registry already has (HEAD 200) are not uploaded again.
//!   Uploads are `POST` then `PUT ?digest=` with the whole blob, or, above
//!   the chunk size, `PATCH`es with `Content-Range` and a closing `PUT`.
//!   `Location` may be relative and changes after every step.
//! - A manifest is accepted only when the registry's `Docker-Content-Digest`
//!   (if it sends one) equals ours.

use std::time::{Duration, Instant};

use docker_credential_scalr::control_plane::{
    MAX_ATTEMPTS, RETRY_AFTER_CAP, backoff, lasting_failure, parse_retry_after,
};
use reqwest::blocking::{Client, Response};
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LINK, LOCATION, RETRY_AFTER,
};
use reqwest::{Method, StatusCode, Url};

use crate::MANIFEST_MEDIA_TYPE;
use crate::auth::{self, Authorization, Challenge, Login};
use crate::error::{Advice, Error, Result, chain, is_code, request};
use crate::limits::{
    self, Budget, MAX_ERROR_BODY, MAX_MANIFEST, MAX_TAGS_PAGE, MAX_TAGS_TOTAL, read_bounded,
};

/// Blobs above this size are sent in chunks of this size.
pub const DEFAULT_CHUNK_SIZE: usize = 16 * 1024 * 1024;
/// Redirects followed by one GET of a blob or manifest.
pub const MAX_REDIRECTS: usize = 5;
/// Pages of tags one `tags` reads at most.
pub const MAX_TAGS_PAGES: usize = 1000;
/// Everything one command does with registries.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(600);
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
/// (its provider and trust roots, `SSL_CERT_FILE` honoured), HTTPS only, no
/// redirects of its own (followed here, per origin), proxies honoured.
pub fn http_client() -> Result<Client> {
    docker_credential_scalr::https::builder()
        .map_err(|e| Error::TrustRoots(Box::new(e)))?
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("scalr-oci/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::HttpClient { detail: chain(&e) })
}

/// One request, as often as it must be sent.
struct Req<'a> {
    method: Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a [u8]>,
    /// Follow redirects (GETs of blobs and manifests).
    follow: bool,
    /// Retry 429 and 5xx.
    retry: bool,
}

impl<'a> Req<'a> {
    fn new(method: Method, url: Url) -> Req<'a> {
        let retry = method != Method::PATCH;
        Req {
            method,
            url,
            headers: Vec::new(),
            body: None,
            follow: false,
            retry,
        }
    }
}

pub struct Repository {
    http: Client,
    /// `https://HOST[:PORT]/`: the origin credentials belong to.
    base: Url,
    host: String,
    repository: String,
    scope: String,
    login: Option<Login>,
    authorization: Authorization,
    budget: Budget,
    deadline: Instant,
    /// The deadline's length, for messages.
    limit: Duration,
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
        Self::connect_within(http, endpoint, repository, access, login, COMMAND_DEADLINE)
    }

    /// [`Repository::connect`] with `limit` as the one deadline of
    /// everything this connection does (every request, retry and pause).
    pub fn connect_within(
        http: Client,
        endpoint: &str,
        repository: &str,
        access: Access,
        login: Option<Login>,
        limit: Duration,
    ) -> Result<Repository> {
        let base = Url::parse(&format!("https://{endpoint}/")).map_err(|_| Error::BadUrl {
            request: format!("https://{endpoint}/"),
        })?;
        let mut repo = Repository {
            http,
            base,
            host: endpoint.to_string(),
            scope: format!("repository:{repository}:{}", access.actions()),
            repository: repository.to_string(),
            login,
            authorization: Authorization::Anonymous,
            budget: Budget::default(),
            deadline: Instant::now() + limit,
            limit,
        };
        let url = repo.join("/v2/")?;
        let ping = repo.send(Req::new(Method::GET, url.clone()))?;
        match ping.status() {
            s if s.is_success() => Ok(repo),
            StatusCode::NOT_FOUND => Err(Error::NotARegistry {
                url: url.to_string(),
            }),
            _ => Err(repo.refused(&request("GET", &url), ping)),
        }
    }

    fn join(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|_| Error::BadUrl {
            request: path.to_string(),
        })
    }

    fn url(&self, tail: &str) -> Result<Url> {
        self.join(&format!("/v2/{}/{tail}", self.repository))
    }

    fn remaining(&self, shown: &str) -> Result<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::Deadline {
                request: shown.to_string(),
                secs: self.limit.as_secs(),
            })
    }

    /// Sends `req`: with our authorization only to the registry's origin;
    /// re-authenticating once on a 401 of that origin; refusing a 401 of
    /// any other; following redirects when asked; retrying 429 and 5xx.
    fn send(&mut self, req: Req<'_>) -> Result<Response> {
        let mut url = req.url.clone();
        let mut reauthenticated = false;
        let mut hops = 0;
        let mut attempt = 0;
        loop {
            let shown = request(req.method.as_str(), &url);
            let ours = url.origin() == self.base.origin();
            let remaining = self.remaining(&shown)?;
            let mut builder = self
                .http
                .request(req.method.clone(), url.clone())
                .timeout(remaining);
            for (name, value) in &req.headers {
                builder = builder.header(*name, value);
            }
            if let Some(body) = req.body {
                builder = builder.body(body.to_vec());
            }
            if ours {
                builder = self.authorization.apply(builder);
            }
            attempt += 1;
            let response = match builder.send() {
                Ok(r) => r,
                // A refused connection or an unknown name is reported at
                // once, in our words, with what to check.
                Err(e) if let Some(what) = lasting_failure(&e) => {
                    return Err(Error::Unreachable {
                        request: shown,
                        what,
                        host: self.host.clone(),
                    });
                }
                Err(e) if req.retry && e.is_connect() && attempt < MAX_ATTEMPTS => {
                    self.pause(backoff(attempt), &shown)?;
                    continue;
                }
                Err(e) if e.is_timeout() && self.remaining(&shown).is_err() => {
                    return Err(Error::Deadline {
                        request: shown,
                        secs: self.limit.as_secs(),
                    });
                }
                Err(e) => {
                    return Err(Error::Transport {
                        request: shown,
                        detail: chain(&e),
                    });
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                if !ours {
                    return Err(Error::ForeignChallenge {
                        request: shown,
                        origin: url.origin().ascii_serialization(),
                        registry: self.base.origin().ascii_serialization(),
                    });
                }
                if !reauthenticated && !matches!(self.authorization, Authorization::Basic { .. }) {
                    reauthenticated = true;
                    self.answer(response.headers(), &shown)?;
                    continue;
                }
                return Ok(response);
            }
            if req.retry
                && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt < MAX_ATTEMPTS
            {
                let wait = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after)
                    .map(|d| d.min(RETRY_AFTER_CAP))
                    .unwrap_or_else(|| backoff(attempt));
                if wait < remaining {
                    drop(response);
                    self.pause(wait, &shown)?;
                    continue;
                }
                // The retry the registry asks for would end after the
                // command's deadline: stop now, and say so.
                return Err(Error::Deadline {
                    request: format!(
                        "{shown}, answered {} with a retry due in {} s",
                        status.as_u16(),
                        wait.as_secs_f64().ceil()
                    ),
                    secs: self.limit.as_secs(),
                });
            }
            if req.follow && status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(Error::TooManyRedirects {
                        request: request(req.method.as_str(), &req.url),
                        hops: MAX_REDIRECTS,
                    });
                }
                let next = location(&response, &url, &shown)?;
                if next.scheme() != "https" {
                    return Err(Error::RedirectNotHttps { request: shown });
                }
                url = next;
                continue;
            }
            return Ok(response);
        }
    }

    fn pause(&self, wait: Duration, shown: &str) -> Result<()> {
        if wait >= self.remaining(shown)? {
            return Err(Error::Deadline {
                request: shown.to_string(),
                secs: self.limit.as_secs(),
            });
        }
        std::thread::sleep(wait);
        Ok(())
    }

    /// Sets the authorization a 401 of the registry's own origin asks for.
    fn answer(&mut self, headers: &HeaderMap, shown: &str) -> Result<()> {
        let challenges = Challenge::from_headers(headers);
        let Some(challenge) = Challenge::pick(&challenges) else {
            return Err(match challenges.first() {
                None => Error::NoChallenge {
                    request: shown.to_string(),
                },
                Some(c) => Error::UnsupportedScheme {
                    request: shown.to_string(),
                    scheme: c.scheme.clone(),
                },
            });
        };
        self.authorization = match challenge.scheme.as_str() {
            "basic" => {
                let login = self.login.as_ref().ok_or_else(|| Error::NoCredentials {
                    host: self.host.clone(),
                })?;
                Authorization::Basic {
                    username: login.username.clone(),
                    secret: login.secret.clone(),
                }
            }
            _ => Authorization::Bearer(auth::fetch_token(
                &self.http,
                challenge,
                &self.scope,
                self.login.as_ref(),
                &self.budget,
                self.remaining(shown)?,
            )?),
        };
        Ok(())
    }

    /// Whether the registry holds blob `digest`.
    pub fn has_blob(&mut self, digest: &str) -> Result<bool> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let response = self.send(Req::new(Method::HEAD, url.clone()))?;
        match response.status() {
            // A registry that keeps blobs in storage elsewhere redirects
            // HEADs as well: it has the blob.
            s if s.is_success() || s.is_redirection() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.refused(&request("HEAD", &url), response)),
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
        let start = self.url("blobs/uploads/")?;
        let mut post = Req::new(Method::POST, start.clone());
        post.headers.push((CONTENT_LENGTH.as_str(), "0".into()));
        let response = self.send(post)?;
        let shown = request("POST", &start);
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.refused(&shown, response));
        }
        let mut location = location(&response, &start, &shown)?;
        let total = bytes.len() as u64;
        let chunk_size = chunk_size.max(1);
        let body_of_put: &[u8] = if bytes.len() > chunk_size {
            let mut sent = 0usize;
            for chunk in bytes.chunks(chunk_size) {
                let mut patch = Req::new(Method::PATCH, location.clone());
                patch
                    .headers
                    .push((CONTENT_TYPE.as_str(), "application/octet-stream".into()));
                patch.headers.push((
                    "content-range",
                    format!("{}-{}", sent, sent + chunk.len() - 1),
                ));
                patch.body = Some(chunk);
                let shown = request("PATCH", &location);
                let response = self.send(patch)?;
                if response.status() != StatusCode::ACCEPTED {
                    return Err(self.refused(&shown, response));
                }
                location = self::location(&response, &location, &shown)?;
                sent += chunk.len();
                progress(sent as u64, total);
            }
            &[]
        } else {
            bytes
        };
        let mut put_url = location.clone();
        put_url.query_pairs_mut().append_pair("digest", digest);
        let mut put = Req::new(Method::PUT, put_url);
        put.retry = false;
        put.headers
            .push((CONTENT_TYPE.as_str(), "application/octet-stream".into()));
        put.body = Some(body_of_put);
        let shown = request("PUT", &location);
        let response = self.send(put)?;
        if response.status() != StatusCode::CREATED {
            return Err(self.refused(&shown, response));
        }
        if body_of_put.len() as u64 == total {
            progress(total, total);
        }
        check_digest(&response, digest, "the uploaded blob")?;
        Ok(true)
    }

    /// Puts `manifest` under `reference` (a tag or its digest); the
    /// registry must agree on its digest.
    pub fn push_manifest(&mut self, reference: &str, manifest: &[u8]) -> Result<()> {
        self.push_manifest_as(reference, MANIFEST_MEDIA_TYPE, manifest)
    }

    /// [`Repository::push_manifest`] of a document of `media_type` (an
    /// image index, say).
    pub fn push_manifest_as(
        &mut self,
        reference: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> Result<()> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let mut put = Req::new(Method::PUT, url.clone());
        put.headers.push((CONTENT_TYPE.as_str(), media_type.into()));
        put.body = Some(manifest);
        let response = self.send(put)?;
        if response.status() != StatusCode::CREATED {
            return Err(self.refused(&request("PUT", &url), response));
        }
        check_digest(
            &response,
            &super::digest_of(manifest),
            "the pushed manifest",
        )
    }

    /// The manifest under `reference`, its bytes checked against the digest
    /// that named it (or the one the registry sent).
    pub fn manifest(&mut self, reference: &str) -> Result<Vec<u8>> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let shown = request("GET", &url);
        let mut get = Req::new(Method::GET, url);
        get.follow = true;
        get.headers.push((
            ACCEPT.as_str(),
            format!("{MANIFEST_MEDIA_TYPE}, application/vnd.oci.image.index.v1+json"),
        ));
        let response = self.send(get)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(Error::ManifestUnknown {
                reference: reference.to_string(),
                repository: format!("{}/{}", self.host, self.repository),
            });
        }
        if !response.status().is_success() {
            return Err(self.refused(&shown, response));
        }
        let sent = header(response.headers(), DIGEST_HEADER);
        let bytes = read_bounded(response, MAX_MANIFEST, "the manifest", &shown, &self.budget)?;
        let ours = super::digest_of(&bytes);
        let expected = if super::is_digest(reference) {
            Some(reference.to_string())
        } else {
            sent
        };
        if let Some(expected) = expected
            && expected != ours
        {
            return Err(Error::DigestMismatch {
                what: format!("the manifest {reference}"),
                expected,
                actual: ours,
            });
        }
        Ok(bytes.to_vec())
    }

    /// Blob `digest`, which must be `size` bytes and hash to `digest`;
    /// checked while it is read.
    pub fn blob(&mut self, digest: &str, size: u64) -> Result<Vec<u8>> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let shown = request("GET", &url);
        if size > limits::MAX_PACKAGE {
            return limits::read_blob(std::io::empty(), digest, size, &shown, &self.budget);
        }
        let mut get = Req::new(Method::GET, url);
        get.follow = true;
        let response = self.send(get)?;
        if !response.status().is_success() {
            return Err(self.refused(&shown, response));
        }
        limits::read_blob(response, digest, size, &shown, &self.budget)
    }

    /// Every tag, following the registry's pages; `page_size` asks for
    /// pages of that many (`?n=`), else the registry picks.
    pub fn tags(&mut self, page_size: Option<usize>) -> Result<Vec<String>> {
        let mut url = self.url("tags/list")?;
        if let Some(n) = page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut tags = Vec::new();
        let mut total = 0u64;
        for _ in 0..MAX_TAGS_PAGES {
            let shown = request("GET", &url);
            let response = self.send(Req::new(Method::GET, url.clone()))?;
            if response.status() == StatusCode::NOT_FOUND {
                // distribution: NAME_UNKNOWN before the first push.
                return Ok(tags);
            }
            if !response.status().is_success() {
                return Err(self.refused(&shown, response));
            }
            let next = header(response.headers(), LINK.as_str()).and_then(|l| next_link(&l));
            #[derive(serde::Deserialize)]
            struct Page {
                tags: Option<Vec<String>>,
            }
            let bytes = read_bounded(
                response,
                MAX_TAGS_PAGE,
                "a page of tags",
                &shown,
                &self.budget,
            )?;
            total += bytes.len() as u64;
            if total > MAX_TAGS_TOTAL {
                return Err(Error::TooLarge {
                    what: "the tag list, all pages together".into(),
                    limit: MAX_TAGS_TOTAL,
                });
            }
            let page: Page = serde_json::from_slice(&bytes).map_err(|_| Error::NotJson {
                request: shown.clone(),
                what: "the tag list",
            })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => {
                    url = url.join(&next).map_err(|_| Error::BadUrl {
                        request: shown.clone(),
                    })?;
                    if url.scheme() != "https" {
                        return Err(Error::RedirectNotHttps { request: shown });
                    }
                }
                None => return Ok(tags),
            }
        }
        Err(Error::TooManyPages {
            what: "the tag list",
            limit: MAX_TAGS_PAGES,
        })
    }

    /// A refused request: its status, the registry's OCI error codes (its
    /// words are never kept), and what to do.
    fn refused(&self, shown: &str, response: Response) -> Error {
        let status = response.status();
        let insufficient_scope = Challenge::from_headers(response.headers())
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        #[derive(serde::Deserialize)]
        struct Body {
            errors: Option<Vec<Item>>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            code: Option<String>,
        }
        let codes = read_bounded(
            response,
            MAX_ERROR_BODY,
            "an error body",
            shown,
            &self.budget,
        )
        .ok()
        .and_then(|b| serde_json::from_slice::<Body>(&b).ok())
        .and_then(|b| b.errors)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.code.filter(|c| is_code(c)))
        .take(8)
        .collect();
        let advice = match status {
            StatusCode::UNAUTHORIZED if insufficient_scope => Advice::LacksPermission,
            StatusCode::UNAUTHORIZED => Advice::Rejected,
            StatusCode::FORBIDDEN => Advice::LacksPermission,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => Advice::GaveUp,
            _ => Advice::None,
        };
        Error::Status {
            request: shown.to_string(),
            status: status.as_u16(),
            codes,
            advice,
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

/// The response's `Location`, made absolute against the request URL.
fn location(response: &Response, request: &Url, shown: &str) -> Result<Url> {
    let target =
        header(response.headers(), LOCATION.as_str()).ok_or_else(|| Error::NoLocation {
            request: shown.to_string(),
        })?;
    request.join(&target).map_err(|_| Error::BadUrl {
        request: shown.to_string(),
    })
}

fn check_digest(response: &Response, ours: &str, what: &str) -> Result<()> {
    match header(response.headers(), DIGEST_HEADER) {
        Some(theirs) if theirs != ours => Err(Error::DigestMismatch {
            what: format!("{what} (as the registry stored it)"),
            expected: ours.to_string(),
            actual: if super::is_digest(&theirs) {
                theirs
            } else {
                "something that is not a digest".into()
            },
        }),
        _ => Ok(()),
    }
}

/// The target of `<…>; rel="next"` in a `Link` header (RFC 8288).
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry that is down: our words and doctor's hint, not reqwest's
    /// chain ("error sending request for url (…): client error (Connect)…").
    #[test]
    fn a_registry_that_is_down_is_named_in_our_words() {
        let http = docker_credential_scalr::https::builder()
            .unwrap()
            .build()
            .unwrap();
        let started = Instant::now();
        let e = match Repository::connect(http, "127.0.0.1:1", "acme/net", Access::Push, None) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("port 1 answered"),
        };
        assert_eq!(
            e,
            "GET https://127.0.0.1:1/v2/: the registry refused the connection: nothing listens at that host and port. Check the host name, the port and any proxy (HTTPS_PROXY, NO_PROXY); `scalr-oci doctor 127.0.0.1:1` checks it step by step"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "it was retried");
    }

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
        assert_eq!(next_link("https://x/n; rel=next"), None);
    }
}
