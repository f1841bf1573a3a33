//! `scalr.conf` and `credentials.tfrc.json`, read by the helper
//! (`scalr_access::discover`, from a scratch HOME with no keychain) and by
//! `scalr-oci migrate` (`token_files::find` then `strip`): never a panic;
//! every token the helper would use is one migrate finds, under the same
//! keychain host; stripping leaves a file that parses, holds none of the
//! moved tokens and that the helper no longer takes them from; a second
//! strip changes nothing; no planted token in any error, note or diff.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::scalr_access::{self, bare_host};
use docker_credential_scalr::settings::Settings;
use libfuzzer_sys::fuzz_target;
use scalr_oci::report::Unmovable;
use scalr_oci::token_files::{self, TokenFile};
use scalr_oci::write::unified_diff;
use scalr_oci_fuzz::{assert_hidden, json_secrets, planted, scratch};
use secrecy::ExposeSecret;

const HOSTNAMES: [Option<&str>; 4] = [
    None,
    Some("acme.scalr.io"),
    Some("https://ACME.scalr.io/"),
    Some("example.test:8443"),
];

fn home() -> &'static PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = scratch().join("home");
        std::fs::create_dir_all(home.join(".scalr")).unwrap();
        std::fs::create_dir_all(home.join(".terraform.d")).unwrap();
        // SAFETY: set once, before anything else in this single-threaded
        // process reads the environment. No session bus: the keychain is
        // unavailable, so discovery goes on to the files.
        unsafe {
            std::env::set_var("HOME", &home);
            std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
            for (name, _) in std::env::vars() {
                if name.starts_with("SCALR_") {
                    std::env::remove_var(name);
                }
            }
        }
        home
    })
}

/// The token the helper would use with only `text` on disk, if any.
fn helper_token(path: &Path, text: &str, hostname: Option<&str>) -> Option<(String, String)> {
    std::fs::write(path, text).unwrap();
    let mut settings = Settings::defaults();
    settings.hostname = hostname.map(str::to_string);
    let found = scalr_access::discover(&settings, &Keychain::new());
    let access = match found {
        Ok(access) => access?,
        Err(e) => panic!("discovery from files cannot fail, yet: {e}"),
    };
    Some((access.hostname, access.token.expose_secret().to_string()))
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let home = home();
    let (kind, path, other) = match selector & 1 {
        0 => (
            TokenFile::ScalrCli,
            home.join(".scalr/scalr.conf"),
            home.join(".terraform.d/credentials.tfrc.json"),
        ),
        _ => (
            TokenFile::TofuCredentials,
            home.join(".terraform.d/credentials.tfrc.json"),
            home.join(".scalr/scalr.conf"),
        ),
    };
    let _ = std::fs::remove_file(&other);
    let hostname = HOSTNAMES[usize::from(selector >> 1) % HOSTNAMES.len()];
    let secrets = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(doc) => planted(json_secrets(&doc), text),
        Err(_) => Vec::new(),
    };

    let used = helper_token(&path, text, hostname);
    // The inventory's rule for a Scalr host, without a keychain: *.scalr.io
    // or the hostname the settings name.
    let wanted =
        |host: &str| host.ends_with(".scalr.io") || hostname.is_some_and(|s| bare_host(s) == host);
    let (found, unmovable) = match token_files::find(&path, text, kind, &wanted) {
        Ok(scan) => (scan.found, scan.unmovable),
        Err(e) => {
            assert_hidden(
                "token-error",
                &secrets,
                "a token-file error",
                &e.to_string(),
            );
            assert!(
                used.is_none(),
                "the helper reads a token from a file migrate cannot parse"
            );
            return;
        }
    };
    for Unmovable { name, why } in &unmovable {
        let note = format!("{name}: {why}");
        assert_hidden("token-error", &secrets, "a skip note", &note);
    }
    if let Some((host, token)) = &used {
        let migrated = found
            .iter()
            .any(|t| t.token.expose_secret() == token && t.hostname == bare_host(host));
        assert!(
            migrated || !unmovable.is_empty(),
            "the helper uses a token that migrate neither moves to the same keychain host nor reports"
        );
    }

    let names: Vec<String> = found.iter().map(|t| t.name.clone()).collect();
    let moved: Vec<String> = found
        .iter()
        .map(|t| t.token.expose_secret().to_string())
        .collect();
    let moved = planted(moved, text);
    let new = match token_files::strip(&path, text, kind, &names) {
        Ok(Some(new)) => new,
        Ok(None) => {
            assert!(
                found.is_empty(),
                "found tokens but stripping changed nothing"
            );
            return;
        }
        Err(e) => panic!("strip fails on a file find read: {e}"),
    };
    assert!(!found.is_empty(), "stripping nothing changed the file");
    assert_hidden("token-strip", &moved, "the stripped file", &new);
    assert_hidden(
        "token-diff",
        &secrets,
        "the dry-run diff",
        &unified_diff(&path, text, &new),
    );
    let again = token_files::find(&path, &new, kind, &wanted).expect("the stripped file parses");
    assert!(
        again.found.iter().all(|t| !names.contains(&t.name)),
        "a stripped entry still holds a token"
    );
    assert_eq!(
        token_files::strip(&path, &new, kind, &names).expect("the stripped file parses"),
        None,
        "stripping twice changes the file again"
    );
    if let Some((_, token)) = helper_token(&path, &new, hostname) {
        assert!(
            !moved.contains(&token),
            "the helper still reads a moved token from the stripped file"
        );
    }
});
