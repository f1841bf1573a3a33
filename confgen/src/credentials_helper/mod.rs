//! OpenTofu's `credentials_helper "scalr" {}` block and the plugin it names,
//! `terraform-credentials-scalr` (issue 8): the Scalr host token from the
//! OS keychain instead of `credentials.tfrc.json`.
//!
//! Facts from OpenTofu v1.12.6's source:
//! - At most one `credentials_helper` block across the merged CLI config set
//!   (two is a fatal error), so we never add one when any file has one.
//!
//! This module computes; the commands print. It is split by job:
//! - here: the `credentials_helper` block (find, add, replace) and
//!   [`ensure`], which writes the block and places the plugin;
//! - [`plaintext`]: plain-text `credentials "HOST" { token }` blocks, which
//!   `migrate` moves into the keychain;
//! - [`plugin`]: where OpenTofu looks for `terraform-credentials-scalr`,
//!   and placing it there.
//!
//! Who answers each Scalr host is a fact of the machine, not of this block:
//! [`crate::inventory::Inventory::host_token_answers`].

mod plaintext;
mod plugin;

pub use plaintext::{credentials_blocks, without_credentials};
use plugin::placing;
pub use plugin::{Placement, installed_plugin, place, placement, plugin_dir, plugin_path};

use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::structure::{Block, Structure};

use serde_json::{Map, Value};

use crate::environment::Env;
use crate::error::{Error, Result};
use crate::json_format;
use crate::tofurc::{self, Syntax, TofuFiles};
use crate::write::{self, Mode};

/// The helper name: OpenTofu runs `terraform-credentials-scalr`.
pub const NAME: &str = "scalr";
pub const BLOCK: &str = "credentials_helper";
pub const PLUGIN: &str = "terraform-credentials-scalr";
/// The plugin's file name in the plugin directory: the program name, with
/// `.exe` on Windows (see [`plugin`]).
#[cfg(windows)]
pub const PLUGIN_FILE: &str = "terraform-credentials-scalr.exe";
#[cfg(not(windows))]
pub const PLUGIN_FILE: &str = PLUGIN;
/// OpenTofu's block for a host token written into the CLI config by hand.
pub const CREDENTIALS: &str = "credentials";

/// One `credentials_helper` block of the merged set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// Its label: the helper's name.
    pub name: String,
}

/// Every `credentials_helper` block in the files OpenTofu reads.
pub fn blocks(locations: &TofuFiles) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for path in locations.all() {
        let Some(text) = write::read_optional(path)? else {
            continue;
        };
        for name in names_in(path, &text)? {
            found.push(Found {
                path: path.clone(),
                name,
            });
        }
    }
    Ok(found)
}

/// The names of the `credentials_helper` blocks in one file's text.
pub(crate) fn names_in(path: &Path, text: &str) -> Result<Vec<String>> {
    Ok(match Syntax::of(path) {
        Syntax::Hcl => hcl_blocks(path, text, BLOCK, |b| {
            Some(
                b.labels
                    .first()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default(),
            )
        })?,
        Syntax::Json => match tofurc::json::parse(path, text)?.get(BLOCK) {
            Some(Value::Object(helpers)) => helpers.keys().cloned().collect(),
            Some(_) => vec![String::new()],
            None => Vec::new(),
        },
    })
}

