//! `--help` of both helpers, run as the built binaries: the verbs, every
//! environment variable the code reads, the settings, and an example each.

use std::path::Path;
use std::process::Command;

/// `BIN --help`, checked: it succeeds, writes nothing to stderr, starts
/// with `NAME - ` (NAME is `bin` without directory and extension), shows
/// `usage` and lists each of `verbs` on a line of its own.
fn help_of(bin: &str, usage: &str, verbs: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .env_clear()
        .output()
        .expect("the helper runs");
    assert_eq!(out.status.code(), Some(0), "{bin} --help");
    assert!(out.stderr.is_empty(), "{bin} --help wrote to stderr");
    let help = String::from_utf8(out.stdout).unwrap();
    let name = Path::new(bin).file_stem().unwrap().to_str().unwrap();
    assert!(help.starts_with(&format!("{name} - ")), "{help}");
    assert_mentions(&help, &[usage]);
    assert_listed(&help, "verb", verbs);
    help
}

/// Every `"SCALR_…"`, `"SSL_CERT_…"` and `"XDG_…"` string in `files` (paths
/// under `src/`): the environment variables the code reads.
fn variables_read_by(files: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = Vec::new();
    for file in files {
        let file = src.join(file);
        let text = std::fs::read_to_string(file).unwrap();
        // The unit tests at the bottom of a file set variables of their own.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for piece in code.split('"').skip(1).step_by(2) {
            let is_name = !piece.is_empty()
                && piece
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            let ours = ["SCALR_", "SSL_CERT_", "XDG_"]
                .iter()
                .any(|p| piece.starts_with(p));
            if is_name && ours && !names.iter().any(|n| n == piece) {
                names.push(piece.to_string());
            }
        }
    }
    names.sort();
    names
}

/// Asserts that `help` holds each of `items` on a line of its own, as
/// `--help` lists verbs and variables (`\n  ITEM\n`); `kind` names what is
/// missing.
#[track_caller]
fn assert_listed<S: AsRef<str>>(help: &str, kind: &str, items: &[S]) {
    for item in items {
        let item = item.as_ref();
        assert!(
            help.contains(&format!("\n  {item}\n")),
            "{kind} {item} missing:\n{help}"
        );
    }
}

/// Asserts that `help` contains each of `texts`.
#[track_caller]
fn assert_mentions(help: &str, texts: &[&str]) {
    for text in texts {
        assert!(help.contains(text), "{text:?} missing:\n{help}");
    }
}

#[test]
fn docker_helper_help_lists_verbs_environment_settings_and_an_example() {
    let help = help_of(
        env!("CARGO_BIN_EXE_docker-credential-scalr"),
        "Usage: docker-credential-scalr get|store|erase|list|version",
        &["get", "store", "erase", "list", "version"],
    );
    let read = variables_read_by(&[
        "settings.rs",
        "https/mod.rs",
        "https/root_index.rs",
        "https/verifier.rs",
        "scalr_access.rs",
        "resolve.rs",
        "control_plane.rs",
        "lib.rs",
    ]);
    assert!(
        read.len() >= 10,
        "the scan found too few variables: {read:?}"
    );
    for name in &read {
        assert!(
            help.contains(name.as_str()),
            "{name} is read but not in --help:\n{help}"
        );
    }
    // The settings, and an example.
    assert_mentions(
        &help,
        &[
            "settings.toml",
            "sources",
            "timeout_secs",
            "connect_timeout_secs",
            "ttl_secs",
            "[registries.\"HOST\"]",
            "Examples:\n  # ",
            "echo ghcr.io | docker-credential-scalr get",
        ],
    );
}

#[test]
fn host_token_helper_help_lists_verbs_environment_and_an_example() {
    let help = help_of(
        env!("CARGO_BIN_EXE_terraform-credentials-scalr"),
        "Usage: terraform-credentials-scalr get|store|forget HOST",
        &["get HOST", "store HOST", "forget HOST", "version"],
    );
    let read = variables_read_by(&["host_token.rs"]);
    assert_eq!(
        read,
        ["SCALR_HOSTNAME", "SCALR_TOKEN"],
        "the variables host_token.rs reads"
    );
    assert_listed(&help, "variable", &read);
    assert_mentions(
        &help,
        &[
            "credentials_helper \"scalr\"",
            "terraform-credentials-scalr get acme.scalr.io",
        ],
    );
}

#[test]
fn a_bad_call_still_gets_the_one_line_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-credentials-scalr"))
        .arg("fetch")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "terraform-credentials-scalr: Usage: terraform-credentials-scalr get|store|forget HOST   (OpenTofu's credentials_helper protocol)\n"
    );
}
