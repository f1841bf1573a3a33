//! The command line: clap definitions (also the source of completions and
//! man pages) and the dispatch to each command's module. A command whose
//! options are one struct of its own (`module::Publish`) derives them there,
//! so that they are declared once.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::commands::configure::{self, Common, TofuFlags};
use crate::commands::module::{self, Publish};
use crate::commands::{doctor, login, migrate, provider, registry, status};
use crate::docker_config::Flavor;
use crate::environment::Env;
use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::output::say;
use crate::write::Mode;

/// Point OpenTofu, Docker and containers at docker-credential-scalr, and move
/// plain-text registry secrets into the OS keychain.
#[derive(Parser, Debug)]
#[command(
    name = "scalr-oci",
    version,
    after_help = "Examples:\n  scalr-oci configure tofu --default          # every OCI registry asks docker-credential-scalr\n  scalr-oci registry add ghcr.io --username alice < token.txt\n  scalr-oci migrate --dry-run                 # what plain-text secrets would move\n  scalr-oci status\n  scalr-oci doctor ghcr.io"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write the configuration that makes a tool use docker-credential-scalr.
    #[command(subcommand)]
    Configure(Configure),

    /// Move plain-text registry credentials into the OS keychain.
    #[command(
        after_help = "Looks in every OpenTofu CLI config file (oci_credentials with username/password),\n\
Docker's config.json and containers' auth.json (auths.*.auth, identitytoken), scalr-cli's\n\
scalr.conf, and tofu login's credentials.tfrc.json (Scalr hosts' tokens; every host with\n\
--all-hosts): host tokens go to the keychain and OpenTofu gets credentials_helper \"scalr\".\n\
Each credential is stored in the keychain and read back before its file is rewritten\n\
to point at docker-credential-scalr; interrupted at any point, nothing is lost.\n\
No backup copies are made: they would be plain-text copies of the secrets.\n\n\
Examples:\n  scalr-oci migrate --dry-run\n  scalr-oci migrate"
    )]
    Migrate {
        /// Show what would move; store and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also move tofu login tokens of non-Scalr hosts (credentials.tfrc.json).
        #[arg(long)]
        all_hosts: bool,
    },

    /// Store the Scalr API token in the OS keychain (from stdin or a prompt).
    #[command(
        after_help = "The token is checked against the control plane first (skip with --no-verify), then\n\
stored under keychain service `scalr-oci-token`, account = the hostname; docker-credential-scalr\n\
uses it whenever SCALR_TOKEN is not set. Never pass the token as an argument.\n\n\
Examples:\n  scalr-oci login --hostname example.scalr.io              # prompts\n  printf %s \"$TOKEN\" | scalr-oci login --hostname example.scalr.io"
    )]
    Login {
        /// The Scalr account host (default: SCALR_HOSTNAME or the settings file).
        #[arg(long)]
        hostname: Option<String>,
        /// Store the token without asking the control plane whether it works.
        #[arg(long)]
        no_verify: bool,
    },

    /// Remove the Scalr API token from the OS keychain.
    #[command(after_help = "Examples:\n  scalr-oci logout --hostname example.scalr.io")]
    Logout {
        #[arg(long)]
        hostname: Option<String>,
    },

    /// Registry credentials in the OS keychain (secrets from stdin or a prompt).
    #[command(subcommand)]
    Registry(Registry),

    /// Show what is configured where and who answers for each registry.
    #[command(after_help = "Prints no secret. Examples:\n  scalr-oci status")]
    Status,

    /// Check each registry live: HTTPS, no redirect, challenge, credentials.
    #[command(
        after_help = "Without arguments, checks every registry the configuration or keychain knows.\n\n\
Examples:\n  scalr-oci doctor\n  scalr-oci doctor ghcr.io registry-1.docker.io\n  scalr-oci doctor https://docker.io     # explains why this URL is rejected"
    )]
    Doctor {
        /// Registries to check (host[:port] or https:// URL).
        registries: Vec<String>,
    },

    /// Publish, verify and list OpenTofu module packages in an OCI registry.
    #[command(subcommand)]
    Module(Module),

    /// Mirror OpenTofu providers into an OCI registry; verify and list them.
    #[command(subcommand)]
    Provider(Provider),

    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  scalr-oci completions bash > ~/.local/share/bash-completion/completions/scalr-oci\n  scalr-oci completions zsh > ~/.zfunc/_scalr-oci"
    )]
    Completions { shell: Shell },

    /// Print the man page, or write one per subcommand, and the two helpers' pages, into a directory.
    #[command(
        after_help = "Examples:\n  scalr-oci man | man -l -\n  scalr-oci man --out-dir ~/.local/share/man/man1"
    )]
    Man {
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum Module {
    /// Package a module directory reproducibly and push it as an OpenTofu module package.
    #[command(
        after_help = "The package is a zip of DIR: entries sorted, fixed times (SOURCE_DATE_EPOCH if set) and\n\
modes, so the same tree gives the same digest anywhere. Left out: .git/, .terraform/, *.tfstate*,\n\
.terraform.lock.hcl and what DIR/.terraformignore lists. Credentials come from the same sources,\n\
in the same order, as docker-credential-scalr (keychain, Scalr control plane); nothing is\n\
written to disk. Prints the manifest digest and a ready `source = \"oci://…?digest=…\"` line.\n\n\
Examples:\n  scalr-oci module publish . oci://ghcr.io/acme/network --tag 1.0.0 --tag latest\n  scalr-oci module publish ./network oci://registry.gitlab.com/acme/infra/network --dry-run\n  scalr-oci module publish . oci://ghcr.io/acme/network --json | jq -r .digest"
    )]
    Publish(Publish),
    /// Check that a published artifact is a module package OpenTofu installs.
    #[command(
        after_help = "Exit 0 only when the artifactType is application/vnd.opentofu.modulepkg, there is exactly\n\
one archive/zip layer, digests and sizes match, and the zip is a valid module package (the root,\n\
or //SUBDIR, holds .tf/.tofu files; no absolute paths, `..` or symlinks out). Without ?tag= or\n\
?digest=, checks `latest`, as OpenTofu would install it.\n\n\
Examples:\n  scalr-oci module verify 'oci://ghcr.io/acme/network?tag=1.0.0'\n  scalr-oci module verify 'oci://ghcr.io/acme/network//modules/vpc?digest=sha256:…' --json"
    )]
    Verify {
        /// oci://HOST/REPO[//SUBDIR][?tag=T|?digest=D]
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// List a repository's tags (following the registry's pages).
    #[command(after_help = "Examples:\n  scalr-oci module tags oci://ghcr.io/acme/network")]
    Tags {
        /// oci://HOST/REPO
        target: String,
        #[arg(long)]
        json: bool,
        /// Ask for pages of N tags (the registry's default otherwise).
        #[arg(long, value_name = "N", hide = true)]
        page_size: Option<usize>,
    },
}

