//! `terraform-credentials-scalr`: OpenTofu's credentials helper for the
//! Scalr host token. The protocol lives in
//! [`docker_credential_scalr::host_token`]; this is only the process around it.

use std::io;
use std::process::ExitCode;

use docker_credential_scalr::host_token;
use docker_credential_scalr::keychain::Keychain;

fn main() -> ExitCode {
    // Before any input is read: no core file may hold the host token.
    let _ = docker_credential_scalr::core_dump::forbid();
    std::panic::set_hook(docker_credential_scalr::quiet_panic_hook(host_token::NAME));
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let code = host_token::serve(
        &args,
        &env,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
        // Connects on first use: an answer from the environment never opens
        // a Secret Service session.
        &Keychain::new(),
    );
    ExitCode::from(code as u8)
}
