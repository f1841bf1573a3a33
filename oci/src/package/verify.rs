//! Whether a zip is a module package OpenTofu can install safely: the
//! checks of `module verify`, on bytes a registry sent us.
//!
//! Bounded whatever the zip claims: overlapping entries (the trick that
//! makes a small zip inflate to gigabytes) are refused before anything is
//! inflated; inflating stops at [`MAX_INFLATED`] bytes in all; a symlink's
//! target is read up to [`MAX_LINK_TARGET`] bytes.
//!
//! Symlinks are resolved as an extractor writing them to disk would see
//! them: component by component, following the links already in the
//! package (`b -> .` then `a -> b/..` leaves the module although `b/..`
//! looks like `.`), refusing a target that climbs above the package root,
//! is absolute, or loops; an entry written through a symlinked directory is
//! refused too.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::build::is_module_file;

/// Inflated bytes of all entries together.
pub const MAX_INFLATED: u64 = 512 * 1024 * 1024;
/// A symlink target (Linux's PATH_MAX).
pub const MAX_LINK_TARGET: u64 = 4096;
/// Links followed while resolving one target (Linux's limit is 40).
const MAX_HOPS: usize = 40;

/// One reason a zip is not an installable module package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NotAZip,
    /// Bytes of the zip belong to more than one entry.
    OverlappingEntries,
    Unreadable {
        index: usize,
    },
    AbsolutePath {
        name: String,
    },
    DotDot {
        name: String,
    },
    Corrupt {
        name: String,
    },
    InflatesTooMuch {
        limit: u64,
    },
    LinkTargetTooLong {
        name: String,
        limit: u64,
    },
    LinkOut {
        name: String,
    },
    LinkLoop {
        name: String,
    },
    ThroughLink {
        name: String,
        link: String,
    },
    NoModule {
        subdir: Option<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotAZip => write!(f, "the layer is not a readable zip"),
            Problem::OverlappingEntries => write!(
                f,
                "the zip's entries overlap (one stored byte used by several files: a zip bomb); refused without inflating it"
            ),
            Problem::Unreadable { index } => write!(f, "zip entry {index} cannot be read"),
            Problem::AbsolutePath { name } => write!(f, "zip entry {name:?} has an absolute path"),
            Problem::DotDot { name } => write!(
                f,
                "zip entry {name:?} contains `..` (it would be written outside the module)"
            ),
            Problem::Corrupt { name } => write!(f, "zip entry {name:?} is corrupt"),
            Problem::InflatesTooMuch { limit } => write!(
                f,
                "the zip inflates to more than the limit of {limit} bytes; stopped"
            ),
            Problem::LinkTargetTooLong { name, limit } => write!(
                f,
                "zip entry {name:?} is a symlink whose target is longer than the limit of {limit} bytes"
            ),
            Problem::LinkOut { name } => {
                write!(f, "zip entry {name:?} is a symlink out of the package")
            }
            Problem::LinkLoop { name } => write!(
                f,
                "zip entry {name:?} is a symlink that loops (more than {MAX_HOPS} links deep)"
            ),
            Problem::ThroughLink { name, link } => write!(
                f,
                "zip entry {name:?} would be written through the symlink {link:?}"
            ),
            Problem::NoModule { subdir: Some(d) } => write!(
                f,
                "the package has no .tf or .tofu file in {d}/ (the //{d} subdirectory)"
            ),
            Problem::NoModule { subdir: None } => {
                write!(f, "the package has no .tf or .tofu file at its root")
            }
        }
    }
}

/// Why a zip is not an installable module package, one reason per problem.
pub fn problems(bytes: &[u8], subdir: Option<&str>) -> Vec<Problem> {
    problems_within(bytes, subdir, MAX_INFLATED)
}

