//! The OpenTofu CLI configuration: where OpenTofu reads it, what it says about
//! OCI credentials, and format-preserving edits of it.
//!
//! Edits never re-print the file. hcl-edit parses it and gives the byte span
//! of every block and attribute; the edit splices new text into the original
//! at those spans. So comments of all three kinds, blank lines, heredocs,
//! CRLF line endings and every block we do not touch stay byte for byte, and
//! the result is parsed again before it is written.

use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body, Structure};
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::locations::Env;

/// The helper name OpenTofu turns into `docker-credential-scalr`.
pub const HELPER: &str = "scalr";
pub const CREDENTIALS_BLOCK: &str = "oci_credentials";
pub const DEFAULT_BLOCK: &str = "oci_default_credentials";
pub const HELPER_ATTR: &str = "docker_credentials_helper";

/// The files OpenTofu reads, in the order it merges them.
#[derive(Debug, Clone)]
pub struct Locations {
    /// The main CLI config file (it may not exist yet): where new blocks go.
    pub primary: PathBuf,
    /// Existing `*.tfrc` / `*.tfrc.json` files of the config directory.
    pub merged: Vec<PathBuf>,
}

impl Locations {
    /// Every file of the set, the primary one first.
    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.primary).chain(self.merged.iter())
    }

    /// Exactly the set OpenTofu would read. `TF_CLI_CONFIG_FILE` replaces the
    /// whole set; otherwise the home-directory file plus the config directory.
    pub fn find(env: &Env) -> Result<Locations> {
        if let Some(file) = &env.tf_cli_config_file {
            return Ok(Locations::only(file.clone()));
        }
        let (primary, dir) = default_paths(env)?;
        let mut merged = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let wanted = name.ends_with(".tfrc") || name.ends_with(".tfrc.json");
                if wanted && entry.path().is_file() {
                    merged.push(entry.path());
                }
            }
        }
        // Go's os.ReadDir returns names sorted; so does OpenTofu's merge.
        merged.sort();
        Ok(Locations { primary, merged })
    }

    /// `--file PATH`: that file alone, as if it were `TF_CLI_CONFIG_FILE`.
    pub fn only(file: PathBuf) -> Locations {
        Locations {
            primary: file,
            merged: Vec::new(),
        }
    }
}

/// OpenTofu's `configFile()` and `configDir()`.
#[cfg(not(windows))]
fn default_paths(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let home = env.home.as_ref().ok_or(Error::NoHome)?;
    let new = home.join(".tofurc");
    let legacy = home.join(".terraformrc");
    let primary = match &env.xdg_config_home {
        // A fresh install uses the XDG location.
        Some(xdg) if !legacy.exists() && !new.exists() => xdg.join("opentofu").join("tofurc"),
        _ if !new.exists() && legacy.exists() => legacy,
        _ => new,
    };
    let mut dir = home.join(".terraform.d");
    if let Some(xdg) = &env.xdg_config_home
        && !dir.exists()
    {
        dir = xdg.join("opentofu");
    }
    Ok((primary, dir))
}

#[cfg(windows)]
fn default_paths(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let appdata = env.appdata.as_ref().ok_or(Error::NoHome)?;
    let new = appdata.join("tofu.rc");
    let legacy = appdata.join("terraform.rc");
    let primary = if !new.exists() && legacy.exists() {
        legacy
    } else {
        new
    };
    Ok((primary, appdata.join("terraform.d")))
}

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

/// What one credentials block does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// `docker_credentials_helper = "NAME"`.
    Helper(String),
    /// Plain-text `username` and/or `password`.
    Basic,
    /// Plain-text `access_token` / `refresh_token`.
    OAuth,
    /// None of the above (an `oci_default_credentials` block that only sets
    /// `discover_ambient_credentials`, say).
    Nothing,
}

impl Style {
    pub fn describe(&self) -> String {
        match self {
            Style::Helper(name) => format!("credential helper docker-credential-{name}"),
            Style::Basic => "a plain-text username and password".into(),
            Style::OAuth => "plain-text OAuth tokens".into(),
            Style::Nothing => "no credentials setting".into(),
        }
    }
}

/// One `oci_credentials` (label `Some`) or `oci_default_credentials` block.
#[derive(Clone, Debug)]
pub struct CredBlock {
    pub label: Option<String>,
    pub style: Style,
}

/// Where a block sits in an HCL file, for splicing.
#[derive(Clone, Debug)]
struct HclBlock {
    info: CredBlock,
    span: Range<usize>,
    /// Span of each attribute, by key.
    attrs: Vec<(String, Range<usize>)>,
}

