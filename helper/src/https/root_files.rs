//! The files the trust roots are read from, within bounds: only regular
//! files (checked before and after a non-blocking open), at most
//! [`MAX_ROOTS_BYTES`] in all, each file once by identity (a hashed
//! directory names every certificate twice and may hold the bundle).
//!
//! The files of `SSL_CERT_DIR` are listed, checked and charged against the
//! bound when the roots are loaded, but read only when a chain needs them
//! (verifier.rs): first the files a hashed directory names for the chain's
//! issuers (`HASH.N`, subject_hash.rs), then, if the chain is still not
//! trusted, every file. Loading refuses exactly what reading everything
//! refused: a directory whose files together pass the bound.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::root_index::FastMap;
use super::subject_hash::hash_of_file_name;
use super::{MAX_ROOT_FILES, MAX_ROOTS_BYTES};

/// How many bytes may still be read.
pub(super) struct Budget(pub(super) u64);

impl Budget {
    /// Takes `size` bytes from the budget; an error (and nothing left) when
    /// there are not that many.
    fn charge(&mut self, size: u64) -> Result<(), String> {
        if size > self.0 {
            self.0 = 0;
            return Err(too_large());
        }
        self.0 -= size;
        Ok(())
    }
}

fn too_large() -> String {
    format!("it is larger than {MAX_ROOTS_BYTES} bytes")
}

/// Files already taken, by identity: device and inode on Unix, the
/// resolved path elsewhere (both see through the links of a hashed
/// directory); the value is the file's place in [`DirectoryFiles`], when
/// it is one of them.
#[derive(Default)]
pub(super) struct Seen(FastMap<FileId, Option<usize>>);

#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

/// A regular file, links followed: its identity and size.
struct Found {
    id: FileId,
    size: u64,
}

impl Seen {
    /// Marks the named file (`SSL_CERT_FILE`) as taken.
    pub(super) fn take_file(&mut self, path: &Path) {
        if let Some(found) = found(path) {
            self.0.insert(found.id, None);
        }
    }
}

/// What `path` names, if it is a regular file.
#[cfg(target_os = "linux")]
fn found(path: &Path) -> Option<Found> {
    found_at(rustix::fs::CWD, path)
}

/// What `path` names relative to the directory `dir`, if it is a regular
/// file: `stat` by the directory's descriptor and a name the listing hands
/// over, with no path built and no allocation.
#[cfg(target_os = "linux")]
fn found_at(dir: impl std::os::fd::AsFd, path: impl rustix::path::Arg) -> Option<Found> {
    use rustix::fs::{AtFlags, FileType, statat};
    let stat = statat(dir, path, AtFlags::empty()).ok()?;
    FileType::from_raw_mode(stat.st_mode)
        .is_file()
        .then_some(Found {
            id: (stat.st_dev, stat.st_ino),
            size: stat.st_size as u64,
        })
}

#[cfg(not(target_os = "linux"))]
fn found(path: &Path) -> Option<Found> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    let id = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let id = std::fs::canonicalize(path).ok()?;
    Some(Found {
        id,
        size: meta.len(),
    })
}

