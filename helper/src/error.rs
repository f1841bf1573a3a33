//! The one error type of the helper crate, and the protocol's wire strings.
//!
//! Every variant maps to exactly one line that the protocol prints on stdout
//! (clients show it to the user, and compare [`Error::NotFound`]'s text
//! verbatim), plus an optional longer hint for stderr. No variant carries a
//! secret or a token, so printing any of them is always safe.
//!
//! The wire strings live here, as docker-credential-helpers' `error.go`
//! keeps them, so that the error type and the protocol agree by construction
//! and this module imports no other module of the crate.
//!
//! Decisions:
//! - A control-plane failure is a kind ([`ControlPlaneFailure`]), so callers
//!   decide on the kind and only the display turns it into words.
//! - No text a server sent is ever kept: a server could echo the token back
//!   in any spelling (upper-cased, base64, URL-encoded), which no scrubber can
//!   be proven to catch. Errors say where the token came from instead.
//! - Network errors are explained in one place ([`NetworkFailure::of`]), shared
//!   with `scalr-oci doctor`.

use std::fmt;

use reqwest::StatusCode;

/// The not-found answer. Clients compare it verbatim (after trimming) and then
/// go on without credentials; any other text is a hard failure.
pub const ERR_NOT_FOUND: &str = "credentials not found in native keychain";
pub const ERR_MISSING_SERVER_URL: &str = "no credentials server URL";
pub const ERR_MISSING_USERNAME: &str = "no credentials username";

/// Whether a helper's answer means "not found", as clients decide it
/// (docker-credential-helpers' `IsErrCredentialsNotFoundMessage`).
pub fn is_not_found_message(message: &str) -> bool {
    message.trim() == ERR_NOT_FOUND
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No source has credentials for the host. Clients treat this one text as
    /// "go on anonymously"; any other text aborts them.
    #[error("{ERR_NOT_FOUND}")]
    NotFound,

    #[error("{ERR_MISSING_SERVER_URL}")]
    MissingServerUrl,

    #[error("{ERR_MISSING_USERNAME}")]
    MissingUsername,

    #[error("input is larger than {limit} bytes; refusing to read it")]
    InputTooLarge { limit: usize },

    #[error("input is not valid UTF-8")]
    InvalidUtf8,

    /// The text names a field, a line and a column, never a value.
    #[error("malformed credentials JSON: {0}")]
    BadJson(String),

    #[error("cannot read or write the protocol stream: {0}")]
    Io(String),

    /// `input` is empty or a quoted, space-prefixed copy of what was sent.
    #[error("invalid registry address{input}: {reason}")]
    BadRegistry { input: String, reason: &'static str },

    /// The OS keychain could not be reached at all (no session bus, no
    /// Secret Service daemon, a locked collection that cannot prompt).
    #[error("the OS keychain is not available: {cause}")]
    KeychainUnavailable { cause: String },

    /// The keychain answered, but with an error.
    #[error("the OS keychain failed: {0}")]
    Keychain(String),

    /// A keychain entry exists but does not hold what this helper stored.
    #[error(
        "the keychain entry for {host} is corrupt; run `docker-credential-scalr erase` for it and store it again"
    )]
    CorruptEntry { host: String },

    #[error(
        "the Scalr control plane is not configured (set SCALR_HOSTNAME and SCALR_TOKEN, or run `scalr-oci login`)"
    )]
    ControlPlaneNotConfigured,

    /// `host` as configured (`SCALR_HOSTNAME`); never a URL with a token.
    #[error("the Scalr control plane at {host} {failure}")]
    ControlPlane {
        host: String,
        failure: ControlPlaneFailure,
    },

    #[error("settings file {path}: {reason}")]
    Settings { path: String, reason: String },

    /// Every configured source was unreachable; each one's own error, in
    /// the order they were asked.
    #[error("no credential source could be reached: {}", joined(unreachable))]
    NoSourceReachable { unreachable: Vec<Error> },

    /// `input` is empty or a quoted, space-prefixed copy of what was sent.
    #[error("invalid service host name{input}: {reason}")]
    BadServiceHost { input: String, reason: &'static str },

    /// A token was stored, but reading it back gave something else.
    #[error(
        "the OS keychain did not keep the token for {host}: reading it back gave a different value"
    )]
    TokenNotKept { host: String },
}