/// Parses an HCL CLI config, mapping a syntax error to line and column
/// (never to the line's text: it may hold a secret).
pub fn parse_hcl(path: &Path, text: &str) -> Result<Body> {
    hcl_edit::parser::parse_body(text).map_err(|e| Error::HclSyntax {
        path: path.to_path_buf(),
        line: e.location().line(),
        column: e.location().column(),
        message: e.message().to_string(),
    })
}

pub fn parse_json(path: &Path, text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(text).map_err(|e| Error::JsonSyntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: json_error_message(&e),
    })
}

/// serde_json's message without the position (we print our own). It names
/// the expected token, never the offending value.
pub fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The OCI credentials blocks of one file.
pub fn credential_blocks(path: &Path, text: &str) -> Result<Vec<CredBlock>> {
    Ok(match Syntax::of(path) {
        Syntax::Hcl => hcl_blocks(&parse_hcl(path, text)?)
            .into_iter()
            .map(|b| b.info)
            .collect(),
        Syntax::Json => json_blocks(&parse_json(path, text)?)
            .into_iter()
            .map(|(info, _)| info)
            .collect(),
    })
}

fn hcl_blocks(body: &Body) -> Vec<HclBlock> {
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
                    style: hcl_style(block),
                },
                span: block.span()?,
                attrs,
            })
        })
        .collect()
}

fn hcl_style(block: &Block) -> Style {
    let get = |key: &str| block.body.get_attribute(key);
    if let Some(helper) = get(HELPER_ATTR) {
        return Style::Helper(helper.value.as_str().unwrap_or("?").to_string());
    }
    if get("username").is_some() || get("password").is_some() {
        return Style::Basic;
    }
    if get("access_token").is_some() || get("refresh_token").is_some() {
        return Style::OAuth;
    }
    Style::Nothing
}

/// `(block, body object)` pairs of a `.tfrc.json` file; both the object form
/// (`{"oci_credentials": {"LABEL": {…}}}`) and the list form are read.
fn json_blocks(root: &Value) -> Vec<(CredBlock, &Map<String, Value>)> {
    let mut out = Vec::new();
    let Some(root) = root.as_object() else {
        return out;
    };
    for item in as_list(root.get(DEFAULT_BLOCK)) {
        if let Some(body) = item.as_object() {
            out.push((
                CredBlock {
                    label: None,
                    style: json_style(body),
                },
                body,
            ));
        }
    }
    for item in as_list(root.get(CREDENTIALS_BLOCK)) {
        for (label, body) in item.as_object().into_iter().flatten() {
            for body in as_list(Some(body)) {
                if let Some(body) = body.as_object() {
                    out.push((
                        CredBlock {
                            label: Some(label.clone()),
                            style: json_style(body),
                        },
                        body,
                    ));
                }
            }
        }
    }
    out
}

fn as_list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

fn json_style(body: &Map<String, Value>) -> Style {
    if let Some(helper) = body.get(HELPER_ATTR) {
        return Style::Helper(helper.as_str().unwrap_or("?").to_string());
    }
    if body.contains_key("username") || body.contains_key("password") {
        return Style::Basic;
    }
    if body.contains_key("access_token") || body.contains_key("refresh_token") {
        return Style::OAuth;
    }
    Style::Nothing
}

/// Checks a label for a helper block as OpenTofu (through ORAS) does: a bare
/// `host[:port]`, no scheme, no path, no user information.
pub fn validate_helper_label(label: &str) -> Result<()> {
    let bad = |reason: String| Error::BadLabel {
        label: label.to_string(),
        reason,
    };
    if label.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if let Some((_, rest)) = label.split_once("://") {
        let host = rest.split('/').next().unwrap_or(rest);
        return Err(bad(format!(
            "OpenTofu labels have no scheme; write {host:?}"
        )));
    }
    if let Some((host, _)) = label.split_once('/') {
        return Err(bad(format!(
            "a credential helper answers for a whole registry, so OpenTofu allows no repository path with it; write {host:?}"
        )));
    }
    if label.contains('@') {
        return Err(bad("user information (`user@`) is not allowed".into()));
    }
    let (host, port) = if let Some(rest) = label.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("the IPv6 address has no closing `]`".into()))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("the IPv6 address is not valid".into()));
        }
        match after {
            "" => (None, None),
            p => (
                None,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("only `:port` may follow the IPv6 address".into()))?,
                ),
            ),
        }
    } else {
        match label.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(label), None),
        }
    };
    if let Some(host) = host {
        let name = host.strip_suffix('.').unwrap_or(host);
        let label_ok = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && !part.starts_with('-')
                && !part.ends_with('-')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if name.is_empty() || !name.split('.').all(label_ok) {
            return Err(bad(
                "it is not a host name (letters, digits, `-` and `.` only)".into(),
            ));
        }
    }
    if let Some(port) = port
        && !(!port.is_empty()
            && port.chars().all(|c| c.is_ascii_digit())
            && matches!(port.parse::<u32>(), Ok(1..=65535)))
    {
        return Err(bad("the port is not a number from 1 to 65535".into()));
    }
    Ok(())
}

