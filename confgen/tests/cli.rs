//! The `scalr-oci` binary end to end, in a temporary home: file locations
//! as OpenTofu, Docker and containers find them, idempotence, --dry-run,
//! --check, errors, modes, symlinks, concurrency, help, completions, man.

mod common;

use common::{Home, assert_success, stderr, stdout};

#[test]
fn configure_tofu_twice_changes_nothing_the_second_time() {
    let home = Home::new();
    home.write(".tofurc", "# mine\nplugin_cache_dir = \"/tmp/cache\"\n");
    let first = home.run(&["configure", "tofu", "--default", "--registry", "ghcr.io"]);
    assert_success(&first);
    assert!(stdout(&first).contains("added in"), "{}", stdout(&first));
    let after_first = home.read(".tofurc");
    assert!(after_first.starts_with("# mine\nplugin_cache_dir = \"/tmp/cache\"\n"));
    assert!(
        after_first.contains(
            "oci_credentials \"ghcr.io\" {\n  docker_credentials_helper = \"scalr\"\n}\n"
        )
    );
    let second = home.run(&["configure", "tofu", "--default", "--registry", "ghcr.io"]);
    assert_success(&second);
    assert!(
        stdout(&second).contains("Nothing to change"),
        "{}",
        stdout(&second)
    );
    assert_eq!(home.read(".tofurc"), after_first);
}

