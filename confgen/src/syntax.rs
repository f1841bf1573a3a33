//! Which syntax a configuration file is written in, decided by its name as
//! OpenTofu decides it. Its own room because both the CLI config's readers
//! (`tofurc`) and the diff redaction of every written file (`redact`, used
//! by `write`) ask it.

use std::path::Path;

/// Which syntax a CLI config file is written in (by its name, as OpenTofu
/// decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Hcl,
    Json,
}

impl Syntax {
    pub fn of(path: &Path) -> Syntax {
        if path.to_string_lossy().ends_with(".json") {
            Syntax::Json
        } else {
            Syntax::Hcl
        }
    }
}

impl std::fmt::Display for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Syntax::Hcl => "HCL",
            Syntax::Json => "JSON",
        })
    }
}
