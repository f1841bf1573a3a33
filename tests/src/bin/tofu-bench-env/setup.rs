//! Sets up what `bench/tofu-init.sh` times, and keeps it running.
//!
//! ```text
//! tofu-bench-env --dir DIR
//! ```
//!
//! Starts a real registry (htpasswd, HTTPS with a test CA) and a private
//! gnome-keyring, stores the registry password in the keyring with a real
//! `docker login --password-stdin` through `docker-credential-scalr`,
//! publishes a module package with ORAS through the helper, and writes into
//! DIR two identical consumer configurations that differ only in their
//! OpenTofu CLI configuration:
//!
//! - `helper/`: `oci_credentials "127.0.0.1:PORT" { docker_credentials_helper = "scalr" }`,
//!   written by `scalr-oci configure tofu --registry`;
//! - `plain/`: `oci_credentials "127.0.0.1:PORT" { username password }` in
//!   plain text: the baseline this project replaces (a throw-away password).
//!
//! Each has `run.sh`, which runs `tofu init` there in a complete, cleared
//! environment (the same variables for both). Both are run once and checked
//! before `ready` is printed. Then it waits until stdin closes, and stops
//! everything. The helper and scalr-oci binaries come from
//! `$SCALR_OCI_HELPER_BIN` and `$SCALR_OCI_BIN` (the script builds them with
//! `--release`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use scalr_oci_e2e::bench_env::{self, quote};
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers::{self, Peer};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::tofu::{self, Env, show};

const USAGE: &str = "usage: tofu-bench-env --dir DIR";
const USER: &str = "bench-bot";

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [flag, dir] if flag == "--dir" => PathBuf::from(dir),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    for var in ["SCALR_OCI_HELPER_BIN", "SCALR_OCI_BIN"] {
        if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
            eprintln!("tofu-bench-env: set {var} to the binary to benchmark");
            return ExitCode::from(2);
        }
    }
    let mut needed = Registry::PEERS.to_vec();
    needed.extend_from_slice(KeyringSession::PEERS);
    needed.push(Peer::Docker);
    let Some(tools) = tofu::require(&needed) else {
        return ExitCode::FAILURE;
    };
    std::fs::create_dir_all(&dir).expect("create DIR");
    let dir = std::fs::canonicalize(&dir).expect("resolve DIR");

    let password = random_password();
    let registry = Registry::start(&tools.found, USER, &password);
    let session = KeyringSession::start(&tools.found);
    let authority = registry.authority();
    let bin = tofu::bin_dir(
        &dir.join("bin"),
        &[
            peers::helper_bin(),
            &tools.tofu,
            &tools.oras,
            tools.found.path(Peer::Docker),
        ],
    );

    let mut env = Env::from_vars(session.env());
    env.set("PATH", &bin)
        .set("SSL_CERT_FILE", registry.ca_cert())
        .set("DOCKER_CONFIG", dir.join("docker"));

    // docker login through the helper, into the keychain.
    let docker_config = dir.join("docker/config.json");
    tofu::write_docker_config(&docker_config, &[&authority]);
    let out = tofu::docker_login(
        tools.found.path(Peer::Docker),
        &env,
        &authority,
        USER,
        &password,
    );
    assert!(out.status.success(), "docker login: {}", show(&out));

    // Publish through ORAS and the helper.
    let module = dir.join("module");
    std::fs::create_dir_all(&module).expect("create the module dir");
    tofu::write_module(&module, "1.0.0");
    let zip = dir.join("module.zip");
    tofu::zip_dir(&module, &zip);
    let reference = format!("{authority}/tofu/network:1.0.0");
    if let Err(out) = tofu::oras_push(&tools, &env, &docker_config, &reference, &zip) {
        panic!("oras push: {}", show(&out));
    }

    // The two CLI configurations.
    let helper_rc = dir.join("helper.tofurc");
    let out =
        tofu::scalr_oci_configure_tofu(&helper_rc, &session.home(), &["--registry", &authority]);
    assert!(
        out.status.success(),
        "scalr-oci configure tofu: {}",
        show(&out)
    );
    let plain_rc = dir.join("plain.tofurc");
    std::fs::write(
        &plain_rc,
        format!("oci_credentials \"{authority}\" {{\n  username = \"{USER}\"\n  password = \"{password}\"\n}}\n"),
    )
    .expect("write the plain-text CLI config");
    std::fs::set_permissions(&plain_rc, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the plain-text CLI config");

    let source = format!("oci://{authority}/tofu/network?tag=1.0.0");
    for (name, rc) in [("helper", &helper_rc), ("plain", &plain_rc)] {
        let workdir = dir.join(name);
        tofu::write_root_config(&workdir, &[("network", &source)]);
        let mut run_env = env.clone();
        run_env
            .set("TF_CLI_CONFIG_FILE", rc)
            .remove("DOCKER_CONFIG");
        write_run_script(&workdir, &tools.tofu, &run_env);
        // Once, checked, so that the benchmark never times a failure.
        let out = peers::run(
            &mut std::process::Command::new(workdir.join("run.sh")),
            b"",
            tofu::TOFU_TIMEOUT,
        );
        assert!(
            out.status.success() && tofu::installed_module_dir(&workdir, "network").is_some(),
            "{name}/run.sh: {}",
            show(&out)
        );
    }

    bench_env::ready_then_serve();
    drop(session);
    drop(registry);
    ExitCode::SUCCESS
}

/// `run.sh`: `tofu init` in its directory with exactly `env`.
fn write_run_script(workdir: &Path, tofu_bin: &Path, env: &Env) {
    let mut script = String::from("#!/bin/sh\n# Generated by tofu-bench-env.\n");
    script.push_str(&format!(
        "cd {} || exit 1\nexec env -i \\\n",
        quote(workdir)
    ));
    for key in env.keys() {
        let value = env.get(&key).expect("listed");
        script.push_str(&format!("  {key}={} \\\n", quote(Path::new(value))));
    }
    script.push_str(&format!(
        "  {} init -input=false -no-color\n",
        quote(tofu_bin)
    ));
    let path = workdir.join("run.sh");
    std::fs::write(&path, script).expect("write run.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod run.sh");
}

fn random_password() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("random bytes");
    format!(
        "bench-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}
