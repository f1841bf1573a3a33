//! The OpenTofu module package: a reproducible zip of a module directory
//! ([`super::verify`] checks that a zip is a module package OpenTofu can install).
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
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::{Error, Result};

/// Always left out, whatever `.terraformignore` says.
const DEFAULT_EXCLUDES: &[&str] = &[".git/", ".terraform/", "*.tfstate*", ".terraform.lock.hcl"];
/// The file of extra exclusions OpenTofu and Terraform users already keep.
pub const IGNORE_FILE: &str = ".terraformignore";
/// How deep symlinked directories may nest before we call it a loop.
pub const MAX_DEPTH: usize = 64;

/// A built package: the zip's bytes and the paths it holds, in order.
pub struct Package {
    pub bytes: Vec<u8>,
    pub entries: Vec<String>,
}

/// `.terraformignore` larger than this is refused (a real one is a few lines).
pub const MAX_IGNORE_FILE: u64 = 64 * 1024;

/// One rule: its globs, whether it re-includes (`!`), where it came from.
struct Rule {
    set: GlobSet,
    negated: bool,
}

/// What to leave out, compiled: the built-in excludes, which nothing can
/// re-include, then `.terraformignore` and `--exclude` rules in order.
struct Excludes {
    defaults: Vec<Rule>,
    rules: Vec<Rule>,
}

/// A pattern and where it was written: origin, line, column (1-based).
struct Line<'a> {
    text: &'a str,
    origin: &'a str,
    line: usize,
    column: usize,
}

impl Excludes {
    fn new(root: &Path, extra: &[String]) -> Result<Excludes> {
        let defaults = DEFAULT_EXCLUDES
            .iter()
            .enumerate()
            .map(|(i, p)| {
                compile(&Line {
                    text: p,
                    origin: "the built-in excludes",
                    line: i + 1,
                    column: 1,
                })
            })
            .collect::<Result<_>>()?;
        let ignore = root.join(IGNORE_FILE);
        let text = read_ignore_file(&ignore)?.unwrap_or_default();
        let origin = ignore.display().to_string();
        let mut lines: Vec<Line<'_>> = text
            .lines()
            .enumerate()
            .filter_map(|(i, raw)| {
                let trimmed = raw.trim();
                (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| Line {
                    text: trimmed,
                    origin: &origin,
                    line: i + 1,
                    column: raw.len() - raw.trim_start().len() + 1,
                })
            })
            .collect();
        lines.extend(extra.iter().enumerate().map(|(i, p)| Line {
            text: p.trim(),
            origin: "--exclude",
            line: i + 1,
            column: 1,
        }));
        let rules = lines.iter().map(compile).collect::<Result<_>>()?;
        Ok(Excludes { defaults, rules })
    }

    /// `rel` uses `/` and has no trailing slash; `is_dir` says whether it names a directory.
    fn excluded(&self, rel: &str, is_dir: bool) -> bool {
        let probe = if is_dir {
            format!("{rel}/")
        } else {
            rel.to_string()
        };
        let hit = |rule: &Rule| rule.set.is_match(rel) || rule.set.is_match(&probe);
        if self.defaults.iter().any(hit) {
            return true;
        }
        let mut excluded = false;
        for rule in &self.rules {
            if hit(rule) {
                excluded = !rule.negated;
            }
        }
        excluded
    }
}

/// `.terraformignore`'s text, if there is one: only a regular file in the
/// module itself (never through a symlink, never a FIFO or a device), at
/// most [`MAX_IGNORE_FILE`] bytes.
fn read_ignore_file(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, "inspect")(e)),
    };
    let refused = |why| Error::IgnoreFileRefused {
        path: path.to_path_buf(),
        why,
    };
    if meta.file_type().is_symlink() {
        return Err(refused(
            "it is a symlink, which could point outside the module",
        ));
    }
    if !meta.is_file() {
        return Err(refused("it is not a regular file"));
    }
    let file = open_regular(path)?;
    let too_large = || Error::IgnoreFileTooLarge {
        path: path.to_path_buf(),
        limit: MAX_IGNORE_FILE,
    };
    let mut bytes = Vec::new();
    file.take(MAX_IGNORE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(path, "read"))?;
    if bytes.len() as u64 > MAX_IGNORE_FILE {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::IgnoreFileNotUtf8 {
            path: path.to_path_buf(),
        })
}

