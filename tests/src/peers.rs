//! Finding the real peers the end-to-end tests drive, and our own binaries.
//!
//! A peer is a program from another project (the Docker CLI, a registry,
//! gnome-keyring, ...). A test names the peers it needs with [`require`]:
//!
//! ```no_run
//! use scalr_oci_e2e::peers::{self, Peer};
//! let Some(found) = peers::require(&[Peer::Skopeo, Peer::DockerRegistry]) else {
//!     return; // skipped, and said so loudly
//! };
//! let skopeo = found.path(Peer::Skopeo);
//! ```
//!
//! A missing peer skips the test on a developer machine, so that a plain
//! `cargo test` passes anywhere, but the skip is written straight to the
//! process's stderr (libtest captures `eprintln!`, not raw writes to fd 2),
//! so it cannot go unnoticed. With `CI` set, a missing peer fails the test
//! instead: CI must never pass by skipping.
//!
//! Peers are looked up in `$SCALR_OCI_PEERS_BIN` (a PATH-style list, where
//! `tests/peers/install.sh` puts what it builds) and then on `PATH`.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The fix printed with every skip.
pub const INSTALL_HINT: &str = "tests/peers/install.sh";

/// Every program the end-to-end tests run that is not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// The Docker CLI (client only; no daemon needed).
    Docker,
    /// The distribution registry 2.8, Debian's `docker-registry`.
    DockerRegistry,
    /// `htpasswd` from apache2-utils, to make the registry's bcrypt user file.
    Htpasswd,
    Skopeo,
    /// A private D-Bus session bus per test.
    DbusDaemon,
    /// Used to ask the Secret Service whether the login collection is unlocked.
    DbusSend,
    GnomeKeyringDaemon,
    /// The Go helper we compare speed with.
    DockerCredentialSecretservice,
    Hyperfine,
    /// bwrap: the Scalr runner's confinement (read-only root, uid 1000).
    Bubblewrap,
}

impl Peer {
    /// The executable's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Peer::Docker => "docker",
            Peer::DockerRegistry => "docker-registry",
            Peer::Htpasswd => "htpasswd",
            Peer::Skopeo => "skopeo",
            Peer::DbusDaemon => "dbus-daemon",
            Peer::DbusSend => "dbus-send",
            Peer::GnomeKeyringDaemon => "gnome-keyring-daemon",
            Peer::DockerCredentialSecretservice => "docker-credential-secretservice",
            Peer::Hyperfine => "hyperfine",
            Peer::Bubblewrap => "bwrap",
        }
    }

    /// Where it comes from, for the skip message.
    pub fn package(self) -> &'static str {
        match self {
            Peer::Docker => "Docker CLI 28 (client only)",
            Peer::DockerRegistry => "Debian package docker-registry",
            Peer::Htpasswd => "Debian package apache2-utils",
            Peer::Skopeo => "Debian package skopeo",
            Peer::DbusDaemon => "Debian package dbus-daemon",
            Peer::DbusSend => "Debian package dbus-bin",
            Peer::GnomeKeyringDaemon => "Debian package gnome-keyring",
            Peer::DockerCredentialSecretservice => {
                "Debian package golang-docker-credential-helpers"
            }
            Peer::Hyperfine => "Debian package hyperfine",
            Peer::Bubblewrap => "Debian package bubblewrap",
        }
    }
}

/// The peers that every test using a real Secret Service needs.
pub const SECRET_SERVICE: &[Peer] = &[Peer::DbusDaemon, Peer::DbusSend, Peer::GnomeKeyringDaemon];

/// The peers behind [`crate::registry::Registry`].
pub const REGISTRY: &[Peer] = &[Peer::DockerRegistry, Peer::Htpasswd];

/// The peers a test asked for, all present.
#[derive(Debug, Clone)]
pub struct Found {
    paths: Vec<(Peer, PathBuf)>,
}

impl Found {
    /// The path of a peer this test required.
    ///
    /// # Panics
    /// If the test did not list `peer` in [`require`]: a programming error.
    pub fn path(&self, peer: Peer) -> &Path {
        self.paths
            .iter()
            .find(|(p, _)| *p == peer)
            .map(|(_, path)| path.as_path())
            .unwrap_or_else(|| panic!("{peer:?} was not listed in peers::require"))
    }
}

/// Finds every peer in `peers` (duplicates are fine). When one is missing,
/// prints a loud skip notice and returns `None`, or panics when `CI` is set.
/// The test is named after the current libtest thread.
pub fn require(peers: &[Peer]) -> Option<Found> {
    require_for(&current_test_name(), peers)
}

