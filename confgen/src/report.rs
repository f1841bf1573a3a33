//! What a command did to one setting, phrased for the person who ran it.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Added,
    AlreadyDone,
    /// The setting existed without a credentials setting; the helper was added.
    Completed,
    /// Replaced what the string describes.
    Replaced(String),
    /// Left as it is; the string says why and what to do.
    Kept(String),
    /// A secret was taken out of the file; the string says what follows.
    Removed(String),
}

#[derive(Clone, Debug)]
pub struct Note {
    /// `oci_credentials "ghcr.io"`, `credHelpers["ghcr.io"]`, …
    pub subject: String,
    pub path: PathBuf,
    pub outcome: Outcome,
}

impl Note {
    pub fn changes(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Added | Outcome::Completed | Outcome::Replaced(_) | Outcome::Removed(_)
        )
    }

    pub fn kept(&self) -> bool {
        matches!(self.outcome, Outcome::Kept(_))
    }

    /// The same note, in the conditional (for --dry-run and --check).
    pub fn display(&self, applied: bool) -> String {
        let (did, would) = match &self.outcome {
            Outcome::Added => ("added".to_string(), "would add".to_string()),
            Outcome::Completed => (
                "pointed at docker-credential-scalr".into(),
                "would point at docker-credential-scalr".into(),
            ),
            Outcome::Replaced(what) => (
                format!("replaced {what} with docker-credential-scalr"),
                format!("would replace {what} with docker-credential-scalr"),
            ),
            Outcome::AlreadyDone => {
                return format!(
                    "{}: already uses docker-credential-scalr ({})",
                    self.subject,
                    self.path.display()
                );
            }
            Outcome::Removed(what) => {
                return format!("{}: {what} ({})", self.subject, self.path.display());
            }
            Outcome::Kept(why) => {
                return format!(
                    "{}: left as it is in {}: {why}",
                    self.subject,
                    self.path.display()
                );
            }
        };
        let verb = if applied { did } else { would };
        format!("{}: {verb} in {}", self.subject, self.path.display())
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(true))
    }
}

/// A secret-bearing entry that was found but cannot be moved: its name in
/// the file, and why (with what to do instead).
#[derive(Clone, Debug)]
pub struct Unmovable {
    pub name: String,
    pub why: String,
}

impl Unmovable {
    pub fn new(name: impl Into<String>, why: impl Into<String>) -> Unmovable {
        Unmovable {
            name: name.into(),
            why: why.into(),
        }
    }
}

/// What a scan for plain-text credentials found in one file: the secrets
/// that can move, and those that cannot.
pub struct PlaintextScan<T> {
    pub found: Vec<T>,
    pub unmovable: Vec<Unmovable>,
}

impl<T> Default for PlaintextScan<T> {
    fn default() -> Self {
        PlaintextScan {
            found: Vec::new(),
            unmovable: Vec::new(),
        }
    }
}
