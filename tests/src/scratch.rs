//! Scratch directories: a test's temporary places, removed when dropped.

use tempfile::TempDir;

/// A fresh temporary directory named `prefix…`, holding the empty
/// directories `dirs` (paths relative to it).
pub fn scratch_with(prefix: &str, dirs: &[&str]) -> TempDir {
    let root = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temporary directory");
    for dir in dirs {
        std::fs::create_dir_all(root.path().join(dir))
            .unwrap_or_else(|e| panic!("create {dir} in {}: {e}", root.path().display()));
    }
    root
}