/// [`require`] with an explicit test name.
pub fn require_for(test: &str, peers: &[Peer]) -> Option<Found> {
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    for &peer in peers {
        match find(peer.binary()) {
            Some(path) => paths.push((peer, path)),
            None if missing.contains(&peer) => {}
            None => missing.push(peer),
        }
    }
    if missing.is_empty() {
        return Some(Found { paths });
    }
    let list = missing
        .iter()
        .map(|p| format!("`{}` ({})", p.binary(), p.package()))
        .collect::<Vec<_>>()
        .join(", ");
    missing_peers(test, &list);
    None
}

/// What a test does when peers are missing (`list` names them with where
/// they come from): with `CI` set it fails; in a test not marked
/// `#[ignore = "needs peers"]` it fails (the mark is what makes libtest
/// count it as not run); else it prints a loud skip notice and the caller
/// returns without testing anything.
///
/// # Panics
/// In the first two cases.
pub fn missing_peers(test: &str, list: &str) {
    if in_ci() {
        panic!(
            "{test}: missing peer(s) {list}; CI is set, so this is a failure, not a skip. \
             Fix: run {INSTALL_HINT}"
        );
    }
    if under_libtest() && !running_ignored() {
        panic!(
            "{test} needs peer(s) {list} but is not marked #[ignore = \"{NEEDS_PEERS}\"], \
             so a plain `cargo test` would count its skip as a pass; mark it"
        );
    }
    loud(&format!(
        "\n*** SKIPPED {test}: missing peer(s) {list}.\n\
         ***   Fix: run {INSTALL_HINT} (or put the binaries on PATH or in $SCALR_OCI_PEERS_BIN).\n\
         ***   With CI set this would be a failure.\n"
    ));
}

/// The reason on every test that needs a peer: `#[ignore = "needs peers"]`.
///
/// Why ignored rather than skipped inside the test: libtest has no way for a
/// running test to say "skipped", so a test that returns early on a missing
/// peer is counted as a pass. Ignored, it is listed as `ignored, needs
/// peers` by a plain `cargo test` (which passes on any machine) and counted
/// as such, and `cargo test -- --include-ignored` (tests/run.sh, CI) runs
/// it. [`require`] keeps the two honest: a test that reaches it without
/// its peers panics when it was not marked (outside CI), and with `CI` set
/// a missing peer always fails; [`ci_runs_the_ignored_tests!`] fails a CI
/// run that forgot `--include-ignored`.
pub const NEEDS_PEERS: &str = "needs peers";

/// One test per test binary: with `CI` set, the binary must have been run
/// with `--include-ignored` (or `--ignored`), else every test that needs a
/// peer would silently not run.
#[macro_export]
macro_rules! ci_runs_the_ignored_tests {
    () => {
        #[test]
        fn ci_runs_the_tests_that_need_peers() {
            $crate::peers::assert_ci_runs_ignored();
        }
    };
}

/// See [`ci_runs_the_ignored_tests!`].
///
/// # Panics
/// When `CI` is set and libtest was not asked to run ignored tests.
pub fn assert_ci_runs_ignored() {
    assert!(
        !in_ci() || running_ignored(),
        "CI is set, but this test binary runs without --include-ignored, so every test \
         marked #[ignore = \"{NEEDS_PEERS}\"] was left out: run `cargo test -- --include-ignored`"
    );
}

/// libtest was asked to run the ignored tests too (`--include-ignored`) or
/// only them (`--ignored`): its own arguments are this process's.
pub fn running_ignored() -> bool {
    std::env::args().any(|a| a == "--include-ignored" || a == "--ignored")
}

/// libtest runs every test on a thread named after it; a program of ours
/// (the bench environments) runs on `main`.
fn under_libtest() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name != "main")
}

/// True when the `CI` environment variable is set to anything non-empty.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Writes to the real stderr, past libtest's output capture: a skip must be
/// seen even when the test "passes".
pub fn loud(message: &str) {
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(message.as_bytes());
    let _ = stderr.flush();
}

/// libtest names each test's thread after the test; fall back to the
/// executable's name when something else runs us.
pub fn current_test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "an end-to-end test".into()),
    }
}

