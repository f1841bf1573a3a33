//! Sets up what `bench/provider-mirror.sh` times, and keeps it running.
//!
//! ```text
//! provider-bench-env --dir DIR
//! ```
//!
//! Starts a real registry (htpasswd, HTTPS with a test CA) and a private
//! gnome-keyring holding its password (stored by `scalr-oci registry add`),
//! and writes three scripts over the four provider-simple-v6 zips that
//! `tests/peers/install.sh` builds:
//!
//! - `prepare.sh`: the next run number, so that every timed run pushes to a
//!   new repository and uploads every zip (about 60 MiB);
//! - `ours.sh`: `scalr-oci provider push ZIPS… oci://…/bench/ours-N/simple`,
//!   credentials from the keychain: one command;
//! - `theirs.sh`: the documentation's recipe: `oras push` per platform into
//!   a fresh OCI layout, `oras manifest index create`, `oras cp` to
//!   `…/bench/theirs-N/simple:1.0.0`, credentials from the plain-text
//!   `auths` `oras login` leaves: six commands.
//!
//! Each runs in a cleared environment; both run once and are checked before
//! `ready` is printed; then it waits until stdin closes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use scalr_oci_e2e::bench_env::{self, quote};
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers;
use scalr_oci_e2e::provider_simple::{self, PLATFORMS, VERSION, Zips};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::secrets::fresh_secret;
use scalr_oci_e2e::tofu::{self, Env, show};

const USAGE: &str = "usage: provider-bench-env --dir DIR";
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
    if std::env::var_os("SCALR_OCI_BIN").is_none_or(|v| v.is_empty()) {
        eprintln!("provider-bench-env: set SCALR_OCI_BIN to the binary to benchmark");
        return ExitCode::from(2);
    }
    let mut needed = Registry::PEERS.to_vec();
    needed.extend_from_slice(KeyringSession::PEERS);
    let Some(tools) = tofu::require(&needed) else {
        return ExitCode::FAILURE;
    };
    let Some(zips) = provider_simple::require() else {
        return ExitCode::FAILURE;
    };
    std::fs::create_dir_all(&dir).expect("create DIR");
    let dir = std::fs::canonicalize(&dir).expect("resolve DIR");

    let password = fresh_secret("bench");
    let registry = Registry::start(&tools.found, USER, &password);
    let session = KeyringSession::start(&tools.found);
    let authority = registry.authority();
    let bin = tofu::bin_dir(&dir.join("bin"), &[peers::helper_bin(), &tools.oras]);
    let mut env = Env::from_vars(session.env());
    env.set("PATH", &bin)
        .set("SSL_CERT_FILE", registry.ca_cert())
        .remove("SSL_CERT_DIR");
    let scalr_oci = tofu::scalr_oci_bin();
    let out = peers::run(
        env.command(scalr_oci)
            .args(["registry", "add", &authority, "--username", USER]),
        password.as_bytes(),
        tofu::TOFU_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "scalr-oci registry add: {}",
        show(&out)
    );

    let oras_config = dir.join("oras/config.json");
    std::fs::create_dir_all(oras_config.parent().expect("a parent")).expect("mkdir oras");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    std::fs::write(
        &oras_config,
        serde_json::json!({ "auths": { &authority: { "auth": auth } } }).to_string(),
    )
    .expect("write the ORAS config");
    std::fs::set_permissions(&oras_config, std::fs::Permissions::from_mode(0o600))
        .expect("chmod the ORAS config");

    let counter = dir.join("run");
    script(
        &dir.join("prepare.sh"),
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0)\necho $((n + 1)) > {c}\n",
            c = quote(&counter)
        ),
    );
    let files: Vec<String> = PLATFORMS.iter().map(|p| quote(&zips.path(p))).collect();
    script(
        &dir.join("ours.sh"),
        &format!(
            "n=$(cat {c})\nexec env -i {env} {bin} provider push {files} oci://{authority}/bench/ours-$n/simple >/dev/null\n",
            c = quote(&counter),
            env = env_args(&env),
            bin = quote(scalr_oci),
            files = files.join(" "),
        ),
    );
    let layout = dir.join("tmp-layout");
    let oras = |args: &str| {
        format!(
            "env -i {} {} {args} >/dev/null || exit 1\n",
            env_args(&env),
            quote(&tools.oras)
        )
    };
    let mut theirs = format!(
        "n=$(cat {c})\ncd {zips} || exit 1\nrm -rf {layout}\n",
        c = quote(&counter),
        zips = quote(&zips.dir),
        layout = quote(&layout)
    );
    for platform in PLATFORMS {
        theirs.push_str(&oras(&format!(
            "push --artifact-type application/vnd.opentofu.provider-target --artifact-platform {} --oci-layout {}:{platform} {}:archive/zip",
            platform.replace('_', "/"),
            quote(&layout),
            Zips::file_name(platform)
        )));
    }
    theirs.push_str(&oras(&format!(
        "manifest index create --artifact-type=application/vnd.opentofu.provider --oci-layout {}:{VERSION} {}",
        quote(&layout),
        PLATFORMS.join(" ")
    )));
    theirs.push_str(&oras(&format!(
        "cp --to-registry-config {} --from-oci-layout {}:{VERSION} {authority}/bench/theirs-$n/simple:{VERSION}",
        quote(&oras_config),
        quote(&layout)
    )));
    script(&dir.join("theirs.sh"), &theirs);

    for name in ["prepare.sh", "ours.sh", "theirs.sh"] {
        let out = peers::run(
            &mut std::process::Command::new(dir.join(name)),
            b"",
            tofu::TOFU_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "{name}: {}\nregistry log:\n{}",
            show(&out),
            registry.log()
        );
    }

    bench_env::ready_then_serve();
    drop(session);
    drop(registry);
    ExitCode::SUCCESS
}

/// `KEY='value' …` for `env -i`.
fn env_args(env: &Env) -> String {
    env.keys()
        .iter()
        .map(|key| {
            let value = env.get(key).expect("listed");
            format!("{key}={}", quote(Path::new(value)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn script(path: &Path, body: &str) {
    std::fs::write(
        path,
        format!("#!/bin/sh\n# Generated by provider-bench-env.\n{body}"),
    )
    .expect("write a script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