/// [`problems`], inflating at most `max_inflated` bytes in all.
pub fn problems_within(bytes: &[u8], subdir: Option<&str>, max_inflated: u64) -> Vec<Problem> {
    let Ok(mut archive) = ZipArchive::new(Cursor::new(bytes)) else {
        return vec![Problem::NotAZip];
    };
    match archive.has_overlapping_entries() {
        Ok(false) => {}
        Ok(true) => return vec![Problem::OverlappingEntries],
        Err(_) => return vec![Problem::NotAZip],
    }
    let mut problems = Vec::new();
    let mut names = Vec::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let mut inflated = 0u64;
    for index in 0..archive.len() {
        let Ok(mut file) = archive.by_index(index) else {
            problems.push(Problem::Unreadable { index });
            continue;
        };
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        if let Some(why) = unsafe_entry(&name) {
            problems.push(why);
            continue;
        }
        if file.is_symlink() {
            let mut target = Vec::new();
            let read = (&mut file)
                .take(MAX_LINK_TARGET + 1)
                .read_to_end(&mut target);
            if read.is_err() {
                problems.push(Problem::Corrupt { name });
                continue;
            }
            if target.len() as u64 > MAX_LINK_TARGET {
                problems.push(Problem::LinkTargetTooLong {
                    name,
                    limit: MAX_LINK_TARGET,
                });
                continue;
            }
            inflated += target.len() as u64;
            links.insert(
                name.trim_end_matches('/').to_string(),
                String::from_utf8_lossy(&target).into_owned(),
            );
        } else {
            let left = max_inflated.saturating_sub(inflated);
            match std::io::copy(&mut (&mut file).take(left + 1), &mut std::io::sink()) {
                // Reading to the end checks the CRC.
                Ok(n) if n > left => {
                    problems.push(Problem::InflatesTooMuch {
                        limit: max_inflated,
                    });
                    return problems;
                }
                Ok(n) => inflated += n,
                Err(_) => problems.push(Problem::Corrupt { name: name.clone() }),
            }
        }
        names.push(name);
    }
    for (name, target) in &links {
        let mut dir: Vec<&str> = name.split('/').collect();
        dir.pop();
        match resolve(&links, dir, target, &mut 0) {
            Ok(_) => {}
            Err(Escape::Out) => problems.push(Problem::LinkOut { name: name.clone() }),
            Err(Escape::Loop) => problems.push(Problem::LinkLoop { name: name.clone() }),
        }
    }
    for name in &names {
        let parts: Vec<&str> = name.trim_end_matches('/').split('/').collect();
        for end in 1..parts.len() {
            let prefix = parts[..end].join("/");
            if links.contains_key(&prefix) {
                problems.push(Problem::ThroughLink {
                    name: name.clone(),
                    link: prefix,
                });
                break;
            }
        }
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
        problems.push(Problem::NoModule {
            subdir: dir.map(str::to_string),
        });
    }
    problems
}

enum Escape {
    Out,
    Loop,
}

/// Where `target`, a symlink in `dir`, leads, following the package's own
/// links on the way: the path from the root, or why it leaves.
fn resolve<'a>(
    links: &'a BTreeMap<String, String>,
    mut at: Vec<&'a str>,
    target: &'a str,
    hops: &mut usize,
) -> Result<Vec<&'a str>, Escape> {
    if target.starts_with('/') || target.starts_with('\\') || target.get(1..2) == Some(":") {
        return Err(Escape::Out);
    }
    for part in target.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                at.pop().ok_or(Escape::Out)?;
            }
            name => {
                at.push(name);
                if let Some(next) = links.get(&at.join("/")) {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return Err(Escape::Loop);
                    }
                    at.pop();
                    at = resolve(links, at, next, hops)?;
                }
            }
        }
    }
    Ok(at)
}

/// Why an entry name is unsafe to extract, if it is.
fn unsafe_entry(name: &str) -> Option<Problem> {
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
        return Some(Problem::AbsolutePath {
            name: name.to_string(),
        });
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some(Problem::DotDot {
            name: name.to_string(),
        });
    }
    None
}