/// The first executable named `binary` (`binary.exe` on Windows) in
/// `$SCALR_OCI_PEERS_BIN`, then `PATH`.
pub fn find(binary: &str) -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("SCALR_OCI_PEERS_BIN"),
        std::env::var_os("PATH"),
    ];
    dirs.iter()
        .flatten()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX)))
        .find(|candidate| is_executable(candidate))
}

/// A regular file with an execute bit (on Windows, where there is none, a
/// regular file).
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && has_execute_bit(&m))
}

#[cfg(unix)]
fn has_execute_bit(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn has_execute_bit(_: &std::fs::Metadata) -> bool {
    true
}

/// `PATH` with `dir` first, for peers that find our helper on `PATH` (Docker
/// and skopeo run `docker-credential-<name>`).
pub fn path_with(dir: &Path) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).expect("PATH entries contain no ':'")
}

// ---------------------------------------------------------------------------
// Our own binaries.

/// The `docker-credential-scalr` binary under test.
///
/// `env!("CARGO_BIN_EXE_…")` only exists for binaries of the test's own
/// package, and `cargo test -p scalr-oci-e2e` does not build other packages'
/// binaries, so a binary found lying next to the test executable may be
/// missing or stale. So, once per test process, [`cargo_build_bin`] builds
/// every binary of the workspace in one cargo call, with the very feature
/// set `cargo test --workspace` gives them (see there), and this uses the
/// one it names.
///
/// `$SCALR_OCI_HELPER_BIN`, when set, is used as is instead (e.g. to test an
/// installed release), or the one in `$SCALR_OCI_BIN_DIR` ([`our_bin`]).
pub fn helper_bin() -> &'static Path {
    static HELPER: OnceLock<PathBuf> = OnceLock::new();
    HELPER.get_or_init(|| {
        our_bin(
            "SCALR_OCI_HELPER_BIN",
            "docker-credential-scalr",
            "docker-credential-scalr",
        )
    })
}

/// Where the product's binaries are taken from instead of a cargo build
/// when set: a directory holding `docker-credential-scalr`,
/// `terraform-credentials-scalr` and `scalr-oci` (tests/static.sh points it
/// at the static musl release builds). This crate's own helper binaries
/// (`confined`, ...) are still built.
pub const BIN_DIR_VAR: &str = "SCALR_OCI_BIN_DIR";

/// One of our binaries: the path in `$override_var` when that is set (it
/// must be an executable), else `$SCALR_OCI_BIN_DIR/bin` for the product's
/// binaries when that is set ([`BIN_DIR_VAR`]), else [`cargo_build_bin`].
/// Callers cache it.
pub fn our_bin(override_var: &str, package: &str, bin: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "{override_var}={} is not an executable file",
            path.display()
        );
        return path;
    }
    if package != env!("CARGO_PKG_NAME")
        && let Some(dir) = std::env::var_os(BIN_DIR_VAR).filter(|d| !d.is_empty())
    {
        let path = PathBuf::from(dir).join(bin);
        assert!(
            is_executable(&path),
            "{BIN_DIR_VAR} is set, but {} is not an executable file",
            path.display()
        );
        return path;
    }
    cargo_build_bin(package, bin)
}

/// The path of `bin` (of `package`, which only names it in messages),
/// built like the running test was built.
///
/// The first call in a test process runs [`build_command`] (every binary of
/// the workspace, one cargo call); later calls reuse its result. Panics with
/// cargo's output when the build fails.
pub fn cargo_build_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let profile_dir = BUILT.get_or_init(build_workspace_bins);
    let path = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        is_executable(&path),
        "cargo built the workspace's binaries but {package}'s {} is not there",
        path.display()
    );
    path
}

/// Where the running test executable was built: `(target_dir, profile_dir,
/// profile)`, from `current_exe()` (`<target>/<profile-dir>/deps/<test>-<hash>`),
/// so `--target-dir`, `CARGO_TARGET_DIR` and `--release` all carry over.
fn build_location() -> (PathBuf, PathBuf, String) {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    (
        target_dir.to_path_buf(),
        profile_dir.to_path_buf(),
        profile.to_string(),
    )
}