// --- provider (issue 20) -----------------------------------------------------

#[derive(Subcommand, Debug)]
pub enum Provider {
    /// Push one provider version from its official zips as the index OpenTofu installs from.
    #[command(
        after_help = "Each ZIP must be named as releases name them, terraform-provider-TYPE_VERSION_OS_ARCH.zip;\n\
type, version and platform come from the names and must agree (one version, one zip per platform).\n\
Pushes each zip and a per-platform manifest (artifactType application/vnd.opentofu.provider-target),\n\
then the index (application/vnd.opentofu.provider), and only then tags it VERSION (+ written _).\n\
Blobs the registry has are skipped; a tag naming another index is refused without --force.\n\n\
Examples:\n  scalr-oci provider push terraform-provider-tls_4.0.6_*.zip oci://registry.example.com/providers/hashicorp/tls\n  scalr-oci provider push ./dist/*.zip oci://ghcr.io/acme/providers/acme/cloud --json"
    )]
    Push {
        /// The provider's zips, one per platform.
        #[arg(required = true, num_args = 1..)]
        zips: Vec<PathBuf>,
        /// oci://HOST[:PORT]/REPO (the last argument).
        target: String,
        /// Move the version's tag when it names another index.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Push every provider version of a `tofu providers mirror` directory.
    #[command(
        after_help = "DIR is what `tofu providers mirror DIR` writes (HOSTNAME/NAMESPACE/TYPE/*.zip). Each version goes\n\
to the repository the template names (${hostname}, ${namespace}, ${type}); versions already there\n\
with the same digest are skipped; a failure is reported and the others continue.\n\n\
Examples:\n  tofu providers mirror ./mirror\n  scalr-oci provider mirror ./mirror --repository-template 'registry.example.com/providers/${namespace}/${type}'"
    )]
    Mirror {
        dir: PathBuf,
        #[arg(long, value_name = "TEMPLATE")]
        repository_template: String,
        /// Move tags that name another index.
        #[arg(long)]
        force: bool,
    },
    /// Check a provider version as OpenTofu will when it installs it.
    #[command(
        after_help = "Exit 0 only when the tag names an image index of artifactType application/vnd.opentofu.provider,\n\
one provider-target manifest per platform with exactly one archive/zip layer, digests and sizes\n\
match, and each zip holds the provider. Prints each platform's lock-file hash (zh:).\n\n\
Examples:\n  scalr-oci provider verify 'oci://registry.example.com/providers/hashicorp/tls?tag=4.0.6'"
    )]
    Verify {
        /// oci://HOST/REPO?tag=VERSION
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// List the versions OpenTofu sees in a repository (semver tags, _ for +).
    #[command(
        after_help = "Examples:\n  scalr-oci provider tags oci://registry.example.com/providers/hashicorp/tls"
    )]
    Tags {
        /// oci://HOST/REPO
        target: String,
        #[arg(long)]
        json: bool,
    },
}

