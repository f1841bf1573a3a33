//! Sets up what `bench/module-publish.sh` times, and keeps it running.
//!
//! ```text
//! module-bench-env --dir DIR [--size-mib N]
//! ```
//!
//! Starts a real registry (htpasswd, HTTPS with a test CA) and a private
//! gnome-keyring holding the registry password (stored by `scalr-oci
//! registry add`), writes a module directory `DIR/module` of N MiB (default
//! 5: the `.tf` files of [`tofu::write_module`] plus `files/data.bin`), and
//! three scripts:
//!
//! - `prepare.sh`: new random content in `files/data.bin`, so that every
//!   timed run uploads N MiB (neither side may skip a blob it pushed before);
//! - `ours.sh`: `scalr-oci module publish DIR/module oci://…/bench/ours`,
//!   credentials from the keychain;
//! - `theirs.sh`: the guide's recipe: `zip -qr` of the same tree (the
//!   guide's exclusions), then `oras push --artifact-type … pkg.zip:archive/zip`,
//!   credentials from a Docker-style config with plain-text `auths` (what
//!   `oras login` leaves behind; a throw-away password).
//!
//! Each runs in a complete, cleared environment. Both are run once and
//! checked before `ready` is printed; then it waits until stdin closes.
//! scalr-oci comes from `$SCALR_OCI_BIN` (the script builds it `--release`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use scalr_oci_e2e::bench_env::{self, quote};
use scalr_oci_e2e::keyring_session::KeyringSession;
use scalr_oci_e2e::peers;
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::secrets::fresh_secret;
use scalr_oci_e2e::tofu::{self, Env, show};

const USAGE: &str = "usage: module-bench-env --dir DIR [--size-mib N]";
const USER: &str = "bench-bot";

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, size_mib) = match args.as_slice() {
        [flag, dir] if flag == "--dir" => (PathBuf::from(dir), 5),
        [flag, dir, size, n] if flag == "--dir" && size == "--size-mib" => {
            match n.parse::<usize>() {
                Ok(n) => (PathBuf::from(dir), n),
                Err(_) => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("SCALR_OCI_BIN").is_none_or(|v| v.is_empty()) {
        eprintln!("module-bench-env: set SCALR_OCI_BIN to the binary to benchmark");
        return ExitCode::from(2);
    }
    let mut needed = Registry::PEERS.to_vec();
    needed.extend_from_slice(KeyringSession::PEERS);
    let Some(tools) = tofu::require(&needed) else {
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

    let module = dir.join("module");
    tofu::write_module(&module, "1.0.0");
    std::fs::create_dir_all(module.join("files")).expect("mkdir files");

    // ORAS's credentials as `oras login` leaves them: plain-text `auths`.
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

    let data = module.join("files/data.bin");
    script(
        &dir.join("prepare.sh"),
        &format!(
            "head -c {} /dev/urandom > {}\n",
            size_mib * 1024 * 1024,
            quote(&data)
        ),
    );
    let ours = format!(
        "exec env -i {} {} module publish {} oci://{authority}/bench/ours --tag bench >/dev/null\n",
        env_args(&env),
        quote(scalr_oci),
        quote(&module)
    );
    script(&dir.join("ours.sh"), &ours);
    let zip = dir.join("pkg.zip");
    let theirs = format!(
        "cd {module} || exit 1\nrm -f {zip}\nzip -qr {zip} . -x '.git/*' '.terraform/*' || exit 1\n\
         cd {dir} || exit 1\n\
         exec env -i {env} {oras} push --registry-config {config} --artifact-type application/vnd.opentofu.modulepkg \
         {authority}/bench/theirs:bench pkg.zip:archive/zip >/dev/null\n",
        module = quote(&module),
        zip = quote(&zip),
        dir = quote(&dir),
        env = env_args(&env),
        oras = quote(&tools.oras),
        config = quote(&oras_config),
    );
    script(&dir.join("theirs.sh"), &theirs);

    // Once each, checked, so that the benchmark never times a failure.
    for name in ["prepare.sh", "ours.sh", "prepare.sh", "theirs.sh"] {
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
        format!("#!/bin/sh\n# Generated by module-bench-env.\n{body}"),
    )
    .expect("write a script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
