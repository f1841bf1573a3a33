//! `scalr-oci migrate`: moves plain-text registry credentials into the OS
//! keychain and points their files at the helper.
//!
//! For each file, under its lock: find the plain-text credentials, store each
//! one in the keychain and read it back, and only when every one of them is
//! verified, rewrite the file without them. Interrupted anywhere, each secret
//! is still in its file or already in the keychain (often both, which the
//! next run notices and finishes). No copy of a file is ever made.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::protocol::{Credential, TOKEN_USERNAME};
use docker_credential_scalr::registry::RegistryHost;
use secrecy::{ExposeSecret, SecretString};

use crate::configure::writeln_out;
use crate::docker_config::{self, Flavor};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::locations::Env;
use crate::report::{Findings, Note};
use crate::tofurc::{self, Locations, Policy, Want};
use crate::write::{self, Mode};

/// One plain-text credential, wherever it was found.
struct Found {
    host: RegistryHost,
    username: String,
    secret: SecretString,
    /// How the file names it: the OpenTofu label or the `auths` key.
    name: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Tofu,
    Docker(Flavor),
}

/// What happened to one credential.
enum Moved {
    Stored,
    AlreadyThere,
    /// The keychain holds different credentials for the host.
    Conflict,
}

pub fn run(env: &Env, dry_run: bool, out: &mut dyn Write) -> Result<()> {
    let mut files: Vec<(PathBuf, FileKind)> = Vec::new();
    let tofu = Locations::find(env)?;
    files.extend(
        tofu.all()
            .filter(|p| p.is_file())
            .map(|p| (p.clone(), FileKind::Tofu)),
    );
    for flavor in [Flavor::Docker, Flavor::Containers] {
        for path in flavor.existing_paths(env) {
            if !files.iter().any(|(p, _)| p == &path) {
                files.push((path, FileKind::Docker(flavor)));
            }
        }
    }

    let keychain = Keychain::new();
    let mut moved_total = 0;
    let mut problems = 0;
    let mut secrets_moved: Vec<(PathBuf, SecretString)> = Vec::new();
    for (path, kind) in &files {
        let report = RefCell::new(FileReport::default());
        let mode = if dry_run { Mode::Check } else { Mode::Apply };
        write::edit_file(path, mode, 0o600, |text| {
            let Some(text) = text else { return Ok(None) };
            let (found, skipped) = find(path, text, *kind)?;
            let mut report = report.borrow_mut();
            report.skipped = skipped;
            if dry_run {
                report.planned = found.iter().map(describe).collect();
                return Ok(None);
            }
            let mut moved = Vec::new();
            for item in found {
                match store_verified(&keychain, &item)? {
                    Moved::Stored | Moved::AlreadyThere => {
                        report.moved.push(describe(&item));
                        moved.push(item);
                    }
                    Moved::Conflict => report.skipped.push((
                        item.name.clone(),
                        format!(
                            "the keychain already holds different credentials for {}; two sources claim this registry. Keep the right one: `scalr-oci registry remove {}` and run migrate again, or delete this entry by hand",
                            item.host, item.host
                        ),
                    )),
                }
            }
            if moved.is_empty() {
                return Ok(None);
            }
            let (new, notes) = rewrite(path, text, *kind, &moved)?;
            report.notes = notes;
            report.secrets = moved.into_iter().map(|m| m.secret).collect();
            Ok(new)
        })?;
        let report = report.into_inner();
        moved_total += report.moved.len();
        problems += report.skipped.len();
        report.print(path, out)?;
        secrets_moved.extend(report.secrets.into_iter().map(|s| (path.clone(), s)));
    }

    // A moved secret must not survive anywhere in the rewritten file, not
    // even in a comment; say so rather than claim success.
    for (path, secret) in &secrets_moved {
        if secret.expose_secret().len() >= 4
            && write::read_optional(path)?.is_some_and(|t| t.contains(secret.expose_secret()))
        {
            problems += 1;
            writeln_out(
                out,
                &format!(
                    "warning: {} still contains the text of a moved secret (in a comment?); remove it by hand",
                    path.display()
                ),
            )?;
        }
    }

    let summary = match (dry_run, moved_total) {
        (true, _) => "Dry run: nothing was stored or written.".to_string(),
        (false, 0) => {
            "Nothing to migrate: no plain-text registry credentials were found.".to_string()
        }
        (false, n) => format!(
            "Moved {n} credential(s) into the OS keychain; docker-credential-scalr now serves them and no file holds them."
        ),
    };
    writeln_out(out, &summary)?;
    if problems > 0 {
        return Err(Error::Usage(format!(
            "{problems} credential(s) were left where they are (see above)"
        )));
    }
    Ok(())
}