fn run_provider(machine: &Machine, command: Provider, out: &mut dyn Write) -> Result<()> {
    match command {
        Provider::Push {
            zips,
            target,
            force,
            json,
        } => provider::push(machine, &zips, &target, force, json, out),
        Provider::Mirror {
            dir,
            repository_template,
            force,
        } => provider::mirror(machine, &dir, &repository_template, force, out),
        Provider::Verify { target, json } => provider::verify(machine, &target, json, out),
        Provider::Tags { target, json } => provider::tags(machine, &target, json, out),
    }
}

// --- end provider ------------------------------------------------------------

#[derive(Subcommand, Debug)]
pub enum Configure {
    /// OpenTofu: oci_credentials / oci_default_credentials blocks.
    #[command(
        after_help = "Finds the CLI config as OpenTofu does (TF_CLI_CONFIG_FILE, else ~/.tofurc, ~/.terraformrc\n\
or $XDG_CONFIG_HOME/opentofu/tofurc, plus *.tfrc files in ~/.terraform.d) and never adds a\n\
block that another file of that set already has. Comments, layout and line endings are kept.\n\n\
Examples:\n  scalr-oci configure tofu --default\n  scalr-oci configure tofu --credentials-helper   # the Scalr host token from the keychain\n  scalr-oci configure tofu --registry ghcr.io --registry registry.gitlab.com\n  scalr-oci configure tofu --registry ghcr.io --dry-run\n  scalr-oci configure tofu --default --check    # in CI: exit 1 when a change is needed"
    )]
    Tofu(TofuArgs),
    /// Docker: credHelpers entries (or credsStore) in config.json.
    #[command(
        after_help = "Edits $DOCKER_CONFIG/config.json (default ~/.docker/config.json); Docker Hub is keyed\n\
https://index.docker.io/v1/. Without --registry, covers the registries OpenTofu already sends to\n\
docker-credential-scalr and those in the keychain.\n\n\
Examples:\n  scalr-oci configure docker --registry ghcr.io\n  scalr-oci configure docker --store\n  scalr-oci configure docker --dry-run"
    )]
    Docker(DockerArgs),
    /// containers (podman, skopeo, buildah): credHelpers in auth.json.
    #[command(
        after_help = "Edits $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else\n\
~/.config/containers/auth.json; Docker Hub is keyed docker.io.\n\n\
Examples:\n  scalr-oci configure containers --registry quay.io\n  scalr-oci configure containers --file ./auth.json --check"
    )]
    Containers(DockerArgs),
}

