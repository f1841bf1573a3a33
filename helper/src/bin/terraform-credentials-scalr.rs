//! `terraform-credentials-scalr`: OpenTofu's credentials helper for the
//! Scalr host token. The protocol lives in
//! [`docker_credential_scalr::host_token`]; this is only the process around it.

use std::io;
use std::process::ExitCode;

use docker_credential_scalr::closed_pipe;
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
    let (mut stdout, mut stderr) = closed_pipe::pair(io::stdout().lock(), io::stderr().lock());
    let code = host_token::serve(
        &args,
        &env,
        &mut io::stdin().lock(),
        &mut stdout,
        &mut stderr,
        // Connects on first use: an answer from the environment never opens
        // a Secret Service session.
        &Keychain::new(),
    );
    // A closed pipe ends the command quietly (see closed_pipe).
    let _ = io::Write::flush(&mut stdout);
    if stdout.closed() || stderr.closed() {
        return ExitCode::from(closed_pipe::EXIT_STATUS);
    }
    ExitCode::from(code as u8)
}
