//! The one error type of `scalr-oci`.
//!
//! Every variant is one message that says what went wrong and, where there
//! is one, what to do next. No variant carries a secret: file contents are
//! never quoted, only paths, line and column numbers and host names.

use std::io;
use std::path::PathBuf;

use scalr_oci_registry::error::IoFailure;

use crate::syntax::Syntax;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file (or stdin, stdout) that cannot be read, written or inspected;
    /// the same kind as the OCI crate's.
    #[error(transparent)]
    Io(#[from] IoFailure),

    /// A file that is not valid in its syntax (HCL or JSON, by its name);
    /// `message` names what was expected, never the file's text (it may
    /// hold a secret).
    #[error(
        "{path}:{line}:{column}: not valid {syntax} ({message}); the file was left untouched, fix it and run again"
    )]
    NotValid {
        path: PathBuf,
        syntax: Syntax,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{path}: {reason}; the file was left untouched")]
    UnexpectedShape { path: PathBuf, reason: String },

    /// `shown`: the label quoted after a space, or empty when it may hold a
    /// secret (docker_credential_scalr::echo).
    #[error("invalid registry label{shown}: {reason}")]
    BadLabel { shown: String, reason: String },

    #[error("cannot find your home directory; set HOME or pass --file")]
    NoHome,

    #[error(
        "HOME is the relative path {0:?}; config files would land under the working directory. Set HOME to an absolute path"
    )]
    RelativeHome(PathBuf),

    #[error(
        "{path}: refusing to use a lock file that is a symbolic link (someone else may have placed it there); remove it and run again"
    )]
    LockIsSymlink { path: PathBuf },

    #[error(
        "{path}: another scalr-oci run (possibly another user's) has held this lock for {seconds} s; try again, or remove the lock file if no scalr-oci is running"
    )]
    LockBusy { path: PathBuf, seconds: u64 },

    #[error(
        "{path} has {links} hard links; rewriting it would replace one name and leave the old content under the others. Replace the extra links with symlinks and run again; the file was left untouched"
    )]
    HardLinked { path: PathBuf, links: u64 },

    #[error("{0}")]
    Helper(#[from] docker_credential_scalr::Error),

    #[error(
        "the keychain returned something other than what was just stored for {host}; the file was left as it was"
    )]
    VerifyFailed { host: String },

    #[error("refusing to read a secret from an interactive terminal without a prompt: {0}")]
    Prompt(String),

    #[error("no secret was given on stdin or at the prompt")]
    EmptySecret,

    /// The command line asks for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),

    #[error(
        "no Scalr token found: set SCALR_HOSTNAME and SCALR_TOKEN, or run `scalr-oci login --hostname ACCOUNT.scalr.io`"
    )]
    NoScalrToken,

    #[error("which Scalr account? pass --hostname ACCOUNT.scalr.io or set SCALR_HOSTNAME")]
    NoScalrAccount,

    /// `configure` left settings that point elsewhere (each was named above).
    #[error("{count} setting(s) were left as they are (see above)")]
    SettingsKept { count: usize },

    /// `migrate` could not move some secrets (each was named above).
    #[error("{count} credential(s) were left where they are (see above)")]
    CredentialsLeft { count: usize },

    /// `registry add --verify`: the registry refused the credentials.
    #[error(
        "{host} refused the credentials of {username} ({status}); nothing was stored. Check the password or token (and, for 403, its scope) and run again"
    )]
    CredentialsRefused {
        host: String,
        username: String,
        status: u16,
    },

    /// `status` could not read or parse some files (each was named above).
    #[error(
        "{count} configuration file(s) could not be read or parsed (see above); OpenTofu and Docker fail on them too, so fix them first"
    )]
    FilesUnreadable { count: usize },

    /// `doctor` ran every check and reported failures (each was named above).
    #[error("doctor found {problems} problem(s) (see above)")]
    ProblemsFound { problems: usize },

    #[error("changes are needed (run without --check to apply them)")]
    CheckFailed,

    #[error("cannot set up an HTTPS client: {0}")]
    HttpClient(#[source] reqwest::Error),

    /// A registry, token-service or storage request failed (the message
    /// names the request, the status and the registry's OCI error codes,
    /// never the registry's own words, never a secret), or `module publish`
    /// cannot package the directory as asked (the message names the file,
    /// line and column, and what to change).
    #[error(transparent)]
    Registry(Box<scalr_oci_registry::error::Error>),

    /// `module publish` pushed the manifest, then failed to set a tag.
    #[error("{source}\nThe manifest {digest} is in the registry; tags not set: {}", tags.join(", "))]
    TagsNotSet {
        source: Box<scalr_oci_registry::error::Error>,
        digest: String,
        tags: Vec<String>,
    },

    /// `module verify` found problems (each was named above).
    #[error("{reference} is not a valid OpenTofu module package: {problems} problem(s)")]
    NotAModulePackage { reference: String, problems: usize },

    /// `provider push`: the version's tag already names another index.
    #[error(
        "{repository}:{tag} already names {current}, not this release ({ours}); nothing was tagged. Pass --force to move the tag"
    )]
    TagTaken {
        repository: String,
        tag: String,
        current: String,
        ours: String,
    },

    /// `provider verify` found problems (each was named above).
    #[error("{reference} is not a provider version OpenTofu installs: {problems} problem(s)")]
    NotAProviderVersion { reference: String, problems: usize },

    /// `provider mirror` pushed what it could; these failed (each named above).
    #[error("{failed} of {total} provider version(s) were not mirrored (see above)")]
    MirrorIncomplete { failed: usize, total: usize },

    /// The trust roots (`SSL_CERT_FILE`, the system bundle) cannot be used.
    #[error("cannot set up an HTTPS client: {0}")]
    TrustRoots(#[from] docker_credential_scalr::https::TrustRootsError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<scalr_oci_registry::error::Error> for Error {
    fn from(e: scalr_oci_registry::error::Error) -> Error {
        Error::Registry(Box::new(e))
    }
}

impl Error {
    /// Wraps an I/O error with the path and the action that failed
    /// ([`IoFailure::at`], as this crate's error).
    pub fn io(path: impl Into<PathBuf>, action: &'static str) -> impl FnOnce(io::Error) -> Error {
        IoFailure::at(path, action)
    }

    /// Whether this is a write to a pipe whose reader went away
    /// (`scalr-oci status | head -1`): the binary then ends quietly.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Error::Io(failure)
            if docker_credential_scalr::closed_pipe::is_closed_pipe(&failure.source))
    }

    /// The exit status for this error: 1 for "a change is needed" (`--check`),
    /// 2 for everything else, so that CI can tell the two apart.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::CheckFailed => 1,
            _ => 2,
        }
    }
}