/// How the control plane failed. Each display reads after "the Scalr
/// control plane at HOST".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlPlaneFailure {
    /// HTTP 401: the token is wrong, expired or revoked. `token_from` says
    /// where it came from (the display of `scalr_access::TokenOrigin`).
    Rejected { token_from: String },
    /// HTTP 403: the token may not use this integration, or its export is off.
    Forbidden { token_from: String },
    /// HTTP 404: unknown, or hidden from this token (Scalr's way to say no).
    NotFound { token_from: String },
    /// HTTP 403 or 404 from the credential exchange: the token lacks
    /// `permission` for this integration (or, on 403, its export is off).
    CredentialsRefused {
        token_from: String,
        status: u16,
        permission: &'static str,
    },
    /// A 3xx: `SCALR_HOSTNAME` is not the account's own API host. Redirects
    /// are never followed, so the token goes to the configured host only.
    Redirected { status: u16 },
    /// Any other status: a 4xx not named above, or a 429/5xx that was retried
    /// (then inside [`ControlPlaneFailure::GaveUp`]).
    Status { status: u16 },
    /// The shared deadline of this process's requests passed.
    Timeout { limit_secs: u64 },
    /// No HTTP answer: unreachable, or a TLS certificate we do not trust.
    Network(NetworkFailure),
    /// The answer broke off before its end (a reset, a short body).
    BrokeOff { detail: String },
    /// A body larger than the client accepts.
    TooLarge { limit: u64 },
    /// Not the JSON:API document the contract promises. `what` names the
    /// document, `detail` the kind of error and its place; never a value.
    Malformed { what: &'static str, detail: String },
    /// `expires-at` is not an RFC 3339 time (the value is not shown: it is
    /// server-controlled text).
    BadExpiry,
    /// `next-page` went backwards, stood still, or ran past the page cap.
    PaginationLoop,
    /// A retried failure (`last`) happened `attempts` times in a row.
    GaveUp {
        last: Box<ControlPlaneFailure>,
        attempts: u32,
    },
    /// After `last`, the server asked for a wait past the deadline.
    WaitTooLong {
        last: Box<ControlPlaneFailure>,
        wait_secs: u64,
        limit_secs: u64,
    },
    /// The configured hostname cannot be used; the text says why.
    BadAddress(String),
    /// The HTTPS client could not be built.
    Client { detail: String },
}

