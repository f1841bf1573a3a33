//! `tofu-bench-env`: see `setup.rs` for what it prepares and how it is called.
//!
//! The setup runs OpenTofu's stage on gnome-keyring's Secret Service over a
//! private D-Bus, with Unix modes: Unix only, like the stages of
//! `scalr_oci_e2e`. Elsewhere the binary says so and fails.

use std::process::ExitCode;

#[cfg(unix)]
mod setup;

#[cfg(unix)]
fn main() -> ExitCode {
    setup::main()
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("tofu-bench-env: needs a Unix stage (gnome-keyring over D-Bus)");
    ExitCode::FAILURE
}
