//! The `scalr-oci` binary end to end, in a temporary home: file locations
//! as OpenTofu, Docker and containers find them, idempotence, --dry-run,
//! --check, errors, modes, symlinks, concurrency, help, completions, man.

mod common;

use std::path::PathBuf;

use clap::CommandFactory;
use common::{Home, assert_contains, assert_refused, assert_success, stderr, stdout};

/// A fresh home whose every command has `var` (a location variable the
/// tools honour) naming the path `rel` in it; returns the home and that path.
fn home_with_location(var: &str, rel: &str) -> (Home, PathBuf) {
    let mut home = Home::new();
    let path = home.file(rel);
    home.env
        .push((var.to_string(), path.to_string_lossy().into_owned()));
    (home, path)
}

/// `args` on a home whose `rel` holds the unparsable `broken` must be
/// refused with an error that says the file was left untouched, without
/// quoting `secret`, and `rel` must be left byte for byte. Returns the error.
fn refused_over_broken_file(rel: &str, broken: &str, args: &[&str], secret: &str) -> String {
    let home = Home::new();
    home.write(rel, broken);
    let out = home.run(args);
    let err = stderr(&out);
    assert_refused(&out, &err, &["untouched"], secret, rel);
    assert_eq!(home.read(rel), broken);
    err
}

#[test]
fn configure_tofu_twice_changes_nothing_the_second_time() {
    let home = Home::new();
    home.write(".tofurc", "# mine\nplugin_cache_dir = \"/tmp/cache\"\n");
    let first = home.run(&["configure", "tofu", "--default", "--registry", "ghcr.io"]);
    assert_success(&first);
    assert_contains(&stdout(&first), "added in");
    let after_first = home.read(".tofurc");
    assert!(after_first.starts_with("# mine\nplugin_cache_dir = \"/tmp/cache\"\n"));
    assert!(
        after_first.contains(
            "oci_credentials \"ghcr.io\" {\n  docker_credentials_helper = \"scalr\"\n}\n"
        )
    );
    let second = home.run(&["configure", "tofu", "--default", "--registry", "ghcr.io"]);
    assert_success(&second);
    assert_contains(&stdout(&second), "Nothing to change");
    assert_eq!(home.read(".tofurc"), after_first);
}

