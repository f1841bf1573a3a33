//! How a request to a registry, its token service or its storage can fail.
//!
//! Each variant is one message in our own words. The registry's own text
//! (error messages, detail, bodies) never appears: a careless registry
//! echoes the request, credentials included. What is kept of an error body
//! is its OCI error codes (`UNAUTHORIZED`, `DENIED`, `NAME_UNKNOWN`…), and
//! only codes that look like codes. URLs are shown without their query,
//! where presigned storage URLs carry their signatures.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A module address that is not one (`oci://HOST/REPO[//SUBDIR][?tag=T|?digest=D]`).
    #[error(
        "{input:?} is not a module address: {why} (expected oci://HOST/REPO[//SUBDIR][?tag=T|?digest=sha256:…])"
    )]
    BadReference { input: String, why: String },

    /// The host of an address, refused by the helper's one host parser.
    #[error(transparent)]
    BadHost(Box<docker_credential_scalr::Error>),

    /// The trust roots (`SSL_CERT_FILE`, the system bundle) cannot be used.
    #[error("cannot set up an HTTPS client: {0}")]
    TrustRoots(Box<docker_credential_scalr::https::TrustRootsError>),

    #[error("cannot set up an HTTPS client: {detail}")]
    HttpClient { detail: String },

    /// The request did not get an answer (DNS, TCP, TLS, timeout).
    #[error("{request}: {detail}")]
    Transport { request: String, detail: String },

    /// The registry refused the connection or its name does not resolve.
    #[error(
        "{request}: the registry {what}. Check the host name, the port and any proxy (HTTPS_PROXY, NO_PROXY); `scalr-oci doctor {host}` checks it step by step"
    )]
    Unreachable {
        request: String,
        what: &'static str,
        host: String,
    },

    /// An answer with a status the step does not accept.
    #[error("{request} gives {status}{}.{}", Codes(codes), advice.text())]
    Status {
        request: String,
        status: u16,
        /// The registry's OCI error codes, e.g. `DENIED`.
        codes: Vec<String>,
        advice: Advice,
    },

    #[error("GET {url} gives 404: this is not an OCI (Docker Registry V2) endpoint")]
    NotARegistry { url: String },

    #[error("{request} gives 401 without a WWW-Authenticate challenge")]
    NoChallenge { request: String },

    #[error(
        "{request} asks for {scheme:?} authentication, which scalr-oci does not speak (Basic and Bearer only)"
    )]
    UnsupportedScheme { request: String, scheme: String },

    #[error(
        "{host} wants credentials and none were found: `scalr-oci registry add {host} --username NAME`, or export a Scalr Docker registry integration for it"
    )]
    NoCredentials { host: String },

    /// A 401 from an origin other than the registry's: answering it would
    /// hand the registry's credentials to whoever runs that origin.
    #[error(
        "{request} asks for credentials, but {origin} is not the registry {registry}; credentials are sent only to the registry named, so this step cannot be done"
    )]
    ForeignChallenge {
        request: String,
        origin: String,
        registry: String,
    },

    #[error("the registry's Bearer challenge names no token realm")]
    RealmMissing,

    #[error("the registry's token realm is not a URL")]
    RealmNotUrl,

    #[error(
        "refusing to send credentials to the token realm {realm}: it is not HTTPS, so they would cross the network in clear text"
    )]
    RealmNotHttps { realm: String },

    #[error("the token service {realm} refused {who} ({status})")]
    TokenRefused {
        realm: String,
        who: String,
        status: u16,
    },

    #[error("the token service {realm} answered without a token")]
    NoToken { realm: String },

    #[error("{request} redirects to a URL that is not HTTPS; not followed")]
    RedirectNotHttps { request: String },

    #[error("{request} redirects more than {hops} times; stopped")]
    TooManyRedirects { request: String, hops: usize },

    #[error("{request}: the registry answered without a Location")]
    NoLocation { request: String },

    #[error("{request}: the registry sent a URL that cannot be used")]
    BadUrl { request: String },

    #[error("{what} has digest {actual}, but {expected} was expected")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{what} is {actual} bytes, but its descriptor says {expected}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    /// One read passed its own limit.
    #[error("{what} is larger than the limit of {limit} bytes; not read further")]
    TooLarge { what: String, limit: u64 },

    /// The command as a whole read as much as it may.
    #[error(
        "the registry sent more than this command's limit of {limit} bytes in all; stopped at {what}"
    )]
    BudgetSpent { what: String, limit: u64 },

    #[error("{what} has more than {limit} pages; stopped")]
    TooManyPages { what: &'static str, limit: usize },

    #[error("{request}: {what} is not valid JSON")]
    NotJson { request: String, what: &'static str },

    #[error("{reference} does not exist in {repository} (404)")]
    ManifestUnknown {
        reference: String,
        repository: String,
    },

    #[error(
        "the registry did not answer within this command's deadline of {secs} s (the last step: {request})"
    )]
    Deadline { request: String, secs: u64 },

    // ---- Packaging a module directory (`package::build`). No variant
    // quotes a file's content: a pattern is named by its file, line and
    // column.
    /// A file of the module directory cannot be read, inspected or resolved.
    #[error(transparent)]
    Io(#[from] IoFailure),

    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },

    #[error(
        "{} holds no .tf or .tofu file at its root (after exclusions): it is not an OpenTofu module",
        path.display()
    )]
    NotAModule { path: PathBuf },

    #[error("{}: the name is not UTF-8; OpenTofu module paths must be", path.display())]
    NameNotUtf8 { path: PathBuf },

    #[error("{}: the symlink points nowhere; fix or remove it", path.display())]
    DanglingLink { path: PathBuf },

    #[error(
        "{}: the symlink leaves the module directory (to {}); the package would not hold what it points to",
        path.display(),
        target.display()
    )]
    LinkLeaves { path: PathBuf, target: PathBuf },

    #[error("{}: the symlink points at a directory that contains it (a loop)", path.display())]
    LinkLoop { path: PathBuf },

    #[error("{} nests more than {limit} directories deep (a symlink loop?)", path.display())]
    TooDeep { path: PathBuf, limit: usize },

    #[error(
        "the package {} would land inside the module directory {}: the next package would contain it; write it elsewhere",
        output.display(),
        dir.display()
    )]
    OutputInside { output: PathBuf, dir: PathBuf },

    #[error("{origin}:{line}:{column}: the exclude pattern matches nothing")]
    EmptyPattern {
        origin: String,
        line: usize,
        column: usize,
    },

    #[error("{origin}:{line}:{column}: not a valid exclude pattern ({why})")]
    BadPattern {
        origin: String,
        line: usize,
        column: usize,
        why: &'static str,
    },

    #[error("{}: {why}; refused without reading it", path.display())]
    IgnoreFileRefused { path: PathBuf, why: &'static str },

    #[error("{} is larger than the limit of {limit} bytes; refused", path.display())]
    IgnoreFileTooLarge { path: PathBuf, limit: u64 },

    #[error("{}: not UTF-8 text", path.display())]
    IgnoreFileNotUtf8 { path: PathBuf },

    #[error("{}: no longer a regular file (it changed while being packed); run again", path.display())]
    NotRegular { path: PathBuf },

    #[error("SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970")]
    BadEpoch { text: String },

    #[error("SOURCE_DATE_EPOCH={text} is outside what a zip can store (1980 to 2107)")]
    EpochOutOfRange { text: String },

    #[error("cannot write the package ({entry}): {detail}")]
    Zip { entry: String, detail: String },
    // ---- end of packaging

    // ---- Provider mirrors (`provider`).
    /// A provider package whose file name is not the official form, or
    /// says something OpenTofu cannot use.
    #[error("{file}: {problem}")]
    PackageName {
        file: String,
        problem: PackageNameProblem,
    },

    /// A file that is not a provider package (no zip, no executable).
    #[error("{file} is not a provider package: {problem}")]
    NotAProviderPackage {
        file: String,
        problem: PackageNameProblem,
    },

    /// Packages given together that are not of one release.
    #[error(
        "{other} and {first} differ in {what}; push one provider version at a time (a tag names one version)"
    )]
    PackagesDisagree {
        first: String,
        other: String,
        what: &'static str,
    },

    #[error(
        "{first} and {second} are both for {platform}; OpenTofu refuses a version that lists a platform twice"
    )]
    PlatformTwice {
        platform: String,
        first: String,
        second: String,
    },

    #[error("no provider package was given")]
    NoPackages,

    #[error("repository_template {template:?}: {problem}")]
    BadTemplate {
        template: String,
        problem: TemplateProblem,
    },
}

