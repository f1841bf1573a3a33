//! `bench-env KIND --dir DIR [OPTIONS]`: sets up what one bench script
//! times, and keeps it running until stdin closes
//! ([`scalr_oci_e2e::bench_env::ready_then_serve`]). KIND is
//!
//! - `module`: `bench/module-publish.sh` (see `module.rs`);
//! - `provider`: `bench/provider-mirror.sh` (see `provider.rs`);
//! - `tofu`: `bench/tofu-init.sh` (see `tofu.rs`).
//!
//! The binaries under test come from `$SCALR_OCI_HELPER_BIN` and
//! `$SCALR_OCI_BIN` (the bench script builds them `--release`). Unix only,
//! like the stages it uses; elsewhere it says so and fails.

use std::process::ExitCode;

#[cfg(unix)]
mod module;
#[cfg(unix)]
mod provider;
#[cfg(unix)]
mod tofu;

#[cfg(unix)]
const USAGE: &str = "usage: bench-env module --dir DIR [--size-mib N]\n       \
                     bench-env provider --dir DIR\n       bench-env tofu --dir DIR";

#[cfg(unix)]
fn main() -> ExitCode {
    use std::path::PathBuf;

    for var in ["SCALR_OCI_HELPER_BIN", "SCALR_OCI_BIN"] {
        if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
            eprintln!("bench-env: set {var} to the binary to benchmark");
            return ExitCode::from(2);
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [kind, flag, dir, rest @ ..] if flag == "--dir" => {
            let dir = PathBuf::from(dir);
            match (kind.as_str(), rest) {
                ("module", []) => Some(module::main(&dir, 5)),
                ("module", [flag, n]) if flag == "--size-mib" => {
                    n.parse().ok().map(|n| module::main(&dir, n))
                }
                ("provider", []) => Some(provider::main(&dir)),
                ("tofu", []) => Some(tofu::main(&dir)),
                _ => None,
            }
        }
        _ => None,
    };
    match outcome {
        Some(code) => code,
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    scalr_oci_e2e::bench_env::unix_only(env!("CARGO_BIN_NAME"))
}
