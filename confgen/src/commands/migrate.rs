//! `scalr-oci migrate`: moves plain-text registry credentials into the OS
//! keychain and points their files at the helper.
//!
//! For each file, under its lock: find the plain-text credentials, store each
//! one in the keychain and read it back, and only when every one of them is
//! verified, rewrite the file without them. Interrupted anywhere, each secret
//! is still in its file or already in the keychain (often both, which the
//! next run notices and finishes). No copy of a file is ever made.
//!
//! What cannot move is named, and makes the exit status 2: secrets the
//! helper cannot serve (OAuth tokens, repository-scoped entries, …), and
//! every secret of a file with several hard links, checked before anything
//! is stored (a rename would replace one name and leave the secret under
//! the others).

use std::io::Write;
use std::path::{Path, PathBuf};

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::protocol::{Credential, TOKEN_USERNAME};
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::scalr_access::bare_host;
use secrecy::{ExposeSecret, SecretString};

use crate::docker_config::{self, Flavor};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::inventory::{Inventory, Reach};
use crate::machine::Machine;
use crate::output::{self, say};
use crate::report::{Note, Outcome, PlaintextScan, Unmovable};
use crate::tofurc::{self, Policy, TofuFiles, Want};
use crate::token_files::{self, TokenFile};
use crate::write::{self, Mode};

/// What happens to a host token that left a file.
const HOST_TOKEN_MOVED: &str = "moved into the OS keychain; OpenTofu gets it from terraform-credentials-scalr (credentials_helper \"scalr\") and docker-credential-scalr from the keychain";

/// One plain-text secret, wherever it was found.
struct Found {
    target: Target,
    secret: SecretString,
    /// How the file names it: the OpenTofu label, the `auths` key, the
    /// scalr-cli profile or the `credentials` host.
    name: String,
}

