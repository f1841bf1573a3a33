//! OpenTofu's `provider_installation` block with an `oci_mirror` (OpenTofu
//! 1.10+): providers installed from an OCI registry, a `direct` method for
//! every other provider.
//!
//! - OpenTofu allows one `provider_installation` block in the merged CLI
//!   configuration, so we never add a second: a block we did not write is
//!   left alone (unless `--force` replaces it) and the message shows what
//!   to put in it.
//! - Ours is marked by the comment line [`MARKER`] right above it; that is
//!   how a rerun with another template knows it may replace it.
//! - Edits splice text at hcl-edit's byte spans: every other byte of the
//!   file (comments, layout, line endings) is kept. `.tfrc.json` files are
//!   not edited: the message shows the block to add.
//!
//! This module computes; the command prints.

use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::structure::Structure;

use crate::error::{Error, Result};
use crate::oci::provider::template::Template;
use crate::tofurc::{self, Syntax, TofuFiles};
use crate::write::{self, Mode};

pub const BLOCK: &str = "provider_installation";
/// The comment line above the block we write.
pub const MARKER: &str = "# Written by `scalr-oci configure tofu --provider-mirror`.";

/// The mirror to configure.
#[derive(Clone, Debug)]
pub struct Mirror {
    pub template: Template,
    /// Provider address patterns the mirror serves (`HOST/NAMESPACE/TYPE`,
    /// `*` allowed); none: every provider.
    pub includes: Vec<String>,
}

impl Mirror {
    /// Checked as OpenTofu checks it: the template interpolates what the
    /// patterns leave open.
    pub fn new(template: &str, includes: Vec<String>) -> Result<Mirror> {
        let template = Template::parse(template)?;
        template.check_includes(&includes)?;
        Ok(Mirror { template, includes })
    }

    /// The block, our marker line above it, lines ending in `newline`.
    pub fn hcl(&self, newline: &str) -> String {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = vec![
            MARKER.to_string(),
            format!("{BLOCK} {{"),
            "  oci_mirror {".into(),
            format!("    repository_template = {:?}", self.template.as_str()),
        ];
        if !self.includes.is_empty() {
            lines.push(format!(
                "    include             = [{}]",
                list(&self.includes)
            ));
        }
        lines.push("  }".into());
        if !self.includes.is_empty() {
            lines.push("  direct {".into());
            lines.push(format!("    exclude = [{}]", list(&self.includes)));
            lines.push("  }".into());
        }
        lines.push("}".into());
        let mut out = lines.join(newline);
        out.push_str(newline);
        out
    }
}

/// What [`ensure`] did or would do.
#[derive(Debug, Default)]
pub struct Ensured {
    pub lines: Vec<String>,
    pub changed: bool,
    /// A block we did not write was left as it is (explained in `lines`).
    pub kept: bool,
}