/// A file that cannot be read, written or inspected: its path, what was
/// being done, and the system's answer. `scalr-oci`'s own error wraps it
/// too, so that the two crates say it in one way.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot {action}: {source}", path.display())]
pub struct IoFailure {
    pub path: PathBuf,
    pub action: &'static str,
    pub source: io::Error,
}

impl IoFailure {
    /// Wraps an I/O error with the path and the action that failed, as any
    /// error that holds an `IoFailure` (each crate's `Error::io` names its
    /// own: `.map_err(Error::io(path, "read"))?`).
    pub fn at<E: From<IoFailure>>(
        path: impl Into<PathBuf>,
        action: &'static str,
    ) -> impl FnOnce(io::Error) -> E {
        let path = path.into();
        move |source| {
            E::from(IoFailure {
                path,
                action,
                source,
            })
        }
    }
}

/// Why OpenTofu would refuse a `repository_template` (or an `include`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("it must be HOST/PATH without a scheme (no https://)")]
    Scheme,
    #[error("a ${{ is not closed")]
    Unclosed,
    #[error("only ${{hostname}}, ${{namespace}} and ${{type}} may be used, not ${{{0}}}")]
    UnknownVariable(String),
    #[error("template directives (%{{…}}) are not supported here")]
    Directive,
    #[error("it does not yield HOST/PATH")]
    NotHostPath,
    #[error("an include pattern is HOSTNAME/NAMESPACE/TYPE, each part a name or *")]
    BadInclude,
    #[error(
        "the include pattern {include} leaves the {variable} open, so the template must use ${{{variable}}}"
    )]
    LeavesOpen {
        variable: &'static str,
        include: String,
    },
}