/// `text` with our block added at the end (HCL) or as a key (JSON); `None`
/// when there is nothing to add: the file names our helper already, or
/// another one and `replace` is off.
pub fn with_block(path: &Path, text: Option<&str>, replace: bool) -> Result<Option<String>> {
    let text = text.unwrap_or("");
    let names = names_in(path, text)?;
    // Ours alone: done. Another helper's, not to be replaced: never add a
    // second block (OpenTofu refuses two).
    if !names.is_empty() && (names.iter().all(|n| n == NAME) || !replace) {
        return Ok(None);
    }
    Ok(Some(match Syntax::of(path) {
        Syntax::Hcl => {
            let kept = if replace {
                without_hcl_blocks(path, text)?
            } else {
                text.to_string()
            };
            append_hcl(&kept)
        }
        Syntax::Json => {
            let mut root = match tofurc::json::parse(path, text)? {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            let mut ours = Map::new();
            ours.insert(NAME.into(), Value::Object(Map::new()));
            root.insert(BLOCK.into(), Value::Object(ours));
            let original = (!text.is_empty()).then_some(text);
            json_format::to_string_like(&Value::Object(root), original)
        }
    }))
}

/// Removes every `credentials_helper` block (with its line), keeping every
/// other byte.
fn without_hcl_blocks(path: &Path, text: &str) -> Result<String> {
    cut_hcl_blocks(path, text, BLOCK, |_| true)
}

/// What `each` makes of the top-level `ident` blocks of an HCL file's
/// text, in order, those it makes nothing of left out.
pub(super) fn hcl_blocks<T>(
    path: &Path,
    text: &str,
    ident: &str,
    each: impl FnMut(&Block) -> Option<T>,
) -> Result<Vec<T>> {
    Ok(tofurc::hcl::parse(path, text)?
        .iter()
        .filter_map(Structure::as_block)
        .filter(|b| b.ident.as_str() == ident)
        .filter_map(each)
        .collect())
}

/// `text` without the `ident` blocks that `pick` selects, each with the whole
/// lines it stands on (`tofurc::hcl::whole_lines`).
pub(super) fn cut_hcl_blocks(
    path: &Path,
    text: &str,
    ident: &str,
    pick: impl Fn(&Block) -> bool,
) -> Result<String> {
    let mut spans = hcl_blocks(path, text, ident, |b| b.span().filter(|_| pick(b)))?;
    spans.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for span in spans {
        let lines = tofurc::hcl::whole_lines(&out, span);
        out.replace_range(lines, "");
    }
    Ok(out)
}

fn append_hcl(text: &str) -> String {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(newline);
    }
    if !out.trim().is_empty() && !out.ends_with(&format!("{newline}{newline}")) {
        out.push_str(newline);
    }
    out.push_str(&format!("{BLOCK} \"{NAME}\" {{}}{newline}"));
    out
}

/// What [`ensure`] did or would do, as lines for the person who ran it.
#[derive(Debug, Default)]
pub struct Ensured {
    pub lines: Vec<String>,
    /// Something was (or, not applying, would be) written or linked.
    pub changed: bool,
    /// Settings left as they are, each explained in `lines`.
    pub kept: usize,
}

