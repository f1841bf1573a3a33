//! install/install.sh and install/scalr-pre-init.sh, run for real in a
//! temporary home: install, idempotent re-run, --dry-run, --uninstall, the
//! PATH warning; the pre-init hook writes the default-helper block, is
//! idempotent, and puts no secret on disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Home, assert_success, stdout};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../install")
        .join(name)
}

/// A directory with scalr-oci and a stand-in helper (the installer only
/// copies it).
fn staged(home: &Home) -> PathBuf {
    let dir = home.file("staged");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(BIN, dir.join("scalr-oci")).unwrap();
    let helper = dir.join("docker-credential-scalr");
    std::fs::write(&helper, "#!/bin/sh\necho stand-in\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

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
        !prefix.exists() && !home.file(".tofurc").exists(),
        "--dry-run changed something"
    );
    assert!(
        stdout(&dry).contains("+oci_default_credentials {"),
        "{}",
        stdout(&dry)
    );

    let first = sh(&home, &script("install.sh"), &args);
    assert_success(&first);
    assert!(prefix.join("scalr-oci").exists() && prefix.join("docker-credential-scalr").exists());
    assert!(
        stdout(&first).contains("is not on your PATH"),
        "{}",
        stdout(&first)
    );
    let tofurc = home.read(".tofurc");
    assert_eq!(
        tofurc,
        "oci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n"
    );

    let second = sh(&home, &script("install.sh"), &args);
    assert_success(&second);
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("Nothing to change"),
        "{}",
        stdout(&second)
    );
    assert_eq!(home.read(".tofurc"), tofurc);

    let gone = sh(
        &home,
        &script("install.sh"),
        &["--uninstall", "--prefix", prefix.to_str().unwrap()],
    );
    assert_success(&gone);
    assert!(!prefix.join("scalr-oci").exists() && !prefix.join("docker-credential-scalr").exists());
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
    let out = Command::new("sh")
        .args(["-c", &hook])
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env_remove("TF_CLI_CONFIG_FILE")
        .env("SCALR_HOSTNAME", "example.scalr.io")
        .env("SCALR_TOKEN", secret)
        .env("SCALR_OCI_BIN_DIR", &from)
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}/docker-credential-scalr", from.display())),
        "{text}"
    );
    let config = home.read(".scalr-oci/tofurc");
    assert_eq!(
        config,
        "oci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n"
    );
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
