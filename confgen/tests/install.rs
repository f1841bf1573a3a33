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
    common::place_program(Path::new(BIN), &dir.join("scalr-oci"));
    for name in ["docker-credential-scalr", "terraform-credentials-scalr"] {
        common::write_script(&dir.join(name), "#!/bin/sh\necho stand-in\n");
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

/// install.sh from the binaries [`staged`] in HOME into HOME/bin.
struct StagedInstall {
    from: PathBuf,
    prefix: PathBuf,
}

impl StagedInstall {
    fn new(home: &Home) -> StagedInstall {
        StagedInstall {
            from: staged(home),
            prefix: home.file("bin"),
        }
    }

    /// `install.sh --from STAGED --prefix HOME/bin EXTRA…`.
    fn run(&self, home: &Home, extra: &[&str]) -> std::process::Output {
        let args = [
            "--from",
            self.from.to_str().unwrap(),
            "--prefix",
            self.prefix.to_str().unwrap(),
        ];
        sh(home, &script("install.sh"), &[&args[..], extra].concat())
    }
}

#[test]
fn install_is_idempotent_has_a_dry_run_and_uninstalls() {
    let home = Home::new();
    let install = StagedInstall::new(&home);
    let prefix = &install.prefix;

    let dry = install.run(&home, &["--dry-run"]);
    assert_success(&dry);
    assert!(
        !prefix.exists() && !home.file(".tofurc").exists() && !home.file(".terraform.d").exists(),
        "--dry-run changed something"
    );
    assert_contains(&stdout(&dry), "would run: ln -s ");
    assert_contains(&stdout(&dry), "+oci_default_credentials {");

    let first = install.run(&home, &[]);
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

    let second = install.run(&home, &[]);
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

/// Attack: a repository ships an executable `docker-credential-scalr` (and
/// `tofu`) at its root, and the hook sources the script from there, as its
/// header says. When sourced, `$0` is the shell, so "this script's directory"
/// was the current directory, and it went first on PATH: the planted binary
/// then ran with SCALR_TOKEN in its environment.
#[test]
fn sourcing_pre_init_never_puts_the_current_directory_on_path() {
    let home = Home::new();
    let from = staged(&home);
    let repo = home.file("repo");
    std::fs::create_dir_all(repo.join("install")).unwrap();
    std::fs::copy(
        script("scalr-pre-init.sh"),
        repo.join("install/scalr-pre-init.sh"),
    )
    .unwrap();
    for planted in ["docker-credential-scalr", "tofu"] {
        common::write_script(
            &repo.join(planted),
            "#!/bin/sh\necho planted \"$SCALR_TOKEN\"\n",
        );
    }
    // Without SCALR_OCI_BIN_DIR and with it: neither may pick the planted one.
    for bin_dir in [None, Some(from.as_path())] {
        let mut cmd = Command::new("sh");
        cmd.current_dir(&repo)
            .args([
                "-c",
                ". ./install/scalr-pre-init.sh; rc=$?; printf 'PATH=%s\\n' \"$PATH\"; \
                 printf 'HELPER=%s\\n' \"$(command -v docker-credential-scalr)\"; exit $rc",
            ])
            .env("HOME", home.path())
            .env("PATH", "/usr/bin:/bin")
            .env_remove("TF_CLI_CONFIG_FILE")
            .env("SCALR_HOSTNAME", "example.scalr.io")
            .env("SCALR_TOKEN", "pre-init-token-cwd");
        match bin_dir {
            Some(dir) => cmd.env("SCALR_OCI_BIN_DIR", dir),
            None => cmd.env_remove("SCALR_OCI_BIN_DIR"),
        };
        let out = cmd.output().unwrap();
        let text = stdout(&out);
        let path_line = text
            .lines()
            .find_map(|l| l.strip_prefix("PATH="))
            .unwrap_or_else(|| panic!("no PATH line: {text}"));
        let repo_abs = repo.canonicalize().unwrap();
        for entry in path_line.split(':') {
            assert!(
                !entry.is_empty()
                    && entry != "."
                    && !entry.starts_with(repo.to_str().unwrap())
                    && !entry.starts_with(repo_abs.to_str().unwrap()),
                "the hook put {entry:?} on PATH ({bin_dir:?}): {text}"
            );
        }
        assert!(!text.contains("planted"), "{text}");
        match bin_dir {
            Some(dir) => {
                assert_success(&out);
                assert_contains(
                    &text,
                    &format!("HELPER={}/docker-credential-scalr", dir.display()),
                );
            }
            // No helper anywhere but the planted one: refuse.
            None => assert!(!out.status.success(), "{text}"),
        }
    }
}

/// Sourcing the hook leaves the caller's shell as it was, but for the
/// variables it documents (PATH, TF_CLI_CONFIG_FILE): no variable of its own
/// overwrites the hook's (`here`, `dir`, `config`…), no function stays.
#[test]
fn sourcing_pre_init_leaves_nothing_but_path_and_tf_cli_config_file() {
    let home = Home::new();
    let from = staged(&home);
    let names = [
        "here",
        "dir",
        "config",
        "existing",
        "host_helper",
        "bin",
        "status",
    ];
    let preset: String = names.iter().map(|n| format!("{n}='mine {n}'; ")).collect();
    let hook = format!(
        "{preset} set > '{before}'; . '{script}'; rc=$?; set > '{after}'; \
         for f in add_block scalr_pre_init scalr_pre_init_work; do \
           if command -v \"$f\" >/dev/null 2>&1; then echo \"FUNCTION LEFT: $f\"; fi; done; \
         echo \"rc=$rc\"",
        before = home.file("before").display(),
        after = home.file("after").display(),
        script = script("scalr-pre-init.sh").display(),
    );
    let out = pre_init(&home, &from, &hook, "pre-init-token-leak");
    let text = stdout(&out);
    assert_contains(&text, "rc=0");
    assert!(!text.contains("FUNCTION LEFT"), "{text}");
    let read_set = |name: &str| -> Vec<String> {
        home.read(name)
            .lines()
            .filter(|l| {
                let name = l.split('=').next().unwrap_or("");
                // Documented, or the shell's own bookkeeping.
                ![
                    "PATH",
                    "TF_CLI_CONFIG_FILE",
                    "_",
                    "rc",
                    "PIPESTATUS",
                    "BASH_LINENO",
                    "LINENO",
                ]
                .contains(&name)
            })
            .map(str::to_owned)
            .collect()
    };
    let before = read_set("before");
    let after = read_set("after");
    let added: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    let lost: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    assert!(
        added.is_empty() && lost.is_empty(),
        "sourcing changed the caller's variables: added {added:?}, lost {lost:?}"
    );
    assert_eq!(home.read(".scalr-oci/tofurc"), TOFURC);
}

/// A relative --prefix used to report success and leave a plugin link that
/// pointed at a relative path (dangling from the plugin directory).
#[test]
fn install_with_a_relative_prefix_links_the_plugin_to_the_real_binary() {
    let home = Home::new();
    let from = staged(&home);
    let out = Command::new("sh")
        .arg(script("install.sh"))
        .args([
            "--from",
            from.to_str().unwrap(),
            "--prefix",
            "rel/bin",
            "--no-configure",
        ])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .unwrap();
    assert_success(&out);
    let link = plugin_link(&home);
    let target = std::fs::read_link(&link).unwrap();
    assert!(
        target.is_absolute(),
        "relative link target {}",
        target.display()
    );
    assert!(
        std::fs::metadata(&link).is_ok(),
        "the plugin link {} -> {} dangles",
        link.display(),
        target.display()
    );
    assert_eq!(
        std::fs::read(&link).unwrap(),
        std::fs::read(from.join("terraform-credentials-scalr")).unwrap()
    );
}

/// Thirty installs into one prefix and one home at once (a provisioning
/// script run twice, parallel CI jobs on one machine): every one succeeds
/// and the result is one whole install, with no temporary file left.
#[test]
fn concurrent_installs_all_succeed_and_leave_one_whole_install() {
    let home = Home::new();
    let from = staged(&home);
    let prefix = home.file("bin");
    let children: Vec<_> = (0..30)
        .map(|_| {
            let mut cmd = Command::new("sh");
            cmd.arg(script("install.sh"))
                .args([
                    "--from",
                    from.to_str().unwrap(),
                    "--prefix",
                    prefix.to_str().unwrap(),
                ])
                .env("HOME", home.path())
                .env("PATH", "/usr/bin:/bin")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for var in ["TF_CLI_CONFIG_FILE", "XDG_CONFIG_HOME", "DOCKER_CONFIG"] {
                cmd.env_remove(var);
            }
            cmd.spawn().unwrap()
        })
        .collect();
    let failed: Vec<String> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 30 failed: {:?}",
        failed.len(),
        failed.first()
    );
    for bin in [
        "scalr-oci",
        "docker-credential-scalr",
        "terraform-credentials-scalr",
    ] {
        assert_eq!(
            std::fs::read(prefix.join(bin)).unwrap(),
            std::fs::read(from.join(bin)).unwrap()
        );
    }
    let left: Vec<_> = std::fs::read_dir(&prefix)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(
        std::fs::read_link(plugin_link(&home)).unwrap(),
        prefix.join("terraform-credentials-scalr")
    );
    assert_eq!(home.read(".tofurc"), TOFURC);
}

// ---- install.sh's texts (issue 18): --help, --dry-run, Docker, --source.

/// `--help` is the usage text, the same whether the script is a file or
/// piped to `sh -s --`; never the script's own source.
#[test]
fn help_prints_the_usage_not_the_script() {
    let home = Home::new();
    let file = sh(&home, &script("install.sh"), &["--help"]);
    assert_success(&file);
    let piped = Command::new("sh")
        .args(["-s", "--", "--help"])
        .stdin(std::fs::File::open(script("install.sh")).unwrap())
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_success(&piped);
    let text = stdout(&file);
    assert_eq!(text, stdout(&piped), "--help differs when piped");
    assert!(
        text.starts_with("install.sh: installs docker-credential-scalr"),
        "{text}"
    );
    for want in [
        "\nUsage:\n  install.sh [--prefix DIR]",
        "curl -sSf URL/install.sh | sh -s -- [OPTIONS]",
        "\nOptions:\n",
        "  --dry-run ",
        "  --source ",
        "  -h, --help ",
        "\nExamples:\n  install.sh ",
        "is left as it is while none is known",
    ] {
        assert_contains(&text, want);
    }
    for source in ["set -eu", "prefix=", "main()", "\n#"] {
        assert!(
            !text.contains(source),
            "--help prints the script ({source:?}):\n{text}"
        );
    }
}

/// The dry run ran the not yet installed scalr-oci from --from, which named
/// the plugin link's target in that directory; the install links the prefix.
#[test]
fn dry_run_links_the_plugin_to_the_prefix_not_the_source_directory() {
    let home = Home::new();
    let install = StagedInstall::new(&home);
    let dry = install.run(&home, &["--dry-run"]);
    let StagedInstall { from, prefix } = install;
    assert_success(&dry);
    let text = stdout(&dry);
    assert_contains(
        &text,
        &format!(
            "plugin terraform-credentials-scalr: would link {} -> {}",
            plugin_link(&home).display(),
            prefix.join("terraform-credentials-scalr").display()
        ),
    );
    assert!(
        !text.contains(&format!(
            "-> {}/terraform-credentials-scalr",
            from.display()
        )),
        "the dry run names the --from directory as the plugin's target:\n{text}"
    );
    assert!(
        !prefix.exists() && !home.file(".tofurc").exists(),
        "--dry-run changed something"
    );
}

/// On a fresh HOME no registry is known: Docker is left as it is, the output
/// says so and how to do it later, and nothing tells the user to run
/// install.sh, the script that is running.
#[test]
fn a_fresh_home_leaves_docker_as_it_is_and_says_how_to_configure_it() {
    let home = Home::new();
    let install = StagedInstall::new(&home);
    let out = install.run(&home, &[]);
    assert_success(&out);
    let text = stdout(&out);
    assert_contains(
        &text,
        "Nothing to configure for Docker: no registry was given and none is known yet (from the OpenTofu configuration or the keychain), so nothing was changed.\nWhen you have one: `scalr-oci configure docker --registry HOST` for each registry",
    );
    assert_contains(
        &text,
        "`scalr-oci configure docker --registry HOST` for Docker",
    );
    assert!(
        !home.file(".docker/config.json").exists(),
        "Docker was configured"
    );
    let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !all.contains("install.sh"),
        "install.sh tells the user to run install.sh:\n{all}"
    );
    // install.sh's own PATH warning is the one that stays.
    assert_contains(&text, "is not on your PATH");
}

/// `--source` is one cargo build of the workspace, shown before it runs.
#[test]
fn source_build_is_one_cargo_build_of_the_workspace() {
    let home = Home::new();
    let cargo_dir = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    let out = Command::new("sh")
        .arg(script("install.sh"))
        .args(["--source", "--dry-run", "--no-configure", "--prefix"])
        .arg(home.file("bin"))
        .env("HOME", home.path())
        .env("PATH", format!("{}:/usr/bin:/bin", cargo_dir.display()))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    let builds: Vec<&str> = text.lines().filter(|l| l.contains("cargo ")).collect();
    assert_eq!(builds.len(), 1, "{text}");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let repo = repo.canonicalize().unwrap();
    assert_eq!(
        builds[0],
        format!(
            "would run: cargo build --release --locked --manifest-path {0}/Cargo.toml --target-dir {0}/target -p docker-credential-scalr -p scalr-oci",
            repo.display()
        )
    );
}