/// Makes OpenTofu ask `terraform-credentials-scalr` for host tokens: our
/// block in the CLI config (`file`, else the merged set OpenTofu reads;
/// never a second `credentials_helper`; another helper's block replaced
/// only with `force`) and the plugin link.
pub fn ensure(env: &Env, file: Option<PathBuf>, mode: Mode, force: bool) -> Result<Ensured> {
    let locations = match file {
        Some(file) => TofuFiles::only(file),
        None => TofuFiles::find(env)?,
    };
    let subject = format!("{BLOCK} \"{NAME}\"");
    let applied = mode == Mode::Apply;
    let mut done = Ensured::default();

    let found = blocks(&locations)?;
    let other = found.iter().find(|f| f.name != NAME);
    let target = match (found.first(), other) {
        (None, _) => Some(locations.primary.clone()),
        (Some(_), None) => {
            let files: Vec<String> = found.iter().map(|f| f.path.display().to_string()).collect();
            done.lines.push(if found.len() > 1 {
                format!(
                    "warning: {subject} appears {} times ({}); OpenTofu refuses more than one credentials_helper block",
                    found.len(),
                    files.join(", ")
                )
            } else {
                format!("{subject}: already there ({})", files[0])
            });
            None
        }
        (Some(_), Some(other)) if !force || found.iter().any(|f| f.path != other.path) => {
            done.kept += 1;
            done.lines.push(format!(
                "{subject}: not added: {} names credentials_helper \"{}\" and OpenTofu allows only one; {}",
                other.path.display(),
                other.name,
                if force {
                    "blocks are in several files: remove the others by hand"
                } else {
                    "pass --force to replace it"
                }
            ));
            None
        }
        (Some(_), Some(other)) => Some(other.path.clone()),
    };
    if let Some(path) = target {
        let (outcome, ()) = write::edit_file(&path, mode, 0o600, |text| {
            Ok((with_block(&path, text, force)?, ()))
        })?;
        if outcome.changed {
            done.changed = true;
            let verb = if applied { "added" } else { "would add" };
            done.lines
                .push(format!("{subject}: {verb} in {}", outcome.path.display()));
        }
        if let Some(diff) = outcome.diff {
            done.lines.push(diff.trim_end().to_string());
        }
    }

    let plugin = format!("plugin {PLUGIN}");
    let dir = plugin_dir(env)?;
    let place_shown = dir.join(PLUGIN_FILE).display().to_string();
    let installed = installed_plugin(env);
    match (&installed, placement(&dir, installed.as_deref())) {
        (None, _) => {
            done.kept += 1;
            done.lines.push(format!(
                "{plugin}: not {}: {PLUGIN} is neither beside scalr-oci nor on PATH; install it with install/install.sh",
                placing::DONE
            ));
        }
        (Some(binary), Placement::Link(to)) if to == *binary => done.lines.push(format!(
            "{plugin}: already {} ({})",
            placing::DONE,
            placing::shown(&place_shown, binary)
        )),
        (Some(binary), Placement::Copy) => done.lines.push(format!(
            "{plugin}: already there ({place_shown}, the same bytes as {})",
            binary.display()
        )),
        (Some(_), Placement::Other) if !force => {
            done.kept += 1;
            done.lines.push(format!(
                "{plugin}: left as it is: {place_shown} {}; pass --force to replace it",
                placing::NOT_OURS
            ));
        }
        (Some(binary), _) => {
            done.changed = true;
            if applied {
                place(&dir, binary).map_err(Error::io(dir.join(PLUGIN_FILE), placing::VERB))?;
            }
            let verb = if applied {
                placing::DONE.to_string()
            } else {
                format!("would {}", placing::VERB)
            };
            done.lines.push(format!(
                "{plugin}: {verb} {}",
                placing::shown(&place_shown, binary)
            ));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hcl(text: &str, replace: bool) -> Option<String> {
        with_block(Path::new("/x/.tofurc"), Some(text), replace).unwrap()
    }

    #[test]
    fn adds_the_block_once_keeping_everything_else() {
        let original =
            "# mine\noci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n";
        let new = hcl(original, false).unwrap();
        assert_eq!(
            new,
            format!("{original}\ncredentials_helper \"scalr\" {{}}\n")
        );
        assert_eq!(hcl(&new, false), None, "idempotent");
        assert_eq!(
            with_block(Path::new("/x/.tofurc"), None, false)
                .unwrap()
                .unwrap(),
            "credentials_helper \"scalr\" {}\n"
        );
        assert_eq!(
            hcl("a = 1\r\n", false).unwrap(),
            "a = 1\r\n\r\ncredentials_helper \"scalr\" {}\r\n"
        );
    }

    #[test]
    fn replaces_another_helper_only_when_asked() {
        let other = "# top\ncredentials_helper \"vault\" {\n  args = [\"-v\"]\n}\nplugin_cache_dir = \"/c\"\n";
        assert_eq!(names_in(Path::new("/x/.tofurc"), other).unwrap(), ["vault"]);
        let forced = hcl(other, true).unwrap();
        assert_eq!(
            forced,
            "# top\nplugin_cache_dir = \"/c\"\n\ncredentials_helper \"scalr\" {}\n"
        );
    }

    #[test]
    fn json_files_get_a_key() {
        let path = Path::new("/x/a.tfrc.json");
        let new = with_block(path, Some("{\n  \"x\": 1\n}\n"), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            new,
            "{\n  \"x\": 1,\n  \"credentials_helper\": {\n    \"scalr\": {}\n  }\n}\n"
        );
        assert_eq!(with_block(path, Some(&new), false).unwrap(), None);
    }

    #[test]
    fn credentials_blocks_of_wanted_hosts_come_out_and_nothing_else() {
        use secrecy::ExposeSecret;
        let path = Path::new("/x/.tofurc");
        let text = "# top\ncredentials \"acme.scalr.io\" {\n  token = \"t-acme\"\n}\ncredentials \"app.terraform.io\" {\n  token = \"t-tfc\"\n}\nx = 1\n";
        let scalr = |h: &str| h.ends_with(".scalr.io");
        let found = credentials_blocks(path, text, &scalr).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].0.as_str(), found[0].1.expose_secret()),
            ("acme.scalr.io", "t-acme")
        );
        assert_eq!(
            without_credentials(path, text, &["acme.scalr.io".into()]).unwrap(),
            "# top\ncredentials \"app.terraform.io\" {\n  token = \"t-tfc\"\n}\nx = 1\n"
        );
        let json = Path::new("/x/a.tfrc.json");
        let text = "{\n  \"credentials\": {\n    \"acme.scalr.io\": {\n      \"token\": \"t-acme\"\n    }\n  }\n}\n";
        assert_eq!(credentials_blocks(json, text, &scalr).unwrap().len(), 1);
        assert_eq!(
            without_credentials(json, text, &["acme.scalr.io".into()]).unwrap(),
            "{}\n"
        );
    }

    /// A plugin directory and an "installed" binary in a temporary tree.
    fn installed_binary(root: &Path, bytes: &str) -> PathBuf {
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let binary = bin.join(PLUGIN_FILE);
        std::fs::write(&binary, bytes).unwrap();
        binary
    }

    #[test]
    fn a_placed_plugin_is_ours_and_placing_again_replaces_it() {
        let root = tempfile::tempdir().unwrap();
        let binary = installed_binary(root.path(), "helper v1");
        let plugins = root.path().join("plugins");
        assert_eq!(placement(&plugins, Some(&binary)), Placement::Missing);
        place(&plugins, &binary).unwrap();
        let ours = if cfg!(windows) {
            Placement::Copy
        } else {
            Placement::Link(binary.clone())
        };
        assert_eq!(placement(&plugins, Some(&binary)), ours);
        place(&plugins, &binary).unwrap();
        assert_eq!(placement(&plugins, Some(&binary)), ours);
        // Only the plugin is left: no temporary file beside it.
        let names: Vec<String> = std::fs::read_dir(&plugins)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [PLUGIN_FILE]);
    }

    #[test]
    fn a_file_that_is_not_the_installed_binary_is_not_ours() {
        let root = tempfile::tempdir().unwrap();
        let binary = installed_binary(root.path(), "helper v1");
        let plugins = root.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join(PLUGIN_FILE), "someone else's").unwrap();
        assert_eq!(placement(&plugins, Some(&binary)), Placement::Other);
        assert_eq!(placement(&plugins, None), Placement::Other);
    }

    /// OpenTofu on Windows: `%APPDATA%\terraform.d\plugins`, whatever the
    /// XDG variables say, and the file is `terraform-credentials-scalr.exe`,
    /// a copy that an upgrade of the installed binary makes stale.
    #[cfg(windows)]
    #[test]
    fn on_windows_the_plugin_is_an_exe_copied_under_appdata() {
        let root = tempfile::tempdir().unwrap();
        let appdata = root.path().join("Roaming");
        let env = Env {
            home: Some(root.path().join("home")),
            appdata: Some(appdata.clone()),
            xdg_config_home: Some(root.path().join("xdg-config")),
            xdg_data_home: Some(root.path().join("xdg-data")),
            ..Env::default()
        };
        let expected = appdata
            .join("terraform.d")
            .join("plugins")
            .join("terraform-credentials-scalr.exe");
        assert_eq!(plugin_path(&env).unwrap(), expected);

        let binary = installed_binary(root.path(), "helper v1");
        place(&plugin_dir(&env).unwrap(), &binary).unwrap();
        let meta = std::fs::symlink_metadata(&expected).unwrap();
        assert!(meta.is_file() && !meta.file_type().is_symlink());
        assert_eq!(std::fs::read(&expected).unwrap(), b"helper v1");

        std::fs::write(&binary, "helper v2").unwrap();
        assert_eq!(
            placement(&plugin_dir(&env).unwrap(), Some(&binary)),
            Placement::Other
        );
        let env = Env {
            appdata: None,
            ..env
        };
        assert!(plugin_dir(&env).is_err(), "no APPDATA, no plugin directory");
    }
}