/// Calls `each` with the name of each entry of `dir` (at most
/// [`MAX_ROOT_FILES`], without `.` and `..`), and what it names if that is a
/// regular file: an entry that cannot be inspected is not one, as OpenSSL
/// skips it. Linux: one `getdents` buffer and a `stat` by the directory's
/// descriptor, with no allocation per entry (the standard library makes
/// three, which cost more than the `stat`).
#[cfg(target_os = "linux")]
fn each_entry(
    dir: &Path,
    mut each: impl FnMut(&std::ffi::OsStr, Option<Found>) -> Result<(), String>,
) -> Result<(), String> {
    use rustix::fs::{CWD, Mode, OFlags, RawDir, openat};
    use std::os::unix::ffi::OsStrExt;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd =
        openat(CWD, dir, flags, Mode::empty()).map_err(|e| std::io::Error::from(e).to_string())?;
    let mut buf = [std::mem::MaybeUninit::uninit(); 8192];
    let mut entries = RawDir::new(&fd, &mut buf);
    let mut listed = 0;
    // A failed read ends the listing, as the standard library's does.
    while listed < MAX_ROOT_FILES
        && let Some(Ok(entry)) = entries.next()
    {
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        listed += 1;
        each(
            std::ffi::OsStr::from_bytes(name.to_bytes()),
            found_at(&fd, name),
        )?;
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn each_entry(
    dir: &Path,
    mut each: impl FnMut(&std::ffi::OsStr, Option<Found>) -> Result<(), String>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    for entry in entries.flatten().take(MAX_ROOT_FILES) {
        each(&entry.file_name(), found(&entry.path()))?;
    }
    Ok(())
}

/// Reads `path` if it is a regular file of at most the remaining budget.
/// Never blocks on a FIFO or a device: the type is checked before opening,
/// the open does not wait for a writer, and the type is checked again on
/// what was opened.
pub(super) fn read_regular_file(path: &Path, budget: &mut Budget) -> Result<Vec<u8>, String> {
    regular(&std::fs::metadata(path).map_err(|e| e.to_string())?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    regular(&meta)?;
    if meta.len() > budget.0 {
        budget.0 = 0;
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(budget.0 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    budget.charge(bytes.len() as u64)?;
    Ok(bytes)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.is_file() {
        Ok(())
    } else {
        Err("it is not a regular file".to_string())
    }
}

/// The regular files of the directories, listed in order, not all read.
#[derive(Debug, Default)]
pub(super) struct DirectoryFiles {
    files: Vec<Listed>,
    /// Each `HASH.N` name's hash and the file it names.
    hashed: Vec<(u32, usize)>,
    /// The directories listed.
    dirs: Vec<PathBuf>,
    names: Names,
}

#[derive(Debug)]
struct Listed {
    /// Which of `dirs`, and the file's name there.
    dir: usize,
    name: NameAt,
    /// The size charged against the bound; reading it later may not
    /// return more.
    size: u64,
    read: bool,
}

/// The listed files' names, kept without an allocation each where a name
/// is bytes (Unix: one buffer of them all), on their own elsewhere. A path
/// is made only for a file that is read.
#[derive(Debug, Default)]
struct Names(#[cfg(unix)] Vec<u8>);

#[cfg(unix)]
type NameAt = std::ops::Range<usize>;
#[cfg(not(unix))]
type NameAt = std::ffi::OsString;

impl Names {
    #[cfg(unix)]
    fn keep(&mut self, name: &std::ffi::OsStr) -> NameAt {
        let start = self.0.len();
        self.0.extend_from_slice(name.as_encoded_bytes());
        start..self.0.len()
    }

    #[cfg(not(unix))]
    fn keep(&mut self, name: &std::ffi::OsStr) -> NameAt {
        name.to_owned()
    }

    #[cfg(unix)]
    fn get(&self, at: &NameAt) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(&self.0[at.clone()])
    }

    #[cfg(not(unix))]
    fn get<'a>(&self, at: &'a NameAt) -> &'a std::ffi::OsStr {
        at
    }
}

impl DirectoryFiles {
    /// Lists the regular files of `dir` (not its subdirectories, at most
    /// [`MAX_ROOT_FILES`] entries) not taken yet, charging their sizes
    /// against `budget`. An entry that cannot be inspected is skipped, as
    /// OpenSSL does; an error when the directory cannot be listed or its
    /// files pass the bound.
    pub(super) fn list(
        &mut self,
        dir: &Path,
        seen: &mut Seen,
        budget: &mut Budget,
    ) -> Result<(), String> {
        // A system directory holds a few hundred entries: room for them
        // at once rather than growing.
        self.files.reserve(256);
        self.hashed.reserve(256);
        seen.0.reserve(512);
        let at = self.dirs.len();
        self.dirs.push(dir.to_path_buf());
        each_entry(dir, |name, found| {
            let Some(found) = found else {
                return Ok(());
            };
            let file = match seen.0.get(&found.id) {
                Some(file) => *file,
                None => {
                    budget.charge(found.size)?;
                    self.files.push(Listed {
                        dir: at,
                        name: self.names.keep(name),
                        size: found.size,
                        read: false,
                    });
                    seen.0.insert(found.id, Some(self.files.len() - 1));
                    Some(self.files.len() - 1)
                }
            };
            if let (Some(hash), Some(file)) = (hash_of_file_name(name.as_encoded_bytes()), file) {
                self.hashed.push((hash, file));
            }
            Ok(())
        })
    }

    /// Reads the first file not read yet, in listing order; `None` when
    /// every file has been read. A file that is unreadable now, or larger
    /// than when it was listed, reads as empty.
    pub(super) fn read_next(&mut self) -> Option<Vec<u8>> {
        let file = self.files.iter().position(|file| !file.read)?;
        Some(self.read(file))
    }

    /// Reads the files not read yet that a `HASH.N` name of one of
    /// `hashes` names.
    pub(super) fn read_hashed(&mut self, hashes: &[u32]) -> Vec<Vec<u8>> {
        let mut wanted: Vec<usize> = self
            .hashed
            .iter()
            .filter(|&&(hash, file)| hashes.contains(&hash) && !self.files[file].read)
            .map(|&(_, file)| file)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted.into_iter().map(|file| self.read(file)).collect()
    }

    /// Whether a directory file has hash names (then [`Self::read_hashed`]
    /// may find something).
    pub(super) fn has_hash_names(&self) -> bool {
        !self.hashed.is_empty()
    }

    fn read(&mut self, file: usize) -> Vec<u8> {
        let listed = &mut self.files[file];
        listed.read = true;
        let path = self.dirs[listed.dir].join(self.names.get(&listed.name));
        read_regular_file(&path, &mut Budget(listed.size)).unwrap_or_default()
    }

    /// How many files have been read, for tests.
    #[cfg(test)]
    pub(super) fn files_read(&self) -> usize {
        self.files.iter().filter(|file| file.read).count()
    }
}