#[derive(Default)]
struct FileReport {
    planned: Vec<String>,
    moved: Vec<String>,
    skipped: Vec<(String, String)>,
    notes: Vec<Note>,
    secrets: Vec<SecretString>,
}

impl FileReport {
    fn print(&self, path: &Path, out: &mut dyn Write) -> Result<()> {
        let shown = path.display();
        for item in &self.planned {
            writeln_out(
                out,
                &format!("would move {item} from {shown} into the keychain"),
            )?;
        }
        for item in &self.moved {
            writeln_out(out, &format!("moved {item} from {shown} into the keychain"))?;
        }
        for note in &self.notes {
            writeln_out(out, &note.to_string())?;
        }
        for (name, why) in &self.skipped {
            writeln_out(out, &format!("left {name:?} in {shown}: {why}"))?;
        }
        if self
            .moved
            .iter()
            .chain(&self.planned)
            .any(|m| m.contains(TOKEN_USERNAME))
        {
            writeln_out(
                out,
                "note: identity tokens (username <token>) work for Docker and skopeo, but OpenTofu refuses them from a credential helper; give OpenTofu a username and password or access token instead",
            )?;
        }
        Ok(())
    }
}

fn describe(found: &Found) -> String {
    format!(
        "the credentials of {} (user {})",
        found.host, found.username
    )
}

fn find(path: &Path, text: &str, kind: FileKind) -> Result<Findings<Found>> {
    match kind {
        FileKind::Tofu => {
            let (found, mut skipped) = tofurc::plaintext(path, text)?;
            let mut out = Vec::new();
            for item in found {
                match RegistryHost::parse(&item.label) {
                    Ok(host) => out.push(Found {
                        host,
                        username: item.username,
                        secret: item.password,
                        name: item.label,
                    }),
                    Err(e) => skipped.push((item.label, e.to_string())),
                }
            }
            Ok((out, skipped))
        }
        FileKind::Docker(flavor) => {
            let (found, skipped) = docker_config::plaintext(path, text, flavor)?;
            Ok((
                found
                    .into_iter()
                    .map(|item| Found {
                        host: item.host,
                        username: item.username,
                        secret: item.secret,
                        name: item.key,
                    })
                    .collect(),
                skipped,
            ))
        }
    }
}

/// Stores the credential and reads it back; only a verified copy counts.
fn store_verified(keychain: &Keychain, found: &Found) -> Result<Moved> {
    let same = |c: &Credential| {
        c.username == found.username && c.secret.expose_secret() == found.secret.expose_secret()
    };
    match keychain.get(&found.host)? {
        Some(existing) if same(&existing) => return Ok(Moved::AlreadyThere),
        Some(_) => return Ok(Moved::Conflict),
        None => {}
    }
    let credential = Credential {
        username: found.username.clone(),
        secret: SecretString::from(found.secret.expose_secret()),
    };
    keychain.store_credential(&found.host, &credential)?;
    failpoint::hit("store");
    match keychain.get(&found.host)? {
        Some(back) if same(&back) => {}
        _ => {
            return Err(Error::VerifyFailed {
                host: found.host.to_string(),
            });
        }
    }
    failpoint::hit("verify");
    Ok(Moved::Stored)
}

fn rewrite(
    path: &Path,
    text: &str,
    kind: FileKind,
    moved: &[Found],
) -> Result<(Option<String>, Vec<Note>)> {
    match kind {
        FileKind::Tofu => {
            let wants: Vec<Want> = moved
                .iter()
                .map(|m| Want::Registry(m.name.clone()))
                .collect();
            let policy = Policy {
                force: false,
                replace_plaintext: true,
            };
            tofurc::apply(path, Some(text), &wants, policy, false)
        }
        FileKind::Docker(flavor) => {
            let keys: Vec<(String, RegistryHost)> = moved
                .iter()
                .map(|m| (m.name.clone(), m.host.clone()))
                .collect();
            docker_config::strip_plaintext(path, Some(text), flavor, &keys)
        }
    }
}
