//! The configure and migrate edits of `.tofurc`, `.tfrc.json`, Docker's
//! `config.json` and containers' `auth.json`, on arbitrary file text: never
//! a panic; an edited file parses again; a second edit changes nothing;
//! migrate leaves none of the secrets it moved in the file; no planted
//! secret in any error, note or dry-run diff.
//!
//! The first input byte picks the file and the edit, the rest is the text.
#![no_main]

use std::path::Path;

use docker_credential_scalr::registry::RegistryHost;
use libfuzzer_sys::fuzz_target;
use scalr_oci::docker_config::{self, Flavor, Request};
use scalr_oci::report::{Note, PlaintextScan, Unmovable};
use scalr_oci::tofurc::{self, Policy, Syntax, Want};
use scalr_oci::write::unified_diff;
use scalr_oci_fuzz::{
    assert_hidden, hcl_secrets, json_own_secrets, json_secrets, planted, planted_decoded,
};
use secrecy::ExposeSecret;

const HOSTS: [&str; 3] = ["ghcr.io", "docker.io", "registry.example.test:5000"];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let force = selector & 8 != 0;
    let migrate = selector & 4 != 0;
    match selector & 3 {
        0 => tofu(Path::new("/fuzz/.tofurc"), text, migrate, force),
        1 => tofu(
            Path::new("/fuzz/.terraform.d/x.tfrc.json"),
            text,
            migrate,
            force,
        ),
        2 => docker(
            Path::new("/fuzz/.docker/config.json"),
            Flavor::Docker,
            text,
            migrate,
            selector,
        ),
        _ => docker(
            Path::new("/fuzz/auth.json"),
            Flavor::Containers,
            text,
            migrate,
            selector,
        ),
    }
});

/// Secrets planted anywhere in the file, as its own syntax reads them.
fn secrets_of(path: &Path, text: &str) -> Vec<String> {
    let found = match Syntax::of(path) {
        Syntax::Json => serde_json::from_str(text)
            .map(|v| json_secrets(&v))
            .unwrap_or_default(),
        // Through the product's parse: it refuses, at once, the operator
        // chains on which hcl-edit takes exponential time.
        Syntax::Hcl => tofurc::hcl::parse(path, text)
            .map(|b| hcl_secrets(&b))
            .unwrap_or_default(),
    };
    planted(found, text)
}

/// What a scan found, after checking its error or skip notes for secrets.
fn findings<T>(secrets: &[String], scan: scalr_oci::Result<PlaintextScan<T>>) -> Option<Vec<T>> {
    match scan {
        Ok(PlaintextScan { found, unmovable }) => {
            for Unmovable { name, why } in &unmovable {
                let note = format!("{name}: {why}");
                assert_hidden("edit-error", secrets, "a skip note", &note);
            }
            Some(found)
        }
        Err(e) => {
            assert_hidden("edit-error", secrets, "an error", &e.to_string());
            None
        }
    }
}

/// The edited text, if any, after checking the edit's notes or error for
/// secrets.
fn edited(
    secrets: &[String],
    edit: scalr_oci::Result<(Option<String>, Vec<Note>)>,
) -> Option<String> {
    match edit {
        Ok((new, notes)) => {
            check_notes(secrets, &notes);
            new
        }
        Err(e) => {
            assert_hidden("edit-error", secrets, "an error", &e.to_string());
            None
        }
    }
}

fn check_notes(secrets: &[String], notes: &[Note]) {
    for note in notes {
        for applied in [true, false] {
            assert_hidden("edit-note", secrets, "a note", &note.display(applied));
        }
    }
}

