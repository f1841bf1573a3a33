use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic message could quote a value that holds a secret; print where it
    // happened, never what it said.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("docker-credential-scalr: internal error{place}; please report it");
    }));
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = docker_credential_scalr::run(
        &args,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    ExitCode::from(code as u8)
}