#[derive(Args, Debug)]
pub struct TofuArgs {
    /// Add `oci_credentials "HOST" { docker_credentials_helper = "scalr" }` (bare host[:port]).
    #[arg(long = "registry", value_name = "HOST")]
    registries: Vec<String>,
    /// Add `oci_default_credentials { docker_credentials_helper = "scalr" }`.
    #[arg(long)]
    default: bool,
    /// One block per registry integration the Scalr control plane exports.
    #[arg(long)]
    all_from_control_plane: bool,
    /// Add `credentials_helper "scalr" {}` and link terraform-credentials-scalr
    /// into OpenTofu's plugin directory: the Scalr host token from the keychain.
    #[arg(long)]
    credentials_helper: bool,
    /// Install providers from an OCI mirror: a provider_installation block with
    /// `oci_mirror { repository_template = TEMPLATE }` (${hostname}, ${namespace}, ${type}).
    #[arg(long, value_name = "TEMPLATE")]
    provider_mirror: Option<String>,
    /// Providers the mirror serves (HOSTNAME/NAMESPACE/TYPE, * allowed; repeatable);
    /// the rest are installed directly. Default: every provider.
    #[arg(long = "include", value_name = "PATTERN", requires = "provider_mirror")]
    includes: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

impl TofuArgs {
    /// What `configure tofu` was asked for, and the options every target shares.
    fn flags(self) -> (TofuFlags, Common) {
        let common = self.common.common();
        let flags = TofuFlags {
            registries: self.registries,
            default: self.default,
            all_from_control_plane: self.all_from_control_plane,
            credentials_helper: self.credentials_helper,
            provider_mirror: self.provider_mirror,
            includes: self.includes,
        };
        (flags, common)
    }
}

#[derive(Args, Debug)]
pub struct DockerArgs {
    /// Send this registry to docker-credential-scalr (repeatable).
    #[arg(long = "registry", value_name = "HOST")]
    registries: Vec<String>,
    /// Set credsStore: every registry goes to docker-credential-scalr.
    #[arg(long)]
    store: bool,
    #[command(flatten)]
    common: CommonArgs,
}

impl DockerArgs {
    /// `configure docker` or `configure containers`, as `flavor` says.
    fn configure(&self, machine: &Machine, flavor: Flavor, out: &mut dyn Write) -> Result<()> {
        let common = self.common.common();
        configure::docker(machine, flavor, &self.registries, self.store, &common, out)
    }
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Edit this file instead of the one the tool reads by default.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Print the change as a unified diff; write nothing.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// Write nothing; exit 1 when a change is needed (for CI).
    #[arg(long)]
    check: bool,
    /// Replace an entry that points at another credential helper.
    #[arg(long)]
    force: bool,
}

impl CommonArgs {
    fn common(&self) -> Common {
        Common {
            file: self.file.clone(),
            mode: if self.dry_run {
                Mode::DryRun
            } else if self.check {
                Mode::Check
            } else {
                Mode::Apply
            },
            force: self.force,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Registry {
    /// Store credentials for a registry (the secret from stdin or a prompt).
    #[command(
        after_help = "The password or token is read from stdin, or asked for without echo on a terminal;\n\
never pass it as an argument.\n\n\
Examples:\n  scalr-oci registry add ghcr.io --username alice            # prompts\n  printf %s \"$GHCR_TOKEN\" | scalr-oci registry add ghcr.io --username alice --verify"
    )]
    Add {
        /// The registry, as `docker login` takes it: host[:port] (ghcr.io, registry.example.com:5000)
        /// or a URL (https://ghcr.io/v2/; the path is ignored). docker.io, index.docker.io and
        /// registry-1.docker.io are all Docker Hub.
        #[arg(value_name = "REGISTRY")]
        registry: String,
        /// The registry user the password or token belongs to (for GHCR your GitHub login; for ECR
        /// `AWS`; `<token>` stores an identity token, which Docker and skopeo accept, OpenTofu not).
        #[arg(long, short)]
        username: String,
        /// Log in to the registry with the credentials first; store them only if it accepts them.
        #[arg(long)]
        verify: bool,
    },
    /// Remove a registry's credentials from the keychain.
    #[command(after_help = "Examples:\n  scalr-oci registry remove ghcr.io")]
    Remove { registry: String },
    /// List registries and usernames in the keychain (never secrets).
    #[command(after_help = "Examples:\n  scalr-oci registry list")]
    List,
}

pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    // The one reading of the environment and the settings, and the one
    // keychain of the process, for whichever command runs.
    let machine = Machine::new(Env::from_process());
    match cli.command {
        Command::Configure(Configure::Tofu(args)) => {
            let (flags, common) = args.flags();
            configure::tofu_from_flags(&machine, flags, &common, out)
        }
        Command::Configure(Configure::Docker(args)) => {
            args.configure(&machine, Flavor::Docker, out)
        }
        Command::Configure(Configure::Containers(args)) => {
            args.configure(&machine, Flavor::Containers, out)
        }
        Command::Migrate { dry_run, all_hosts } => migrate::run(&machine, dry_run, all_hosts, out),
        Command::Login {
            hostname,
            no_verify,
        } => login::login(&machine, hostname, !no_verify, out),
        Command::Logout { hostname } => login::logout(&machine, hostname, out),
        Command::Registry(Registry::Add {
            registry,
            username,
            verify,
        }) => {
            let request = registry::Add {
                registry,
                username,
                verify,
            };
            registry::add(machine.keychain(), &request, out)
        }
        Command::Registry(Registry::Remove { registry }) => {
            registry::remove(machine.keychain(), &registry, out)
        }
        Command::Registry(Registry::List) => registry::list(machine.keychain(), out),
        Command::Status => status::run(&machine, out),
        Command::Doctor { registries } => doctor::run(&machine, &registries, out),
        Command::Module(Module::Publish(args)) => module::publish(&machine, &args, out),
        Command::Module(Module::Verify { target, json }) => {
            module::verify(&machine, &target, json, out)
        }
        Command::Module(Module::Tags {
            target,
            json,
            page_size,
        }) => module::tags(&machine, &target, page_size, json, out),
        Command::Provider(command) => run_provider(&machine, command, out),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a failed write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "scalr-oci", &mut script);
            out.write_all(&script)
                .map_err(Error::io("stdout", "write to"))
        }
        Command::Man { out_dir } => man(out_dir, out),
    }
}

