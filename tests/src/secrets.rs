//! Proof that a secret reached no file: every end-to-end test ends by
//! searching its temporary HOME.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

/// A secret no other test (or run) uses, so that finding it anywhere cannot
/// be a coincidence. `tag` says which test made it.
pub fn fresh_secret(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "s3cr3t-{tag}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Panics naming the file if any regular file under `dir` contains `secret`
/// in a form a client might write it: as is, JSON-escaped (Go escapes `<`,
/// `>` and `&` too), or base64-encoded.
pub fn assert_no_file_contains(dir: &Path, secret: &str) {
    assert_no_file_contains_any(dir, &forms(secret));
}

/// [`assert_no_file_contains`] for `secret`, plus base64 of
/// `username:secret`: how Docker writes a password into `auths` when no
/// credential helper takes it.
pub fn assert_no_credential_in_files(dir: &Path, username: &str, secret: &str) {
    let mut needles = forms(secret);
    needles.push(STANDARD.encode(format!("{username}:{secret}")));
    assert_no_file_contains_any(dir, &needles);
}

/// Every form of `secret` we search for, the plain one first.
fn forms(secret: &str) -> Vec<String> {
    assert!(
        secret.len() >= 8,
        "a short secret would match by chance; use at least 8 characters"
    );
    let json = serde_json::to_string(secret).expect("a string serialises");
    let json = json[1..json.len() - 1].to_string();
    let go_json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let mut needles: Vec<String> = Vec::new();
    for form in [
        secret.to_string(),
        json,
        go_json,
        STANDARD.encode(secret),
        URL_SAFE.encode(secret),
    ] {
        if !needles.contains(&form) {
            needles.push(form);
        }
    }
    needles
}

fn assert_no_file_contains_any(dir: &Path, needles: &[String]) {
    let files = regular_files(dir);
    for file in &files {
        let bytes = std::fs::read(file)
            .unwrap_or_else(|e| panic!("cannot read {} to search it: {e}", file.display()));
        for needle in needles {
            if contains(&bytes, needle.as_bytes()) {
                panic!(
                    "the secret was written to a file: {} contains it{}",
                    file.display(),
                    if needle.as_str() == needles[0] {
                        String::new()
                    } else {
                        " (encoded)".to_string()
                    }
                );
            }
        }
    }
}

/// Every regular file under `dir`. Symbolic links are not followed (a link
/// could lead outside the directory, and a link to a file inside is searched
/// as that file anyway); sockets and FIFOs are skipped (reading a FIFO would
/// block). An unreadable directory fails the search rather than pass it.
pub fn regular_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|e| panic!("cannot list {} to search it: {e}", current.display()));
        for entry in entries {
            let entry = entry.expect("read a directory entry");
            let file_type = entry.file_type().expect("stat a directory entry");
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "hunter2-<&>-secret";

    fn catches(content: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/file"), content).unwrap();
        std::panic::catch_unwind(|| assert_no_credential_in_files(dir.path(), "user", SECRET))
            .is_err()
    }

    #[test]
    fn finds_every_form_of_the_secret_deep_in_the_tree() {
        assert!(catches(SECRET));
        assert!(catches(&format!(
            "{{\"p\":{}}}",
            serde_json::to_string(SECRET).unwrap()
        )));
        assert!(catches(r#""hunter2-\u003c\u0026\u003e-secret""#));
        assert!(catches(&STANDARD.encode(format!("user:{SECRET}"))));
        assert!(catches(&STANDARD.encode(SECRET)));
        assert!(!catches("nothing to see"));
    }

    // A symbolic link needs a privilege on Windows; the walk is the same code.
    #[cfg(unix)]
    #[test]
    fn does_not_follow_links_out_of_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), SECRET).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert_no_file_contains(dir.path(), SECRET);
        assert!(regular_files(dir.path()).is_empty());
    }
}
