//! `provider-bench-env`: see `setup.rs` for what it prepares and how it is called.
//!
//! Unix only, like the stages of `scalr_oci_e2e` (gnome-keyring over D-Bus).

use std::process::ExitCode;

#[cfg(unix)]
mod setup;

#[cfg(unix)]
fn main() -> ExitCode {
    setup::main()
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("provider-bench-env: needs a Unix stage (gnome-keyring over D-Bus)");
    ExitCode::FAILURE
}
