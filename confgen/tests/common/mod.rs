//! Shared support for tests that run the real `scalr-oci` binary in a
//! temporary home, with every variable that locates a config file cleared
//! (the machine running the tests may set TF_CLI_CONFIG_FILE, DOCKER_CONFIG…).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_scalr-oci");

const CLEARED: &[&str] = &[
    "TF_CLI_CONFIG_FILE",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
    "DOCKER_CONFIG",
    "REGISTRY_AUTH_FILE",
    "SCALR_HOSTNAME",
    "SCALR_TOKEN",
    "SCALR_PROFILE",
    "SCALR_OCI_CONFIG",
    "SCALR_OCI_FAILPOINT",
    "DBUS_SESSION_BUS_ADDRESS",
];

pub struct Home {
    pub dir: tempfile::TempDir,
    /// Extra environment for every command (a keyring session's bus).
    pub env: Vec<(String, String)>,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(Path::new(BIN), args)
    }

    /// [`Home::command`] for another copy of `scalr-oci` (one with
    /// companions beside it, as installed).
    pub fn command_of(&self, bin: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(args).env("HOME", self.path());
        for var in CLEARED {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // Settings of the helper are read from the temporary home only.
        cmd.env(
            "SCALR_OCI_CONFIG",
            self.file(".config/scalr-oci/settings.toml"),
        );
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// [`Home::run`] with one more variable set: the location variables
    /// (TF_CLI_CONFIG_FILE, DOCKER_CONFIG…) the tools honour.
    pub fn run_with_env(&self, args: &[&str], var: &str, value: impl AsRef<OsStr>) -> Output {
        self.command(args)
            .env(var, value)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child: Child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Fails if any file under the temporary home contains `secret`.
    pub fn assert_nowhere(&self, secret: &str) {
        for path in walk(self.path()) {
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} contains a secret in plain text",
                path.display()
            );
        }
    }
}

/// Puts a copy of the program `from` at `to`, made so that this test
/// process never holds `to` open for writing (see [`write_script`]).
pub fn place_program(from: &Path, to: &Path) {
    // Replaced, never written through: `to` may be a link to `from`.
    match std::fs::remove_file(to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            panic!("remove {}: {e}", to.display())
        }
        _ => {}
    }
    if std::fs::hard_link(from, to).is_ok() {
        return;
    }
    let copied = Command::new("cp").arg(from).arg(to).status().unwrap();
    assert!(copied.success(), "cp {} {}", from.display(), to.display());
}

/// Writes an executable shell script at `to` through a child `sh`, never
/// through this process. Tests run on threads: a thread that spawns a
/// process while another thread has a file open for writing hands the
/// child a copy of that descriptor, held until the child's exec closes it,
/// and exec of a file open for writing anywhere fails with ETXTBSY ("Text
/// file busy"). A file written by another process is never open here.
pub fn write_script(to: &Path, text: &str) {
    let mut sh = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(to)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    sh.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(sh.wait().unwrap().success(), "write {}", to.display());
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            out.extend(walk(&path));
        } else if meta.is_file() {
            out.push(path);
        }
    }
    out
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

/// Fails, showing all of `text` (what a run printed), unless it contains
/// `needle`.
#[track_caller]
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
}

/// Checks a run that must be refused: exit 2, and `report` (the stream the
/// command reports on) names each of `names` and never shows `secret`.
/// `case` names the run in every failure, for tests that make several.
#[track_caller]
pub fn assert_refused(out: &Output, report: &str, names: &[&str], secret: &str, case: &str) {
    assert_eq!(out.status.code(), Some(2), "{case}: {report}");
    for name in names {
        assert!(
            report.contains(name),
            "{case}: {name:?} is not in:\n{report}"
        );
    }
    assert!(
        !report.contains(secret),
        "{case}: the secret shows in:\n{report}"
    );
}

/// A private Secret Service for one test: its own D-Bus session bus with a
/// gnome-keyring daemon, unlocked with a throw-away password, in a temporary
/// home. Ends when dropped (closing its stdin ends the session). Unix only:
/// gnome-keyring and D-Bus are freedesktop services.
#[cfg(unix)]
pub struct KeyringSession {
    child: Child,
    pub bus: String,
}

#[cfg(unix)]
impl KeyringSession {
    /// `None` (after saying so loudly on stderr) when dbus or gnome-keyring
    /// is not installed; panics instead when `CI` is set, where a skip would
    /// hide a broken machine.
    pub fn start(home: &Path) -> Option<KeyringSession> {
        fn runtime_dir(home: &Path) -> std::path::PathBuf {
            let dir = home.join(".run");
            std::fs::create_dir_all(&dir).expect("create the runtime dir");
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .expect("chmod the runtime dir");
            dir
        }
        let missing: Vec<&str> = ["dbus-run-session", "dbus-send", "gnome-keyring-daemon"]
            .into_iter()
            .filter(|tool| {
                !std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
                    .unwrap_or(false)
            })
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "SKIPPED: this test needs {} for a private Secret Service keychain\n",
                missing.join(" and ")
            );
            assert!(
                std::env::var_os("CI").is_none(),
                "{message}(CI is set, so this is a failure)"
            );
            // Straight to stderr: the test harness captures eprintln!.
            let _ = std::io::stderr().write_all(message.as_bytes());
            return None;
        }
        let mut child = Command::new("dbus-run-session")
            .args([
                "--",
                "sh",
                "-c",
                "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; echo \"$DBUS_SESSION_BUS_ADDRESS\"; read _",
            ])
            .env("HOME", home)
            // Private, so that gnome-keyring's control socket never meets
            // another session's (or the developer's own in /run/user).
            .env("XDG_RUNTIME_DIR", runtime_dir(home))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let bus = line.trim().to_string();
        assert!(
            !bus.is_empty(),
            "the keyring session printed no bus address"
        );
        // `gnome-keyring-daemon --unlock` returns before the daemon owns the
        // Secret Service name and has made the login collection: on a busy
        // machine the first `migrate` could otherwise meet no keychain.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &bus)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets/collection/login",
                    "org.freedesktop.DBus.Properties.Get",
                    "string:org.freedesktop.Secret.Collection",
                    "string:Locked",
                ])
                .output()
                .expect("dbus-send runs");
            if out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("boolean false")
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gnome-keyring offered no unlocked login collection within 20 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(KeyringSession { child, bus })
    }
}

#[cfg(unix)]
impl Drop for KeyringSession {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
