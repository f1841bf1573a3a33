//! The config writers, tried as an attacker (or an unlucky user) would: each
//! test performs the attack against the real binary in a temporary home.
//!
//! Proves: a `--dry-run` diff never shows a secret, however the file is laid
//! out; a lock file is never created through a symlink, and a held lock ends
//! in a bounded wait that names it; a write interrupted before its rename
//! leaves only a private temporary file, which the next run removes;
//! `migrate` names the OAuth tokens it cannot move; a relative `HOME` is
//! refused before anything is written.

mod common;

#[cfg(unix)]
use std::process::Stdio;
#[cfg(unix)]
use std::time::{Duration, Instant};

use base64::Engine;
use common::{Home, assert_contains, assert_refused, assert_success, stderr, stdout};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn dry_run_diffs_never_show_a_secret_of_a_one_line_file() {
    let home = Home::new();
    let auth = b64("alice:attack-docker-auth-1");
    home.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{auth}"}},"ghcr.io":{{"identitytoken":"attack-identity-2"}}}}}}"#
        ),
    );
    home.write(
        ".terraform.d/one.tfrc.json",
        r#"{"oci_credentials":{"ghcr.io":{"username":"u","password":"attack-json-3"}},"credentials":{"app.terraform.io":{"token":"attack-json-4"}}}"#,
    );
    home.write(
        ".tofurc",
        "credentials \"app.terraform.io\" { token = \"attack-hcl-5\" }\nplugin_cache_dir = \"/tmp/c\"\n",
    );
    let runs = [
        vec!["configure", "docker", "--registry", "quay.io", "--dry-run"],
        vec![
            "configure",
            "tofu",
            "--default",
            "--file",
            ".terraform.d/one.tfrc.json",
            "--dry-run",
        ],
        vec!["configure", "tofu", "--default", "--dry-run"],
    ];
    for args in runs {
        let mut cmd = home.command(&args);
        let out = cmd.current_dir(home.path()).output().unwrap();
        assert_success(&out);
        let shown = format!("{}{}", stdout(&out), stderr(&out));
        for secret in [
            auth.as_str(),
            "attack-identity-2",
            "attack-json-3",
            "attack-json-4",
            "attack-hcl-5",
        ] {
            assert!(
                !shown.contains(secret),
                "{args:?} showed {secret}:\n{shown}"
            );
        }
        assert!(
            shown.contains("Dry run: nothing was written."),
            "{args:?}:\n{shown}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_lock_file_is_never_created_through_a_symlink() {
    let home = Home::new();
    let victim = home.file("victim");
    let lock = home.file(".tofurc.scalr-oci.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let out = home.run(&["configure", "tofu", "--default"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        !victim.exists(),
        "the lock was created where a symlink points"
    );
    assert_contains(&stderr(&out), ".tofurc.scalr-oci.lock");
    assert!(!home.file(".tofurc").exists());
}

#[cfg(unix)]
#[test]
fn a_held_lock_ends_in_a_bounded_wait_that_names_the_lock_file() {
    let home = Home::new();
    let lock = home.file(".tofurc.scalr-oci.lock");
    std::fs::write(&lock, "").unwrap();
    // Another process (another user's, say) holds the lock and keeps it.
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "120"])
        .spawn()
        .expect("flock(1) from util-linux");
    std::thread::sleep(Duration::from_millis(300));
    let mut child = home
        .command(&["configure", "tofu", "--default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let finished = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !finished {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(finished, "scalr-oci waited for the lock for a minute");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_contains(&err, ".tofurc.scalr-oci.lock");
    assert!(!home.file(".tofurc").exists());
}

#[cfg(unix)]
#[test]
fn an_interrupted_write_leaves_a_private_temporary_that_the_next_run_removes() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let tofurc = home.write(".tofurc", "# shared\n");
    std::fs::set_permissions(&tofurc, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = home
        .command(&["configure", "tofu", "--default"])
        .env("SCALR_OCI_FAILPOINT", "rename:1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(86),
        "no interruption point between write and rename"
    );
    let temporaries: Vec<_> = common::walk(home.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(temporaries.len(), 1, "{temporaries:?}");
    let mode = std::fs::metadata(&temporaries[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the temporary file is readable by others"
    );
    assert_eq!(home.read(".tofurc"), "# shared\n");

    assert_success(&home.run(&["configure", "tofu", "--default"]));
    assert!(!temporaries[0].exists(), "the stale temporary was left");
    let mode = std::fs::metadata(&tofurc).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "the file's own mode was not kept");
}

#[test]
fn migrate_names_the_oauth_tokens_it_cannot_move() {
    let home = Home::new();
    let text = "oci_credentials \"ghcr.io\" {\n  access_token  = \"attack-oauth-6\"\n  refresh_token = \"attack-oauth-7\"\n}\n";
    home.write(".tofurc", text);
    for args in [vec!["migrate", "--dry-run"], vec!["migrate"]] {
        let out = home.run(&args);
        assert_refused(
            &out,
            &stdout(&out),
            &["left \"ghcr.io\"", "access_token"],
            "attack-oauth",
            &format!("{args:?}"),
        );
        assert_eq!(home.read(".tofurc"), text);
    }
}

#[test]
fn a_relative_home_is_refused_before_anything_is_written() {
    let home = Home::new();
    let cwd = home.file("work");
    std::fs::create_dir_all(&cwd).unwrap();
    for args in [
        vec!["configure", "tofu", "--default"],
        vec!["configure", "tofu", "--credentials-helper"],
        vec!["configure", "docker", "--registry", "ghcr.io"],
    ] {
        let out = home
            .command(&args)
            .env("HOME", "relative-home")
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert_contains(&stderr(&out), "HOME");
        assert!(
            common::walk(&cwd).is_empty(),
            "{args:?} wrote under the working directory"
        );
    }
}
