use clap::Parser;

/// Point OpenTofu, Docker and containers at docker-credential-scalr.
#[derive(Parser)]
#[command(version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