impl fmt::Display for ControlPlaneFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ControlPlaneFailure as F;
        match self {
            F::Rejected { token_from } => write!(
                f,
                "rejected the Scalr token from {token_from} (HTTP 401); get a new token and set it again"
            ),
            F::Forbidden { token_from } => write!(
                f,
                "refused access to the Scalr token from {token_from} (HTTP 403); the token's role may lack permission to use this integration, or its export is disabled"
            ),
            F::NotFound { token_from } => write!(
                f,
                "does not know this resource or does not let the Scalr token from {token_from} see it (HTTP 404)"
            ),
            F::CredentialsRefused {
                token_from,
                status,
                permission,
            } => {
                write!(
                    f,
                    "refused this integration's credentials to the Scalr token from {token_from} (HTTP {status}); the token needs the {permission} permission on it (a Scalr run's token has only what its role grants)"
                )?;
                if *status == 403 {
                    f.write_str(", or the integration's credential export is disabled")?;
                }
                Ok(())
            }
            F::Redirected { status } => write!(
                f,
                "answered with a redirect (HTTP {}); set SCALR_HOSTNAME to the account's own host, e.g. example.scalr.io",
                status_text(*status)
            ),
            F::Status { status } => write!(f, "answered HTTP {}", status_text(*status)),
            F::Timeout { limit_secs } => write!(
                f,
                "did not answer within {limit_secs} s (set SCALR_OCI_TIMEOUT or control_plane.timeout_secs to change the limit)"
            ),
            F::Network(network) => network.fmt(f),
            F::BrokeOff { detail } => write!(f, "broke off its answer ({detail})"),
            F::TooLarge { limit } => write!(f, "answered with more than {limit} bytes"),
            F::Malformed { what, detail } => write!(
                f,
                "answered {what} with a malformed JSON:API document ({detail})"
            ),
            F::BadExpiry => {
                f.write_str("answered with an `expires-at` that is not an RFC 3339 time")
            }
            F::PaginationLoop => f.write_str("answered with a pagination loop"),
            F::GaveUp { last, attempts } => {
                write!(f, "{last}, {attempts} times in a row; giving up")
            }
            F::WaitTooLong {
                last,
                wait_secs,
                limit_secs,
            } => write!(
                f,
                "{last} and asked us to wait {wait_secs} s, past the {limit_secs} s limit of this request"
            ),
            F::BadAddress(why) => f.write_str(why),
            F::Client { detail } => write!(
                f,
                "cannot be reached: building the HTTPS client failed: {detail}"
            ),
        }
    }
}

/// `500 Internal Server Error`: the code and its standard reason, never the
/// server's own reason phrase.
/// Errors as one line, `; ` between them.
fn joined(errors: &[Error]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn status_text(status: u16) -> String {
    StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |s| s.to_string())
}

/// Why a request got no HTTP answer at all. Shared by the helper's
/// control-plane client and `scalr-oci doctor`'s registry probes, so both
/// explain a network failure in the same words. Each display reads after the
/// name of the server ("the Scalr control plane at HOST", a registry URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The request's own timeout passed.
    Timeout,
    /// The server's certificate does not chain to a root we trust.
    UntrustedCertificate { detail: String },
    /// Anything else on the way: DNS, a refused or reset connection, a proxy.
    Unreachable { detail: String },
}