/// Where a secret goes in the keychain.
enum Target {
    Registry {
        host: RegistryHost,
        username: String,
    },
    ScalrToken {
        hostname: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Tofu,
    Docker(Flavor),
    Tokens(TokenFile),
}

/// What happened to one credential.
enum Moved {
    Stored,
    AlreadyThere,
    /// The keychain holds different credentials for the host.
    Conflict,
}

/// `all_hosts`: move `credentials.tfrc.json` tokens of every host, not only
/// Scalr's.
pub fn run(machine: &Machine, dry_run: bool, all_hosts: bool, out: &mut dyn Write) -> Result<()> {
    let env = &machine.env;
    let mut files: Vec<(PathBuf, FileKind)> = Vec::new();
    let tofu = TofuFiles::find(env)?;
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

    for kind in [TokenFile::ScalrCli, TokenFile::TofuCredentials] {
        if let Some(path) = kind.path(env).filter(|p| p.is_file()) {
            files.push((path, FileKind::Tokens(kind)));
        }
    }
    // One scan: which hosts are Scalr's, whether OpenTofu already asks our
    // credentials helper, and the one keychain.
    let inventory = Inventory::scan(machine, Reach::Local);
    let keychain = inventory.keychain_store();
    // Once credentials_helper "scalr" is configured, OpenTofu reads no
    // credentials.tfrc.json at all: a token left there is dead plain text,
    // and the line that names it says so.
    let rule = Rule {
        inventory: &inventory,
        all_hosts,
        helper_configured: inventory.helper_configured(),
        token_file: inventory.token_file.as_ref().map(|f| f.path.clone()),
    };
    let mut moved_total = 0;
    let mut planned_total = 0;
    let mut problems = 0;
    // Secrets left on purpose (another service's host token), each named.
    let mut skipped = 0;

    // Host tokens leave credentials.tfrc.json only for the keychain AND a
    // credentials_helper that serves them from there, so `tofu init` keeps
    // working with no TF_TOKEN_*. The block and the plugin come first: while
    // the token is still in the file, OpenTofu prefers the file, so this
    // order is safe to interrupt anywhere, and a rerun finishes the job.
    let tofu_credentials = FileKind::Tokens(TokenFile::TofuCredentials);
    let holds_host_tokens =
        |kind: &FileKind| matches!(kind, FileKind::Tofu) || *kind == tofu_credentials;
    let mut host_tokens = 0;
    for (path, kind) in files.iter().filter(|(_, k)| holds_host_tokens(k)) {
        let text = write::read_optional(path)?.unwrap_or_default();
        let scan = find(path, &text, *kind, &rule)?;
        host_tokens += scan
            .found
            .iter()
            .filter(|f| matches!(f.target, Target::ScalrToken { .. }))
            .count();
    }
    let mut host_tokens_movable = true;
    if host_tokens > 0 {
        let mode = if dry_run { Mode::Check } else { Mode::Apply };
        let done = crate::credentials_helper::ensure(env, None, mode, false)?;
        for line in &done.lines {
            say!(out, "{line}")?;
        }
        host_tokens_movable = done.kept == 0;
    }
    let mut secrets_moved: Vec<(PathBuf, SecretString)> = Vec::new();
    for (path, kind) in &files {
        // A dry run computes the same rewrite and shows it as a redacted
        // diff; only the run writes.
        let mode = if dry_run { Mode::DryRun } else { Mode::Apply };
        let (change, report) = write::edit_file(path, mode, 0o600, |text| {
            let mut report = FileReport::default();
            let Some(text) = text else {
                return Ok((None, report));
            };
            report.skipped = skipped_tokens(path, text, *kind, &rule)?;
            let mut scan = find(path, text, *kind, &rule)?;
            let links = write::link_count(path);
            if links > 1 {
                // Checked before anything is stored: the file cannot be
                // rewritten, so nothing moves.
                let why = format!(
                    "{} has {links} hard links: rewriting it would leave the secret under the other names; replace the extra links with symlinks and run again",
                    path.display()
                );
                scan.unmovable.extend(
                    scan.found
                        .drain(..)
                        .map(|f| Unmovable::new(&f.name, why.clone())),
                );
            }
            if !host_tokens_movable {
                let (tokens, rest) = scan
                    .found
                    .drain(..)
                    .partition(|f| matches!(f.target, Target::ScalrToken { .. }));
                scan.found = rest;
                scan.unmovable.extend(tokens.iter().map(|f: &Found| {
                    Unmovable::new(
                        &f.name,
                        "OpenTofu could not get it from terraform-credentials-scalr (see above)",
                    )
                }));
            }
            report.unmovable = scan.unmovable;
            let mut moved = Vec::new();
            for item in scan.found {
                // The dry run asks the keychain the same question the run
                // does (read only), so it predicts conflicts too.
                let outcome = if dry_run {
                    predict(keychain, &item)?
                } else {
                    store_verified(keychain, &item)?
                };
                match outcome {
                    Moved::Stored | Moved::AlreadyThere if dry_run => {
                        report.planned.push(describe(&item));
                        moved.push(item);
                    }
                    Moved::Stored | Moved::AlreadyThere => {
                        report.moved.push(describe(&item));
                        moved.push(item);
                    }
                    Moved::Conflict => report
                        .unmovable
                        .push(Unmovable::new(&item.name, conflict_advice(&item.target))),
                }
            }
            if moved.is_empty() {
                return Ok((None, report));
            }
            let (new, notes) = rewrite(path, text, *kind, &moved)?;
            report.notes = notes;
            report.secrets = moved.into_iter().map(|m| m.secret).collect();
            Ok((new, report))
        })?;
        moved_total += report.moved.len();
        planned_total += report.planned.len();
        problems += report.unmovable.len();
        skipped += report.skipped.len();
        report.print(path, dry_run, out)?;
        if let Some(diff) = &change.diff {
            output::raw(out, diff)?;
        }
        if !dry_run {
            secrets_moved.extend(report.secrets.into_iter().map(|s| (path.clone(), s)));
        }
    }

    // A moved secret must not survive anywhere in the rewritten file, not
    // even in a comment; say so rather than claim success.
    for (path, secret) in &secrets_moved {
        if secret.expose_secret().len() >= 4
            && write::read_optional(path)?.is_some_and(|t| t.contains(secret.expose_secret()))
        {
            problems += 1;
            say!(
                out,
                "warning: {} still contains the text of a moved secret (in a comment?); remove it by hand",
                path.display()
            )?;
        }
    }

    say!(
        out,
        "{}",
        summary(dry_run, planned_total, moved_total, problems + skipped)
    )?;
    if problems > 0 {
        return Err(Error::CredentialsLeft { count: problems });
    }
    Ok(())
}

/// The last line: what moved (or would), and how many secrets stay in
/// plain text, never "nothing" while any does.
fn summary(dry_run: bool, planned: usize, moved: usize, left: usize) -> String {
    let remain = match left {
        0 => String::new(),
        n => format!(
            "; {n} plain-text secret(s) stay where they are (each named above, with why and the command that moves it)"
        ),
    };
    match (dry_run, moved, left) {
        (true, _, _) => format!(
            "Dry run: {planned} credential(s) would move into the OS keychain{}; nothing was stored or written.",
            if left == 0 {
                String::new()
            } else {
                format!(", {left} would stay in plain text (named above)")
            }
        ),
        (false, 0, 0) => "Nothing to migrate: no plain-text credentials were found.".to_string(),
        (false, 0, _) => format!("Nothing was moved{remain}."),
        (false, n, _) => format!(
            "Moved {n} credential(s) into the OS keychain; docker-credential-scalr and terraform-credentials-scalr now serve them from there{remain}."
        ),
    }
}

/// Which host tokens move: those of Scalr hosts (the inventory's one rule),
/// or every host's with `--all-hosts`.
struct Rule<'a> {
    inventory: &'a Inventory,
    all_hosts: bool,
    /// Whether OpenTofu already asks credentials_helper "scalr" (and so
    /// reads `credentials.tfrc.json` no more).
    helper_configured: bool,
    /// `credentials.tfrc.json`, which OpenTofu also merges as a CLI config
    /// file: its skipped tokens are named once, by its token-file pass.
    token_file: Option<PathBuf>,
}

