use std::io;
use std::process::ExitCode;

use docker_credential_scalr::closed_pipe;

fn main() -> ExitCode {
    // Before any input is read: no core file may hold a secret. A refusal
    // must not stop a `get`; there is nothing more to do about it.
    let _ = docker_credential_scalr::core_dump::forbid();
    std::panic::set_hook(docker_credential_scalr::quiet_panic_hook(
        docker_credential_scalr::protocol::NAME,
    ));
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (mut stdout, mut stderr) = closed_pipe::pair(io::stdout().lock(), io::stderr().lock());
    let code =
        docker_credential_scalr::run(&args, &mut io::stdin().lock(), &mut stdout, &mut stderr);
    // A closed pipe ends the command quietly (see closed_pipe).
    let _ = io::Write::flush(&mut stdout);
    if stdout.closed() || stderr.closed() {
        return ExitCode::from(closed_pipe::EXIT_STATUS);
    }
    ExitCode::from(code as u8)
}
