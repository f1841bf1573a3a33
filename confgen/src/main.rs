use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use docker_credential_scalr::closed_pipe::{self, Watched};

use scalr_oci::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = Watched::new(io::stdout().lock());
    let result = cli::run(cli, &mut stdout);
    let _ = stdout.flush();
    // A closed stdout or stderr ends the command quietly, with the status
    // a shell gives a program that SIGPIPE ended (see closed_pipe).
    let quiet = ExitCode::from(closed_pipe::EXIT_STATUS);
    if stdout.closed() || scalr_oci::output::stderr_closed() {
        return quiet;
    }
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if err.is_closed_pipe() {
        return quiet;
    }
    drop(stdout);
    let mut stderr = Watched::new(io::stderr().lock());
    let _ = writeln!(stderr, "scalr-oci: {err}");
    if let scalr_oci::Error::Helper(inner) = &err
        && let Some(hint) = inner.hint()
    {
        let _ = writeln!(stderr, "{hint}");
    }
    if stderr.closed() {
        return quiet;
    }
    ExitCode::from(err.exit_code() as u8)
}