/// Makes the primary file (or `file`) hold our block; see the module docs.
pub fn ensure(files: &TofuFiles, mirror: &Mirror, mode: Mode, force: bool) -> Result<Ensured> {
    let mut done = Ensured::default();
    let show = |why: &str| {
        format!(
            "{why}. OpenTofu allows one {BLOCK} block; add this to it by hand (or pass --force to replace it):\n{}",
            mirror.hcl("\n")
        )
    };
    // A block in another file of the merged set: never a second one.
    for path in files.all().filter(|p| **p != files.primary) {
        let Some(text) = write::read_optional(path)? else {
            continue;
        };
        if Syntax::of(path) == Syntax::Hcl && !spans(path, &text)?.is_empty()
            || Syntax::of(path) == Syntax::Json && text.contains(&format!("\"{BLOCK}\""))
        {
            done.kept = true;
            done.lines.push(show(&format!(
                "{} already has a {BLOCK} block",
                path.display()
            )));
            return Ok(done);
        }
    }
    let path = &files.primary;
    if Syntax::of(path) == Syntax::Json {
        done.kept = true;
        done.lines.push(show(&format!(
            "{} is a JSON file, which scalr-oci does not edit for this",
            path.display()
        )));
        return Ok(done);
    }
    let mut kept_line = None;
    let (change, ()) = write::edit_file(path, mode, 0o600, |text| {
        let text = text.unwrap_or("");
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let ours = mirror.hcl(newline);
        let found = spans(path, text)?;
        let out = match found.as_slice() {
            [] => {
                let mut out = text.to_string();
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push_str(newline);
                }
                if !out.trim().is_empty() {
                    out.push_str(newline);
                }
                out.push_str(&ours);
                out
            }
            [(range, mine)] if *mine || force => {
                let mut out = text.to_string();
                out.replace_range(range.clone(), &ours);
                out
            }
            _ => {
                kept_line = Some(show(&format!(
                    "{} already has a {BLOCK} block that scalr-oci did not write",
                    path.display()
                )));
                return Ok((None, ()));
            }
        };
        Ok(((out != text).then_some(out), ()))
    })?;
    if let Some(line) = kept_line {
        done.kept = true;
        done.lines.push(line);
        return Ok(done);
    }
    done.changed = change.changed;
    let verb = match (change.changed, mode) {
        (false, _) => "already has",
        (true, Mode::Apply) => "now has",
        (true, _) => "would get",
    };
    done.lines.push(format!(
        "{}: {verb} provider_installation {{ oci_mirror {{ repository_template = {:?} }} }}",
        change.path.display(),
        mirror.template.as_str()
    ));
    if let Some(diff) = change.diff {
        done.lines.push(diff);
    }
    Ok(done)
}

/// One `provider_installation` block of the CLI configuration, as the one
/// scan of the files ([`crate::inventory::TofuFile`]) found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    pub path: PathBuf,
    pub kind: InstallationKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallationKind {
    /// In a `.tfrc.json` file, which is not read further.
    Json,
    Hcl {
        /// Each `oci_mirror`'s `repository_template` (`None`: it has none).
        mirrors: Vec<Option<String>>,
        /// Whether scalr-oci wrote it (our [`MARKER`] is above it).
        ours: bool,
    },
}

/// The `provider_installation` blocks of one CLI config file's text; none
/// when it cannot be parsed (the scan keeps that error beside the file).
pub fn installations(path: &Path, text: &str) -> Vec<Installation> {
    let found = |kind| Installation {
        path: path.to_path_buf(),
        kind,
    };
    if Syntax::of(path) == Syntax::Json {
        return if text.contains(&format!("\"{BLOCK}\"")) {
            vec![found(InstallationKind::Json)]
        } else {
            Vec::new()
        };
    }
    let (Ok(body), Ok(marks)) = (tofurc::hcl::parse(path, text), spans(path, text)) else {
        return Vec::new();
    };
    body.iter()
        .filter_map(Structure::as_block)
        .filter(|b| b.ident.as_str() == BLOCK)
        .zip(marks)
        .map(|(block, (_, ours))| {
            let mirrors = block
                .body
                .iter()
                .filter_map(Structure::as_block)
                .filter(|b| b.ident.as_str() == "oci_mirror")
                .map(|b| {
                    let value = &b.body.get_attribute("repository_template")?.value;
                    match value.as_str() {
                        Some(plain) => Some(plain.to_string()),
                        // `${namespace}` makes it a template: shown as written.
                        None => value.as_string_template().and(value.span()).and_then(|at| {
                            Some(text.get(at)?.trim().trim_matches('"').to_string())
                        }),
                    }
                })
                .collect();
            found(InstallationKind::Hcl { mirrors, ours })
        })
        .collect()
}

