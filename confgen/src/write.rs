//! Every file `scalr-oci` changes goes through [`edit_file`]:
//!
//! - concurrent runs on one file are serialised by an advisory lock on a
//!   sibling lock file (the file itself is replaced by rename, so locking it
//!   would lock an inode that disappears), and the file is read only after
//!   the lock is held, so no run edits a stale copy;
//! - the lock file is opened with `O_NOFOLLOW`: in a world-writable
//!   directory another user's symlink cannot make us create a file where it
//!   points; and the wait for a held lock is bounded, ending in an error
//!   that names the lock file (another user's lock never means waiting
//!   forever in silence);
//! - symlinks are followed the way Docker does: the link stays, its target
//!   is replaced;
//! - the new content goes to a temporary file in the same directory, is
//!   fsynced, renamed over the target, and the directory is fsynced, so a
//!   crash leaves either the old or the new file, never half of one;
//! - the temporary file is 0600 until after the rename (only then does the
//!   file get its own mode), so a crash before the rename leaves nothing
//!   readable by others; such a stale temporary of the same target is
//!   removed by the next run, under the lock;
//! - a file with several hard links is not rewritten: the rename would
//!   replace one name and leave the old content, secrets included, under
//!   the others;
//! - the mode and owner of an existing file are kept; a new file gets the
//!   mode the caller asks for (0600 for anything that may hold credentials);
//! - there is no backup copy: a backup of a credential file is a second
//!   plain-text copy of its secrets;
//! - the lock file is removed when the run is done (on Unix), so no empty
//!   `.NAME.scalr-oci.lock` is left in `~` or `~/.docker`. It is removed
//!   while still locked, and a run that gets the lock checks that the name
//!   still leads to the file it locked (else it starts over on the new
//!   one), so two runs never hold "the" lock at once.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{failpoint, redact};

/// What to do with a computed change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Compute and show the change as a diff; write nothing.
    DryRun,
    /// Compute the change; write nothing.
    Check,
}

/// What one [`edit_file`] call did (or would do) to its file.
#[derive(Debug)]
pub struct FileChange {
    /// The file that was (or would be) written: the symlink target.
    pub path: PathBuf,
    pub changed: bool,
    /// A unified diff with secret-looking values redacted, in dry-run mode.
    pub diff: Option<String>,
}

/// Locks `path`, reads it, lets `edit` compute the new content from the
/// current one (`None` when the file does not exist), and writes the result
/// atomically unless `edit` returns `None` (nothing to change) or `mode` says
/// not to write. An error from `edit` leaves the file untouched. Whatever
/// else `edit` returns (notes, a report) comes back beside the change.
pub fn edit_file<T>(
    path: &Path,
    mode: Mode,
    new_file_mode: u32,
    edit: impl FnOnce(Option<&str>) -> Result<(Option<String>, T)>,
) -> Result<(FileChange, T)> {
    let target = resolve_symlinks(path);
    let _lock = match mode {
        // A dry run must not even create a directory or a lock file.
        Mode::Apply => Some(lock(&target)?),
        Mode::DryRun | Mode::Check => None,
    };
    let current = read_optional(&target)?;
    let (new, value) = edit(current.as_deref())?;
    let unchanged = FileChange {
        path: target.clone(),
        changed: false,
        diff: None,
    };
    let Some(new) = new.filter(|new| current.as_deref() != Some(new.as_str())) else {
        return Ok((unchanged, value));
    };
    let links = link_count(&target);
    if mode == Mode::Apply && links > 1 {
        return Err(Error::HardLinked {
            path: target,
            links,
        });
    }
    let diff = (mode == Mode::DryRun)
        .then(|| unified_diff(&target, current.as_deref().unwrap_or(""), &new));
    if mode == Mode::Apply {
        replace_atomically(&target, new.as_bytes(), new_file_mode)?;
        failpoint::hit("write");
    }
    let change = FileChange {
        changed: true,
        diff,
        ..unchanged
    };
    Ok((change, value))
}

/// Reads a text file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::UnexpectedShape {
                path: path.to_path_buf(),
                reason: "it is not UTF-8 text".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, "read")(e)),
    }
}

/// Follows a chain of symlinks to the file that is really written, even when
/// that file does not exist yet (a dangling link is created through).
pub fn resolve_symlinks(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // The same bound the Linux kernel uses for nested links.
    for _ in 0..40 {
        let Ok(meta) = fs::symlink_metadata(&current) else {
            break;
        };
        if !meta.file_type().is_symlink() {
            break;
        }
        let Ok(link) = fs::read_link(&current) else {
            break;
        };
        current = match current.parent() {
            Some(parent) if link.is_relative() => parent.join(link),
            _ => link,
        };
    }
    current
}

