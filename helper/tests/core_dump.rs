//! The attack: core dumps are on (`ulimit -c unlimited`), a helper holds a
//! secret it is reading, and the user (or anyone who may signal it) presses
//! Ctrl-\: SIGQUIT's default action is to dump core. The helper must have
//! made itself non-dumpable before reading, so no core is written.
//!
//! Linux only (the platform where `core_dump::forbid` does something). A
//! machine that does not write cores at all (hard limit 0, or a
//! `core_pattern` pipe that drops them) cannot show the attack: a control
//! process (`sleep`) is dumped first, and when it leaves no core the test is
//! skipped, loudly, on stderr past libtest's capture.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SIGQUIT: i32 = 3;
const SECRET: &str = "core-dump-marker-5f0c1e9a";

/// `program args…` run by `sh` after `ulimit -c unlimited`, in `dir` (where
/// a `core_pattern` of plain `core` puts the file). `exec` keeps the pid, and
/// a foreground command keeps SIGQUIT's default action.
fn with_cores_on(dir: &Path, program: &Path, args: &[&str]) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited || exit 99; exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sh")
}

fn quit(child: &mut Child) -> ExitStatus {
    let status = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -QUIT failed");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "SIGQUIT did not end the process");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Files in `dir` whose name starts with `core`.
fn cores(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("read the scratch directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("core"))
        })
        .collect()
}

/// Whether this machine dumps a plain process's core on SIGQUIT.
fn machine_writes_cores(dir: &Path) -> Result<(), String> {
    let mut control = with_cores_on(dir, Path::new("sleep"), &["30"]);
    std::thread::sleep(Duration::from_millis(300));
    let status = quit(&mut control);
    if status.code() == Some(99) {
        return Err("`ulimit -c unlimited` was refused (a hard limit)".into());
    }
    if !status.core_dumped() {
        return Err(format!(
            "a control process (`sleep`) left no core on SIGQUIT ({status}); core_pattern is {:?}",
            std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default()
        ));
    }
    for core in cores(dir) {
        std::fs::remove_file(core).expect("remove the control's core");
    }
    Ok(())
}

fn skip(why: &str) {
    let _ = std::io::stderr().write_all(
        format!("\n*** SKIPPED a_helper_holding_a_secret_dumps_no_core: {why}\n").as_bytes(),
    );
}

/// `program args…` reading `partial` (a request cut off inside its secret).
fn helper_holding_a_secret_dumps_no_core(program: &Path, args: &[&str], partial: &str) {
    let dir = tempfile::tempdir().expect("a scratch directory");
    if let Err(why) = machine_writes_cores(dir.path()) {
        skip(&why);
        return;
    }
    let mut helper = with_cores_on(dir.path(), program, args);
    // stdin stays open, so the helper holds the secret while it waits for
    // the rest of its request.
    let mut stdin = helper.stdin.take().expect("piped stdin");
    stdin
        .write_all(partial.as_bytes())
        .expect("write the request");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    let status = quit(&mut helper);
    drop(stdin);
    let left = cores(dir.path());
    let holding: Vec<_> = left
        .iter()
        .filter(|core| {
            std::fs::read(core)
                .map(|b| b.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(
        status.signal(),
        Some(SIGQUIT),
        "the helper was still reading when SIGQUIT came: {status}"
    );
    assert!(
        !status.core_dumped() && left.is_empty(),
        "{} dumped core on SIGQUIT ({status}); files {left:?}, holding the secret: {holding:?}",
        program.display()
    );
}

#[test]
fn a_helper_holding_a_secret_dumps_no_core() {
    helper_holding_a_secret_dumps_no_core(
        Path::new(env!("CARGO_BIN_EXE_docker-credential-scalr")),
        &["store"],
        &format!(r#"{{"ServerURL":"ghcr.io","Username":"u","Secret":"{SECRET}"#),
    );
}

#[test]
fn the_host_token_helper_dumps_no_core_either() {
    helper_holding_a_secret_dumps_no_core(
        Path::new(env!("CARGO_BIN_EXE_terraform-credentials-scalr")),
        &["store", "example.scalr.io"],
        &format!(r#"{{"token":"{SECRET}"#),
    );
}
