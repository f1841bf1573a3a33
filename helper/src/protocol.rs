//! The Docker credential-helper wire protocol, byte for byte as
//! docker/docker-credential-helpers' `credentials.Serve` speaks it.
//!
//! `argv[1]` is the verb; `get`/`erase` read a server URL on stdin, `store` a
//! JSON object, `list` ignores stdin. Answers go to stdout. A failure is one
//! line on stdout and exit status 1: clients read stdout as the message and
//! pass stderr straight through to the user, so human diagnostics go to
//! stderr and only the protocol message to stdout.
//!
//! All I/O is passed in, so the whole protocol is testable in-process.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::registry::RegistryHost;

/// The not-found answer. Clients compare it verbatim (after trimming) and then
/// go on without credentials; any other text is a hard failure.
pub const ERR_NOT_FOUND: &str = "credentials not found in native keychain";
pub const ERR_MISSING_SERVER_URL: &str = "no credentials server URL";
pub const ERR_MISSING_USERNAME: &str = "no credentials username";

pub const NAME: &str = "docker-credential-scalr";
pub const PACKAGE: &str = "scalr.io/docker-credential-scalr";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The most stdin we accept. A server URL or a credentials object is a few
/// hundred bytes; anything near this is a mistake or an attack.
pub const MAX_INPUT: usize = 1 << 20;

/// Username meaning "Secret is an identity (refresh) token".
pub const TOKEN_USERNAME: &str = "<token>";

/// A username and secret. The secret redacts itself in `Debug`.
pub struct Credential {
    pub username: String,
    pub secret: SecretString,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// What a credential source must do; the protocol never touches a keychain or
/// the network itself.
pub trait Backend {
    /// `Ok(None)` when no source knows the host.
    fn get(&self, host: &RegistryHost) -> Result<Option<Credential>>;
    fn store(&self, host: &RegistryHost, credential: &Credential) -> Result<()>;
    /// `Ok(false)` when there was nothing to erase.
    fn erase(&self, host: &RegistryHost) -> Result<bool>;
    /// Server URL to username; never a secret.
    fn list(&self) -> Result<BTreeMap<String, String>>;
}

pub fn usage() -> String {
    format!("Usage: {NAME} <store|get|erase|list|version>")
}

pub fn version_line() -> String {
    format!("{NAME} ({PACKAGE}) {VERSION}")
}

/// Runs one helper invocation. `args` excludes the program name. Returns the
/// process exit status. The backend is built lazily, so `version` and usage
/// errors never open a keychain or a connection.
pub fn serve<B: Backend>(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    backend: impl FnOnce() -> Result<B>,
) -> i32 {
    let verb = match args {
        [verb] => verb.as_str(),
        _ => {
            let _ = writeln!(stdout, "{}", usage());
            return 1;
        }
    };
    match verb {
        "--version" | "-v" => {
            let _ = writeln!(stdout, "{}", version_line());
            return 0;
        }
        "--help" | "-h" => {
            let _ = writeln!(stdout, "{}", usage());
            return 0;
        }
        "get" | "store" | "erase" | "list" | "version" => {}
        other => {
            let shown: String = other.chars().take(64).collect();
            let _ = writeln!(stdout, "{NAME}: unknown action: {shown}\n{}", usage());
            return 1;
        }
    }
    match handle(verb, stdin, stdout, backend) {
        Ok(()) => 0,
        Err(err) => {
            let _ = writeln!(stdout, "{err}");
            if let Some(hint) = err.hint() {
                let _ = writeln!(stderr, "{NAME}: {err}\n{hint}");
            }
            1
        }
    }
}

fn handle<B: Backend>(
    verb: &str,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    backend: impl FnOnce() -> Result<B>,
) -> Result<()> {
    match verb {
        "get" => {
            let input = read_input(stdin)?;
            let server_url = input_str(&input)?.trim();
            let host = RegistryHost::parse(server_url)?;
            let credential = backend()?.get(&host)?.ok_or(Error::NotFound)?;
            write_out(stdout, &get_response(server_url, &credential))
        }
        "store" => {
            let input = read_input(stdin)?;
            let request = parse_store_request(&input)?;
            let host = RegistryHost::parse(&request.server_url)?;
            let credential = Credential {
                username: request.username,
                secret: request.secret,
            };
            backend()?.store(&host, &credential)
        }
        "erase" => {
            let input = read_input(stdin)?;
            let host = RegistryHost::parse(input_str(&input)?)?;
            match backend()?.erase(&host)? {
                true => Ok(()),
                false => Err(Error::NotFound),
            }
        }
        "list" => {
            // Clients send "unused" on stdin; like the Go helpers we do not read it.
            let listing = backend()?.list()?;
            let mut json = go_json(&serde_json::to_string(&listing).expect("a string map"));
            json.push('\n');
            write_out(stdout, &json)
        }
        _ => write_out(stdout, &format!("{}\n", version_line())),
    }
}

/// Reads all of stdin, refusing more than [`MAX_INPUT`] bytes without reading
/// further. The buffer is wiped when dropped: it may hold a secret.
pub fn read_input(stdin: &mut dyn Read) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(512));
    stdin
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io(e.to_string()))?;
    if buf.len() > MAX_INPUT {
        return Err(Error::InputTooLarge { limit: MAX_INPUT });
    }
    Ok(buf)
}

