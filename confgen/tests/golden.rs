//! Golden files: each folder under `tests/golden/` holds an `input.*` file,
//! the `args` of the edit, and the `expected.*` result. Run with
//! `UPDATE_GOLDEN=1` to rewrite the expectations after a deliberate change
//! (then read the diff).
//!
//! For every case this proves: the output is exactly the expected bytes; a
//! second run changes nothing; the output parses; and for a migration, no
//! migrated secret survives in the output.

use std::path::{Path, PathBuf};

use scalr_oci::tofurc::{self, Policy, Want};
use secrecy::ExposeSecret;

struct Case {
    input_path: PathBuf,
    expected_path: PathBuf,
    wants: Vec<Want>,
    force: bool,
    migrate: bool,
}

fn load(dir: &Path) -> Case {
    let input = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("input")
        })
        .unwrap_or_else(|| panic!("{}: no input file", dir.display()));
    let suffix = input
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("input")
        .to_string();
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    let mut words = args.split_whitespace();
    let mut case = Case {
        expected_path: dir.join(format!("expected{suffix}")),
        input_path: input,
        wants: Vec::new(),
        force: false,
        migrate: false,
    };
    while let Some(word) = words.next() {
        match word {
            "--default" => case.wants.push(Want::Default),
            "--registry" => case
                .wants
                .push(Want::Registry(words.next().unwrap().into())),
            "--force" => case.force = true,
            "--migrate" => {
                case.wants
                    .push(Want::Registry(words.next().unwrap().into()));
                case.migrate = true;
            }
            other => panic!("{}: unknown argument {other}", dir.display()),
        }
    }
    case
}

fn apply(case: &Case, text: &str) -> Option<String> {
    let policy = if case.migrate {
        Policy::migrate()
    } else {
        Policy::configure(case.force)
    };
    tofurc::apply(&case.input_path, Some(text), &case.wants, policy)
        .unwrap_or_else(|e| panic!("{}: {e}", case.input_path.display()))
        .0
}

#[test]
fn golden_edits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 15, "the golden cases are missing");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for dir in dirs {
        let case = load(&dir);
        let input = std::fs::read_to_string(&case.input_path).unwrap();
        let output = apply(&case, &input).unwrap_or_else(|| input.clone());
        if update {
            std::fs::write(&case.expected_path, &output).unwrap();
        }
        let expected = std::fs::read_to_string(&case.expected_path)
            .unwrap_or_else(|_| panic!("{}: no expected file", dir.display()));
        if output != expected {
            failures.push(format!(
                "{}:\n{}",
                dir.display(),
                similar::TextDiff::from_lines(&expected, &output)
                    .unified_diff()
                    .header("expected", "actual")
            ));
            continue;
        }
        assert_eq!(
            apply(&case, &output),
            None,
            "{}: a second run changed the file again",
            dir.display()
        );
        tofurc::credential_blocks(&case.input_path, &output)
            .unwrap_or_else(|e| panic!("{}: the output does not parse: {e}", dir.display()));
        if case.migrate {
            let scan = tofurc::plaintext(&case.input_path, &input).unwrap();
            for item in scan.found {
                if case.wants.contains(&Want::Registry(item.label.clone())) {
                    assert!(
                        !output.contains(item.password.expose_secret().trim()),
                        "{}: the migrated secret survived",
                        dir.display()
                    );
                }
            }
        }
        if input.contains("\r\n") {
            assert!(
                !output.replace("\r\n", "").contains('\n'),
                "{}: a CRLF file got an LF line",
                dir.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
