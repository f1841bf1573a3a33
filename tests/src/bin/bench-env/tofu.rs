//! `bench-env tofu --dir DIR`: what `bench/tofu-init.sh` times.
//!
//! The bench stage ([`bench_env::stage`], with Docker) and a private
//! gnome-keyring; stores the registry password in the keyring with a real
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
//! before `ready` is printed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use scalr_oci_e2e::bench_env::{self, USER, env_args, quote, script};
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers::Peer;
use scalr_oci_e2e::stage::REPO;
use scalr_oci_e2e::tofu::{self, show};

pub fn main(dir: &Path) -> ExitCode {
    let mut extra = KeyringSession::PEERS.to_vec();
    extra.push(Peer::Docker);
    let Some((dir, stage)) = bench_env::stage(dir, &extra) else {
        return ExitCode::FAILURE;
    };
    let session = KeyringSession::start(&stage.tools.found);
    let authority = stage.registry.authority();
    let mut env = stage.keychain_env(&session);
    env.set("DOCKER_CONFIG", dir.join("docker"));
    stage.docker_login(&env, USER);

    // Publish through ORAS and the helper.
    let module = dir.join("module");
    tofu::write_module(&module, "1.0.0");
    let zip = dir.join("module.zip");
    tofu::zip_dir(&module, &zip);
    let reference = format!("{authority}/{REPO}:1.0.0");
    let docker_config = dir.join("docker/config.json");
    if let Err(out) = tofu::oras_push(&stage.tools, &env, &docker_config, &reference, &zip) {
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
        format!(
            "oci_credentials \"{authority}\" {{\n  username = \"{USER}\"\n  password = \"{}\"\n}}\n",
            stage.password
        ),
    )
    .expect("write the plain-text CLI config");
    std::fs::set_permissions(&plain_rc, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the plain-text CLI config");

    let source = stage.source("?tag=1.0.0");
    for (name, rc) in [("helper", &helper_rc), ("plain", &plain_rc)] {
        let workdir = dir.join(name);
        tofu::write_root_config(&workdir, &[("network", &source)]);
        let mut run_env = env.clone();
        run_env
            .set("TF_CLI_CONFIG_FILE", rc)
            .remove("DOCKER_CONFIG");
        let run = workdir.join("run.sh");
        script(
            &run,
            &format!(
                "cd {} || exit 1\nexec env -i {} {} init -input=false -no-color\n",
                quote(&workdir),
                env_args(&run_env),
                quote(&stage.tools.tofu)
            ),
        );
        let out = bench_env::run_checked(&run, &stage.registry);
        assert!(
            tofu::installed_module_dir(&workdir, "network").is_some(),
            "{name}/run.sh installed no module: {}",
            show(&out)
        );
    }

    bench_env::ready_then_serve();
    drop(session);
    drop(stage);
    ExitCode::SUCCESS
}