impl NetworkFailure {
    /// Explains an error of a request that got no answer. The detail is the
    /// error's source chain: a URL and the TLS and socket layers' own words,
    /// nothing the server chose (no token has been sent when these happen).
    pub fn of(error: &reqwest::Error) -> NetworkFailure {
        let detail = chain(error);
        if error.is_timeout() {
            NetworkFailure::Timeout
        } else if detail.contains("certificate") || detail.contains("UnknownIssuer") {
            NetworkFailure::UntrustedCertificate { detail }
        } else {
            NetworkFailure::Unreachable { detail }
        }
    }
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkFailure::Timeout => f.write_str("did not answer in time"),
            NetworkFailure::UntrustedCertificate { detail } => write!(
                f,
                "presented a TLS certificate this machine does not trust ({detail}); \
                 if it uses a private CA, point SSL_CERT_FILE at that CA's PEM file"
            ),
            NetworkFailure::Unreachable { detail } => write!(f, "cannot be reached ({detail})"),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`
/// (clamped to its end): how error messages name a place in a file without
/// quoting the line, which may hold a secret.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column)
}

/// An error and its sources, each said once.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

impl Error {
    /// The longer explanation for stderr: the cause and what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::KeychainUnavailable { .. } => Some(
                "docker-credential-scalr stores secrets only in the OS keychain and never falls back to a file.\n\
                 On Linux it needs a Secret Service (gnome-keyring, KeePassXC, KWallet) on the D-Bus session bus:\n\
                 check that DBUS_SESSION_BUS_ADDRESS is set and that the keyring is unlocked.\n\
                 In a CI job or a Scalr run, set SCALR_HOSTNAME and SCALR_TOKEN so that credentials come from the control plane instead."
                    .into(),
            ),
            Error::NoSourceReachable { .. } | Error::ControlPlaneNotConfigured => Some(
                "docker-credential-scalr answers from the OS keychain or from the Scalr control plane.\n\
                 On a workstation: unlock your keyring (Secret Service, macOS Keychain, Windows Credential Manager), or run `scalr-oci login`.\n\
                 In a CI job or a Scalr run: set SCALR_HOSTNAME and SCALR_TOKEN."
                    .into(),
            ),
            Error::InputTooLarge { .. } => Some(
                "The credential-helper protocol sends a server URL or a small JSON object on stdin; this input is far larger."
                    .into(),
            ),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<keyring_core::Error> for Error {
    fn from(err: keyring_core::Error) -> Self {
        use keyring_core::Error as K;
        match err {
            K::NoEntry => Error::NotFound,
            K::NoStorageAccess(cause) => {
                let cause = cause.to_string();
                // A locked collection with nobody to show the unlock prompt to
                // (a terminal, an SSH session) reads "prompt dismissed".
                let cause = if cause.contains("prompt")
                    || cause.to_ascii_lowercase().contains("locked")
                {
                    format!(
                        "the keyring is locked and could not be unlocked here ({cause}); unlock it in your desktop session, or with `gnome-keyring-daemon --unlock`"
                    )
                } else {
                    cause
                };
                Error::KeychainUnavailable { cause }
            }
            // keyring-core's Display never includes the secret itself; BadEncoding
            // and BadDataFormat carry bytes, which we drop here unseen.
            K::BadEncoding(_) | K::BadDataFormat(..) => {
                Error::Keychain("an entry holds data that is not valid UTF-8".into())
            }
            other => Error::Keychain(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_recognised_as_clients_recognise_it() {
        assert!(is_not_found_message(ERR_NOT_FOUND));
        assert!(is_not_found_message(&format!("  {}\n", Error::NotFound)));
        assert!(!is_not_found_message("credentials not found"));
        assert!(!is_not_found_message(&Error::MissingUsername.to_string()));
    }

    #[test]
    fn control_plane_messages_keep_their_words() {
        let at = |failure| {
            Error::ControlPlane {
                host: "example.scalr.io".into(),
                failure,
            }
            .to_string()
        };
        let from = || "the SCALR_TOKEN environment variable".to_string();
        assert_eq!(
            at(ControlPlaneFailure::Rejected { token_from: from() }),
            "the Scalr control plane at example.scalr.io rejected the Scalr token from the SCALR_TOKEN environment variable (HTTP 401); get a new token and set it again"
        );
        assert_eq!(
            at(ControlPlaneFailure::GaveUp {
                last: Box::new(ControlPlaneFailure::Status { status: 500 }),
                attempts: 5
            }),
            "the Scalr control plane at example.scalr.io answered HTTP 500 Internal Server Error, 5 times in a row; giving up"
        );
        let untrusted = at(ControlPlaneFailure::Network(
            NetworkFailure::UntrustedCertificate {
                detail: "invalid peer certificate: UnknownIssuer".into(),
            },
        ));
        assert!(
            untrusted.contains("TLS certificate this machine does not trust")
                && untrusted.contains("SSL_CERT_FILE"),
            "{untrusted}"
        );
        assert_eq!(
            at(ControlPlaneFailure::CredentialsRefused {
                token_from: from(),
                status: 404,
                permission: "docker-integrations:read-credentials",
            }),
            "the Scalr control plane at example.scalr.io refused this integration's credentials to the Scalr token from the SCALR_TOKEN environment variable (HTTP 404); the token needs the docker-integrations:read-credentials permission on it (a Scalr run's token has only what its role grants)"
        );
        assert_eq!(
            at(ControlPlaneFailure::Timeout { limit_secs: 3 }),
            "the Scalr control plane at example.scalr.io did not answer within 3 s (set SCALR_OCI_TIMEOUT or control_plane.timeout_secs to change the limit)"
        );
    }
}