/// What to make true in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// `oci_default_credentials { docker_credentials_helper = "scalr" }`.
    Default,
    /// `oci_credentials "HOST" { docker_credentials_helper = "scalr" }`.
    Registry(String),
}

impl Want {
    fn label(&self) -> Option<&str> {
        match self {
            Want::Default => None,
            Want::Registry(label) => Some(label),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Want::Default => "oci_default_credentials".into(),
            Want::Registry(label) => format!("oci_credentials {label:?}"),
        }
    }
}

/// How far an edit may go with a block that already exists.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Replace another credential helper.
    pub force: bool,
    /// Replace a plain-text username/password (only `migrate`, after the
    /// secret is safely in the keychain).
    pub replace_plaintext: bool,
}

use crate::report::Findings;
pub use crate::report::{Note, Outcome};

/// Makes `wants` true in one file, as far as `policy` allows. A want with no
/// block in this file is added only when `add_missing`. Returns the new text
/// (`None` when nothing changes) and one note per want that this file
/// decided.
pub fn apply(
    path: &Path,
    text: Option<&str>,
    wants: &[Want],
    policy: Policy,
    add_missing: bool,
) -> Result<(Option<String>, Vec<Note>)> {
    let original = text.unwrap_or("");
    match Syntax::of(path) {
        Syntax::Hcl => apply_hcl(path, original, wants, policy, add_missing),
        Syntax::Json => apply_json(path, text, wants, policy, add_missing),
    }
}

/// What to do with an existing block of the given style: the same rules for
/// HCL and JSON files.
fn decide(style: &Style, policy: Policy) -> Outcome {
    match style {
        Style::Helper(name) if name == HELPER => Outcome::AlreadyDone,
        Style::Helper(_) if policy.force => Outcome::Replaced(style.describe()),
        Style::Helper(name) => Outcome::Kept(format!(
            "it uses docker-credential-{name}; pass --force to replace it"
        )),
        Style::Basic if policy.replace_plaintext => Outcome::Replaced(style.describe()),
        Style::Basic => Outcome::Kept(
            "it holds a plain-text username and password; run `scalr-oci migrate` to move them into the keychain and point it at the helper".into(),
        ),
        Style::OAuth => Outcome::Kept(
            "it holds plain-text OAuth tokens, which a Docker credential helper cannot serve to OpenTofu; remove the block by hand if you want the helper to answer".into(),
        ),
        Style::Nothing => Outcome::Completed,
    }
}

/// A text replacement at a byte range of the original.
struct Splice {
    range: Range<usize>,
    text: String,
}

