//! `--help` of both helpers, run as the built binaries: the verbs, every
//! environment variable the code reads, the settings, and an example each.

use std::path::Path;
use std::process::Command;

fn help_of(bin: &str) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .env_clear()
        .output()
        .expect("the helper runs");
    assert_eq!(out.status.code(), Some(0), "{bin} --help");
    assert!(out.stderr.is_empty(), "{bin} --help wrote to stderr");
    String::from_utf8(out.stdout).unwrap()
}

/// Every `"SCALR_…"`, `"SSL_CERT_…"` and `"XDG_…"` string in `files`: the
/// environment variables the code reads.
fn variables_read_by(files: &[&Path]) -> Vec<String> {
    let mut names = Vec::new();
    for file in files {
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

fn sources(names: &[&str]) -> Vec<std::path::PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    names.iter().map(|n| src.join(n)).collect()
}

#[test]
fn docker_helper_help_lists_verbs_environment_settings_and_an_example() {
    let help = help_of(env!("CARGO_BIN_EXE_docker-credential-scalr"));
    assert!(help.starts_with("docker-credential-scalr - "), "{help}");
    assert!(
        help.contains("Usage: docker-credential-scalr get|store|erase|list|version"),
        "{help}"
    );
    for verb in ["get", "store", "erase", "list", "version"] {
        assert!(
            help.contains(&format!("\n  {verb}\n")),
            "verb {verb} missing:\n{help}"
        );
    }
    let files: Vec<_> = sources(&[
        "settings.rs",
        "https/mod.rs",
        "https/root_index.rs",
        "https/verifier.rs",
        "scalr_access.rs",
        "resolve.rs",
        "control_plane.rs",
        "lib.rs",
    ]);
    let read = variables_read_by(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>());
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
    for setting in [
        "settings.toml",
        "sources",
        "timeout_secs",
        "connect_timeout_secs",
        "ttl_secs",
        "[registries.\"HOST\"]",
    ] {
        assert!(help.contains(setting), "setting {setting} missing:\n{help}");
    }
    assert!(help.contains("Examples:\n  # "), "{help}");
    assert!(
        help.contains("echo ghcr.io | docker-credential-scalr get"),
        "{help}"
    );
}

#[test]
fn host_token_helper_help_lists_verbs_environment_and_an_example() {
    let help = help_of(env!("CARGO_BIN_EXE_terraform-credentials-scalr"));
    assert!(help.starts_with("terraform-credentials-scalr - "), "{help}");
    assert!(
        help.contains("Usage: terraform-credentials-scalr get|store|forget HOST"),
        "{help}"
    );
    for verb in ["get HOST", "store HOST", "forget HOST", "version"] {
        assert!(
            help.contains(&format!("\n  {verb}\n")),
            "verb {verb} missing:\n{help}"
        );
    }
    let files = sources(&["host_token.rs"]);
    let read = variables_read_by(&[files[0].as_path()]);
    assert_eq!(
        read,
        ["SCALR_HOSTNAME", "SCALR_TOKEN"],
        "the variables host_token.rs reads"
    );
    for name in &read {
        assert!(
            help.contains(&format!("\n  {name}\n")),
            "{name} missing:\n{help}"
        );
    }
    assert!(help.contains("credentials_helper \"scalr\""), "{help}");
    assert!(
        help.contains("terraform-credentials-scalr get acme.scalr.io"),
        "{help}"
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
