//! `.tfrc.json` CLI config files: the object and list forms OpenTofu
//! accepts, read and edited through serde_json with `preserve_order`.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    CREDENTIALS_BLOCK, CredBlock, DEFAULT_BLOCK, HELPER, HELPER_ATTR, Policy, Style, Want, note,
    style_of,
};
use crate::error::{Error, Result};
use crate::json_format;
use crate::report::{Note, Outcome};

pub fn parse(path: &Path, text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(text).map_err(|e| json_format::syntax_error(path, &e))
}

/// `(block, body object)` pairs of a `.tfrc.json` file; both the object form
/// (`{"oci_credentials": {"LABEL": {…}}}`) and the list form are read.
pub(super) fn blocks(root: &Value) -> Vec<(CredBlock, &Map<String, Value>)> {
    let mut out = Vec::new();
    let Some(root) = root.as_object() else {
        return out;
    };
    for item in as_list(root.get(DEFAULT_BLOCK)) {
        if let Some(body) = item.as_object() {
            out.push((
                CredBlock {
                    label: None,
                    style: style(body),
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
                            style: style(body),
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

pub(super) fn style(body: &Map<String, Value>) -> Style {
    let helper = body.get(HELPER_ATTR).map(|h| h.as_str().unwrap_or("?"));
    style_of(helper, |key| body.contains_key(key))
}

pub(super) fn apply(
    path: &Path,
    text: Option<&str>,
    wants: &[Want],
    policy: Policy,
) -> Result<(Option<String>, Vec<Note>)> {
    let mut root = parse(path, text.unwrap_or(""))?;
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
                let style = style(body);
                let outcome = super::decide(&style, policy);
                if style == Style::Basic && matches!(outcome, Outcome::Replaced(_)) {
                    body.shift_remove("username");
                    body.shift_remove("password");
                }
                if matches!(outcome, Outcome::Replaced(_) | Outcome::Completed) {
                    body.insert(HELPER_ATTR.into(), HELPER.into());
                }
                outcome
            }
            None if policy.add_missing => {
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
        notes.push(note(path, want, outcome));
    }
    if root == before {
        return Ok((None, notes));
    }
    Ok((Some(json_format::to_string_like(&root, text)), notes))
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