fn tofu(path: &Path, text: &str, migrate: bool, force: bool) {
    let secrets = secrets_of(path, text);
    let (wants, policy, moved) = if migrate {
        let Some(found) = findings(&secrets, tofurc::plaintext(path, text)) else {
            return;
        };
        // As migrate does: only labels that name a registry are moved.
        let found: Vec<_> = found
            .into_iter()
            .filter(|p| RegistryHost::parse(&p.label).is_ok())
            .collect();
        let wants: Vec<Want> = found
            .iter()
            .map(|p| Want::Registry(p.label.clone()))
            .collect();
        let moved = found.iter().map(|p| p.password.expose_secret().to_string());
        (wants, Policy::migrate(), planted(moved, text))
    } else {
        let mut wants = vec![Want::Default];
        wants.extend(HOSTS.iter().map(|h| Want::Registry(h.to_string())));
        (wants, Policy::configure(force), Vec::new())
    };
    let edit = tofurc::apply(path, Some(text), &wants, policy);
    let Some(new) = edited(&secrets, edit) else {
        return;
    };
    assert_hidden(
        "tofu-diff",
        &secrets,
        "the dry-run diff",
        &unified_diff(path, text, &new),
    );
    assert_hidden("edit-moved", &moved, "the migrated file", &new);
    let blocks = tofurc::credential_blocks(path, &new)
        .unwrap_or_else(|e| panic!("the edited file does not parse: {e}\n{new}"));
    for want in &wants {
        let label = match want {
            Want::Default => None,
            Want::Registry(l) => Some(l.as_str()),
        };
        assert!(
            blocks.iter().any(|b| b.label.as_deref() == label),
            "the edited file lost the block for {want:?}"
        );
    }
    if migrate {
        let left = tofurc::plaintext(path, &new)
            .expect("the edited file parses")
            .found;
        assert!(
            left.iter()
                .all(|p| !wants.contains(&Want::Registry(p.label.clone()))),
            "a migrated block still holds a plain-text password"
        );
    }
    let (again, _) = tofurc::apply(path, Some(&new), &wants, policy)
        .unwrap_or_else(|e| panic!("the edited file does not parse: {e}"));
    assert_eq!(again, None, "a second edit changes the file again");
}

fn docker(path: &Path, flavor: Flavor, text: &str, migrate: bool, selector: u8) {
    let secrets = secrets_of(path, text);
    let new = if migrate {
        let Some(found) = findings(&secrets, docker_config::plaintext(path, text, flavor)) else {
            return;
        };
        let moved_keys: Vec<(String, RegistryHost)> = found
            .iter()
            .map(|p| (p.key.clone(), p.host.clone()))
            .collect();
        let root = docker_config::parse(path, Some(text)).expect("plaintext parsed it");
        let root = serde_json::Value::Object(root);
        // What migrate reports is decoded (the password inside `auth`); the
        // entries' own values are literal.
        let mut moved = planted_decoded(
            found.iter().map(|p| p.secret.expose_secret().to_string()),
            text,
        );
        for (key, _) in &moved_keys {
            moved.extend(planted(json_own_secrets(&root["auths"][key]), text));
        }
        let edit = docker_config::strip_plaintext(path, Some(text), flavor, &moved_keys);
        if let Ok((None, _)) = edit {
            assert!(
                found.is_empty(),
                "found secrets but stripping changed nothing"
            );
        }
        let Some(new) = edited(&secrets, edit) else {
            return;
        };
        assert_hidden("edit-moved", &moved, "the migrated file", &new);
        let left = docker_config::plaintext(path, &new, flavor)
            .expect("the edited file parses")
            .found;
        assert!(
            left.iter()
                .all(|p| moved_keys.iter().all(|(k, _)| k != &p.key)),
            "a migrated entry still holds a secret"
        );
        let (again, _) = docker_config::strip_plaintext(path, Some(&new), flavor, &moved_keys)
            .expect("the edited file parses");
        assert_eq!(again, None, "a second strip changes the file again");
        new
    } else {
        let request = Request {
            hosts: HOSTS
                .iter()
                .map(|h| RegistryHost::parse(h).unwrap())
                .collect(),
            store: selector & 16 != 0,
            force: selector & 8 != 0,
        };
        let edit = docker_config::apply(path, Some(text), flavor, &request);
        let Some(new) = edited(&secrets, edit) else {
            return;
        };
        let (again, _) = docker_config::apply(path, Some(&new), flavor, &request)
            .unwrap_or_else(|e| panic!("the edited file does not parse: {e}\n{new}"));
        assert_eq!(again, None, "a second edit changes the file again");
        new
    };
    assert_hidden(
        "docker-diff",
        &secrets,
        "the dry-run diff",
        &unified_diff(path, text, &new),
    );
}
