//! The OpenTofu module package: a reproducible zip of a module directory,
//! and the checks that a zip is a module package OpenTofu can install.
//!
//! Reproducible means the same tree gives the same bytes on any machine and
//! any day: entries sorted by path (bytewise), every entry stamped with one
//! fixed time (1980-01-01, the zip epoch, or `SOURCE_DATE_EPOCH` when it is
//! set), files 0644 and executables 0755 whatever the umask made them, no
//! directory entries (their mtimes and modes would vary; OpenTofu creates
//! the directories), one compression method and level.
//!
//! Left out: `.git/` and `.terraform/` at any depth, `*.tfstate*`,
//! `.terraform.lock.hcl`, what `.terraformignore` in the root lists
//! (gitignore-like: `#` comments, `!` re-includes, a pattern without a `/`
//! matches at any depth, a leading `/` anchors it to the root, the last
//! matching line wins) and `--exclude` globs (same syntax).
//!
//! Refused: a root without a `.tf`/`.tofu` file, a symlink that leaves the
//! directory (or loops), a path that is not UTF-8, and a package written
//! inside the directory it packs. A symlink inside the directory is stored as
//! the file or directory it points to, as `zip -r` does.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::error::{Error, Result};

/// Always left out, whatever `.terraformignore` says.
const DEFAULT_EXCLUDES: &[&str] = &[".git/", ".terraform/", "*.tfstate*", ".terraform.lock.hcl"];
/// The file of extra exclusions OpenTofu and Terraform users already keep.
pub const IGNORE_FILE: &str = ".terraformignore";
/// How deep symlinked directories may nest before we call it a loop.
const MAX_DEPTH: usize = 64;

/// A built package: the zip's bytes and the paths it holds, in order.
pub struct Package {
    pub bytes: Vec<u8>,
    pub entries: Vec<String>,
}

/// What to leave out, compiled: `(pattern set, negated?)` per rule, in order.
struct Excludes {
    rules: Vec<(GlobSet, bool)>,
}

impl Excludes {
    fn new(dir: &Path, extra: &[String]) -> Result<Excludes> {
        let mut lines: Vec<(String, String)> = DEFAULT_EXCLUDES
            .iter()
            .map(|p| ((*p).to_string(), "the defaults".to_string()))
            .collect();
        let ignore = dir.join(IGNORE_FILE);
        match std::fs::read_to_string(&ignore) {
            Ok(text) => lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| (l.to_string(), ignore.display().to_string())),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&ignore, "read")(e)),
        }
        lines.extend(extra.iter().map(|p| (p.clone(), "--exclude".to_string())));
        let rules = lines
            .iter()
            .map(|(line, origin)| compile(line, origin))
            .collect::<Result<_>>()?;
        Ok(Excludes { rules })
    }

    /// `rel` uses `/` and has no trailing slash; `is_dir` says whether it names a directory.
    fn excluded(&self, rel: &str, is_dir: bool) -> bool {
        let probe = if is_dir {
            format!("{rel}/")
        } else {
            rel.to_string()
        };
        let mut excluded = false;
        for (set, negated) in &self.rules {
            if set.is_match(rel) || set.is_match(&probe) {
                excluded = !negated;
            }
        }
        excluded
    }
}

/// One gitignore-like line into the globs that implement it.
fn compile(line: &str, origin: &str) -> Result<(GlobSet, bool)> {
    let (negated, pattern) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let base = trimmed.trim_start_matches('/');
    if base.is_empty() {
        return Err(Error::Package(format!(
            "exclude pattern {line:?} (from {origin}) matches nothing"
        )));
    }
    let base = if anchored {
        base.to_string()
    } else {
        format!("**/{base}")
    };
    // A directory pattern also covers everything under it; a file pattern
    // that names a directory does too, as in .gitignore.
    let mut globs = vec![format!("{base}/**")];
    globs.push(if dir_only { format!("{base}/") } else { base });
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = GlobBuilder::new(&glob)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                Error::Package(format!(
                    "exclude pattern {line:?} (from {origin}) is not a valid glob: {e}"
                ))
            })?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| Error::Package(format!("exclude pattern {line:?}: {e}")))?;
    Ok((set, negated))
}

