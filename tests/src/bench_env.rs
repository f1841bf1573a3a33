//! What the bench setup binaries (`src/bin/*-bench-env/`) share with their
//! bench scripts: the `ready` handshake, and sh quoting for the scripts they
//! write.
//!
//! The protocol with the script (bench/lib.sh `start_setup_env`): the binary
//! prints `ready` once everything is up and checked, then serves until the
//! script closes its stdin; the caller then drops (stops) what it started.

use std::io::{Read, Write};
use std::path::Path;

/// Prints `ready` and blocks until stdin closes (the script holds it open).
pub fn ready_then_serve() {
    println!("ready");
    std::io::stdout().flush().expect("flush stdout");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Single-quoted for sh.
pub fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// The `main` of a bench setup binary where there is no Unix stage: says
/// so, naming the binary, and fails.
pub fn unix_only(binary: &str) -> std::process::ExitCode {
    eprintln!("{binary}: needs a Unix stage (gnome-keyring over D-Bus)");
    std::process::ExitCode::FAILURE
}
