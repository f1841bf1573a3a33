//! Docker's `config.json` and the containers tools' `auth.json`: the same
//! `credHelpers` / `credsStore` / `auths` shape, keyed differently.
//!
//! Edits go through serde_json with `preserve_order`, so unknown keys keep
//! their place and values are untouched; keys are removed with
//! `shift_remove`, which keeps the order of the rest. Output uses the file's
//! own indentation (tabs, as Docker writes, for a new file).

use std::path::{Path, PathBuf};

use base64::Engine;
use docker_credential_scalr::protocol::TOKEN_USERNAME;
use docker_credential_scalr::registry::RegistryHost;
use secrecy::SecretString;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::environment::Env;
use crate::error::{Error, Result};
use crate::json_format;
use crate::report::{Note, Outcome, PlaintextScan, Unmovable};
use crate::tofurc::HELPER;

/// Keys of an `auths` entry that hold a secret.
const SECRET_FIELDS: &[&str] = &[
    "auth",
    "identitytoken",
    "password",
    "username",
    "registrytoken",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Docker,
    Containers,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Docker => "Docker",
            Flavor::Containers => "containers (podman, skopeo, buildah)",
        }
    }

    /// The file this flavour's tools write. Paths are joined a component at
    /// a time, so they read with the platform's separator
    /// (`C:\users\me\.docker\config.json` in `status` on Windows).
    pub fn write_path(self, env: &Env) -> Result<PathBuf> {
        match self {
            Flavor::Docker => match &env.docker_config {
                Some(dir) => Ok(dir.join("config.json")),
                None => Ok(env.home()?.join(".docker").join("config.json")),
            },
            Flavor::Containers => {
                if let Some(file) = &env.registry_auth_file {
                    return Ok(file.clone());
                }
                if let Some(run) = &env.xdg_runtime_dir {
                    return Ok(run.join("containers").join("auth.json"));
                }
                Ok(containers_config_dir(env)?.join("auth.json"))
            }
        }
    }

    /// Every existing file of this flavour that a tool may read credentials
    /// from (for `migrate` and `status`), the written one first.
    pub fn existing_paths(self, env: &Env) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Ok(p) = self.write_path(env) {
            paths.push(p);
        }
        if self == Flavor::Containers {
            if let Some(run) = &env.xdg_runtime_dir {
                paths.push(run.join("containers").join("auth.json"));
            }
            if let Ok(dir) = containers_config_dir(env) {
                paths.push(dir.join("auth.json"));
            }
            if let Ok(home) = env.home() {
                paths.push(home.join(".config").join("containers").join("auth.json"));
            }
        }
        let mut seen = Vec::new();
        paths.retain(|p| {
            let fresh = p.is_file() && !seen.contains(p);
            seen.push(p.clone());
            fresh
        });
        paths
    }

    /// The `credHelpers` key of a registry: Docker Hub is
    /// `https://index.docker.io/v1/` for Docker and `docker.io` for
    /// containers; other registries are their bare `host[:port]`.
    pub fn key(self, host: &RegistryHost) -> String {
        match self {
            Flavor::Docker => host.docker_server_url(),
            Flavor::Containers => host.authority(),
        }
    }
}

fn containers_config_dir(env: &Env) -> Result<PathBuf> {
    match &env.xdg_config_home {
        Some(xdg) => Ok(xdg.join("containers")),
        None => Ok(env.home()?.join(".config").join("containers")),
    }
}

pub fn parse(path: &Path, text: Option<&str>) -> Result<Map<String, Value>> {
    let text = text.unwrap_or("");
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::UnexpectedShape {
            path: path.to_path_buf(),
            reason: "its top level is not a JSON object".into(),
        }),
        Err(e) => Err(json_format::syntax_error(path, &e)),
    }
}

/// What `configure docker|containers` asks for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub hosts: Vec<RegistryHost>,
    /// Set `credsStore` (every registry) rather than per-registry entries.
    pub store: bool,
    pub force: bool,
}

/// Makes the request true in one file's text; `None` when nothing changes.
pub fn apply(
    path: &Path,
    text: Option<&str>,
    flavor: Flavor,
    request: &Request,
) -> Result<(Option<String>, Vec<Note>)> {
    let mut root = parse(path, text)?;
    let before = root.clone();
    let mut notes = Vec::new();
    let note = |subject: String, outcome| Note {
        subject,
        path: path.to_path_buf(),
        outcome,
    };
    if request.store {
        let outcome = match root.get("credsStore").and_then(Value::as_str) {
            Some(HELPER) => Outcome::AlreadyDone,
            Some(other) if !request.force => Outcome::Kept(format!(
                "it uses docker-credential-{other}; pass --force to replace it"
            )),
            Some(other) => {
                let other = format!("docker-credential-{other}");
                root.insert("credsStore".into(), HELPER.into());
                Outcome::Replaced(other)
            }
            None => {
                root.insert("credsStore".into(), HELPER.into());
                Outcome::Added
            }
        };
        notes.push(note("credsStore".into(), outcome));
    }
    for host in &request.hosts {
        let key = flavor.key(host);
        let helpers = helpers_mut(path, &mut root)?;
        let outcome = match helpers.get(&key) {
            Some(Value::String(name)) if name == HELPER => Outcome::AlreadyDone,
            Some(Value::String(name)) if !request.force => Outcome::Kept(format!(
                "it uses docker-credential-{name}; pass --force to replace it"
            )),
            Some(old) => {
                let old = format!("docker-credential-{}", old.as_str().unwrap_or("?"));
                helpers.insert(key.clone(), HELPER.into());
                Outcome::Replaced(old)
            }
            None => {
                helpers.insert(key.clone(), HELPER.into());
                Outcome::Added
            }
        };
        notes.push(note(format!("credHelpers[{key:?}]"), outcome));
    }
    if root == before {
        return Ok((None, notes));
    }
    Ok((
        Some(json_format::to_string_like(&Value::Object(root), text)),
        notes,
    ))
}