/// What is wrong with a provider package's name or content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackageNameProblem {
    #[error(
        "not an official provider package name (terraform-provider-TYPE_VERSION_OS_ARCH.zip, as releases and `tofu providers mirror` name them)"
    )]
    NotOfficialForm,
    #[error("the provider type {0:?} is not lower-case letters, digits and -")]
    BadType(String),
    #[error("the version {0:?} is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])")]
    BadVersion(String),
    #[error(
        "{0:?} is not an operating system OpenTofu knows (Go's GOOS names: linux, darwin, windows, …)"
    )]
    UnknownOs(String),
    #[error(
        "{0:?} is not an architecture OpenTofu knows (Go's GOARCH names: amd64, arm64, 386, arm, …)"
    )]
    UnknownArch(String),
    #[error("it is not a zip archive")]
    NotAZip,
    #[error("its root holds no {0}… executable")]
    NoExecutable(String),
}

/// What to tell the user about a refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    None,
    /// 401 with `error="insufficient_scope"`, or 403.
    LacksPermission,
    /// 401.
    Rejected,
    /// 429 or 5xx after the last retry (or when the deadline left no time).
    GaveUp,
}

impl Advice {
    fn text(&self) -> String {
        match self {
            Advice::None => String::new(),
            Advice::LacksPermission => " The credentials are accepted but lack the permission for this (push needs write access, e.g. write:packages on GHCR, write_registry on GitLab).".into(),
            Advice::Rejected => " The registry rejects the credentials: they are wrong, revoked or expired.".into(),
            Advice::GaveUp => " The registry kept failing; retried with backoff, then gave up.".into(),
        }
    }
}

struct Codes<'a>(&'a [String]);

impl fmt::Display for Codes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, " ({})", self.0.join(", "))
    }
}

/// An OCI error code as the spec spells them (`NAME_UNKNOWN`): upper-case
/// letters and `_`, at most 64; anything else is the registry's prose.
pub fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// `METHOD URL` with the URL's query and fragment cut (presigned URLs carry
/// their signature there) and no user information.
pub fn request(method: &str, url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    format!("{method} {shown}")
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// [`IoFailure::at`], as this crate's error.
    pub fn io(path: impl Into<PathBuf>, action: &'static str) -> impl FnOnce(io::Error) -> Error {
        IoFailure::at(path, action)
    }
}

/// An error and its causes on one line (the helper's `error::chain`:
/// reqwest hides the interesting part in `source()`), with a hint for an
/// untrusted certificate; never holds a secret: reqwest errors carry URLs,
/// and ours carry no credentials.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = docker_credential_scalr::error::chain(error);
    if text.contains("certificate") || text.contains("UnknownIssuer") {
        text.push_str(" (for a private CA, set SSL_CERT_FILE to a bundle that holds it)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_are_kept() {
        assert!(is_code("NAME_UNKNOWN") && is_code("DENIED"));
        assert!(!is_code("denied: pw=hunter2") && !is_code("") && !is_code(&"A".repeat(65)));
    }

    #[test]
    fn io_failures_name_the_path_the_action_and_keep_the_cause() {
        let cause = io::Error::from(io::ErrorKind::PermissionDenied);
        let err = Error::io("/m/main.tf", "read")(cause);
        assert_eq!(
            err.to_string(),
            "/m/main.tf: cannot read: permission denied"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("permission denied"));
        let deep = Error::TooDeep {
            path: "/m/a/a".into(),
            limit: 64,
        };
        assert_eq!(
            deep.to_string(),
            "/m/a/a nests more than 64 directories deep (a symlink loop?)"
        );
    }

    #[test]
    fn requests_are_shown_without_their_query() {
        let url = url::Url::parse("https://u:p@s3.example/b/k?X-Amz-Signature=abc").unwrap();
        assert_eq!(request("GET", &url), "GET https://s3.example/b/k");
    }
}