/// How many names the file has (1 for a missing file or where the platform
/// does not say).
pub fn link_count(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).map_or(1, |m| m.nlink())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        1
    }
}

/// How long a run waits for another run's lock on the same file.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// Holds the advisory lock for as long as it lives; then removes the lock
/// file (still locked, so a waiting run sees that its file is gone).
struct Lock {
    #[allow(dead_code)]
    file: File,
    #[cfg_attr(not(unix), allow(dead_code))]
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // On Windows an open file cannot be removed; the lock file stays.
        #[cfg(unix)]
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether `path` still names the file `file` is (Unix: same device and
/// inode). A run that locked a lock file another run then removed must
/// start over on the new one.
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_named(_: &File, _: &Path) -> bool {
    true
}

fn lock(target: &Path) -> Result<Lock> {
    let started = Instant::now();
    loop {
        let file = lock_once(target, started)?;
        let lock_path = lock_path(target);
        if still_named(&file, &lock_path) {
            remove_stale_temporaries(target);
            return Ok(Lock {
                file,
                path: lock_path,
            });
        }
        // The run before us removed it as we waited: lock the new one.
    }
}

fn lock_path(target: &Path) -> PathBuf {
    parent_dir(target).join(format!(".{}.scalr-oci.lock", bare_name(target)))
}

/// Opens (creating) the lock file and waits, within [`LOCK_WAIT`] since
/// `started`, for its advisory lock.
fn lock_once(target: &Path, started: Instant) -> Result<File> {
    let dir = parent_dir(target);
    create_private_dir(dir)?;
    let lock_path = lock_path(target);
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW: a symlink at the lock's name (another user's, in a
        // sticky world-writable directory) fails with ELOOP instead of
        // creating a file where it points. O_NONBLOCK: a FIFO there cannot
        // hang the open.
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(&lock_path).map_err(|e| {
        if is_symlink(&lock_path) {
            Error::LockIsSymlink {
                path: lock_path.clone(),
            }
        } else {
            Error::io(&lock_path, "create the lock file")(e)
        }
    })?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::UnexpectedShape {
            path: lock_path,
            reason: "the lock file is not a regular file".into(),
        });
    }
    loop {
        match fs4::fs_std::FileExt::try_lock_exclusive(&file) {
            Ok(true) => break,
            Ok(false) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(false) => {
                return Err(Error::LockBusy {
                    path: lock_path,
                    seconds: LOCK_WAIT.as_secs(),
                });
            }
            Err(e) => return Err(Error::io(&lock_path, "lock")(e)),
        }
    }
    Ok(file)
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The target's file name without leading dots, for its sibling files.
fn bare_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
        .unwrap_or_default()
}

/// `.scalr-oci-NAME.` : the prefix of this target's temporary files.
fn temporary_prefix(target: &Path) -> String {
    format!(".scalr-oci-{}.", bare_name(target))
}