#[test]
fn dry_run_prints_a_diff_and_check_exits_1_until_applied() {
    let home = Home::new();
    let dry = home.run(&["configure", "tofu", "--registry", "ghcr.io", "--dry-run"]);
    assert_success(&dry);
    assert!(
        stdout(&dry).contains("+oci_credentials \"ghcr.io\" {"),
        "{}",
        stdout(&dry)
    );
    assert!(!home.file(".tofurc").exists(), "dry run wrote a file");
    let check = home.run(&["configure", "tofu", "--registry", "ghcr.io", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(!home.file(".tofurc").exists(), "--check wrote a file");
    assert_success(&home.run(&["configure", "tofu", "--registry", "ghcr.io"]));
    assert_success(&home.run(&["configure", "tofu", "--registry", "ghcr.io", "--check"]));
}

#[test]
fn an_unparsable_file_is_reported_with_line_and_column_and_left_untouched() {
    let home = Home::new();
    let broken =
        "oci_credentials \"ghcr.io\" {\n  username = \"a\"\n  password = \"cli-broken-secret\n}\n";
    home.write(".tofurc", broken);
    let out = home.run(&["configure", "tofu", "--default"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(".tofurc:") && err.contains("untouched"),
        "{err}"
    );
    assert!(!err.contains("cli-broken-secret"), "{err}");
    assert_eq!(home.read(".tofurc"), broken);
}

#[test]
fn labels_are_validated_as_opentofu_does() {
    let home = Home::new();
    for bad in [
        "https://ghcr.io",
        "ghcr.io/org",
        "user@ghcr.io",
        "ghcr.io:0",
        "ghcr.io:99999",
        "-bad.example",
    ] {
        let out = home.run(&["configure", "tofu", &format!("--registry={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad} was accepted");
        assert!(
            stderr(&out).contains("invalid registry label"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!home.file(".tofurc").exists());
    assert_success(&home.run(&[
        "configure",
        "tofu",
        "--registry",
        "[::1]:5000",
        "--registry",
        "localhost:5000",
    ]));
}

#[test]
fn a_block_elsewhere_in_the_merged_set_is_never_duplicated() {
    let home = Home::new();
    home.write(".tofurc", "disable_checkpoint = true\n");
    home.write(
        ".terraform.d/oci.tfrc",
        "oci_credentials \"ghcr.io\" {\n  docker_credentials_helper = \"ecr-login\"\n}\n\noci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n",
    );
    let out = home.run(&["configure", "tofu", "--default", "--registry", "ghcr.io"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("--force"), "{}", stdout(&out));
    assert_eq!(home.read(".tofurc"), "disable_checkpoint = true\n");
    let forced = home.run(&[
        "configure",
        "tofu",
        "--default",
        "--registry",
        "ghcr.io",
        "--force",
    ]);
    assert_success(&forced);
    assert_eq!(home.read(".tofurc"), "disable_checkpoint = true\n");
    let merged = home.read(".terraform.d/oci.tfrc");
    assert_eq!(merged.matches("oci_credentials \"ghcr.io\"").count(), 1);
    assert!(
        merged.contains("docker_credentials_helper = \"scalr\"\n}\n\noci_default"),
        "{merged}"
    );
}

#[test]
fn locations_follow_opentofu() {
    // TF_CLI_CONFIG_FILE replaces the whole set.
    let home = Home::new();
    let custom = home.file("custom.tfrc");
    let out = home
        .command(&["configure", "tofu", "--default"])
        .env("TF_CLI_CONFIG_FILE", &custom)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(custom.exists() && !home.file(".tofurc").exists());

    // A fresh install with XDG_CONFIG_HOME uses $XDG_CONFIG_HOME/opentofu/tofurc.
    let home = Home::new();
    let xdg = home.file("xdg");
    let out = home
        .command(&["configure", "tofu", "--default"])
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(xdg.join("opentofu/tofurc").exists());

    // The legacy ~/.terraformrc is used when it is the only one.
    let home = Home::new();
    home.write(".terraformrc", "");
    assert_success(&home.run(&["configure", "tofu", "--default"]));
    assert!(
        home.read(".terraformrc")
            .contains("oci_default_credentials")
    );
    assert!(!home.file(".tofurc").exists());
}

#[test]
fn docker_config_keeps_keys_order_and_mode_and_uses_tabs() {
    let home = Home::new();
    let original = "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t},\n\t\"zeta\": {\"nested\": [1, 2]},\n\t\"alpha\": true,\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t}\n}";
    let path = home.write(".docker/config.json", original);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = home.run(&[
        "configure",
        "docker",
        "--registry",
        "ghcr.io",
        "--registry",
        "docker.io",
    ]);
    assert_success(&out);
    let text = home.read(".docker/config.json");
    assert_eq!(
        text,
        "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t},\n\t\"zeta\": {\n\t\t\"nested\": [\n\t\t\t1,\n\t\t\t2\n\t\t]\n\t},\n\t\"alpha\": true,\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"ghcr.io\": \"scalr\",\n\t\t\"https://index.docker.io/v1/\": \"scalr\"\n\t}\n}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
    let again = home.run(&[
        "configure",
        "docker",
        "--registry",
        "ghcr.io",
        "--registry",
        "docker.io",
    ]);
    assert!(
        stdout(&again).contains("Nothing to change"),
        "{}",
        stdout(&again)
    );
    assert_eq!(home.read(".docker/config.json"), text);
    // Another helper stays unless --force.
    let out = home.run(&["configure", "docker", "--registry", "gcr.io"]);
    assert_eq!(out.status.code(), Some(2));
    assert_success(&home.run(&["configure", "docker", "--registry", "gcr.io", "--force"]));
    assert!(
        home.read(".docker/config.json")
            .contains("\"gcr.io\": \"scalr\"")
    );
}

#[test]
fn a_new_docker_config_is_private_and_docker_config_is_honoured() {
    let home = Home::new();
    let dir = home.file("dockercfg");
    let out = home
        .command(&["configure", "docker", "--store"])
        .env("DOCKER_CONFIG", &dir)
        .output()
        .unwrap();
    assert_success(&out);
    let path = dir.join("config.json");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n\t\"credsStore\": \"scalr\"\n}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_written_through_like_docker_does() {
    let home = Home::new();
    let real = home.write("dotfiles/docker.json", "{}");
    std::fs::create_dir_all(home.file(".docker")).unwrap();
    std::os::unix::fs::symlink(&real, home.file(".docker/config.json")).unwrap();
    assert_success(&home.run(&["configure", "docker", "--registry", "ghcr.io"]));
    let link = std::fs::symlink_metadata(home.file(".docker/config.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the symlink was replaced");
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("\"ghcr.io\": \"scalr\"")
    );
}

#[test]
fn containers_key_docker_hub_as_docker_io_and_honour_registry_auth_file() {
    let home = Home::new();
    let auth = home.file("auth.json");
    let out = home
        .command(&[
            "configure",
            "containers",
            "--registry",
            "https://index.docker.io/v1/",
            "--registry",
            "quay.io",
        ])
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        std::fs::read_to_string(&auth).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"docker.io\": \"scalr\",\n\t\t\"quay.io\": \"scalr\"\n\t}\n}"
    );
    // Without REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR wins.
    let run = home.file("run");
    let out = home
        .command(&["configure", "containers", "--registry", "quay.io"])
        .env("XDG_RUNTIME_DIR", &run)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(run.join("containers/auth.json").exists());
}

#[test]
fn invalid_json_is_reported_with_line_and_column() {
    let home = Home::new();
    let broken = "{\n\t\"auths\": {\n\t\t\"x\": {\"auth\": \"c2VjcmV0OnNlY3JldA==\"}\n\t,\n}";
    home.write(".docker/config.json", broken);
    let out = home.run(&["configure", "docker", "--registry", "ghcr.io"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("config.json:5:1:") && err.contains("untouched"),
        "{err}"
    );
    assert!(!err.contains("c2VjcmV0"), "{err}");
    assert_eq!(home.read(".docker/config.json"), broken);
}

#[test]
fn twenty_concurrent_runs_keep_all_twenty_blocks() {
    let home = Home::new();
    home.write(".tofurc", "# shared by 20 writers\n");
    let children: Vec<_> = (0..20)
        .map(|i| {
            home.command(&[
                "configure",
                "tofu",
                "--registry",
                &format!("r{i}.example.com"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let text = home.read(".tofurc");
    assert!(text.starts_with("# shared by 20 writers\n"));
    for i in 0..20 {
        assert_eq!(
            text.matches(&format!("oci_credentials \"r{i}.example.com\" {{"))
                .count(),
            1,
            "r{i} missing or doubled:\n{text}"
        );
    }
    let path = home.file(".tofurc");
    let blocks = scalr_oci::tofurc::credential_blocks(&path, &text).unwrap();
    assert_eq!(blocks.len(), 20);
    // No temporary file is left behind.
    let leftovers: Vec<_> = common::walk(home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn every_subcommand_has_help_with_examples() {
    let home = Home::new();
    for args in [
        vec![],
        vec!["configure", "tofu"],
        vec!["configure", "docker"],
        vec!["configure", "containers"],
        vec!["migrate"],
        vec!["login"],
        vec!["logout"],
        vec!["registry", "add"],
        vec!["registry", "remove"],
        vec!["registry", "list"],
        vec!["status"],
        vec!["doctor"],
        vec!["completions"],
        vec!["man"],
    ] {
        let mut full = args.clone();
        full.push("--help");
        let out = home.run(&full);
        assert_success(&out);
        assert!(
            stdout(&out).contains("Examples:"),
            "{args:?} --help has no examples"
        );
    }
}

#[test]
fn completions_and_man_pages_come_from_the_clap_definitions() {
    let home = Home::new();
    let bash = home.run(&["completions", "bash"]);
    assert_success(&bash);
    assert!(stdout(&bash).contains("--all-from-control-plane"));
    let man = home.run(&["man"]);
    assert_success(&man);
    assert!(stdout(&man).contains(".TH scalr-oci"));
    let dir = home.file("man1");
    assert_success(&home.run(&["man", "--out-dir", dir.to_str().unwrap()]));
    assert!(dir.join("scalr-oci-configure-tofu.1").exists());
    assert!(dir.join("scalr-oci-registry-add.1").exists());
}

#[test]
fn no_subcommand_takes_a_secret_from_argv() {
    let home = Home::new();
    for args in [
        vec![
            "registry",
            "add",
            "ghcr.io",
            "--username",
            "a",
            "--password",
            "x",
        ],
        vec!["login", "--token", "x"],
    ] {
        let out = home.run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} accepted a secret option"
        );
    }
}
