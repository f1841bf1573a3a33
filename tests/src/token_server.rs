//! A Bearer-token service for the real registry, the way ghcr.io, Docker Hub
//! and GitLab run theirs (distribution's token authentication spec).
//!
//! `GET /token?service=S&scope=repository:REPO:pull,push` (scope may repeat)
//! with a Basic `Authorization` answers `{"token": JWT, "access_token": JWT,
//! "expires_in": 300, "issued_at": …}`. Credentials are checked against the
//! configured users; a wrong password gets 401; no credentials at all get a
//! token that grants nothing (Docker Hub's anonymous token). Each user is
//! granted the requested actions it is allowed, per repository.
//!
//! What distribution 2.8's `auth: token` checks, and so what we issue (read
//! from `registry/auth/token/token.go`): `iss` equals the configured issuer;
//! `aud` equals the service; `exp`/`nbf` hold now (60 s leeway); the JWS is
//! signed with a key whose certificate, sent in the header's `x5c`, chains
//! to the `rootcertbundle`; the signature matches the header's `alg`
//! (ES256: P-256, the 64-byte `r||s` form of JWS). The `access` claim lists
//! `{type, name, actions}`.
//!
//! The signing key is a leaf certificate of a CA made for the test: the
//! bundle holds only that CA. The service runs over HTTPS with the test CA
//! the registry uses. Every request is recorded (user, scopes, what was
//! granted, status): never a password or a token.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SigningKey as _,
};

use crate::https_server::{self, Running};
use crate::tls::TestCa;

/// The issuer the registry is configured to trust.
pub const ISSUER: &str = "scalr-e2e-token-server";
/// The service name (the token's audience).
pub const SERVICE: &str = "scalr-e2e-registry";
const LIFETIME_SECS: u64 = 300;

/// A user of the token service and the actions it may be granted.
#[derive(Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub actions: Vec<String>,
}

impl User {
    pub fn new(name: &str, password: &str, actions: &[&str]) -> User {
        User {
            name: name.to_string(),
            password: password.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"[REDACTED]")
            .field("actions", &self.actions)
            .finish()
    }
}

/// One token request as the service saw it.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `None`: no Basic credentials were sent.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    /// `repository:NAME:a,b` per granted scope.
    pub granted: Vec<String>,
    pub status: u16,
}

struct Signer {
    key: KeyPair,
    /// The leaf certificate, DER, for `x5c`.
    cert_der: Vec<u8>,
}

struct Shared {
    users: Vec<User>,
    signer: Signer,
    log: Mutex<Vec<TokenRequest>>,
}

pub struct TokenServer {
    running: Running,
    shared: Arc<Shared>,
    bundle: PathBuf,
}

impl TokenServer {
    /// Serves over HTTPS with `tls` (the registry's test CA and server
    /// certificate) and writes the root bundle into `dir`.
    pub fn start(dir: &Path, tls: &TestCa, users: Vec<User>) -> TokenServer {
        let (signer, bundle_pem) = signing_chain();
        let bundle = dir.join("token-root-bundle.pem");
        std::fs::write(&bundle, bundle_pem).expect("write the token root bundle");
        let shared = Arc::new(Shared {
            users,
            signer,
            log: Mutex::default(),
        });
        let app = Router::new()
            .route("/token", axum::routing::get(token))
            .with_state(shared.clone());
        let running = https_server::spawn(
            app,
            &tls.server_cert_pem,
            &tls.server_key_pem,
            "token-server",
        );
        TokenServer {
            running,
            shared,
            bundle,
        }
    }

    /// `https://127.0.0.1:PORT/token`: the registry's `realm`.
    pub fn realm(&self) -> String {
        format!("https://{}/token", self.running.addr)
    }