#[test]
fn dry_run_prints_a_diff_and_check_exits_1_until_applied() {
    let home = Home::new();
    let dry = home.run(&["configure", "tofu", "--registry", "ghcr.io", "--dry-run"]);
    assert_success(&dry);
    assert_contains(&stdout(&dry), "+oci_credentials \"ghcr.io\" {");
    assert!(!home.file(".tofurc").exists(), "dry run wrote a file");
    let check = home.run(&["configure", "tofu", "--registry", "ghcr.io", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(!home.file(".tofurc").exists(), "--check wrote a file");
    assert_success(&home.run(&["configure", "tofu", "--registry", "ghcr.io"]));
    assert_success(&home.run(&["configure", "tofu", "--registry", "ghcr.io", "--check"]));
}

#[test]
fn an_unparsable_file_is_reported_with_line_and_column_and_left_untouched() {
    let err = refused_over_broken_file(
        ".tofurc",
        "oci_credentials \"ghcr.io\" {\n  username = \"a\"\n  password = \"cli-broken-secret\n}\n",
        &["configure", "tofu", "--default"],
        "cli-broken-secret",
    );
    assert_contains(&err, ".tofurc:");
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
        assert_contains(&stderr(&out), "invalid registry label");
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
    assert_contains(&stdout(&out), "--force");
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
    assert_contains(
        &merged,
        "docker_credentials_helper = \"scalr\"\n}\n\noci_default",
    );
}

#[test]
fn locations_follow_opentofu() {
    // TF_CLI_CONFIG_FILE replaces the whole set.
    let (home, custom) = home_with_location("TF_CLI_CONFIG_FILE", "custom.tfrc");
    assert_success(&home.run(&["configure", "tofu", "--default"]));
    assert!(custom.exists() && !home.file(".tofurc").exists());

    // A fresh install with XDG_CONFIG_HOME uses $XDG_CONFIG_HOME/opentofu/tofurc.
    let (home, xdg) = home_with_location("XDG_CONFIG_HOME", "xdg");
    assert_success(&home.run(&["configure", "tofu", "--default"]));
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
    // No mode bits on Windows: only the keys' order and the tabs are checked.
    #[cfg(not(unix))]
    let _ = path;
    let args = [
        "configure",
        "docker",
        "--registry",
        "ghcr.io",
        "--registry",
        "docker.io",
    ];
    assert_success(&home.run(&args));
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
    assert_contains(&stdout(&home.run(&args)), "Nothing to change");
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
    let (home, dir) = home_with_location("DOCKER_CONFIG", "dockercfg");
    assert_success(&home.run(&["configure", "docker", "--store"]));
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
    let out = home.run_with_env(
        &[
            "configure",
            "containers",
            "--registry",
            "https://index.docker.io/v1/",
            "--registry",
            "quay.io",
        ],
        "REGISTRY_AUTH_FILE",
        &auth,
    );
    assert_success(&out);
    assert_eq!(
        std::fs::read_to_string(&auth).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"docker.io\": \"scalr\",\n\t\t\"quay.io\": \"scalr\"\n\t}\n}"
    );
    // Without REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR wins.
    let run = home.file("run");
    assert_success(&home.run_with_env(
        &["configure", "containers", "--registry", "quay.io"],
        "XDG_RUNTIME_DIR",
        &run,
    ));
    assert!(run.join("containers/auth.json").exists());
}

#[test]
fn invalid_json_is_reported_with_line_and_column() {
    let err = refused_over_broken_file(
        ".docker/config.json",
        "{\n\t\"auths\": {\n\t\t\"x\": {\"auth\": \"c2VjcmV0OnNlY3JldA==\"}\n\t,\n}",
        &["configure", "docker", "--registry", "ghcr.io"],
        "c2VjcmV0",
    );
    assert_contains(&err, "config.json:5:1:");
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
    /// The command lines that run something: the leaves of the clap tree.
    fn leaves(cmd: &clap::Command, path: &[&str]) -> Vec<Vec<String>> {
        let subs: Vec<_> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
        if subs.is_empty() {
            return vec![path.iter().map(|s| s.to_string()).collect()];
        }
        subs.into_iter()
            .flat_map(|sub| leaves(sub, &[path, &[sub.get_name()]].concat()))
            .collect()
    }
    let home = Home::new();
    let cli = scalr_oci::cli::Cli::command();
    // The top-level help, then every subcommand's.
    let mut all = vec![Vec::new()];
    all.extend(leaves(&cli, &[]));
    assert!(
        all.len() > 10,
        "the clap tree has too few subcommands: {all:?}"
    );
    for args in all {
        let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
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
fn registry_add_help_describes_its_argument_and_username() {
    let out = Home::new().run(&["registry", "add", "--help"]);
    assert_success(&out);
    let help = stdout(&out);
    for want in [
        "<REGISTRY>  The registry, as `docker login` takes it: host[:port]",
        "https://ghcr.io/v2/; the path is ignored",
        "-u, --username <USERNAME>  The registry user the password or token belongs to",
    ] {
        assert!(
            help.contains(want),
            "registry add --help lacks {want:?}:\n{help}"
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
    // The helpers' pages: the same text as their --help, rendered by man.
    for (helper, verb, variable) in [
        ("docker-credential-scalr", "erase", "SCALR_OCI_SOURCES"),
        ("terraform-credentials-scalr", "forget HOST", "SCALR_TOKEN"),
    ] {
        let page = std::fs::read_to_string(dir.join(format!("{helper}.1"))).unwrap();
        assert!(page.starts_with(".TH "), "{helper}.1 is not a man page");
        for want in [
            ".SH VERBS".to_string(),
            format!(".B {}", verb),
            ".SH ENVIRONMENT".to_string(),
            format!(".B {}", variable.replace('-', "\\-")),
            ".SH EXAMPLES".to_string(),
        ] {
            assert!(page.contains(&want), "{helper}.1 lacks {want:?}:\n{page}");
        }
    }
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
