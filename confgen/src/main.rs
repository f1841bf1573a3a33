use clap::Parser;

use scalr_oci::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = cli::run(cli, &mut stdout) {
        drop(stdout);
        eprintln!("scalr-oci: {err}");
        if let scalr_oci::Error::Helper(inner) = &err
            && let Some(hint) = inner.hint()
        {
            eprintln!("{hint}");
        }
        std::process::exit(err.exit_code());
    }
}