    /// The PEM bundle the registry's `rootcertbundle` names.
    pub fn root_bundle(&self) -> &Path {
        &self.bundle
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}

/// A CA for token signing and a leaf it signed, whose key signs the tokens.
fn signing_chain() -> (Signer, String) {
    let ca_key = KeyPair::generate().expect("token CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("token CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "scalr-e2e token signing CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .expect("self-sign the token CA");
    let key = KeyPair::generate().expect("token signing key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("signer params");
    params
        .distinguished_name
        .push(DnType::CommonName, "scalr-e2e token signer");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).expect("sign the signer");
    (
        Signer {
            key,
            cert_der: cert.der().to_vec(),
        },
        ca_cert.pem(),
    )
}

async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = parse_query(query.as_deref().unwrap_or(""));
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let service = params
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.as_str());
    let record = |user: Option<String>, granted: Vec<String>, status: StatusCode| {
        if let Ok(mut log) = shared.log.lock() {
            log.push(TokenRequest {
                user,
                scopes: scopes.clone(),
                granted,
                status: status.as_u16(),
            });
        }
    };
    if service != Some(SERVICE) {
        record(None, Vec::new(), StatusCode::BAD_REQUEST);
        return (StatusCode::BAD_REQUEST, "unknown service").into_response();
    }
    let user = match basic(&headers) {
        None => None,
        Some((name, password)) => {
            match shared
                .users
                .iter()
                .find(|u| u.name == name && u.password == password)
            {
                Some(user) => Some(user),
                None => {
                    record(Some(name), Vec::new(), StatusCode::UNAUTHORIZED);
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Basic realm=\"scalr-e2e-token\"")],
                        r#"{"details":"incorrect username or password"}"#,
                    )
                        .into_response();
                }
            }
        }
    };
    let mut access = Vec::new();
    let mut granted = Vec::new();
    for scope in &scopes {
        let mut parts = scope.splitn(3, ':');
        let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let allowed: Vec<&str> = actions
            .split(',')
            .filter(|a| user.is_some_and(|u| u.actions.iter().any(|x| x == a)))
            .collect();
        if allowed.is_empty() {
            continue;
        }
        granted.push(format!("repository:{name}:{}", allowed.join(",")));
        access.push(serde_json::json!({ "type": "repository", "name": name, "actions": allowed }));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let jwt = sign(
        &shared.signer,
        &serde_json::json!({
            "iss": ISSUER,
            "sub": user.map(|u| u.name.as_str()).unwrap_or(""),
            "aud": SERVICE,
            "exp": now + LIFETIME_SECS,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("{now}-{}", granted.len()),
            "access": access,
        }),
    );
    record(user.map(|u| u.name.clone()), granted, StatusCode::OK);
    let issued_at = httpdate_rfc3339(now);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "token": jwt,
            "access_token": jwt,
            "expires_in": LIFETIME_SECS,
            "issued_at": issued_at,
        })
        .to_string(),
    )
        .into_response()
}

/// A compact JWS (ES256) with the signer's certificate in `x5c`.
fn sign(signer: &Signer, claims: &serde_json::Value) -> String {
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [STANDARD.encode(&signer.cert_der)],
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = signer
        .key
        .sign(signing_input.as_bytes())
        .expect("sign the token");
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(der_to_fixed(&der))
    )
}

/// An ASN.1 `SEQUENCE { INTEGER r, INTEGER s }` ECDSA signature to JWS's
/// fixed `r || s` (32 bytes each for P-256).
fn der_to_fixed(der: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(bytes[0], 0x02, "an ASN.1 INTEGER");
        let len = bytes[1] as usize;
        (&bytes[2..2 + len], &bytes[2 + len..])
    }
    assert_eq!(der[0], 0x30, "an ASN.1 SEQUENCE");
    // P-256 signatures are short enough for a one-byte length.
    let body = &der[2..];
    let (r, rest) = integer(body);
    let (s, _) = integer(rest);
    let mut fixed = Vec::with_capacity(64);
    for part in [r, s] {
        let part = &part[part.len().saturating_sub(32)..];
        fixed.extend(std::iter::repeat_n(0u8, 32 - part.len()));
        fixed.extend_from_slice(part);
    }
    fixed
}

/// `user:password` from a Basic `Authorization` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `a=1&b=x%3Ay` into decoded pairs, in order (keys may repeat).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? * 16 + hex(*bytes.get(i + 2)?)?))
            .flatten();
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn httpdate_rfc3339(secs: u64) -> String {
    crate::fake_control_plane::rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_scopes() {
        assert_eq!(
            parse_query("service=s&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=x"),
            vec![
                ("service".into(), "s".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
                ("scope".into(), "x".into())
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn signatures_are_fixed_width() {
        let (signer, _) = signing_chain();
        let jwt = sign(&signer, &serde_json::json!({"a": 1}));
        let sig = jwt.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
    }
}