// The construction the e2e tests attack with too: one copy, included by path
// (a file-level module, so the path is relative to this file's directory).
#[cfg(test)]
#[path = "../../../tests/src/zip_bomb.rs"]
mod zip_bomb;

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    enum E<'a> {
        File(&'a str, &'a [u8]),
        Link(&'a str, &'a str),
    }

    fn zip_of(entries: &[E<'_>]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for entry in entries {
            match entry {
                E::File(name, bytes) => {
                    zip.start_file(*name, SimpleFileOptions::default()).unwrap();
                    zip.write_all(bytes).unwrap();
                }
                E::Link(name, target) => {
                    zip.add_symlink(*name, *target, SimpleFileOptions::default())
                        .unwrap();
                }
            }
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn names_every_problem_of_a_zip() {
        let bad = zip_of(&[
            E::File("main.tf", b"x"),
            E::File("../evil.tf", b"y"),
            E::File("/etc/x", b"z"),
        ]);
        let p = problems(&bad, None);
        assert!(
            p.iter().any(|m| matches!(m, Problem::DotDot { .. })),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| matches!(m, Problem::AbsolutePath { .. })),
            "{p:?}"
        );
        let sub = zip_of(&[
            E::File("README.md", b"x"),
            E::File("modules/vpc/main.tf", b"y"),
        ]);
        assert!(problems(&sub, Some("modules/vpc")).is_empty());
        assert_eq!(problems(&sub, None), [Problem::NoModule { subdir: None }]);
        assert_eq!(problems(b"not a zip", None), [Problem::NotAZip]);
    }

    /// `b -> .`, `a -> b/..`: `b/..` looks like `.`, but on disk `b` is the
    /// root itself, so `a` is the root's parent.
    #[test]
    fn a_symlink_chain_out_of_the_module_is_refused() {
        let chain = zip_of(&[
            E::File("main.tf", b"x"),
            E::Link("b", "."),
            E::Link("a", "b/.."),
        ]);
        let p = problems(&chain, None);
        assert_eq!(p, [Problem::LinkOut { name: "a".into() }], "{p:?}");
        let deep = zip_of(&[
            E::File("main.tf", b"x"),
            E::Link("m/c", "../m"),
            E::Link("m/d", "c/c/c/../../.."),
        ]);
        let p = problems(&deep, None);
        assert!(
            p.contains(&Problem::LinkOut { name: "m/d".into() }),
            "{p:?}"
        );
        let fine = zip_of(&[
            E::File("main.tf", b"x"),
            E::File("lib/v.tf", b"x"),
            E::Link("alias", "lib"),
            E::Link("lib/up", "../main.tf"),
        ]);
        assert!(
            problems(&fine, None).is_empty(),
            "{:?}",
            problems(&fine, None)
        );
        let looped = zip_of(&[
            E::File("main.tf", b"x"),
            E::Link("x", "y"),
            E::Link("y", "x"),
        ]);
        assert!(
            problems(&looped, None)
                .iter()
                .any(|p| matches!(p, Problem::LinkLoop { .. }))
        );
        let through = zip_of(&[
            E::File("main.tf", b"x"),
            E::Link("d", "."),
            E::File("d/x.tf", b"x"),
        ]);
        assert!(
            problems(&through, None)
                .iter()
                .any(|p| matches!(p, Problem::ThroughLink { .. }))
        );
    }

    #[test]
    fn a_huge_symlink_target_is_refused_unread() {
        let target = "a/".repeat(1 << 20);
        let zip = zip_of(&[E::File("main.tf", b"x"), E::Link("l", &target)]);
        let p = problems(&zip, None);
        assert_eq!(
            p,
            [Problem::LinkTargetTooLong {
                name: "l".into(),
                limit: MAX_LINK_TARGET
            }]
        );
    }

    /// One deflated stream of zeros, named by many central-directory
    /// entries: each inflates it again.
    #[test]
    fn overlapping_entries_are_refused_before_inflating() {
        let one = zip_of(&[E::File("main.tf", &vec![0u8; 1 << 20])]);
        let overlapped = overlapping_bomb(&one, 200);
        let started = std::time::Instant::now();
        assert_eq!(problems(&overlapped, None), [Problem::OverlappingEntries]);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn inflating_is_bounded() {
        let big = zip_of(&[E::File("main.tf", b"x"), E::File("zeros", &[0u8; 4097])]);
        assert_eq!(
            problems_within(&big, None, 4097),
            [Problem::InflatesTooMuch { limit: 4097 }]
        );
        assert!(problems_within(&big, None, 4098).is_empty());
    }

    pub(crate) use super::zip_bomb::overlapping_bomb;
}
