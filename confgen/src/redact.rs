//! Hides secret values in text shown to the user (dry-run diffs), by the
//! file's structure rather than its lines: a one-line
//! `{"auths":{"h":{"auth":"…"}}}` or `credentials "h" { token = "…" }` hides
//! its secret as well as a pretty-printed file does.
//!
//! Decisions:
//! - JSON: a small tokenizer walks the text (after serde_json has accepted
//!   it) and replaces every scalar under a secret key, at any depth, in
//!   place; everything else stays byte for byte, so the diff still shows
//!   the real layout.
//! - HCL: hcl-edit's spans of every attribute and object item whose key is a
//!   secret one (in any block, at any depth) are replaced by `"<redacted>"`.
//! - A file that does not parse cannot be redacted provably: [`redact`]
//!   returns `None`, and the caller shows no diff of it.

use std::ops::Range;
use std::path::Path;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Body, Structure};

use crate::syntax::Syntax;

const SECRET_KEYS: &[&str] = &[
    "password",
    "access_token",
    "refresh_token",
    "token",
    "auth",
    "identitytoken",
    "registrytoken",
    "secret",
];

pub const REDACTED: &str = "\"<redacted>\"";

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The text with every secret value replaced, or `None` when the text does
/// not parse as the syntax its path implies (then nothing can be shown).
pub fn redact(path: &Path, text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some(text.to_string());
    }
    let spans = match Syntax::of(path) {
        Syntax::Json => json_secret_spans(text)?,
        Syntax::Hcl => hcl_secret_spans(text)?,
    };
    let mut out = text.to_string();
    for span in spans.into_iter().rev() {
        out.replace_range(span, REDACTED);
    }
    Some(out)
}

/// Byte spans of the secret scalars of a JSON text, in order, not
/// overlapping.
fn json_secret_spans(text: &str) -> Option<Vec<Range<usize>>> {
    serde_json::from_str::<serde_json::Value>(text).ok()?;
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    // Per open container: whether everything in it is secret.
    let mut secret_containers: Vec<bool> = Vec::new();
    let mut last_key_secret = false;
    let mut expect_value = false;
    let mut i = 0;
    while i < bytes.len() {
        let inside_secret = secret_containers.last().copied().unwrap_or(false);
        match bytes[i] {
            b'{' | b'[' => {
                secret_containers.push(inside_secret || (expect_value && last_key_secret));
                expect_value = false;
                i += 1;
            }
            b'}' | b']' => {
                secret_containers.pop();
                i += 1;
            }
            b':' => {
                expect_value = true;
                i += 1;
            }
            b',' => {
                expect_value = false;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            b'"' => {
                let end = string_end(bytes, i)?;
                let is_key = !expect_value
                    && text[end..].trim_start().starts_with(':')
                    && !secret_containers.is_empty();
                if is_key {
                    last_key_secret = is_secret_key(&text[i + 1..end - 1]);
                } else if inside_secret || (expect_value && last_key_secret) {
                    spans.push(i..end);
                }
                expect_value = false;
                i = end;
            }
            _ => {
                // A number, true, false or null.
                let end = text[i..]
                    .find(|c: char| matches!(c, ',' | '}' | ']') || c.is_ascii_whitespace())
                    .map_or(text.len(), |n| i + n);
                if inside_secret || (expect_value && last_key_secret) {
                    spans.push(i..end);
                }
                expect_value = false;
                i = end;
            }
        }
    }
    Some(spans)
}

/// The end (one past the closing quote) of the JSON string starting at
/// `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Byte spans of the values of secret attributes and object items of an HCL
/// text, in order, not overlapping.
fn hcl_secret_spans(text: &str) -> Option<Vec<Range<usize>>> {
    // Through the one HCL parse, which refuses operator chains before
    // hcl-edit sees them (see `tofurc::operators`): no spans, so no diff.
    let body = crate::tofurc::hcl::parse(Path::new(""), text).ok()?;
    let mut spans = Vec::new();
    body_spans(&body, &mut spans)?;
    spans.sort_by_key(|r| r.start);
    // An outer secret span swallows any inner one.
    let mut merged: Vec<Range<usize>> = Vec::new();
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start < last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    Some(merged)
}

fn body_spans(body: &Body, spans: &mut Vec<Range<usize>>) -> Option<()> {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                if is_secret_key(attr.key.as_str()) {
                    spans.push(attr.value.span()?);
                } else {
                    expression_spans(&attr.value, spans)?;
                }
            }
            Structure::Block(block) => body_spans(&block.body, spans)?,
        }
    }
    Some(())
}

fn expression_spans(expr: &Expression, spans: &mut Vec<Range<usize>>) -> Option<()> {
    match expr {
        Expression::Object(object) => {
            for (key, value) in object.iter() {
                let name = match key {
                    ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
                    ObjectKey::Expression(e) => e.as_str().map(str::to_string),
                };
                if name.as_deref().is_some_and(is_secret_key) {
                    spans.push(value.expr().span()?);
                } else {
                    expression_spans(value.expr(), spans)?;
                }
            }
        }
        Expression::Array(items) => {
            for item in items.iter() {
                expression_spans(item, spans)?;
            }
        }
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_one_line_and_pretty_json_at_any_depth() {
        let text = r#"{"auths":{"h":{"auth":"czM=","email":"e"}},"x":{"identitytoken":"t1"},"password":12345,"secret":{"a":["s1",2]},"keep":"k"}"#;
        let out = redact(Path::new("c.json"), text).unwrap();
        for secret in ["czM=", "t1", "12345", "s1", "2]"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains(r#""email":"e""#) && out.contains(r#""keep":"k""#));
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );

        let pretty = "{\n\t\"auths\": {\n\t\t\"h\": {\n\t\t\t\"auth\": \"czM=\"\n\t\t}\n\t}\n}\n";
        let out = redact(Path::new("c.json"), pretty).unwrap();
        assert_eq!(out, pretty.replace("\"czM=\"", REDACTED));
    }

    #[test]
    fn hides_hcl_attributes_objects_and_heredocs() {
        let text = "credentials \"h\" { token = \"t1\" }\na = 1\r\noci_credentials \"g\" {\n  username = \"u\"\n  password = <<EOT\nsecret line\nEOT\n}\nx = { auth = \"t2\", keep = \"k\" }\n";
        let out = redact(Path::new(".tofurc"), text).unwrap();
        for secret in ["t1", "t2", "secret line"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("username = \"u\"") && out.contains("keep = \"k\""));
        assert!(out.contains("a = 1\r\n"));
    }

    #[test]
    fn text_that_does_not_parse_is_not_shown() {
        assert_eq!(redact(Path::new("c.json"), "{\"auth\": \"x"), None);
        assert_eq!(redact(Path::new(".tofurc"), "a = \"x"), None);
    }
}