/// The one build of our binaries: `cargo build --workspace --bins --test
/// bounded` into the test's own target directory and profile.
///
/// Why that command: cargo compiles a crate once per feature set, and a
/// dependency's features are the union over what the build selects
/// (`--workspace` plus, because a test target is selected, every member's
/// dev-dependencies). `cargo build -p docker-credential-scalr` alone unifies
/// fewer features (no axum server, no tokio macros, no reqwest `json`) than
/// `cargo test --workspace` does, so it compiled reqwest, hyper and the
/// helper a second time during a workspace test run, and each
/// `-p` of another package a third. This command selects exactly what
/// `cargo test --workspace` selects, so after that run's own build it is a
/// no-op (under a second), and under `cargo test -p scalr-oci-e2e` it builds
/// the set a later workspace run reuses. `--test bounded` is the cheapest
/// way to turn the dev-dependencies on; it is one of this package's tests.
/// `cargo test` holds the build lock only while compiling, not while running
/// tests, so this cannot deadlock; concurrent test processes wait for
/// cargo's lock on the target directory, and the second finds it done.
pub fn build_command() -> Command {
    let (target_dir, _, profile) = build_location();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--workspace",
        "--bins",
        "--test",
        "bounded",
    ])
    .arg("--profile")
    .arg(profile)
    .arg("--target-dir")
    .arg(target_dir)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn build_workspace_bins() -> PathBuf {
    let (_, profile_dir, _) = build_location();
    // Generous: a cold build of the workspace takes minutes on 2 cores.
    let out = run(&mut build_command(), b"", Duration::from_secs(1800));
    assert!(
        out.status.success(),
        "cargo build --workspace --bins failed:\n{}",
        out.stderr_lossy()
    );
    profile_dir
}

// ---------------------------------------------------------------------------
// Running child processes with a bound.

/// What a finished child printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Exit status and both streams, for assertion messages.
    /// Asserts exit status 0 (showing everything otherwise) and returns
    /// stdout.
    pub fn success(&self) -> String {
        assert_eq!(self.code(), Some(0), "{}", self.show());
        self.stdout_lossy()
    }

    /// Asserts exit status 1, how a credential helper says it failed
    /// (showing everything otherwise), and returns stdout: the message.
    pub fn failure(&self) -> String {
        assert_eq!(self.code(), Some(1), "{}", self.show());
        self.stdout_lossy()
    }

    pub fn show(&self) -> String {
        format!(
            "exit {:?}\nstdout: {:?}\nstderr: {:?}",
            self.code(),
            self.stdout_lossy(),
            self.stderr_lossy()
        )
    }
}

/// Runs `cmd` with `stdin` as its whole input and returns what it printed.
///
/// # Panics
/// If it cannot start, or if it runs longer than `timeout` (it is killed
/// first): a test must never hang a test run.
pub fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    let Started {
        mut child,
        shown,
        outputs,
    } = start(cmd, Stdio::piped());
    let input = stdin.to_vec();
    let mut pipe_in = child.stdin.take().expect("piped stdin");
    // Writing from a thread: a child that does not read its input must not
    // block us before the deadline is checked. A closed pipe is the child's
    // business, not an error here.
    let writer = std::thread::spawn(move || {
        let _ = pipe_in.write_all(&input);
    });
    let status = wait_until(&mut child, Instant::now() + timeout).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{shown} did not finish within {timeout:?}; killed it");
    });
    let _ = writer.join();
    outputs.collect(status)
}

/// A child started by [`start`].
pub struct Started {
    pub child: Child,
    /// The command, for messages.
    pub shown: String,
    pub outputs: Outputs,
}

/// A child's stdout and stderr, read to the end on threads of their own, so
/// that neither pipe can fill up and block it.
pub struct Outputs {
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl Outputs {
    /// What the child printed, once it exited with `status`.
    pub fn collect(self, status: ExitStatus) -> Output {
        Output {
            status,
            stdout: self.stdout.join().expect("stdout reader"),
            stderr: self.stderr.join().expect("stderr reader"),
        }
    }
}

/// Starts `cmd` with `stdin` and piped stdout and stderr, which are read
/// from then on ([`Outputs`]).
///
/// # Panics
/// If it cannot start, naming it.
pub fn start(cmd: &mut Command, stdin: Stdio) -> Started {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let outputs = Outputs {
        stdout: drain(child.stdout.take().expect("piped stdout")),
        stderr: drain(child.stderr.take().expect("piped stderr")),
    };
    Started {
        child,
        shown,
        outputs,
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child` to exit, up to `deadline`; `None` when it is still
/// running then. Polls `try_wait`: std has no blocking wait with a timeout.
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Retries `check` until it returns `Some`, up to `timeout`; for readiness
/// checks of daemons that announce nothing. Short back-off, bounded.
pub fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Kills and reaps a daemon we started; for `Drop` impls.
pub fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}