fn helpers_mut<'a>(
    path: &Path,
    root: &'a mut Map<String, Value>,
) -> Result<&'a mut Map<String, Value>> {
    root.entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::UnexpectedShape {
            path: path.to_path_buf(),
            reason: "credHelpers is not a JSON object".into(),
        })
}

/// A plain-text credential in an `auths` entry.
pub struct PlaintextAuth {
    /// The `auths` key as written.
    pub key: String,
    pub host: RegistryHost,
    pub username: String,
    pub secret: SecretString,
}

/// The plain-text credentials of one file, and the entries that hold a
/// secret but cannot be moved (with the reason).
pub fn plaintext(path: &Path, text: &str, flavor: Flavor) -> Result<PlaintextScan<PlaintextAuth>> {
    let root = parse(path, Some(text))?;
    let mut found = Vec::new();
    let mut unmovable = Vec::new();
    let Some(auths) = root.get("auths").and_then(Value::as_object) else {
        return Ok(PlaintextScan::default());
    };
    for (key, entry) in auths {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if !SECRET_FIELDS.iter().any(|f| entry.contains_key(*f)) {
            continue;
        }
        let mut skip = |why: &str| unmovable.push(Unmovable::new(key, why));
        // containers keys may name a repository (`quay.io/org`); a helper
        // answers per registry, so such an entry cannot become one.
        if flavor == Flavor::Containers && !key.contains("://") && key.contains('/') {
            skip(
                "it is scoped to a repository, and a credential helper answers for a whole registry; move it by hand",
            );
            continue;
        }
        let Ok(host) = RegistryHost::parse(key) else {
            skip("its key is not a registry address");
            continue;
        };
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let Some(token) = field("identitytoken") {
            found.push(PlaintextAuth {
                key: key.clone(),
                host,
                username: TOKEN_USERNAME.to_string(),
                secret: SecretString::from(token),
            });
        } else if let Some(auth) = field("auth") {
            let Some((username, password)) = decode_auth(auth) else {
                skip("its `auth` is not base64 of user:password");
                continue;
            };
            found.push(PlaintextAuth {
                key: key.clone(),
                host,
                username,
                secret: password,
            });
        } else if let (Some(username), Some(password)) = (field("username"), field("password")) {
            found.push(PlaintextAuth {
                key: key.clone(),
                host,
                username: username.to_string(),
                secret: SecretString::from(password),
            });
        } else if field("registrytoken").is_some() {
            skip(
                "it holds a short-lived registry token, which expires by itself; remove it with `docker logout`",
            );
        }
    }
    Ok(PlaintextScan { found, unmovable })
}

fn decode_auth(auth: &str) -> Option<(String, SecretString)> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), SecretString::from(pass)))
}

/// Removes the secrets of the given `auths` keys and points their
/// registries at the helper (unless `credsStore` already is the helper, or
/// another helper is configured for the registry, which stays). The entry
/// itself stays, emptied, as `docker login` with a helper leaves it.
pub fn strip_plaintext(
    path: &Path,
    text: Option<&str>,
    flavor: Flavor,
    moved: &[(String, RegistryHost)],
) -> Result<(Option<String>, Vec<Note>)> {
    let mut root = parse(path, text)?;
    let before = root.clone();
    let mut notes = Vec::new();
    let store_is_ours = root.get("credsStore").and_then(Value::as_str) == Some(HELPER);
    for (key, host) in moved {
        if let Some(entry) = root
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .and_then(|a| a.get_mut(key))
            .and_then(Value::as_object_mut)
        {
            for field in SECRET_FIELDS {
                entry.shift_remove(*field);
            }
        }
        let helper_key = flavor.key(host);
        let outcome = if store_is_ours {
            Outcome::AlreadyDone
        } else {
            let helpers = helpers_mut(path, &mut root)?;
            match helpers.get(&helper_key).and_then(Value::as_str) {
                Some(HELPER) => Outcome::AlreadyDone,
                Some(other) => Outcome::Kept(format!(
                    "credHelpers sends it to docker-credential-{other}; the moved secret is in the keychain for docker-credential-scalr"
                )),
                None => {
                    helpers.insert(helper_key.clone(), HELPER.into());
                    Outcome::Added
                }
            }
        };
        notes.push(Note {
            subject: format!("credHelpers[{helper_key:?}]"),
            path: path.to_path_buf(),
            outcome,
        });
    }
    if root == before {
        return Ok((None, notes));
    }
    Ok((
        Some(json_format::to_string_like(&Value::Object(root), text)),
        notes,
    ))
}
