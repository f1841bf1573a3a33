//! The one error type of the helper crate.
//!
//! Every variant maps to exactly one line that the protocol prints on stdout
//! (clients show it to the user, and compare [`Error::NotFound`]'s text
//! verbatim), plus an optional longer hint for stderr. No variant carries a
//! secret or a token, so printing any of them is always safe.

use crate::protocol::{ERR_MISSING_SERVER_URL, ERR_MISSING_USERNAME, ERR_NOT_FOUND};

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

    #[error("the Scalr control plane at {host} {what}")]
    ControlPlane { host: String, what: String },

    #[error("settings file {path}: {reason}")]
    Settings { path: String, reason: String },

    #[error("no credential source could be reached: {0}")]
    NoSourceReachable(String),

    /// `input` is empty or a quoted, space-prefixed copy of what was sent.
    #[error("invalid service host name{input}: {reason}")]
    BadServiceHost { input: String, reason: &'static str },

    /// A token was stored, but reading it back gave something else.
    #[error(
        "the OS keychain did not keep the token for {host}: reading it back gave a different value"
    )]
    TokenNotKept { host: String },
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
            Error::NoSourceReachable(_) | Error::ControlPlaneNotConfigured => Some(
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
