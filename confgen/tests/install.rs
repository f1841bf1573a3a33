//! install/install.sh and install/scalr-pre-init.sh, run for real in a
//! temporary home: install, idempotent re-run, --dry-run, --uninstall, the
//! PATH warning, the terraform-credentials-scalr plugin link; the pre-init
//! hook writes the default-helper and credentials_helper blocks, links the
//! plugin, is idempotent, and puts no secret on disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{BIN, Home, assert_contains, assert_success, stdout};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../install")
        .join(name)
}

/// A directory with scalr-oci and stand-in helpers (the installer only
/// copies them).
fn staged(home: &Home) -> PathBuf {
    let dir = home.file("staged");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(BIN, dir.join("scalr-oci")).unwrap();
    for name in ["docker-credential-scalr", "terraform-credentials-scalr"] {
        let helper = dir.join(name);
        std::fs::write(&helper, "#!/bin/sh\necho stand-in\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

/// Where OpenTofu looks for terraform-credentials-scalr in this HOME.
fn plugin_link(home: &Home) -> PathBuf {
    home.file(".terraform.d/plugins/terraform-credentials-scalr")
}

const TOFURC: &str = "oci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n\ncredentials_helper \"scalr\" {}\n";

fn sh(home: &Home, script: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("sh");
    cmd.arg(script)
        .args(args)
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin");
    for var in [
        "TF_CLI_CONFIG_FILE",
        "XDG_CONFIG_HOME",
        "XDG_RUNTIME_DIR",
        "DOCKER_CONFIG",
        "DBUS_SESSION_BUS_ADDRESS",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

#[test]
fn install_is_idempotent_has_a_dry_run_and_uninstalls() {
    let home = Home::new();
    let from = staged(&home);
    let prefix = home.file("bin");
    let args = [
        "--from",
        from.to_str().unwrap(),
        "--prefix",
        prefix.to_str().unwrap(),
    ];

    let dry = sh(
        &home,
        &script("install.sh"),
        &[&args[..], &["--dry-run"]].concat(),
    );
    assert_success(&dry);
    assert!(
        !prefix.exists() && !home.file(".tofurc").exists() && !home.file(".terraform.d").exists(),
        "--dry-run changed something"
    );
    assert_contains(&stdout(&dry), "would run: ln -sfn");
    assert_contains(&stdout(&dry), "+oci_default_credentials {");

    let first = sh(&home, &script("install.sh"), &args);
    assert_success(&first);
    for bin in [
        "scalr-oci",
        "docker-credential-scalr",
        "terraform-credentials-scalr",
    ] {
        assert!(prefix.join(bin).exists(), "{bin} was not installed");
    }
    assert_contains(&stdout(&first), "is not on your PATH");
    assert_eq!(
        std::fs::read_link(plugin_link(&home)).unwrap(),
        prefix.join("terraform-credentials-scalr")
    );
    let tofurc = home.read(".tofurc");
    assert_eq!(tofurc, TOFURC, "{}", stdout(&first));

    let second = sh(&home, &script("install.sh"), &args);
    assert_success(&second);
    assert_contains(&stdout(&second), "up to date");
    assert_contains(&stdout(&second), "Nothing to change");
    assert_eq!(home.read(".tofurc"), tofurc);

    let gone = sh(
        &home,
        &script("install.sh"),
        &["--uninstall", "--prefix", prefix.to_str().unwrap()],
    );
    assert_success(&gone);
    assert!(!prefix.join("scalr-oci").exists() && !prefix.join("docker-credential-scalr").exists());
    assert!(!prefix.join("terraform-credentials-scalr").exists());
    assert!(
        std::fs::symlink_metadata(plugin_link(&home)).is_err(),
        "--uninstall left the plugin link"
    );
}

/// Runs `hook` (which sources scalr-pre-init.sh) under `sh -c` as in a Scalr
/// run: HOME, a bare PATH, no TF_CLI_CONFIG_FILE, SCALR_HOSTNAME and
/// `token` as SCALR_TOKEN, and the staged binaries in `from`.
fn pre_init(home: &Home, from: &Path, hook: &str, token: &str) -> Output {
    Command::new("sh")
        .args(["-c", hook])
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env_remove("TF_CLI_CONFIG_FILE")
        .env("SCALR_HOSTNAME", "example.scalr.io")
        .env("SCALR_TOKEN", token)
        .env("SCALR_OCI_BIN_DIR", from)
        .output()
        .unwrap()
}

#[test]
fn pre_init_points_tofu_at_the_helper_without_a_secret_on_disk() {
    let home = Home::new();
    let from = staged(&home);
    let secret = "pre-init-token-7d1f";
    let hook = format!(
        ". '{}' && . '{}' && printf 'CONFIG=%s\\n' \"$TF_CLI_CONFIG_FILE\" && command -v docker-credential-scalr",
        script("scalr-pre-init.sh").display(),
        script("scalr-pre-init.sh").display()
    );
    let out = pre_init(&home, &from, &hook, secret);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}/docker-credential-scalr", from.display())),
        "{text}"
    );
    let config = home.read(".scalr-oci/tofurc");
    assert_eq!(config, TOFURC);
    // In a run the environment answers: the plugin is linked, no token file.
    assert_eq!(
        std::fs::read_link(plugin_link(&home)).unwrap(),
        from.join("terraform-credentials-scalr")
    );
    assert!(!home.file(".terraform.d/credentials.tfrc.json").exists());
    home.assert_nowhere(secret);

    let missing = Command::new("sh")
        .args([
            "-c",
            &format!(". '{}'", script("scalr-pre-init.sh").display()),
        ])
        .env("HOME", home.path())
        .env_remove("SCALR_TOKEN")
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn pre_init_without_scalr_oci_appends_each_block_once() {
    let home = Home::new();
    let from = staged(&home);
    std::fs::remove_file(from.join("scalr-oci")).unwrap();
    let hook = format!(
        ". '{}' && . '{}'",
        script("scalr-pre-init.sh").display(),
        script("scalr-pre-init.sh").display()
    );
    let out = pre_init(&home, &from, &hook, "pre-init-token-8e2a");
    assert_success(&out);
    assert_eq!(home.read(".scalr-oci/tofurc"), TOFURC);
    assert!(std::fs::read_link(plugin_link(&home)).is_ok());
    home.assert_nowhere("pre-init-token-8e2a");
}