/// For `status` and `doctor`: where OpenTofu installs providers from, one
/// line per `provider_installation` block the scan found, each line after
/// `indent`.
pub fn report(found: &[Installation], indent: &str, out: &mut dyn std::io::Write) -> Result<()> {
    for installation in found {
        let shown = installation.path.display();
        match &installation.kind {
            InstallationKind::Json => {
                crate::output::say!(out, "{indent}{BLOCK} in {shown} (JSON; not read further)")?
            }
            InstallationKind::Hcl { mirrors, ours } => {
                let what = if mirrors.is_empty() {
                    "no oci_mirror".to_string()
                } else {
                    let templates: Vec<String> = mirrors
                        .iter()
                        .map(|t| match t {
                            Some(t) => format!("{t:?}"),
                            None => "(no repository_template)".into(),
                        })
                        .collect();
                    format!("oci_mirror {}", templates.join(", "))
                };
                let who = if *ours {
                    "written by scalr-oci"
                } else {
                    "not written by scalr-oci"
                };
                crate::output::say!(out, "{indent}{BLOCK} in {shown}: {what} ({who})")?;
            }
        }
    }
    if found.is_empty() {
        crate::output::say!(
            out,
            "{indent}providers: installed from their registries (no {BLOCK}; `scalr-oci configure tofu --provider-mirror` adds an OCI mirror)"
        )?;
    }
    Ok(())
}

/// Every `provider_installation` block of an HCL file: the bytes to replace
/// (whole lines, with our marker line when it is there) and whether it is
/// ours.
fn spans(path: &Path, text: &str) -> Result<Vec<(std::ops::Range<usize>, bool)>> {
    let body = tofurc::hcl::parse(path, text)?;
    let mut found = Vec::new();
    for block in body.iter().filter_map(Structure::as_block) {
        if block.ident.as_str() != BLOCK {
            continue;
        }
        let Some(span) = block.span() else {
            return Err(Error::UnexpectedShape {
                path: path.to_path_buf(),
                reason: format!("the {BLOCK} block's position is unknown"),
            });
        };
        let mut lines = tofurc::hcl::whole_lines(text, span);
        let before = text[..lines.start].trim_end_matches(['\n', '\r']);
        let marker_start = before.rfind('\n').map_or(0, |i| i + 1);
        let mine = before[marker_start..].trim() == MARKER;
        if mine {
            lines.start = marker_start;
        }
        found.push((lines, mine));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(template: &str) -> Mirror {
        Mirror::new(template, vec!["registry.opentofu.org/*/*".into()]).unwrap()
    }

    fn apply(text: &str, mirror: &Mirror, force: bool) -> (String, Ensured) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tofurc");
        std::fs::write(&path, text).unwrap();
        let done = ensure(&TofuFiles::only(path.clone()), mirror, Mode::Apply, force).unwrap();
        (std::fs::read_to_string(&path).unwrap(), done)
    }

    #[test]
    fn added_kept_beside_other_blocks_and_replaced_when_ours() {
        let original =
            "# mine\noci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n";
        let (text, done) = apply(original, &mirror("r.example/m/${namespace}/${type}"), false);
        assert!(done.changed && !done.kept);
        assert!(text.starts_with(original), "{text}");
        assert!(text.contains("repository_template = \"r.example/m/${namespace}/${type}\""));
        assert!(text.contains("exclude = [\"registry.opentofu.org/*/*\"]"));
        let (again, done) = apply(&text, &mirror("r.example/m/${namespace}/${type}"), false);
        assert!(!done.changed);
        assert_eq!(again, text);
        let (moved, done) = apply(
            &text,
            &mirror("r.example/other/${namespace}/${type}"),
            false,
        );
        assert!(done.changed);
        assert!(moved.starts_with(original));
        assert_eq!(moved.matches(BLOCK).count(), 1, "{moved}");
        assert!(moved.contains("r.example/other/"));
    }

    #[test]
    fn a_block_we_did_not_write_is_kept_unless_forced() {
        let original =
            "provider_installation {\n  filesystem_mirror {\n    path = \"/srv/p\"\n  }\n}\n";
        let m = mirror("r.example/m/${namespace}/${type}");
        let (text, done) = apply(original, &m, false);
        assert_eq!(text, original);
        assert!(done.kept);
        assert!(done.lines[0].contains("oci_mirror {"), "{:?}", done.lines);
        let (text, done) = apply(original, &m, true);
        assert!(done.changed);
        assert!(!text.contains("filesystem_mirror") && text.contains("oci_mirror"));
    }

    #[test]
    fn templates_opentofu_refuses_are_refused() {
        assert!(
            Mirror::new(
                "r.example/m/${type}",
                vec!["registry.opentofu.org/*/*".into()]
            )
            .is_err()
        );
    }
}