/// Opens `path` for reading only if it is a regular file: a FIFO or a
/// device is never waited on (`O_NONBLOCK`), a symlink never followed
/// (`O_NOFOLLOW`), and the type is checked on the open file.
fn open_regular(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(Error::io(path, "open"))?;
    let meta = file.metadata().map_err(Error::io(path, "inspect"))?;
    if !meta.is_file() {
        return Err(Error::NotRegular {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// One gitignore-like line into the globs that implement it.
fn compile(line: &Line<'_>) -> Result<Rule> {
    let (negated, pattern) = match line.text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line.text),
    };
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let base = trimmed.trim_start_matches('/');
    if base.is_empty() {
        return Err(Error::EmptyPattern {
            origin: line.origin.to_string(),
            line: line.line,
            column: line.column,
        });
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
    let bad = |why| Error::BadPattern {
        origin: line.origin.to_string(),
        line: line.line,
        column: line.column,
        why,
    };
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = GlobBuilder::new(&glob)
            .literal_separator(true)
            .build()
            .map_err(|e| bad(glob_error(e.kind())))?;
        builder.add(glob);
    }
    let set = builder.build().map_err(|e| bad(glob_error(e.kind())))?;
    Ok(Rule { set, negated })
}

/// globset's reason in our words: its own quote the pattern.
fn glob_error(kind: &globset::ErrorKind) -> &'static str {
    use globset::ErrorKind as K;
    match kind {
        K::UnclosedClass => "a `[` without `]`",
        K::InvalidRange(..) => "a character range that runs backwards",
        K::UnopenedAlternates => "a `}` without `{`",
        K::UnclosedAlternates => "a `{` without `}`",
        K::DanglingEscape => "a `\\` at the end",
        _ => "not a glob",
    }
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
        .ok_or_else(|| Error::EpochOutOfRange {
            text: text.to_string(),
        })
}

/// `SOURCE_DATE_EPOCH` as RFC 3339 UTC (the manifest's `created`
/// annotation), to the second (zip entries round to even seconds).
pub fn rfc3339(epoch: &str) -> Result<String> {
    entry_time(Some(epoch))?;
    let (y, mo, d, h, mi, s) = civil(epoch)?;
    Ok(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// Seconds since 1970 (UTC) to (year, month, day, hour, minute, second),
/// by `jiff` (the calendar crate the helper already links).
fn civil(text: &str) -> Result<(i64, u8, u8, u8, u8, u8)> {
    let secs: i64 = text.trim().parse().map_err(|_| Error::BadEpoch {
        text: text.to_string(),
    })?;
    let at = jiff::Timestamp::from_second(secs).map_err(|_| Error::EpochOutOfRange {
        text: text.to_string(),
    })?;
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    // jiff's fields are small signed integers; a civil time's month, day,
    // hour, minute and second are never negative.
    let field = |v: i8| v.unsigned_abs();
    Ok((
        i64::from(t.year()),
        field(t.month()),
        field(t.day()),
        field(t.hour()),
        field(t.minute()),
        field(t.second()),
    ))
}

/// Refuses a package path (`--output`) inside `dir`: re-running would pack
/// the package into itself. The path is resolved as a write would resolve
/// it: its directory, and the file itself when it is a symlink (even one
/// that points at nothing yet).
pub fn refuse_output_inside(dir: &Path, output: &Path) -> Result<()> {
    let root = canonical(dir)?;
    let mut path = output.to_path_buf();
    for _ in 0..MAX_DEPTH {
        match std::fs::read_link(&path) {
            Ok(target) => path = parent_of(&path).join(target),
            Err(_) => break,
        }
    }
    let resolved = canonical(parent_of(&path))?;
    if resolved.starts_with(&root) || std::fs::read_link(&path).is_ok() {
        return Err(Error::OutputInside {
            output: output.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn canonical(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(Error::io(path, "resolve"))
}

/// Packs `dir` into a reproducible zip.
pub fn build(dir: &Path, excludes: &[String], source_date_epoch: Option<&str>) -> Result<Package> {
    let root = canonical(dir)?;
    if !root.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let excludes = Excludes::new(&root, excludes)?;
    let mut files = BTreeMap::new();
    collect(&root, &root, "", &excludes, &mut files, 0)?;
    let root_has_module = files
        .keys()
        .any(|rel| !rel.contains('/') && is_module_file(rel));
    if !root_has_module {
        return Err(Error::NotAModule {
            path: dir.to_path_buf(),
        });
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
        let mut bytes = Vec::new();
        open_regular(&path)?
            .read_to_end(&mut bytes)
            .map_err(Error::io(&path, "read"))?;
        let mode = if executable { 0o755 } else { 0o644 };
        zip.start_file(rel.as_str(), options.unix_permissions(mode))
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| Error::Zip {
                entry: rel.clone(),
                detail: e.to_string(),
            })?;
        entries.push(rel);
    }
    let bytes = zip
        .finish()
        .map_err(|e| Error::Zip {
            entry: "the central directory".into(),
            detail: e.to_string(),
        })?
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
        return Err(Error::TooDeep {
            path: here.to_path_buf(),
            limit: MAX_DEPTH,
        });
    }
    let listing = std::fs::read_dir(here).map_err(Error::io(here, "list"))?;
    for entry in listing {
        let entry = entry.map_err(Error::io(here, "list"))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::NameNotUtf8 { path });
        };
        let rel = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(Error::io(&path, "inspect"))?;
        // A symlink is followed, and must stay inside the module.
        let target = if kind.is_symlink() {
            let target = std::fs::canonicalize(&path)
                .map_err(|_| Error::DanglingLink { path: path.clone() })?;
            if !target.starts_with(root) {
                return Err(Error::LinkLeaves { path, target });
            }
            target
        } else {
            path.clone()
        };
        let meta = std::fs::metadata(&target).map_err(Error::io(&target, "inspect"))?;
        // Left out by the name it is packed under, or by what it really is
        // (a symlink to state, or into an excluded directory).
        let real = target
            .strip_prefix(root)
            .ok()
            .and_then(Path::to_str)
            .map(|r| r.replace('\\', "/"))
            .unwrap_or_default();
        if excludes.excluded(&rel, meta.is_dir())
            || (!real.is_empty() && excludes.excluded(&real, meta.is_dir()))
        {
            continue;
        }
        if meta.is_dir() {
            if kind.is_symlink() && here.starts_with(&target) {
                return Err(Error::LinkLoop { path });
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
        assert!(crate::package::verify::problems(&a, None).is_empty());
    }

    #[test]
    fn source_date_epoch_is_converted_exactly() {
        assert_eq!(rfc3339("1700000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339("4107542399").unwrap(), "2100-02-28T23:59:59Z");
        // A leap day, and the last second zip can store.
        assert_eq!(rfc3339("951782400").unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339("4354819199").unwrap(), "2107-12-31T23:59:59Z");
        assert!(
            entry_time(Some("4354819200")).is_err(),
            "2108 is past zip's range"
        );
        assert!(
            entry_time(Some("99999999999999999")).is_err(),
            "past jiff's range"
        );
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

    /// `!modules/` (or `!*`) must not bring back state, `.git/` or
    /// `.terraform/`: the README says they are always left out.
    #[test]
    fn built_in_excludes_cannot_be_re_included() {
        let dir = tree(&[
            ("main.tf", "x"),
            ("modules/a.tf", "a"),
            ("modules/terraform.tfstate", "secret state"),
            ("modules/.git/config", "token"),
            ("modules/.terraform/x", "z"),
            (".terraformignore", "!modules/\n!*\n!**/.git/\n!*.tfstate\n"),
        ]);
        assert_eq!(
            names(dir.path(), &[]),
            [".terraformignore", "main.tf", "modules/a.tf"]
        );
    }

    // Unix only: symbolic links need a privilege on Windows.
    #[cfg(unix)]
    #[test]
    fn symlinks_to_excluded_files_are_excluded() {
        let dir = tree(&[
            ("main.tf", "x"),
            ("terraform.tfstate", "secret state"),
            ("secrets/key.pem", "k"),
            (".git/config", "token"),
            (".terraformignore", "secrets/\n"),
        ]);
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(dir.path().join(target), dir.path().join(name)).unwrap()
        };
        link("terraform.tfstate", "state.json");
        link("secrets/key.pem", "key.txt");
        link(".git", "git");
        assert_eq!(names(dir.path(), &[]), [".terraformignore", "main.tf"]);
    }

    /// `.terraformignore` pointed at a file outside the module (here one
    /// holding a token and a glob error): refused, and nothing of it quoted.
    // Unix only: symbolic links need a privilege on Windows.
    #[cfg(unix)]
    #[test]
    fn terraformignore_is_never_read_through_a_symlink() {
        let outside = tree(&[("environ", "SCALR_TOKEN=tok-Secret-[x\n")]);
        let dir = tree(&[("main.tf", "x")]);
        std::os::unix::fs::symlink(outside.path().join("environ"), dir.path().join(IGNORE_FILE))
            .unwrap();
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(!e.contains("tok-Secret"), "{e}");
        assert!(e.contains("symlink"), "{e}");
        std::fs::remove_file(dir.path().join(IGNORE_FILE)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(IGNORE_FILE)).unwrap();
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(e.contains("symlink"), "{e}");
    }

    #[test]
    fn a_bad_pattern_is_named_by_line_and_column_never_quoted() {
        let dir = tree(&[("main.tf", "x"), (IGNORE_FILE, "ok/\n  tok-Secret-[x\n")]);
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(!e.contains("tok-Secret"), "{e}");
        assert!(e.contains(".terraformignore:2:3"), "{e}");
    }

    #[test]
    fn a_huge_terraformignore_is_refused_unread() {
        let dir = tree(&[("main.tf", "x")]);
        std::fs::write(dir.path().join(IGNORE_FILE), vec![b'#'; 2 << 20]).unwrap();
        let e = build(dir.path(), &[], None).err().unwrap().to_string();
        assert!(e.contains("limit"), "{e}");
    }

    /// A FIFO as `.terraformignore` must not block the build (not even
    /// `--dry-run`) waiting for a writer; FIFOs in the tree are left out.
    // Unix only: FIFOs (mkfifo) are Unix's.
    #[cfg(unix)]
    #[test]
    fn fifos_are_never_opened() {
        let dir = tree(&[("main.tf", "x")]);
        for fifo in [IGNORE_FILE, "pipe.tf"] {
            let made = std::process::Command::new("mkfifo")
                .arg(dir.path().join(fifo))
                .status()
                .unwrap();
            assert!(made.success());
        }
        let path = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(build(&path, &[], None).map(|p| p.entries));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the build hangs on a FIFO");
        let e = result.err().unwrap().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_file(dir.path().join(IGNORE_FILE)).unwrap();
        assert_eq!(names(dir.path(), &[]), ["main.tf"]);
    }

    /// `--output` naming a symlink into the module would write the package
    /// inside it.
    // Unix only: symbolic links need a privilege on Windows.
    #[cfg(unix)]
    #[test]
    fn an_output_through_a_symlink_into_the_module_is_refused() {
        let dir = tree(&[("main.tf", "x")]);
        let other = tempfile::tempdir().unwrap();
        let link = other.path().join("m.zip");
        std::os::unix::fs::symlink(dir.path().join("m.zip"), &link).unwrap();
        assert!(refuse_output_inside(dir.path(), &link).is_err());
        std::os::unix::fs::symlink(dir.path(), other.path().join("d")).unwrap();
        assert!(refuse_output_inside(dir.path(), &other.path().join("d/m.zip")).is_err());
    }
}