/// Removes temporaries of this target that a crash left behind. Runs under
/// the target's lock, so no live run is writing one. Only regular files are
/// removed (never what a symlink points at); failures are ignored, as the
/// temporaries are private and the next run tries again.
fn remove_stale_temporaries(target: &Path) {
    let prefix = temporary_prefix(target);
    let Ok(entries) = fs::read_dir(parent_dir(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates missing directories readable by their owner only: they are about
/// to hold credential configuration.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(Error::io(dir, "create the directory"))
}

fn replace_atomically(target: &Path, bytes: &[u8], new_file_mode: u32) -> Result<()> {
    let dir = parent_dir(target);
    create_private_dir(dir)?;
    let existing = fs::metadata(target).ok();
    // tempfile creates it 0600 (O_EXCL, never through a symlink).
    let mut tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(target))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(Error::io(dir, "create a temporary file in"))?;
    let tmp_path = tmp.path().to_path_buf();
    tmp.write_all(bytes)
        .map_err(Error::io(&tmp_path, "write"))?;
    tmp.as_file()
        .sync_all()
        .map_err(Error::io(&tmp_path, "fsync"))?;
    failpoint::hit("rename");
    let file = tmp
        .persist(target)
        .map_err(|e| Error::io(target, "replace")(e.error))?;
    // Only now, through the open handle, does the file get its own mode.
    keep_mode_and_owner(&file, existing.as_ref(), new_file_mode, target)?;
    file.sync_all().map_err(Error::io(target, "fsync"))?;
    sync_dir(dir)
}

/// Gives the new file what the one it replaces had: on Unix its mode
/// (`new_file_mode` for a new file) and, where we may, its owner and group;
/// elsewhere its permissions (Windows files have no mode bits).
fn keep_mode_and_owner(
    file: &File,
    existing: Option<&fs::Metadata>,
    new_file_mode: u32,
    path: &Path,
) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = existing.map_or(new_file_mode, |m| m.mode() & 0o7777);
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(Error::io(path, "set the mode of"))?;
        if let Some(meta) = existing {
            // The temporary file was just created by us: its owner is who we are.
            let ours = file.metadata().ok();
            let differs = ours.is_none_or(|o| o.uid() != meta.uid() || o.gid() != meta.gid());
            if differs {
                // Only root (or the owner, for the group) may do this; when we may
                // not, the file ends up ours, which is what any editor would do.
                let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = new_file_mode;
        if let Some(meta) = existing {
            file.set_permissions(meta.permissions())
                .map_err(Error::io(path, "set the permissions of"))?;
        }
    }
    Ok(())
}

/// Makes the rename durable. Windows has no directory fsync; there the
/// rename is durable on NTFS.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir, "fsync the directory"))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A unified diff of two versions of a file, with every secret value
/// redacted on both sides first (by the file's structure, see [`redact`]),
/// so that neither a changed line nor a context line can show one. When a
/// side cannot be redacted provably, no diff is shown, only a line that
/// says so.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    let (Some(old), Some(new)) = (redact::redact(path, old), redact::redact(path, new)) else {
        return format!(
            "{name}: the change is not shown, because its secrets could not be hidden reliably\n"
        );
    };
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (current)"), &format!("{name} (new)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `edit_file` in `Mode::Apply` with 0600 for a new file, writing `text`.
    #[cfg(unix)]
    fn write_text(path: &Path, text: &str) {
        edit_file(path, Mode::Apply, 0o600, |_| Ok((Some(text.into()), ()))).unwrap();
    }

    /// A temporary directory that holds the file `name` with `text`.
    fn dir_with(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// No empty lock file is left beside a file that was written (they
    /// used to pile up in `~` and `~/.docker`).
    #[cfg(unix)]
    #[test]
    fn no_lock_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("config.json");
        write_text(&target, "{}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "{}");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("config.json")]);
    }

    /// A run that locked a lock file which the run before it then removed
    /// does not count it as held: the name leads elsewhere now.
    #[cfg(unix)]
    #[test]
    fn a_removed_lock_file_is_not_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("config.json");
        let first = lock(&target).unwrap();
        let path = lock_path(&target);
        assert!(still_named(&first.file, &path));
        let old = File::open(&path).unwrap();
        drop(first);
        assert!(!path.exists(), "removed on unlock");
        assert!(!still_named(&old, &path));
        let second = lock(&target).unwrap();
        assert!(still_named(&second.file, &path));
    }

    // A symbolic link needs a privilege on Windows, so this runs on Unix.
    #[cfg(unix)]
    #[test]
    fn writes_through_a_symlink_and_keeps_the_link() {
        let (dir, real) = dir_with("real.json", "{}");
        let link = dir.path().join("config.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_text(&link, "{\"a\":1}");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\":1}");
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_mode_of_an_existing_file_and_makes_new_ones_private() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, existing) = dir_with("existing", "a");
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o640)).unwrap();
        write_text(&existing, "b");
        let mode = fs::metadata(&existing).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);

        let new = dir.path().join("sub/new");
        write_text(&new, "b");
        let mode = fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(dir.path().join("sub"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn dry_run_and_check_write_nothing_and_create_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none/file");
        let (out, ()) = edit_file(&path, Mode::DryRun, 0o600, |_| {
            Ok((Some("x = 1\n".into()), ()))
        })
        .unwrap();
        assert!(out.changed);
        assert!(out.diff.unwrap().contains("+x = 1"));
        let (out, ()) =
            edit_file(&path, Mode::Check, 0o600, |_| Ok((Some("x\n".into()), ()))).unwrap();
        assert!(out.changed);
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn a_failing_edit_leaves_the_file_untouched() {
        let (_dir, path) = dir_with("f", "old");
        let err = edit_file(&path, Mode::Apply, 0o600, |_| {
            Err::<(Option<String>, ()), _>(Error::EmptySecret)
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn diffs_never_show_secret_values() {
        let old = "oci_credentials \"a\" {\n  password = \"hunter2\"\n}\n";
        let new = format!("{old}\n# added\n");
        let diff = unified_diff(Path::new("f"), old, &new);
        assert!(!diff.contains("hunter2"), "{diff}");
        assert!(diff.contains("+# added"));
        // A side that cannot be parsed cannot be redacted: no diff at all.
        let diff = unified_diff(Path::new("f"), "password = \"hunter2", "x = 1\n");
        assert!(
            !diff.contains("hunter2") && diff.contains("not shown"),
            "{diff}"
        );
    }
}
