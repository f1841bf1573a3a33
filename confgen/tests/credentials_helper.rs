//! `scalr-oci configure tofu --credentials-helper` (issue 8): the
//! `credentials_helper "scalr" {}` block and the plugin link, run for real
//! in a temporary home: idempotent, --dry-run, --check, never a second
//! `credentials_helper` in the merged set, another helper's block left alone
//! unless --force.

// The Unix layout: the plugin is a symbolic link in `~/.terraform.d/plugins`
// and the stand-in plugin is a shell script. Windows' copy in
// `%APPDATA%\terraform.d\plugins` is tested by the unit tests of
// `credentials_helper` and `status`.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{Home, assert_success, stderr, stdout};

const BLOCK: &str = "credentials_helper \"scalr\" {}\n";

/// scalr-oci with a stand-in terraform-credentials-scalr beside it, as
/// install.sh leaves them.
fn installed(home: &Home) -> PathBuf {
    let dir = home.file("bin");
    std::fs::create_dir_all(&dir).unwrap();
    common::place_program(Path::new(common::BIN), &dir.join("scalr-oci"));
    common::write_script(
        &dir.join("terraform-credentials-scalr"),
        "#!/bin/sh\necho '{}'\n",
    );
    dir
}

fn configure(home: &Home, bin: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec!["configure", "tofu", "--credentials-helper"];
    args.extend_from_slice(extra);
    home.command_of(&bin.join("scalr-oci"), &args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn link(home: &Home) -> PathBuf {
    home.file(".terraform.d/plugins/terraform-credentials-scalr")
}

#[test]
fn adds_the_block_and_links_the_plugin_once() {
    let home = Home::new();
    let bin = installed(&home);
    home.write(".tofurc", "# mine\nplugin_cache_dir = \"/tmp/cache\"\n");

    let dry = configure(&home, &bin, &["--dry-run"]);
    assert_success(&dry);
    let said = stdout(&dry);
    assert!(said.contains("+credentials_helper \"scalr\" {}"), "{said}");
    assert!(said.contains("would link"), "{said}");
    assert!(!home.read(".tofurc").contains("credentials_helper"));
    assert!(!home.file(".terraform.d").exists(), "--dry-run linked");
    assert_eq!(configure(&home, &bin, &["--check"]).status.code(), Some(1));

    assert_success(&configure(&home, &bin, &[]));
    assert_eq!(
        home.read(".tofurc"),
        format!("# mine\nplugin_cache_dir = \"/tmp/cache\"\n\n{BLOCK}")
    );
    assert_eq!(
        std::fs::read_link(link(&home)).unwrap(),
        bin.join("terraform-credentials-scalr")
    );

    let again = configure(&home, &bin, &[]);
    assert_success(&again);
    assert!(
        stdout(&again).contains("Nothing to change"),
        "{}",
        stdout(&again)
    );
    assert_success(&configure(&home, &bin, &["--check"]));
    assert_eq!(
        home.read(".tofurc").matches("credentials_helper").count(),
        1
    );
}

#[test]
fn another_helper_anywhere_in_the_merged_set_is_kept_unless_forced() {
    let home = Home::new();
    let bin = installed(&home);
    let other = "credentials_helper \"vault\" {\n  args = [\"-v\"]\n}\n";
    home.write(".terraform.d/vault.tfrc", other);

    let kept = configure(&home, &bin, &[]);
    assert_eq!(kept.status.code(), Some(2), "{}", stdout(&kept));
    let said = stdout(&kept);
    assert!(
        said.contains("vault.tfrc") && said.contains("--force"),
        "{said}"
    );
    assert!(
        stderr(&kept).contains("left as they are"),
        "{}",
        stderr(&kept)
    );
    assert!(!home.file(".tofurc").exists(), "a second block was written");
    assert_eq!(home.read(".terraform.d/vault.tfrc"), other);

    assert_success(&configure(&home, &bin, &["--force"]));
    assert_eq!(home.read(".terraform.d/vault.tfrc"), BLOCK);
    assert!(!home.file(".tofurc").exists());
}

#[test]
fn a_plugin_file_that_is_not_our_link_is_left_alone() {
    let home = Home::new();
    let bin = installed(&home);
    home.write(
        ".terraform.d/plugins/terraform-credentials-scalr",
        "#!/bin/sh\n",
    );
    let out = configure(&home, &bin, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("not a link of ours"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        home.read(".terraform.d/plugins/terraform-credentials-scalr"),
        "#!/bin/sh\n"
    );
    // The block itself is still written: only the plugin needs a decision.
    assert_eq!(home.read(".tofurc"), BLOCK);
}