fn apply_hcl(
    path: &Path,
    original: &str,
    wants: &[Want],
    policy: Policy,
    add_missing: bool,
) -> Result<(Option<String>, Vec<Note>)> {
    let body = parse_hcl(path, original)?;
    let blocks = hcl_blocks(&body);
    let layout = Layout::of(original, &body, &blocks);
    let mut splices = Vec::new();
    let mut appended = Vec::new();
    let mut notes = Vec::new();
    let note = |want: &Want, outcome| Note {
        subject: want.describe(),
        path: path.to_path_buf(),
        outcome,
    };
    for want in wants {
        let existing = blocks
            .iter()
            .find(|b| b.info.label.as_deref() == want.label());
        let Some(block) = existing else {
            if add_missing && !appended.contains(want) {
                appended.push(want.clone());
                notes.push(note(want, Outcome::Added));
            }
            continue;
        };
        let helper_line = format!("{HELPER_ATTR} = \"{HELPER}\"");
        let outcome = decide(&block.info.style, policy);
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
    let check = hcl_blocks(&parse_hcl(path, &new)?);
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
fn whole_lines(text: &str, span: Range<usize>) -> Range<usize> {
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
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

/// The first block that a merged configuration would hold twice.
pub fn first_duplicate<'a>(blocks: impl Iterator<Item = &'a CredBlock>) -> Option<Want> {
    let mut seen = std::collections::HashSet::new();
    for block in blocks {
        if !seen.insert(block.label.clone()) {
            return Some(match &block.label {
                Some(label) => Want::Registry(label.clone()),
                None => Want::Default,
            });
        }
    }
    None
}

fn apply_json(
    path: &Path,
    text: Option<&str>,
    wants: &[Want],
    policy: Policy,
    add_missing: bool,
) -> Result<(Option<String>, Vec<Note>)> {
    let mut root = parse_json(path, text.unwrap_or(""))?;
    let before = root.clone();
    let Some(object) = root.as_object_mut() else {
        return Err(Error::UnexpectedShape {
            path: path.to_path_buf(),
            reason: "its top level is not a JSON object".into(),
        });
    };
    let mut notes = Vec::new();
    for want in wants {
        let outcome = match json_body_mut(object, want) {
            Some(body) => {
                let style = json_style(body);
                let outcome = decide(&style, policy);
                if style == Style::Basic && matches!(outcome, Outcome::Replaced(_)) {
                    body.shift_remove("username");
                    body.shift_remove("password");
                }
                if matches!(outcome, Outcome::Replaced(_) | Outcome::Completed) {
                    body.insert(HELPER_ATTR.into(), HELPER.into());
                }
                outcome
            }
            None if add_missing => {
                let mut body = Map::new();
                body.insert(HELPER_ATTR.into(), HELPER.into());
                match want {
                    Want::Default => {
                        object.insert(DEFAULT_BLOCK.into(), Value::Object(body));
                    }
                    Want::Registry(label) => {
                        let creds = object
                            .entry(CREDENTIALS_BLOCK)
                            .or_insert_with(|| Value::Object(Map::new()));
                        match creds {
                            Value::Object(map) => {
                                map.insert(label.clone(), Value::Object(body));
                            }
                            Value::Array(items) => {
                                let mut item = Map::new();
                                item.insert(label.clone(), Value::Object(body));
                                items.push(Value::Object(item));
                            }
                            _ => {
                                return Err(Error::UnexpectedShape {
                                    path: path.to_path_buf(),
                                    reason: format!(
                                        "{CREDENTIALS_BLOCK} is neither an object nor a list"
                                    ),
                                });
                            }
                        }
                    }
                }
                Outcome::Added
            }
            None => continue,
        };
        notes.push(Note {
            subject: want.describe(),
            path: path.to_path_buf(),
            outcome,
        });
    }
    if root == before {
        return Ok((None, notes));
    }
    Ok((Some(crate::json_format::to_string_like(&root, text)), notes))
}

fn json_body_mut<'a>(
    root: &'a mut Map<String, Value>,
    want: &Want,
) -> Option<&'a mut Map<String, Value>> {
    match want {
        Want::Default => match root.get_mut(DEFAULT_BLOCK)? {
            Value::Array(items) => items.first_mut()?.as_object_mut(),
            other => other.as_object_mut(),
        },
        Want::Registry(label) => match root.get_mut(CREDENTIALS_BLOCK)? {
            Value::Array(items) => items
                .iter_mut()
                .find_map(|i| i.as_object_mut()?.get_mut(label.as_str()))?
                .as_object_mut(),
            other => other
                .as_object_mut()?
                .get_mut(label.as_str())?
                .as_object_mut(),
        },
    }
}

/// A plain-text `username`/`password` pair found in a credentials block.
pub struct PlainText {
    pub label: String,
    pub username: String,
    pub password: SecretString,
}

/// The plain-text username/password blocks of one file. Blocks whose values
/// are not plain strings, or whose label has a repository path (a helper
/// cannot replace those), are returned as `skipped` with the reason.
pub fn plaintext(path: &Path, text: &str) -> Result<Findings<PlainText>> {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut consider = |label: &str, username: Option<String>, password: Option<SecretString>| {
        if let Err(e) = validate_helper_label(label) {
            skipped.push((label.to_string(), format!("{e}; move it by hand")));
            return;
        }
        match (username, password) {
            (Some(username), Some(password)) => found.push(PlainText {
                label: label.to_string(),
                username,
                password,
            }),
            _ => skipped.push((
                label.to_string(),
                "its username or password is not a plain string; move it by hand".into(),
            )),
        }
    };
    match Syntax::of(path) {
        Syntax::Hcl => {
            let body = parse_hcl(path, text)?;
            for block in body.iter().filter_map(Structure::as_block) {
                if block.ident.as_str() != CREDENTIALS_BLOCK || hcl_style(block) != Style::Basic {
                    continue;
                }
                let Some(label) = block.labels.first() else {
                    continue;
                };
                let value = |key| {
                    block
                        .body
                        .get_attribute(key)
                        .and_then(|a| literal(text, &a.value))
                };
                consider(
                    label.as_str(),
                    value("username"),
                    value("password").map(SecretString::from),
                );
            }
        }
        Syntax::Json => {
            let root = parse_json(path, text)?;
            for (info, body) in json_blocks(&root) {
                if let (Some(label), Style::Basic) = (&info.label, &info.style) {
                    let value =
                        |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
                    consider(
                        label,
                        value("username"),
                        value("password").map(SecretString::from),
                    );
                }
            }
        }
    }
    Ok((found, skipped))
}

/// The value of a string literal or a heredoc without interpolation.
fn literal(text: &str, expr: &Expression) -> Option<String> {
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