/// The time every entry carries: `SOURCE_DATE_EPOCH` (seconds since 1970,
/// UTC), else the zip epoch 1980-01-01 00:00:00. Zip cannot say earlier
/// than 1980 or later than 2107; those are refused, not clamped silently.
pub fn entry_time(source_date_epoch: Option<&str>) -> Result<DateTime> {
    let Some(text) = source_date_epoch.filter(|t| !t.trim().is_empty()) else {
        return Ok(DateTime::default());
    };
    let (year, month, day, hour, minute, second) = civil(text)?;
    u16::try_from(year)
        .ok()
        .and_then(|y| DateTime::from_date_and_time(y, month, day, hour, minute, second).ok())
        .ok_or_else(|| {
            Error::Package(format!(
                "SOURCE_DATE_EPOCH={text} is outside what a zip can store (1980 to 2107)"
            ))
        })
}

/// `SOURCE_DATE_EPOCH` as RFC 3339 UTC (the manifest's `created`
/// annotation), to the second (zip entries round to even seconds).
pub fn rfc3339(epoch: &str) -> Result<String> {
    entry_time(Some(epoch))?;
    let (y, mo, d, h, mi, s) = civil(epoch)?;
    Ok(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// Seconds since 1970 (UTC) to (year, month, day, hour, minute, second).
fn civil(text: &str) -> Result<(i64, u8, u8, u8, u8, u8)> {
    let secs: i64 = text.trim().parse().map_err(|_| {
        Error::Package(format!(
            "SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970"
        ))
    })?;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    Ok((
        year,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    ))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Refuses a package path (`--output`) inside `dir`: re-running would pack
/// the package into itself.
pub fn refuse_output_inside(dir: &Path, output: &Path) -> Result<()> {
    let root = canonical(dir)?;
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = canonical(parent)?;
    if parent.starts_with(&root) {
        return Err(Error::Package(format!(
            "the package {} would land inside the module directory {}: the next package would contain it; write it elsewhere",
            output.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(Error::io(path, "resolve"))
}

/// Packs `dir` into a reproducible zip.
pub fn build(dir: &Path, excludes: &[String], source_date_epoch: Option<&str>) -> Result<Package> {
    let root = canonical(dir)?;
    if !root.is_dir() {
        return Err(Error::Package(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let excludes = Excludes::new(&root, excludes)?;
    let mut files = BTreeMap::new();
    collect(&root, &root, "", &excludes, &mut files, 0)?;
    let root_has_module = files
        .keys()
        .any(|rel| !rel.contains('/') && is_module_file(rel));
    if !root_has_module {
        return Err(Error::Package(format!(
            "{} holds no .tf or .tofu file at its root (after exclusions): it is not an OpenTofu module",
            dir.display()
        )));
    }
    let time = entry_time(source_date_epoch)?;
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(time)
        .large_file(false);
    let mut entries = Vec::with_capacity(files.len());
    for (rel, (path, executable)) in files {
        let bytes = std::fs::read(&path).map_err(Error::io(&path, "read"))?;
        let mode = if executable { 0o755 } else { 0o644 };
        zip.start_file(rel.as_str(), options.unix_permissions(mode))
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| Error::Package(format!("cannot add {rel} to the package: {e}")))?;
        entries.push(rel);
    }
    let bytes = zip
        .finish()
        .map_err(|e| Error::Package(format!("cannot finish the package: {e}")))?
        .into_inner();
    Ok(Package { bytes, entries })
}

/// Walks `here` (canonical, inside `root`), adding `rel -> (path, executable)`.
fn collect(
    root: &Path,
    here: &Path,
    prefix: &str,
    excludes: &Excludes,
    files: &mut BTreeMap<String, (PathBuf, bool)>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::Package(format!(
            "{} nests more than {MAX_DEPTH} directories deep (a symlink loop?)",
            here.display()
        )));
    }
    let listing = std::fs::read_dir(here).map_err(Error::io(here, "list"))?;
    for entry in listing {
        let entry = entry.map_err(Error::io(here, "list"))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::Package(format!(
                "{}: the name is not UTF-8; OpenTofu module paths must be",
                path.display()
            )));
        };
        let rel = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(Error::io(&path, "inspect"))?;
        // A symlink is followed, and must stay inside the module.
        let target = if kind.is_symlink() {
            let target = std::fs::canonicalize(&path).map_err(|_| {
                Error::Package(format!(
                    "{}: the symlink points nowhere; fix or remove it",
                    path.display()
                ))
            })?;
            if !target.starts_with(root) {
                return Err(Error::Package(format!(
                    "{}: the symlink leaves the module directory (to {}); the package would not hold what it points to",
                    path.display(),
                    target.display()
                )));
            }
            target
        } else {
            path.clone()
        };
        let meta = std::fs::metadata(&target).map_err(Error::io(&target, "inspect"))?;
        if excludes.excluded(&rel, meta.is_dir()) {
            continue;
        }
        if meta.is_dir() {
            if kind.is_symlink() && here.starts_with(&target) {
                return Err(Error::Package(format!(
                    "{}: the symlink points at a directory that contains it (a loop)",
                    path.display()
                )));
            }
            collect(
                root,
                &target,
                &format!("{rel}/"),
                excludes,
                files,
                depth + 1,
            )?;
        } else if meta.is_file() {
            files.insert(rel, (target, executable(&meta)));
        }
        // Sockets, FIFOs and devices have no place in a module: left out.
    }
    Ok(())
}

/// Whether a file is packed with the executable bits. Windows has no such
/// bits: nothing packed there is marked executable.
fn executable(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// `main.tf`, `x.tofu`, `x.tf.json`, `x.tofu.json`: files OpenTofu reads as configuration.
pub fn is_module_file(name: &str) -> bool {
    [".tf", ".tofu", ".tf.json", ".tofu.json"]
        .iter()
        .any(|ext| name.ends_with(ext) && name.len() > ext.len())
}

/// Why a zip is not an installable module package, one reason per problem.
pub fn problems(bytes: &[u8], subdir: Option<&str>) -> Vec<String> {
    let mut archive = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return vec![format!("the layer is not a readable zip: {e}")],
    };
    let mut problems = Vec::new();
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("zip entry {i} cannot be read: {e}"));
                continue;
            }
        };
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        if let Some(why) = unsafe_entry(&name) {
            problems.push(format!("zip entry {name:?} {why}"));
            continue;
        }
        if file.is_symlink() {
            // A link's target is its content; OpenTofu refuses links that leave the package.
            let mut target = String::new();
            let _ = file.read_to_string(&mut target);
            let joined = Path::new(&name)
                .parent()
                .unwrap_or(Path::new(""))
                .join(&target);
            if target.starts_with('/') || escapes(&joined) {
                problems.push(format!(
                    "zip entry {name:?} is a symlink out of the package (to {target:?})"
                ));
            }
        } else if let Err(e) = std::io::copy(&mut file, &mut std::io::sink()) {
            // Reading to the end checks the CRC.
            problems.push(format!("zip entry {name:?} is corrupt: {e}"));
        }
        names.push(name);
    }
    let dir = subdir
        .map(|s| s.trim_matches('/'))
        .filter(|s| !s.is_empty());
    let holds_module = names.iter().any(|n| {
        let in_dir = match dir {
            Some(d) => n.strip_prefix(d).and_then(|r| r.strip_prefix('/')),
            None => Some(n.as_str()),
        };
        in_dir.is_some_and(|rest| !rest.contains('/') && is_module_file(rest))
    });
    if !holds_module {
        problems.push(match dir {
            Some(d) => {
                format!("the package has no .tf or .tofu file in {d}/ (the //{d} subdirectory)")
            }
            None => "the package has no .tf or .tofu file at its root".to_string(),
        });
    }
    problems
}

/// Why an entry name is unsafe to extract, if it is.
fn unsafe_entry(name: &str) -> Option<&'static str> {
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some("has an absolute path");
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some("contains `..` (it would be written outside the module)");
    }
    None
}

