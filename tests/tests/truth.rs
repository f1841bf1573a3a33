//! What `scalr-oci` and the two helpers say is true (issue 18): a closed
//! pipe ends every command quietly, and the tools that explain the state
//! explain it as it is.

// Pipes whose reader is gone, and Unix exit statuses.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use scalr_oci_e2e::{peers, tofu};

fn scalr_oci() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| peers::our_bin("SCALR_OCI_BIN", "scalr-oci", "scalr-oci"))
}

/// 128 + SIGPIPE: what a shell reports for a program that a closed pipe
/// ended, and what our binaries exit with on one.
const CLOSED_PIPE: i32 = 141;

/// Which of the child's streams go to a pipe whose reader has already gone.
#[derive(Clone, Copy, Debug)]
enum Closed {
    Stdout,
    Stderr,
    /// `cmd 2>&1 | head -0`: both into the same closed pipe.
    Both,
}

/// Runs `program args` in an empty HOME with `closed` streams into a pipe
/// whose reader was closed before the child started (deterministic, unlike
/// `| head`, which may still be reading). Returns the exit status and what
/// the open stream (if any) received.
fn run_with_closed(
    home: &Path,
    program: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    closed: Closed,
) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .stdin(Stdio::null());
    match closed {
        Closed::Stdout => {
            cmd.stdout(writer).stderr(Stdio::piped());
        }
        Closed::Stderr => {
            cmd.stderr(writer).stdout(Stdio::piped());
        }
        Closed::Both => {
            let again = writer.try_clone().expect("a second pipe handle");
            cmd.stdout(writer).stderr(again);
        }
    }
    let child = cmd.spawn().expect("spawn");
    drop(cmd);
    let out = child.wait_with_output().expect("wait");
    let open = match closed {
        Closed::Stdout => out.stderr,
        Closed::Stderr => out.stdout,
        Closed::Both => Vec::new(),
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&open).into_owned(),
    )
}

fn open_run(home: &Path, program: &Path, args: &[&str], envs: &[(&str, &str)]) -> peers::Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(envs.iter().copied());
    peers::run(&mut cmd, b"", Duration::from_secs(60))
}

/// Every binary, on a command that writes to stdout and on one that writes
/// to stderr: with that stream closed early, exit 141, no panic, no message
/// on the other stream.
#[test]
fn a_closed_pipe_ends_every_binary_quietly_with_141() {
    let home = tempfile::tempdir().unwrap();
    let token_env = [("SCALR_HOSTNAME", "x.scalr.io"), ("SCALR_TOKEN", "t0k3n")];
    let cases: [(&Path, &[&str], &[(&str, &str)], Closed); 7] = [
        (scalr_oci(), &["status"], &[], Closed::Stdout),
        (scalr_oci(), &["status"], &[], Closed::Both),
        (scalr_oci(), &["completions", "bash"], &[], Closed::Stdout),
        (scalr_oci(), &["doctor", "bad host"], &[], Closed::Stderr),
        (peers::helper_bin(), &["version"], &[], Closed::Stdout),
        (peers::helper_bin(), &["get"], &[], Closed::Both),
        (
            tofu::host_token_bin(),
            &["get", "x.scalr.io"],
            &token_env,
            Closed::Stdout,
        ),
    ];
    for (program, args, envs, closed) in cases {
        // The command does write to that stream when it is open, so the
        // closed case below really exercises a failed write.
        let open = open_run(home.path(), program, args, envs);
        let written = match closed {
            Closed::Stdout => open.stdout_lossy(),
            Closed::Stderr => open.stderr_lossy(),
            Closed::Both => open.stdout_lossy() + &open.stderr_lossy(),
        };
        assert!(
            !written.trim().is_empty(),
            "{program:?} {args:?} writes nothing to {closed:?}:\n{}",
            open.show()
        );
        let (code, other) = run_with_closed(home.path(), program, args, envs, closed);
        assert_eq!(
            code,
            Some(CLOSED_PIPE),
            "{program:?} {args:?} with {closed:?} closed; other stream:\n{other}"
        );
        assert!(
            other.is_empty(),
            "{program:?} {args:?} with {closed:?} closed said something:\n{other}"
        );
    }
}

/// The shell form from the issue, `scalr-oci status 2>&1 | head -1`: the
/// pipeline prints the first line and no panic text; with `pipefail`, the
/// status is 141 or 0 (head may still be reading when status finishes; the
/// status output is short) but never 101 (a panic) or 2 (an error).
#[test]
fn status_into_head_prints_no_panic() {
    let home = tempfile::tempdir().unwrap();
    let script = format!(
        "set -o pipefail 2>/dev/null; '{}' status 2>&1 | head -1; echo \"status=$?\"",
        scalr_oci().display()
    );
    let out = open_run(home.path(), Path::new("bash"), &["-c", &script], &[]);
    let text = out.stdout_lossy();
    assert!(
        text.starts_with("OpenTofu CLI configuration"),
        "{}",
        out.show()
    );
    assert!(!text.contains("panicked"), "{}", out.show());
    assert!(
        text.contains("status=0\n") || text.contains("status=141\n"),
        "{}",
        out.show()
    );
}
