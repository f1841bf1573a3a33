//! HCL CLI config files: the blocks hcl-edit finds and the edits spliced
//! into the original text at their byte spans.
//!
//! Edits never re-print the file. hcl-edit parses it and gives the byte span
//! of every block and attribute; the edit splices new text into the original
//! at those spans. So comments of all three kinds, blank lines, heredocs,
//! CRLF line endings and every block we do not touch stay byte for byte, and
//! the result is parsed again before it is written.

use std::ops::Range;
use std::path::Path;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body, Structure};

use super::{
    CREDENTIALS_BLOCK, CredBlock, DEFAULT_BLOCK, HELPER, HELPER_ATTR, Policy, Style, Want,
    first_duplicate, note, operators, style_of,
};
use crate::error::{Error, Result};
use crate::report::{Note, Outcome};
use crate::syntax::Syntax;

/// Where a block sits in an HCL file, for splicing.
#[derive(Clone, Debug)]
pub(super) struct HclBlock {
    pub(super) info: CredBlock,
    span: Range<usize>,
    /// Span of each attribute, by key.
    attrs: Vec<(String, Range<usize>)>,
}

/// Parses an HCL CLI config, mapping a syntax error to line and column
/// (never to the line's text: it may hold a secret).
pub fn parse(path: &Path, text: &str) -> Result<Body> {
    if let Some((offset, op)) = operators::first_operator(text) {
        let (line, column) = docker_credential_scalr::error::line_column(text, offset);
        return Err(Error::NotValid {
            path: path.to_path_buf(),
            syntax: Syntax::Hcl,
            line,
            column,
            message: format!(
                "`{op}` outside a string: OpenTofu reads its CLI configuration as HCL 1, \
                 which has no operators or function calls"
            ),
        });
    }
    hcl_edit::parser::parse_body(text).map_err(|e| Error::NotValid {
        path: path.to_path_buf(),
        syntax: Syntax::Hcl,
        line: e.location().line(),
        column: e.location().column(),
        message: e.message().to_string(),
    })
}

pub(super) fn blocks(body: &Body) -> Vec<HclBlock> {
    body.iter()
        .filter_map(Structure::as_block)
        .filter_map(|block| {
            let label = match block.ident.as_str() {
                DEFAULT_BLOCK => None,
                CREDENTIALS_BLOCK => Some(block.labels.first()?.as_str().to_string()),
                _ => return None,
            };
            let attrs: Vec<(String, Range<usize>)> = block
                .body
                .iter()
                .filter_map(Structure::as_attribute)
                .filter_map(|a| Some((a.key.as_str().to_string(), a.span()?)))
                .collect();
            Some(HclBlock {
                info: CredBlock {
                    label,
                    style: style(block),
                },
                span: block.span()?,
                attrs,
            })
        })
        .collect()
}

pub(super) fn style(block: &Block) -> Style {
    let helper = block
        .body
        .get_attribute(HELPER_ATTR)
        .map(|a| a.value.as_str().unwrap_or("?"));
    style_of(helper, |key| block.body.get_attribute(key).is_some())
}

/// A text replacement at a byte range of the original.
struct Splice {
    range: Range<usize>,
    text: String,
}

pub(super) fn apply(
    path: &Path,
    original: &str,
    wants: &[Want],
    policy: Policy,
) -> Result<(Option<String>, Vec<Note>)> {
    let body = parse(path, original)?;
    let existing = blocks(&body);
    let layout = Layout::of(original, &body, &existing);
    let mut splices = Vec::new();
    let mut appended = Vec::new();
    let mut notes = Vec::new();
    let note = |want: &Want, outcome| note(path, want, outcome);
    for want in wants {
        let found = existing
            .iter()
            .find(|b| b.info.label.as_deref() == want.label());
        let Some(block) = found else {
            if policy.add_missing && !appended.contains(want) {
                appended.push(want.clone());
                notes.push(note(want, Outcome::Added));
            }
            continue;
        };
        let helper_line = format!("{HELPER_ATTR} = \"{HELPER}\"");
        let outcome = super::decide(&block.info.style, policy);
        match &outcome {
            Outcome::Replaced(_) if block.info.style == Style::Basic => {
                let mut ranges: Vec<Range<usize>> = ["username", "password"]
                    .iter()
                    .filter_map(|k| attr_span(block, k))
                    .map(|r| whole_lines(original, r))
                    .collect();
                ranges.sort_by_key(|r| r.start);
                let first = ranges.remove(0);
                let indent = line_indent(original, first.start).to_string();
                splices.push(Splice {
                    range: first,
                    text: format!("{indent}{helper_line}{}", layout.eol),
                });
                splices.extend(ranges.into_iter().map(|range| Splice {
                    range,
                    text: String::new(),
                }));
            }
            Outcome::Replaced(_) => {
                let range =
                    attr_span(block, HELPER_ATTR).expect("a helper block has the attribute");
                splices.push(Splice {
                    range,
                    text: helper_line,
                });
            }
            Outcome::Completed => {
                splices.push(insert_attribute(original, block, &layout, &helper_line));
            }
            _ => {}
        }
        notes.push(note(want, outcome));
    }
    if splices.is_empty() && appended.is_empty() {
        return Ok((None, notes));
    }
    let mut new = original.to_string();
    splices.sort_by_key(|s| std::cmp::Reverse(s.range.start));
    for splice in splices {
        new.replace_range(splice.range, &splice.text);
    }
    for want in &appended {
        layout.append_block(&mut new, want);
    }
    // The result must parse, and must not now hold a duplicate.
    let check = blocks(&parse(path, &new)?);
    if let Some(dup) = first_duplicate(check.iter().map(|b| &b.info)) {
        return Err(Error::UnexpectedShape {
            path: path.to_path_buf(),
            reason: format!("editing it would create a second {}", dup.describe()),
        });
    }
    Ok((Some(new), notes))
}