fn input_str(input: &[u8]) -> Result<&str> {
    std::str::from_utf8(input).map_err(|_| Error::InvalidUtf8)
}

/// What `store` reads. Field names follow the Go struct; Go's decoder also
/// matches them case-insensitively, which the aliases cover for the spellings
/// seen in the wild. Unknown fields are ignored, as Go does; `null` counts as
/// empty, as Go does.
#[derive(Deserialize)]
struct StoreRequest {
    #[serde(
        rename = "ServerURL",
        alias = "serverurl",
        alias = "serverURL",
        alias = "ServerUrl",
        default
    )]
    server_url: Option<String>,
    #[serde(rename = "Username", alias = "username", default)]
    username: Option<String>,
    #[serde(rename = "Secret", alias = "secret", default)]
    secret: Option<SecretString>,
}

pub struct ParsedStore {
    pub server_url: String,
    pub username: String,
    pub secret: SecretString,
}

pub fn parse_store_request(input: &[u8]) -> Result<ParsedStore> {
    let text = input_str(input)?;
    // serde would also accept a JSON array as a struct, field by position;
    // the protocol only ever sends an object.
    if !text.trim_start().starts_with('{') {
        return Err(Error::BadJson("expected a JSON object".into()));
    }
    let request: StoreRequest = serde_json::from_str(text).map_err(|e| {
        // serde_json's messages name the position and the expected type, never
        // the offending value, so they are safe to show.
        Error::BadJson(e.to_string())
    })?;
    let server_url = request.server_url.unwrap_or_default();
    if server_url.trim().is_empty() {
        return Err(Error::MissingServerUrl);
    }
    let username = request.username.unwrap_or_default();
    if username.is_empty() {
        return Err(Error::MissingUsername);
    }
    Ok(ParsedStore {
        server_url,
        username,
        secret: request.secret.unwrap_or_else(|| SecretString::from("")),
    })
}

/// Serialises through borrowed fields: the secret never sits in a type that
/// could be logged, and the result is wiped after writing.
pub fn get_response(server_url: &str, credential: &Credential) -> Zeroizing<String> {
    #[derive(Serialize)]
    struct Wire<'a> {
        #[serde(rename = "ServerURL")]
        server_url: &'a str,
        #[serde(rename = "Username")]
        username: &'a str,
        #[serde(rename = "Secret")]
        secret: &'a str,
    }
    let json = Zeroizing::new(
        serde_json::to_string(&Wire {
            server_url,
            username: &credential.username,
            secret: credential.secret.expose_secret(),
        })
        .expect("strings always serialise"),
    );
    let mut out = Zeroizing::new(go_json(&json));
    out.push('\n');
    out
}

/// Go's encoding/json escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings.
/// Clients decode either form, but byte-identical output makes us a drop-in
/// replacement (`<token>` reads `\u003ctoken\u003e` on the wire). Outside
/// strings, JSON never contains these characters, so a plain replace is exact.
fn go_json(json: &str) -> String {
    // Worst case every char grows to six bytes; reserving that up front means
    // no reallocation leaves an unwiped copy of a secret behind.
    let mut out = String::with_capacity(json.len() * 6);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn write_out(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Io(e.to_string()))
}