impl Rule<'_> {
    fn wanted(&self, host: &str) -> bool {
        self.all_hosts || self.inventory.is_scalr_host(&bare_host(host))
    }
}

/// The host tokens of a file that [`Rule`] leaves, each with why and the
/// command that moves it.
fn skipped_tokens(path: &Path, text: &str, kind: FileKind, rule: &Rule) -> Result<Vec<Unmovable>> {
    let unwanted = |h: &str| !rule.wanted(h);
    let names: Vec<String> = match kind {
        FileKind::Tofu if rule.token_file.as_deref() == Some(path) => Vec::new(),
        FileKind::Tofu => crate::credentials_helper::credentials_blocks(path, text, &unwanted)?
            .into_iter()
            .map(|(label, _)| label)
            .collect(),
        FileKind::Tokens(file @ TokenFile::TofuCredentials) => {
            token_files::find(path, text, file, &unwanted)?
                .found
                .into_iter()
                .map(|t| t.name)
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(names
        .into_iter()
        .map(|name| {
            let state = if rule.helper_configured && kind == FileKind::Tokens(TokenFile::TofuCredentials) {
                "OpenTofu no longer reads this file (credentials_helper \"scalr\" is configured), so the token is unused plain text"
            } else {
                "migrate leaves it to OpenTofu"
            };
            let why = format!(
                "a plain-text token for {name}, which is not a Scalr host; {state}. `scalr-oci migrate --all-hosts` moves it into the keychain, where terraform-credentials-scalr serves it to OpenTofu"
            );
            Unmovable::new(name, why)
        })
        .collect())
}

#[derive(Default)]
struct FileReport {
    planned: Vec<String>,
    moved: Vec<String>,
    unmovable: Vec<Unmovable>,
    skipped: Vec<Unmovable>,
    notes: Vec<Note>,
    secrets: Vec<SecretString>,
}

impl FileReport {
    fn print(&self, path: &Path, dry_run: bool, out: &mut dyn Write) -> Result<()> {
        let shown = path.display();
        for item in &self.planned {
            say!(out, "would move {item} from {shown} into the keychain")?;
        }
        for item in &self.moved {
            say!(out, "moved {item} from {shown} into the keychain")?;
        }
        for note in &self.notes {
            say!(out, "{}", note.display(!dry_run))?;
        }
        for item in self.unmovable.iter().chain(&self.skipped) {
            say!(out, "left {:?} in {shown}: {}", item.name, item.why)?;
        }
        if self
            .moved
            .iter()
            .chain(&self.planned)
            .any(|m| m.contains(TOKEN_USERNAME))
        {
            say!(
                out,
                "note: identity tokens (username <token>) work for Docker and skopeo, but OpenTofu refuses them from a credential helper; give OpenTofu a username and password or access token instead"
            )?;
        }
        Ok(())
    }
}

fn describe(found: &Found) -> String {
    match &found.target {
        Target::Registry { host, username } => {
            format!("the credentials of {host} (user {username})")
        }
        Target::ScalrToken { hostname } => format!("the Scalr token for {hostname}"),
    }
}

fn conflict_advice(target: &Target) -> String {
    match target {
        Target::Registry { host, .. } => format!(
            "the keychain already holds different credentials for {host}; two sources claim this registry. Keep the right one: `scalr-oci registry remove {host}` and run migrate again, or delete this entry by hand"
        ),
        Target::ScalrToken { hostname } => format!(
            "the keychain already holds a different Scalr token for {hostname}; `scalr-oci logout --hostname {hostname}` and run migrate again to keep this one, or delete it from the file by hand"
        ),
    }
}

fn find(path: &Path, text: &str, kind: FileKind, rule: &Rule) -> Result<PlaintextScan<Found>> {
    let registry = |host, username, secret, name| Found {
        target: Target::Registry { host, username },
        secret,
        name,
    };
    match kind {
        FileKind::Tofu => {
            let scan = tofurc::plaintext(path, text)?;
            let mut out = PlaintextScan {
                found: Vec::new(),
                unmovable: scan.unmovable,
            };
            // `credentials "HOST" { token = … }`: a host token by hand.
            let wanted = |h: &str| rule.wanted(h);
            for (label, token) in
                crate::credentials_helper::credentials_blocks(path, text, &wanted)?
            {
                out.found.push(Found {
                    target: Target::ScalrToken {
                        hostname: bare_host(&label),
                    },
                    secret: token,
                    name: label,
                });
            }
            for item in scan.found {
                match RegistryHost::parse(&item.label) {
                    Ok(host) => {
                        out.found
                            .push(registry(host, item.username, item.password, item.label))
                    }
                    Err(e) => out
                        .unmovable
                        .push(Unmovable::new(item.label, e.to_string())),
                }
            }
            Ok(out)
        }
        FileKind::Docker(flavor) => {
            let scan = docker_config::plaintext(path, text, flavor)?;
            Ok(PlaintextScan {
                found: scan
                    .found
                    .into_iter()
                    .map(|item| registry(item.host, item.username, item.secret, item.key))
                    .collect(),
                unmovable: scan.unmovable,
            })
        }
        FileKind::Tokens(file) => {
            let wanted = |h: &str| rule.wanted(h);
            let scan = token_files::find(path, text, file, &wanted)?;
            Ok(PlaintextScan {
                found: scan
                    .found
                    .into_iter()
                    .map(|t| Found {
                        target: Target::ScalrToken {
                            hostname: t.hostname,
                        },
                        secret: t.token,
                        name: t.name,
                    })
                    .collect(),
                unmovable: scan.unmovable,
            })
        }
    }
}

/// What [`store_verified`] would do, asking the keychain only.
fn predict(keychain: &Keychain, found: &Found) -> Result<Moved> {
    let secret = found.secret.expose_secret();
    let existing = match &found.target {
        Target::Registry { host, username } => keychain
            .get(host)?
            .map(|c| &c.username == username && c.secret.expose_secret() == secret),
        Target::ScalrToken { hostname } => keychain
            .get_token(hostname)?
            .map(|t| t.expose_secret() == secret),
    };
    Ok(match existing {
        None => Moved::Stored,
        Some(true) => Moved::AlreadyThere,
        Some(false) => Moved::Conflict,
    })
}

/// Stores the secret and reads it back; only a verified copy counts.
fn store_verified(keychain: &Keychain, found: &Found) -> Result<Moved> {
    let secret = found.secret.expose_secret();
    let verified = match &found.target {
        Target::Registry { host, username } => {
            let same =
                |c: &Credential| &c.username == username && c.secret.expose_secret() == secret;
            match keychain.get(host)? {
                Some(existing) if same(&existing) => return Ok(Moved::AlreadyThere),
                Some(_) => return Ok(Moved::Conflict),
                None => {}
            }
            let credential = Credential {
                username: username.clone(),
                secret: SecretString::from(secret),
            };
            keychain.store_credential(host, &credential)?;
            failpoint::hit("store");
            keychain.get(host)?.is_some_and(|back| same(&back))
        }
        Target::ScalrToken { hostname } => {
            let same = |t: &SecretString| t.expose_secret() == secret;
            match keychain.get_token(hostname)? {
                Some(existing) if same(&existing) => return Ok(Moved::AlreadyThere),
                Some(_) => return Ok(Moved::Conflict),
                None => {}
            }
            keychain.store_token(hostname, &found.secret)?;
            failpoint::hit("store");
            keychain
                .get_token(hostname)?
                .is_some_and(|back| same(&back))
        }
    };
    if !verified {
        return Err(Error::VerifyFailed {
            host: match &found.target {
                Target::Registry { host, .. } => host.to_string(),
                Target::ScalrToken { hostname } => hostname.clone(),
            },
        });
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
                .filter(|m| matches!(m.target, Target::Registry { .. }))
                .map(|m| Want::Registry(m.name.clone()))
                .collect();
            let hosts: Vec<String> = moved
                .iter()
                .filter(|m| matches!(m.target, Target::ScalrToken { .. }))
                .map(|m| m.name.clone())
                .collect();
            let (new, mut notes) = match wants.is_empty() {
                true => (None, Vec::new()),
                false => tofurc::apply(path, Some(text), &wants, Policy::migrate())?,
            };
            if hosts.is_empty() {
                return Ok((new, notes));
            }
            let base = new.as_deref().unwrap_or(text);
            let new = crate::credentials_helper::without_credentials(path, base, &hosts)?;
            notes.extend(
                moved
                    .iter()
                    .filter(|m| hosts.contains(&m.name))
                    .map(|m| Note {
                        subject: describe(m),
                        path: path.to_path_buf(),
                        outcome: Outcome::Removed(HOST_TOKEN_MOVED.into()),
                    }),
            );
            Ok((Some(new), notes))
        }
        FileKind::Docker(flavor) => {
            let keys: Vec<(String, RegistryHost)> = moved
                .iter()
                .filter_map(|m| match &m.target {
                    Target::Registry { host, .. } => Some((m.name.clone(), host.clone())),
                    Target::ScalrToken { .. } => None,
                })
                .collect();
            docker_config::strip_plaintext(path, Some(text), flavor, &keys)
        }
        FileKind::Tokens(file) => {
            let names: Vec<String> = moved.iter().map(|m| m.name.clone()).collect();
            let new = token_files::strip(path, text, file, &names)?;
            let next = match file {
                TokenFile::ScalrCli => {
                    "moved out of the file; scalr-cli now needs SCALR_TOKEN in its environment, and docker-credential-scalr reads the token from the keychain"
                }
                TokenFile::TofuCredentials => HOST_TOKEN_MOVED,
            };
            let note = |m: &Found| Note {
                subject: describe(m),
                path: path.to_path_buf(),
                outcome: Outcome::Removed(next.into()),
            };
            Ok((new, moved.iter().map(note).collect()))
        }
    }
}
