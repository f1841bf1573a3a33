//! A linear pre-check that runs before hcl-edit parses a CLI config: the
//! first operator outside strings and comments, if any.
//!
//! Why: hcl-edit 0.10's expression parser backtracks exponentially on some
//! operator chains inside unclosed objects (`x = x== {!0/x+x== {!0/x+x...`:
//! each repetition doubles the time; 20 of them, 200 bytes, take seconds,
//! 30 take an hour), and `scalr-oci` would hang on such a file instead of
//! saying what is wrong with it. OpenTofu itself reads its CLI configuration
//! as HCL 1, which has literals, lists, objects and blocks but no operators,
//! no function calls and no conditionals, so a file holding one is a file
//! OpenTofu refuses too: refusing it first, by line and column, loses
//! nothing. Template interpolations (`"${...}"`) are code to hcl-edit, so
//! they are checked the same way; string text, heredoc bodies and comments
//! are not.
//!
//! The scanner errs towards letting a file through (an unterminated string,
//! comment or heredoc ends the scan with no finding): hcl-edit then reports
//! the syntax error itself, and those constructs parse in linear time.

/// Bytes that only an HCL 2 expression has outside a string. `/` and `<`
/// are operators unless they start a comment or a heredoc.
const OPERATORS: &[u8] = b"!/*%<>&|?()";

/// Byte offset and character of the first operator outside strings and
/// comments, or `None` when the text has none (or the scan cannot tell).
pub fn first_operator(text: &str) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    // Each open template interpolation: the brace depth inside it.
    let mut templates: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied()) {
            (b'#', _) | (b'/', Some(b'/')) => i = line_end(bytes, i),
            (b'/', Some(b'*')) => i = find(bytes, i + 2, b"*/")? + 2,
            (b'<', Some(b'<')) => match heredoc_delimiter(bytes, i + 2) {
                Some(delimiter) => i = heredoc_end(bytes, delimiter)?,
                None => return Some((i, '<')),
            },
            (b'"', _) => i = string(bytes, i + 1, &mut templates)?,
            (b'{', _) => {
                if let Some(depth) = templates.last_mut() {
                    *depth += 1;
                }
                i += 1;
            }
            (b'}', _) => match templates.last_mut() {
                Some(0) => {
                    // The interpolation ends: back in its string.
                    templates.pop();
                    i = string(bytes, i + 1, &mut templates)?;
                }
                Some(depth) => {
                    *depth -= 1;
                    i += 1;
                }
                None => i += 1,
            },
            (b, _) if OPERATORS.contains(&b) => return Some((i, b as char)),
            _ => i += 1,
        }
    }
    None
}

/// Scans string text from `i` to where code resumes: after the closing
/// quote, or inside an interpolation it opens (pushed on `templates`).
fn string(bytes: &[u8], mut i: usize, templates: &mut Vec<usize>) -> Option<usize> {
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied()) {
            (b'\\', _) => i += 2,
            (b'"', _) => return Some(i + 1),
            // `$${` and `%%{` are the escaped, literal spellings.
            (b'$', Some(b'$')) | (b'%', Some(b'%')) => i += 2,
            (b'$' | b'%', Some(b'{')) => {
                templates.push(0);
                return Some(i + 2);
            }
            (b'\n', _) => return None,
            _ => i += 1,
        }
    }
    None
}

/// After `<<`: an optional `-` and the delimiter, as a byte range.
fn heredoc_delimiter(bytes: &[u8], mut i: usize) -> Option<std::ops::Range<usize>> {
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    (i > start).then_some(start..i)
}

/// The offset after the line that is `delimiter` alone (leading white
/// space allowed), which ends the heredoc's body.
fn heredoc_end(bytes: &[u8], delimiter: std::ops::Range<usize>) -> Option<usize> {
    let mut line = line_end(bytes, delimiter.end) + 1;
    let delimiter = &bytes[delimiter];
    while line < bytes.len() {
        let end = line_end(bytes, line);
        if bytes[line..end].trim_ascii() == delimiter {
            return Some(end);
        }
        line = end + 1;
    }
    None
}

/// The offset of the newline that ends the line holding `i` (or the end).
fn line_end(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| i + p)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<char> {
        first_operator(text).map(|(_, c)| c)
    }

    #[test]
    fn cli_configs_as_people_write_them_have_none() {
        for text in [
            "oci_default_credentials {\n  docker_credentials_helper = \"scalr\"\n}\n",
            "# a comment with ! and (parens) and a/b\n// another <one>\n/* and * / a block */\nx = 1\n",
            "plugin_cache_dir = \"$HOME/.terraform.d/plugin-cache\"\n",
            "path = \"${HOME}/x/*.tf (copy)!\"\n",
            "literal = \"$${not_a_template} %%{nor_this} \\\"quoted!\\\"\"\n",
            "text = <<EOF\n  a/b * (c) !\nEOF\nafter = \"x\"\n",
            "text = <<-EOT\n  ${a/b}\n  EOT\n",
            "n = -1.5e+3\nlist = [\"a\", \"b\"]\nobj = { a = 1, \"b\" = [2] }\n",
            "host \"example.com\" {\n  services = {\n    \"modules.v1\" = \"https://example.com/m/\"\n  }\n}\n",
        ] {
            assert_eq!(found(text), None, "{text:?}");
        }
    }

    #[test]
    fn operators_outside_strings_and_inside_interpolations_are_found() {
        for (text, op) in [
            ("x = !true\n", '!'),
            ("x = a/b\n", '/'),
            ("x = f(1)\n", '('),
            ("x = a < b\n", '<'),
            ("x = a ? b : c\n", '?'),
            ("x = \"${a/b}\"\n", '/'),
            ("x = \"pre ${ {k = !v} } post\"\n", '!'),
            ("x = \"${\"inner}\"} ${a*b}\"\n", '*'),
            ("x = \"%{ if a > b }y%{ endif }\"\n", '>'),
            ("x = x== {!0/x+x== {!0/x+x&x", '!'),
            ("x = a << b\n", '<'),
        ] {
            assert_eq!(found(text), Some(op), "{text:?}");
        }
        let text = "a = 1\nb = \"ok\" && c\n";
        let (offset, _) = first_operator(text).unwrap();
        assert_eq!(
            docker_credential_scalr::error::line_column(text, offset),
            (2, 10)
        );
    }

    #[test]
    fn an_unterminated_construct_ends_the_scan_without_a_finding() {
        for text in ["x = \"open\n!", "/* open !", "x = <<EOF\n!\n", "x = \"${a"] {
            assert_eq!(found(text), None, "{text:?}");
        }
    }
}
