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
use std::fmt;
use std::io::{Read, Write};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroizing;

use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use crate::registry::RegistryHost;
use crate::secret_json;

// The wire strings are the error module's (clients compare them verbatim);
// the protocol speaks them, so they are named here too.
pub use crate::error::{ERR_MISSING_SERVER_URL, ERR_MISSING_USERNAME, ERR_NOT_FOUND};

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

/// What `argv[1]` asks for, parsed once. `--version`/`-v` are `Version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Store,
    Erase,
    List,
    Version,
}

impl Verb {
    /// `None` for anything the protocol does not define.
    pub fn parse(word: &str) -> Option<Verb> {
        Some(match word {
            "get" => Verb::Get,
            "store" => Verb::Store,
            "erase" => Verb::Erase,
            "list" => Verb::List,
            "version" | "--version" | "-v" => Verb::Version,
            _ => return None,
        })
    }
}

pub fn usage() -> String {
    format!("Usage: {NAME} <store|get|erase|list|version>")
}

pub fn version_line() -> String {
    format!("{NAME} ({PACKAGE}) {VERSION}")
}

/// Runs one helper invocation. `args` excludes the program name. Returns the
/// process exit status. The backend is built lazily, so `version` and usage
/// errors never open a keychain or a connection; it receives the
/// diagnostics handle on `stderr`, the only place it may say anything.
pub fn serve<'w, B: Backend>(
    args: &[String],
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &'w mut dyn Write,
    backend: impl FnOnce(Diagnostics<'w>) -> Result<B>,
) -> i32 {
    let verb = match args {
        [word] if word == "--help" || word == "-h" => {
            let _ = writeln!(stdout, "{}", crate::help::DOCKER_HELPER.text());
            return 0;
        }
        [word] => match Verb::parse(word) {
            Some(verb) => verb,
            None => {
                // The echo rule (crate::echo): argv may be where a secret
                // was pasted by mistake.
                let shown = crate::echo::quoted(word)
                    .map(|q| format!(": {q}"))
                    .unwrap_or_else(|| " (not shown: it may hold a secret)".into());
                let _ = writeln!(stdout, "{NAME}: unknown action{shown}\n{}", usage());
                return 1;
            }
        },
        _ => {
            let _ = writeln!(stdout, "{}", usage());
            return 1;
        }
    };
    let diagnostics = Diagnostics::new(stderr, NAME);
    match handle(verb, stdin, stdout, || backend(diagnostics.clone())) {
        Ok(()) => 0,
        Err(err) => {
            let _ = writeln!(stdout, "{err}");
            if let Some(hint) = err.hint() {
                diagnostics.line(format_args!("{err}\n{hint}"));
            }
            1
        }
    }
}

fn handle<B: Backend>(
    verb: Verb,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    backend: impl FnOnce() -> Result<B>,
) -> Result<()> {
    match verb {
        Verb::Get => {
            let input = read_input(stdin)?;
            let server_url = input_str(&input)?.trim();
            let host = RegistryHost::parse(server_url)?;
            let credential = backend()?.get(&host)?.ok_or(Error::NotFound)?;
            write_out(stdout, &get_response(server_url, &credential))
        }
        Verb::Store => {
            let input = read_input(stdin)?;
            let request = parse_store_request(&input)?;
            let host = RegistryHost::parse(&request.server_url)?;
            let credential = Credential {
                username: request.username,
                secret: request.secret,
            };
            backend()?.store(&host, &credential)
        }
        Verb::Erase => {
            let input = read_input(stdin)?;
            let host = RegistryHost::parse(input_str(&input)?)?;
            match backend()?.erase(&host)? {
                true => Ok(()),
                false => Err(Error::NotFound),
            }
        }
        Verb::List => {
            // Clients send "unused" on stdin; like the Go helpers we do not read it.
            let listing = backend()?.list()?;
            write_out(stdout, &secret_json::go_public(&listing))
        }
        Verb::Version => write_out(stdout, &format!("{}\n", version_line())),
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

pub(crate) fn input_str(input: &[u8]) -> Result<&str> {
    std::str::from_utf8(input).map_err(|_| Error::InvalidUtf8)
}

/// What `store` reads. Field names follow the Go struct, matched without
/// regard to case as Go's decoder matches them; unknown fields are ignored
/// and a repeated field's last value wins, as in Go; `null` counts as empty.
/// Deserialised by hand so that a value of the wrong type is named by its
/// field and its JSON type, never quoted (serde's own messages quote it).
#[derive(Default)]
struct StoreRequest {
    server_url: Option<String>,
    username: Option<String>,
    secret: Option<SecretString>,
}

impl<'de> de::Deserialize<'de> for StoreRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(StoreVisitor)
    }
}

struct StoreVisitor;

impl<'de> Visitor<'de> for StoreVisitor {
    type Value = StoreRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<StoreRequest, A::Error> {
        let mut request = StoreRequest::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.to_ascii_lowercase().as_str() {
                "serverurl" => request.server_url = map.next_value_seed(Text("ServerURL"))?,
                "username" => request.username = map.next_value_seed(Text("Username"))?,
                "secret" => {
                    request.secret = map.next_value_seed(Text("Secret"))?.map(SecretString::from)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

/// One string field (or `null`), named for error messages.
struct Text(&'static str);

impl Text {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        E::custom(format_args!("`{}` must be a string, not {found}", self.0))
    }
}

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        // `any`, so that every JSON type reaches a method below: the typed
        // entry points (`deserialize_str`) build serde's quoting message
        // before a visitor is asked.
        deserializer.deserialize_any(self)
    }
}

/// Visitor methods that refuse a JSON type by naming it: serde's defaults
/// would quote the value.
macro_rules! refuse {
    ($($method:ident($ty:ty) => $found:literal,)*) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> std::result::Result<Self::Value, E> {
            Err(self.wrong($found))
        })*
    };
}

impl<'de> Visitor<'de> for Text {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string for `{}`", self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    refuse! {
        visit_bool(bool) => "a boolean",
        visit_i64(i64) => "a number",
        visit_u64(u64) => "a number",
        visit_i128(i128) => "a number",
        visit_u128(u128) => "a number",
        visit_f64(f64) => "a number",
        visit_bytes(&[u8]) => "bytes",
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
        Err(self.wrong("an object"))
    }
}

pub struct ParsedStore {
    pub server_url: String,
    pub username: String,
    pub secret: SecretString,
}

pub fn parse_store_request(input: &[u8]) -> Result<ParsedStore> {
    let text = input_str(input)?;
    // Only an object goes to the parser: serde's message for a bare number
    // or string would quote it (and serde would take an array as a struct).
    if !text.trim_start().starts_with('{') {
        return Err(Error::BadJson("expected a JSON object".into()));
    }
    let request: StoreRequest = serde_json::from_str(text).map_err(|e| {
        // Syntax errors are serde_json's fixed texts plus a position; data
        // errors are ours (`Text::wrong`): neither quotes a value.
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
/// could be logged, and is written into one pre-sized buffer, wiped when
/// dropped ([`secret_json`]), with Go's escaping.
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
    let wire = Wire {
        server_url,
        username: &credential.username,
        secret: credential.secret.expose_secret(),
    };
    let capacity = secret_json::worst_case(&[
        "ServerURL",
        wire.server_url,
        "Username",
        wire.username,
        "Secret",
        wire.secret,
    ]);
    secret_json::go(&wire, capacity)
}

pub(crate) fn write_out(stdout: &mut dyn Write, text: &str) -> Result<()> {
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Io(e.to_string()))
}
