//! Hides secret values in text shown to the user (dry-run diffs). Works line
//! by line on HCL and JSON alike: a line whose key names a secret keeps its
//! key and loses its value; a secret written as a heredoc loses every line up
//! to its terminator.

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

pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut heredoc_end: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let (body, eol) = split_eol(line);
        if let Some(end) = &heredoc_end {
            if body.trim() == end {
                heredoc_end = None;
                out.push_str(line);
            } else {
                out.push_str("<redacted>");
                out.push_str(eol);
            }
            continue;
        }
        match secret_value_start(body) {
            Some(at) => {
                let value = body[at..].trim();
                if let Some(marker) = value.strip_prefix("<<") {
                    let marker = marker.trim_start_matches('-').trim();
                    heredoc_end = Some(marker.to_string());
                    out.push_str(line);
                    continue;
                }
                out.push_str(&body[..at]);
                out.push(' ');
                out.push_str(REDACTED);
                if value.ends_with(',') {
                    out.push(',');
                }
                out.push_str(eol);
            }
            None => out.push_str(line),
        }
    }
    out
}

fn split_eol(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Byte offset just after the `=` or `:` of a `key = value` or `"key": value`
/// line whose key is a secret one.
fn secret_value_start(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let unquoted = trimmed.strip_prefix('"').unwrap_or(trimmed);
    let key_len = unquoted
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(unquoted.len());
    let key = &unquoted[..key_len];
    if !SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        return None;
    }
    let rest = &unquoted[key_len..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let sep = rest.trim_start();
    if !(sep.starts_with('=') || sep.starts_with(':')) || sep.starts_with("==") {
        return None;
    }
    let consumed = line.len() - sep.len() + 1;
    debug_assert!(consumed > indent);
    Some(consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_hcl_json_and_heredoc_secrets() {
        let text = "a = 1\r\n  password = \"p1\"\n\"auth\": \"czM=\",\n token=<<EOT\nsecret line\nEOT\nusername = \"u\"\n";
        let out = redact(text);
        for secret in ["p1", "czM=", "secret line"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("username = \"u\""));
        assert!(out.contains("\"auth\": \"<redacted>\",\n"));
        assert!(out.starts_with("a = 1\r\n  password = \"<redacted>\"\n"));
    }
}