/// Whether a relative path climbs above its start.
fn escapes(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::RootDir | Component::Prefix(_) => return true,
            Component::CurDir => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn names(dir: &Path, excludes: &[&str]) -> Vec<String> {
        let ex: Vec<String> = excludes.iter().map(|s| s.to_string()).collect();
        build(dir, &ex, None).unwrap().entries
    }

    #[test]
    fn defaults_and_terraformignore_leave_things_out() {
        let dir = tree(&[
            ("main.tf", "x"),
            ("modules/vpc/main.tf", "y"),
            (".git/HEAD", "ref"),
            ("modules/vpc/.terraform/x", "z"),
            ("terraform.tfstate", "s"),
            ("terraform.tfstate.backup", "s"),
            (".terraform.lock.hcl", "l"),
            ("secrets/key.pem", "k"),
            ("docs/a.md", "a"),
            ("docs/keep.md", "a"),
            (
                ".terraformignore",
                "# comment\nsecrets/\n*.md\n!docs/keep.md\n",
            ),
        ]);
        assert_eq!(
            names(dir.path(), &[]),
            [
                ".terraformignore",
                "docs/keep.md",
                "main.tf",
                "modules/vpc/main.tf"
            ]
        );
        assert_eq!(
            names(dir.path(), &["modules"]),
            [".terraformignore", "docs/keep.md", "main.tf"]
        );
    }

    #[test]
    fn same_tree_same_bytes_whatever_the_mtimes_and_modes() {
        let files = [("main.tf", "a"), ("b/c.tf", "b"), ("z.txt", "c")];
        let one = tree(&files);
        let two = tree(&files);
        let f = std::fs::File::open(two.path().join("main.tf")).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(9))
            .unwrap();
        // Modes exist on Unix only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                two.path().join("z.txt"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        let a = build(one.path(), &[], None).unwrap().bytes;
        let b = build(two.path(), &[], None).unwrap().bytes;
        assert_eq!(a, b);
        let c = build(two.path(), &[], Some("1700000000")).unwrap().bytes;
        assert_ne!(a, c, "SOURCE_DATE_EPOCH sets the entry time");
        assert!(problems(&a, None).is_empty());
    }

    #[test]
    fn source_date_epoch_is_converted_exactly() {
        assert_eq!(rfc3339("1700000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339("4107542399").unwrap(), "2100-02-28T23:59:59Z");
        assert!(entry_time(Some("0")).is_err());
        assert!(entry_time(Some("soon")).is_err());
        assert_eq!(entry_time(None).unwrap(), DateTime::default());
    }

    #[test]
    fn refuses_what_is_not_a_module() {
        let dir = tree(&[("README.md", "x"), ("sub/main.tf", "y")]);
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(e.contains("no .tf or .tofu file at its root"), "{e}");
        let dir = tree(&[("main.tf", "x")]);
        let e = build(dir.path(), &["*.tf".into()], None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("after exclusions"), "{e}");
    }

    // A symbolic link needs a privilege on Windows, so this runs on Unix.
    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_out_and_keeps_links_in() {
        let outside = tree(&[("secret.txt", "s")]);
        let dir = tree(&[("main.tf", "x"), ("real/v.tf", "v")]);
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("alias")).unwrap();
        assert_eq!(
            names(dir.path(), &[]),
            ["alias/v.tf", "main.tf", "real/v.tf"]
        );
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("leak"))
            .unwrap();
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(e.contains("leaves the module directory"), "{e}");
        std::fs::remove_file(dir.path().join("leak")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("real/loop")).unwrap();
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(e.contains("loop"), "{e}");
    }

    #[test]
    fn refuses_an_output_inside_the_module() {
        let dir = tree(&[("main.tf", "x")]);
        assert!(refuse_output_inside(dir.path(), &dir.path().join("m.zip")).is_err());
        let other = tempfile::tempdir().unwrap();
        refuse_output_inside(dir.path(), &other.path().join("m.zip")).unwrap();
    }

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn names_every_problem_of_a_zip() {
        let bad = zip_of(&[("main.tf", "x"), ("../evil.tf", "y"), ("/etc/x", "z")]);
        let p = problems(&bad, None);
        assert!(p.iter().any(|m| m.contains("`..`")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("absolute")), "{p:?}");
        let sub = zip_of(&[("README.md", "x"), ("modules/vpc/main.tf", "y")]);
        assert!(problems(&sub, Some("modules/vpc")).is_empty());
        assert!(
            problems(&sub, None)[0].contains("at its root"),
            "{:?}",
            problems(&sub, None)
        );
        assert!(problems(b"not a zip", None)[0].contains("not a readable zip"));
    }
}