fn attr_span(block: &HclBlock, key: &str) -> Option<Range<usize>> {
    block
        .attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, r)| r.clone())
}

/// Widens a span to the whole lines it stands on, newline included, when
/// nothing but blanks (or a trailing comment) shares those lines.
pub(crate) fn whole_lines(text: &str, span: Range<usize>) -> Range<usize> {
    let start = line_start(text, span.start);
    if !text[start..span.start].trim().is_empty() {
        return span;
    }
    let end = text[span.end..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    start..end
}

fn line_indent(text: &str, at: usize) -> &str {
    let line = &text[at..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Adds the helper attribute to a block that has no credentials setting.
fn insert_attribute(original: &str, block: &HclBlock, layout: &Layout, attr: &str) -> Splice {
    let span = &block.span;
    let block_text = &original[span.clone()];
    let open = span.start + find_open_brace(block_text).unwrap_or(0);
    let close = span.end - 1; // `}` ends every block
    let block_indent = line_indent(original, line_start(original, span.start)).to_string();
    let inner = format!("{block_indent}{}", layout.indent);
    let eol = layout.eol;
    if original[open..close].contains('\n') {
        // Multi-line block: a new line just before the closing brace's line.
        let at = line_start(original, close);
        if original[at..close].trim().is_empty() {
            return Splice {
                range: at..at,
                text: format!("{inner}{attr}{eol}"),
            };
        }
        return Splice {
            range: close..close,
            text: format!("{eol}{inner}{attr}{eol}{block_indent}"),
        };
    }
    // One-line block (`{}` or `{ a = 1 }`): becomes a multi-line one.
    let content = original[open + 1..close].trim();
    let mut text = format!("{{{eol}");
    if !content.is_empty() {
        text.push_str(&format!("{inner}{content}{eol}"));
    }
    text.push_str(&format!("{inner}{attr}{eol}{block_indent}}}"));
    Splice {
        range: open..close + 1,
        text,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The block's opening brace, skipping quoted labels.
fn find_open_brace(block: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in block.char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') => in_string = false,
            (false, '"') => in_string = true,
            (false, '{') => return Some(i),
            _ => {}
        }
    }
    None
}

/// How the file is laid out, so that new blocks look like their neighbours.
struct Layout {
    eol: &'static str,
    /// Indentation of attributes inside a block.
    indent: String,
    /// Indentation of top-level blocks (almost always none).
    outer: String,
    /// Whether top-level blocks are separated by blank lines.
    blank_between: bool,
}

impl Layout {
    fn of(text: &str, body: &Body, blocks: &[HclBlock]) -> Layout {
        let crlf = text.matches("\r\n").count();
        let lf = text.matches('\n').count();
        let eol = if crlf > 0 && crlf * 2 >= lf {
            "\r\n"
        } else {
            "\n"
        };
        let indent = first_attribute_indent(text, body).unwrap_or_else(|| "  ".to_string());
        let outer = blocks
            .last()
            .map(|b| line_indent(text, line_start(text, b.span.start)).to_string())
            .unwrap_or_default();
        let blank_between = blank_lines_between_structures(text, body);
        Layout {
            eol,
            indent,
            outer,
            blank_between,
        }
    }

    fn append_block(&self, text: &mut String, want: &Want) {
        let eol = self.eol;
        if !text.is_empty() {
            if !text.ends_with('\n') {
                text.push_str(eol);
            }
            let ends_blank = text.ends_with(&format!("{eol}{eol}")) || text.trim().is_empty();
            if self.blank_between && !ends_blank {
                text.push_str(eol);
            }
        }
        let head = match want {
            Want::Default => DEFAULT_BLOCK.to_string(),
            Want::Registry(label) => format!("{CREDENTIALS_BLOCK} \"{label}\""),
        };
        let outer = &self.outer;
        let indent = &self.indent;
        text.push_str(&format!(
            "{outer}{head} {{{eol}{outer}{indent}{HELPER_ATTR} = \"{HELPER}\"{eol}{outer}}}{eol}"
        ));
    }
}

/// Whether the file separates its top-level blocks and attributes with blank
/// lines (true for an empty or one-item file, the `tofu fmt` style).
fn blank_lines_between_structures(text: &str, body: &Body) -> bool {
    let spans: Vec<Range<usize>> = body.iter().filter_map(Span::span).collect();
    if spans.len() < 2 {
        return true;
    }
    spans.windows(2).any(|pair| {
        // The lines strictly between the two: not the rest of the first
        // one's line, not the indentation before the second.
        let gap: Vec<&str> = text[pair[0].end..pair[1].start].split('\n').collect();
        gap.len() > 2
            && gap[1..gap.len() - 1]
                .iter()
                .any(|line| line.trim().is_empty())
    })
}

/// The indentation of the first attribute nested in a block, found through
/// the parse (so a heredoc's content or a comment cannot mislead it).
fn first_attribute_indent(text: &str, body: &Body) -> Option<String> {
    for block in body.iter().filter_map(Structure::as_block) {
        for structure in block.body.iter() {
            if let Some(span) = structure.span() {
                let start = line_start(text, span.start);
                let indent = &text[start..span.start];
                if !indent.is_empty() && indent.trim().is_empty() {
                    let outer = line_indent(text, line_start(text, block.span()?.start));
                    return Some(indent.strip_prefix(outer).unwrap_or(indent).to_string());
                }
            }
        }
    }
    None
}

/// The value of a string literal or a heredoc without interpolation.
pub(super) fn literal(text: &str, expr: &Expression) -> Option<String> {
    if let Some(s) = expr.as_str() {
        return Some(s.to_string());
    }
    let Expression::HeredocTemplate(_) = expr else {
        return None;
    };
    let raw = &text[expr.span()?];
    if raw.contains("${") || raw.contains("%{") {
        return None;
    }
    let indented = raw.starts_with("<<-");
    let mut lines: Vec<&str> = raw.lines().skip(1).collect();
    lines.pop(); // the terminator
    let strip = if indented {
        lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let mut value = String::new();
    for line in lines {
        value.push_str(line.get(strip..).unwrap_or("").trim_end_matches('\r'));
        value.push('\n');
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_chain_that_takes_hcl_edit_exponential_time_is_refused_at_once() {
        // Found by the config_edits fuzzer: each `== {!0/x+x` doubles
        // hcl-edit's time (16 of them: seconds in a debug build; 30 of them:
        // an hour in release). OpenTofu's CLI config has no operators.
        let text = format!("x = x{}&x\n", "== {!0/x+x".repeat(16));
        let err = parse(Path::new("/h/.tofurc"), &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/h/.tofurc:1:10: not valid HCL (`!` outside a string: OpenTofu reads its CLI \
             configuration as HCL 1, which has no operators or function calls); the file was \
             left untouched, fix it and run again"
        );
    }

    #[test]
    fn the_open_brace_is_found_past_quoted_labels() {
        assert_eq!(find_open_brace(r#"oci_credentials "a" {}"#), Some(20));
        assert_eq!(find_open_brace(r#"oci_credentials "{x}" {}"#), Some(22));
        assert_eq!(find_open_brace(r#"b "say \"{\"" {"#), Some(14));
        assert_eq!(find_open_brace(r#"b "unterminated {"#), None);
    }

    #[test]
    fn whole_lines_widen_only_a_span_alone_on_its_lines() {
        let text = "a {\n  password = \"p\" # note\n  x = 1 y\n}\n";
        let start = text.find("password").unwrap();
        let span = start..start + "password = \"p\"".len();
        let lines = whole_lines(text, span);
        assert_eq!(&text[lines], "  password = \"p\" # note\n");

        // Something else before it on the line: the span stays as it is.
        let at = text.find('y').unwrap();
        assert_eq!(whole_lines(text, at..at + 1), at..at + 1);

        // The last line, without a newline.
        let text = "  k = 1";
        assert_eq!(whole_lines(text, 2..7), 0..7);
    }

    #[test]
    fn literals_are_strings_and_plain_heredocs_only() {
        let text = "a = \"s\"\nb = <<EOT\nline\r\nEOT\nc = <<-EOT\n    x\n      y\n    EOT\nd = \"${v}\"\ne = <<EOT\n${v}\nEOT\nf = 1\n";
        let body = parse(Path::new("t"), text).unwrap();
        let value = |key: &str| literal(text, &body.get_attribute(key).unwrap().value);
        assert_eq!(value("a").as_deref(), Some("s"));
        assert_eq!(value("b").as_deref(), Some("line\n"));
        assert_eq!(value("c").as_deref(), Some("x\n  y\n"));
        assert_eq!(value("d"), None);
        assert_eq!(value("e"), None);
        assert_eq!(value("f"), None);
    }
}
