//! The one rule for showing back what a user typed, in every error line of
//! both helpers (and `scalr-oci`, through this library).
//!
//! Input that holds user information (`user:pw@host`), a query or fragment
//! (`?token=…`, `#…`) or percent-encoding (which spells something other than
//! what it shows) is where people put passwords and tokens: it is never
//! shown. Anything else is shown quoted with Rust's escapes (so a control
//! character cannot rewrite the terminal) and cut to [`MAX_CHARS`]
//! characters: enough to recognise a host name, too short to paste a blob.

/// The longest prefix of an input that is shown.
pub const MAX_CHARS: usize = 100;

/// An input holding any of these is never shown.
pub const MAY_HOLD_A_SECRET: [char; 4] = ['@', '?', '#', '%'];

/// `input` quoted and cut to [`MAX_CHARS`] characters, or `None` when it
/// may hold a secret.
pub fn quoted(input: &str) -> Option<String> {
    if input.contains(MAY_HOLD_A_SECRET) {
        return None;
    }
    Some(format!(
        "{:?}",
        input.chars().take(MAX_CHARS).collect::<String>()
    ))
}

/// What an error line shows of `input` after a word: a space and
/// [`quoted`] (`invalid registry address "x": …`), or nothing when it may
/// hold a secret (`invalid registry address: …`).
pub fn shown(input: &str) -> String {
    quoted(input).map(|q| format!(" {q}")).unwrap_or_default()
}

/// For the tests of every site that shows input: `line` shows a long run
/// of `a` cut to [`MAX_CHARS`] characters.
#[cfg(test)]
pub(crate) fn assert_cut(line: &str) {
    assert!(line.contains(&"a".repeat(MAX_CHARS)), "{line}");
    assert!(!line.contains(&"a".repeat(MAX_CHARS + 1)), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_mark_hides_the_whole_input() {
        for input in ["u:pw@ghcr.io", "ghcr.io?token=x", "ghcr.io#x", "ghcr%2eio"] {
            assert_eq!(quoted(input), None, "{input}");
        }
    }

    #[test]
    fn the_rest_is_quoted_escaped_and_cut() {
        assert_eq!(quoted("ghcr.io").as_deref(), Some("\"ghcr.io\""));
        assert_eq!(quoted("a\u{1b}[2Jb").as_deref(), Some("\"a\\u{1b}[2Jb\""));
        let long = "x".repeat(500);
        assert_eq!(quoted(&long).unwrap().len(), MAX_CHARS + 2);
    }

    #[test]
    fn shown_after_a_word_is_a_space_and_the_quote_or_nothing() {
        assert_eq!(shown("ghcr.io"), " \"ghcr.io\"");
        assert_eq!(shown("u:pw@ghcr.io"), "");
    }
}