fn man(out_dir: Option<PathBuf>, out: &mut dyn Write) -> Result<()> {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        return clap_mangen::Man::new(command)
            .render(out)
            .map_err(Error::io("stdout", "write to"));
    };
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir, "create the directory"))?;
    let mut pages = vec![("scalr-oci".to_string(), command.clone())];
    collect_subcommands("scalr-oci", &command, &mut pages);
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        // clap names are &'static str; this runs once per page in a short-lived process.
        clap_mangen::Man::new(cmd.name(&*name.clone().leak()))
            .render(&mut buf)
            .map_err(Error::io(&path, "render"))?;
        std::fs::write(&path, buf).map_err(Error::io(&path, "write"))?;
        say!(out, "wrote {}", path.display())?;
    }
    // The two helpers have no clap (each call is a fresh process): their
    // pages come from the same text as their `--help`.
    for help in [
        &docker_credential_scalr::help::DOCKER_HELPER,
        &docker_credential_scalr::help::HOST_TOKEN_HELPER,
    ] {
        let path = dir.join(format!("{}.1", help.name));
        let page = help.man_page(env!("CARGO_PKG_VERSION"));
        std::fs::write(&path, page).map_err(Error::io(&path, "write"))?;
        say!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

fn collect_subcommands(
    prefix: &str,
    command: &clap::Command,
    pages: &mut Vec<(String, clap::Command)>,
) {
    for sub in command.get_subcommands() {
        let name = format!("{prefix}-{}", sub.get_name());
        pages.push((name.clone(), sub.clone()));
        collect_subcommands(&name, sub, pages);
    }
}
