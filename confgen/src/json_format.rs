//! JSON as scalr-oci reads and writes it. Output looks like what was there:
//! the indentation of the original file (tabs, as Docker and containers
//! write, for a new one) and its trailing newline or lack of one. A syntax
//! error names the line and column, never the text there (it may be a
//! secret).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::syntax::Syntax;

/// A serde_json parse error of the file at `path`, as the crate's error.
pub fn syntax_error(path: &Path, e: &serde_json::Error) -> Error {
    Error::NotValid {
        path: path.to_path_buf(),
        syntax: Syntax::Json,
        line: e.line(),
        column: e.column(),
        message: error_message(e),
    }
}

/// serde_json's message without the position (we print our own). It names
/// the expected token, never the offending value.
fn error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

pub fn to_string_like(value: &Value, original: Option<&str>) -> String {
    let indent = original
        .and_then(detect_indent)
        .unwrap_or_else(|| "\t".into());
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .expect("a JSON value always serialises");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    let trailing_newline = original.is_some_and(|o| o.ends_with('\n'));
    if trailing_newline {
        text.push_str(if original.is_some_and(|o| o.ends_with("\r\n")) {
            "\r\n"
        } else {
            "\n"
        });
    }
    text
}

/// The leading white space of the first indented line.
fn detect_indent(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let trimmed = line.trim_start_matches([' ', '\t']);
        let indent = &line[..line.len() - trimmed.len()];
        (!indent.is_empty() && !trimmed.is_empty()).then(|| indent.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_two_space_indent_and_defaults_to_tabs() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":{"c":2}}"#).unwrap();
        assert_eq!(
            to_string_like(&v, Some("{\n  \"x\": 1\n}\n")),
            "{\n  \"b\": 1,\n  \"a\": {\n    \"c\": 2\n  }\n}\n"
        );
        assert_eq!(
            to_string_like(&v, None),
            "{\n\t\"b\": 1,\n\t\"a\": {\n\t\t\"c\": 2\n\t}\n}"
        );
    }
}
