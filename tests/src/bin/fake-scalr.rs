//! Runs the fake Scalr control plane for benchmark scripts and manual tries.
//!
//! ```text
//! fake-scalr --dir DIR [--spec SPEC.json]
//! ```
//!
//! Writes a fresh CA into DIR and `DIR/env` (mode 0600) with `SCALR_HOSTNAME`,
//! `SCALR_TOKEN` and `SSL_CERT_FILE`, prints `ready`, and serves until killed
//! or, when stdin is a pipe or a terminal, until stdin closes. SPEC is a JSON
//! array (or `{"integrations": [...]}`) of objects with `registry-url`,
//! `username`, `password` and optionally `name`, `export-credentials` (default
//! true), `status` (default `active`) and `expires-at`. Passwords come only
//! from that file, never from argv.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, IntegrationSpec, Status};
use serde::Deserialize;

const USAGE: &str = "usage: fake-scalr --dir DIR [--spec SPEC.json]";

#[derive(Deserialize)]
#[serde(untagged)]
enum SpecFile {
    List(Vec<SpecEntry>),
    Wrapped { integrations: Vec<SpecEntry> },
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SpecEntry {
    name: Option<String>,
    registry_url: String,
    username: String,
    password: String,
    #[serde(default = "yes")]
    export_credentials: bool,
    status: Option<String>,
    expires_at: Option<String>,
}

fn yes() -> bool {
    true
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-scalr: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let (dir, spec) = parse_args(std::env::args().skip(1))?;
    let specs = match &spec {
        Some(path) => read_spec(path)?,
        None => Vec::new(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let fake = FakeControlPlane::start_in(&dir);
    for spec in specs {
        let url = spec.registry_url.clone();
        let id = fake.add_integration(spec);
        eprintln!("fake-scalr: {id} {url}");
    }
    write_env(&dir, &fake)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;

    if stdin_closing_means_stop() {
        // Read until EOF: the parent closing its end is the signal to stop.
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while stdin.read(&mut sink).is_ok_and(|n| n > 0) {}
    } else {
        loop {
            std::thread::park();
        }
    }
    drop(fake);
    Ok(())
}

fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(PathBuf, Option<PathBuf>), String> {
    let (mut dir, mut spec) = (None, None);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--dir" => &mut dir,
            "--spec" => &mut spec,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        };
        let value = args
            .next()
            .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
        *slot = Some(PathBuf::from(value));
    }
    let dir = dir.ok_or_else(|| format!("--dir is required\n{USAGE}"))?;
    Ok((dir, spec))
}

fn read_spec(path: &Path) -> Result<Vec<IntegrationSpec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries =
        match serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))? {
            SpecFile::List(entries)
            | SpecFile::Wrapped {
                integrations: entries,
            } => entries,
        };
    entries
        .into_iter()
        .map(|e| {
            let status = match e.status.as_deref() {
                None => Status::Active,
                Some(s) => Status::parse(s).ok_or_else(|| {
                    format!(
                        "{}: status {s:?} is not one of active, disabled, failed, pending",
                        path.display()
                    )
                })?,
            };
            Ok(IntegrationSpec {
                name: e.name,
                registry_url: e.registry_url,
                username: e.username,
                password: e.password,
                export_credentials: e.export_credentials,
                status,
                expires_at: e.expires_at,
            })
        })
        .collect()
}

fn write_env(dir: &Path, fake: &FakeControlPlane) -> Result<(), String> {
    let path = dir.join("env");
    let text = format!(
        "SCALR_HOSTNAME={}\nSCALR_TOKEN={}\nSSL_CERT_FILE={}\n",
        fake.hostname(),
        fake.token(),
        shell_quote(&fake.ca_cert_path().to_string_lossy()),
    );
    open_private(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Creates or truncates `path`, readable by its owner only.
#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies to a new file; an env file left by an earlier run
    // may be wider.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Creates or truncates `path`; on Windows a new file in the user's own
/// directories inherits their ACL, which is what there is to have.
#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<File> {
    File::create(path)
}

/// Quotes only when needed, so that simple readers (`env $(cat env)`) keep working.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:,@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A background job in a script gets /dev/null as stdin, which is at EOF at
/// once: only a pipe, socket or terminal has an end that someone can close.
fn stdin_closing_means_stop() -> bool {
    std::io::stdin().is_terminal() || stdin_is_pipe_or_socket()
}

#[cfg(unix)]
fn stdin_is_pipe_or_socket() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    File::from(fd)
        .metadata()
        .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
        .unwrap_or(false)
}

/// Windows has no portable way to tell a pipe from NUL here: outside a
/// terminal the fake serves until killed.
#[cfg(not(unix))]
fn stdin_is_pipe_or_socket() -> bool {
    false
}
