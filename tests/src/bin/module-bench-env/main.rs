//! `module-bench-env`: see `setup.rs` for what it prepares and how it is called.
//! Unix only, like the stages it uses; elsewhere it says so and fails
//! ([`scalr_oci_e2e::bench_env::unix_only`]).

#[cfg(unix)]
mod setup;

fn main() -> std::process::ExitCode {
    #[cfg(unix)]
    return setup::main();
    #[cfg(not(unix))]
    return scalr_oci_e2e::bench_env::unix_only(env!("CARGO_BIN_NAME"));
}
