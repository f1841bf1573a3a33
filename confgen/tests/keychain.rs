//! Tests that need a real OS keychain: a private gnome-keyring on a private
//! D-Bus session per scenario (skipped loudly without one, failed under CI).
//!
//! Proves: `migrate` moves every kind of plain-text secret (OpenTofu
//! username/password, Docker and containers `auths`, scalr-cli and
//! `tofu login` tokens) into the keychain, rewrites the files to point at the
//! helper, and that killing it after any store, any verification or any file
//! write loses nothing: each secret is always in its file or in the
//! keychain, and a second run finishes the job. Also `registry add|list|
//! remove` and `login|logout` with the secret on stdin. Every scenario ends
//! by searching every file under its temporary home for every secret.

// Each test runs a gnome-keyring Secret Service over a private D-Bus
// (`common::KeyringSession`): Unix only.
#![cfg(unix)]

mod common;

use base64::Engine;
use common::{Home, KeyringSession, assert_contains, assert_success, stdout};
use docker_credential_scalr::keychain;
use docker_credential_scalr::registry::RegistryHost;

struct Secret {
    /// Keychain key: a registry host, or `token:HOST` for a Scalr token.
    key: &'static str,
    username: &'static str,
    secret: &'static str,
    file: &'static str,
}

const SECRETS: &[Secret] = &[
    Secret {
        key: "ghcr.io",
        username: "alice",
        secret: "kc-secret-tofu-1a",
        file: ".tofurc",
    },
    Secret {
        key: "quay.io",
        username: "bob",
        secret: "kc-secret-docker-2b",
        file: ".docker/config.json",
    },
    Secret {
        key: "docker.io",
        username: "carol",
        secret: "kc-secret-hub-3c",
        file: ".docker/config.json",
    },
    Secret {
        key: "registry.gitlab.com",
        username: "dan",
        secret: "kc-secret-podman-4d",
        file: ".config/containers/auth.json",
    },
    Secret {
        key: "token:acme.scalr.io",
        username: "",
        secret: "kc-secret-scalrcli-5e",
        file: ".scalr/scalr.conf",
    },
    Secret {
        key: "token:other.scalr.io",
        username: "",
        secret: "kc-secret-tofulogin-6f",
        file: ".terraform.d/credentials.tfrc.json",
    },
];

fn b64(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

fn seed(home: &Home) {
    home.write(
        ".tofurc",
        "# keep me\noci_credentials \"ghcr.io\" {\n  username = \"alice\"\n  password = \"kc-secret-tofu-1a\"\n}\n",
    );
    home.write(
        ".docker/config.json",
        &format!(
            "{{\n\t\"auths\": {{\n\t\t\"quay.io\": {{\n\t\t\t\"auth\": \"{}\"\n\t\t}},\n\t\t\"https://index.docker.io/v1/\": {{\n\t\t\t\"auth\": \"{}\",\n\t\t\t\"email\": \"c@example.com\"\n\t\t}}\n\t}},\n\t\"psFormat\": \"table\"\n}}",
            b64("bob", "kc-secret-docker-2b"),
            b64("carol", "kc-secret-hub-3c")
        ),
    );
    home.write(
        ".config/containers/auth.json",
        &format!(
            "{{\"auths\": {{\"registry.gitlab.com\": {{\"auth\": \"{}\"}}}}}}",
            b64("dan", "kc-secret-podman-4d")
        ),
    );
    home.write(
        ".scalr/scalr.conf",
        "{\"hostname\": \"acme.scalr.io\", \"token\": \"kc-secret-scalrcli-5e\"}",
    );
    home.write(
        ".terraform.d/credentials.tfrc.json",
        "{\n  \"credentials\": {\n    \"other.scalr.io\": {\n      \"token\": \"kc-secret-tofulogin-6f\"\n    },\n    \"app.terraform.io\": {\n      \"token\": \"not-scalrs-token\"\n    }\n  }\n}\n",
    );
}

/// Reads the keychain as another program would: libsecret's `secret-tool`
/// on the session's bus (the bus goes in the child's environment; this
/// process's never changes, so the tests run in parallel).
fn in_keychain(session: &KeyringSession, item: &Secret) -> bool {
    let (service, account) = match item.key.strip_prefix("token:") {
        Some(host) => (keychain::TOKEN_SERVICE, host.to_string()),
        None => (
            keychain::SERVICE,
            RegistryHost::parse(item.key).unwrap().key(),
        ),
    };
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", service, "username", &account])
        .env("DBUS_SESSION_BUS_ADDRESS", &session.bus)
        .output()
        .expect("run secret-tool (libsecret-tools)");
    let stored = String::from_utf8_lossy(&out.stdout);
    match item.key.strip_prefix("token:") {
        Some(_) => stored.trim_end() == item.secret,
        None => serde_json::from_str::<serde_json::Value>(&stored)
            .is_ok_and(|blob| blob["Username"] == item.username && blob["Secret"] == item.secret),
    }
}

fn in_file(home: &Home, item: &Secret) -> bool {
    let text = std::fs::read_to_string(home.file(item.file)).unwrap_or_default();
    text.contains(item.secret) || text.contains(&b64(item.username, item.secret))
}

/// A temporary home whose commands talk to a private keyring session;
/// `None` after a loud skip (see `KeyringSession::start`).
fn home_with_keyring() -> Option<(Home, KeyringSession)> {
    let mut home = Home::new();
    let session = KeyringSession::start(home.path())?;
    home.env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), session.bus.clone()));
    Some((home, session))
}

fn migrate(home: &Home, failpoint: Option<&str>) -> std::process::Output {
    let mut cmd = home.command(&["migrate"]);
    // terraform-credentials-scalr as installed, for the plugin link that
    // moving a tofu login token needs (a stand-in: only its place matters).
    let bin = home.file("bin");
    std::fs::create_dir_all(&bin).unwrap();
    common::write_script(
        &bin.join("terraform-credentials-scalr"),
        "#!/bin/sh\necho '{}'\n",
    );
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin.display()));
    if let Some(point) = failpoint {
        cmd.env("SCALR_OCI_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

fn assert_fully_migrated(home: &Home, session: &KeyringSession) {
    for item in SECRETS {
        assert!(
            in_keychain(session, item),
            "{} is not in the keychain",
            item.key
        );
        home.assert_nowhere(item.secret);
        if !item.username.is_empty() {
            home.assert_nowhere(&b64(item.username, item.secret));
        }
    }
    // The tofu login token left credentials.tfrc.json for the keychain, so
    // OpenTofu now asks terraform-credentials-scalr for it.
    let tofurc = home.read(".tofurc");
    assert_eq!(
        tofurc,
        "# keep me\noci_credentials \"ghcr.io\" {\n  docker_credentials_helper = \"scalr\"\n}\n\ncredentials_helper \"scalr\" {}\n"
    );
    assert!(
        std::fs::read_link(home.file(".terraform.d/plugins/terraform-credentials-scalr")).is_ok(),
        "the plugin was not linked"
    );
    let docker = home.read(".docker/config.json");
    assert!(
        docker.contains("\"email\": \"c@example.com\"")
            && docker.contains("\"psFormat\": \"table\""),
        "{docker}"
    );
    assert!(
        docker.contains("\"https://index.docker.io/v1/\": \"scalr\"")
            && docker.contains("\"quay.io\": \"scalr\""),
        "{docker}"
    );
    assert!(
        home.read(".config/containers/auth.json")
            .contains("\"registry.gitlab.com\": \"scalr\"")
    );
    assert!(
        home.read(".terraform.d/credentials.tfrc.json")
            .contains("not-scalrs-token"),
        "another service's token was taken"
    );
}

/// The keychain already holds other credentials for a host: the dry run
/// says what the run will say (left, with the advice), shows the redacted
/// diff of what does move, and neither summary contradicts its lines.
#[test]
fn migrate_dry_run_predicts_the_conflict_the_run_meets() {
    let Some((home, session)) = home_with_keyring() else {
        return;
    };
    let stored = home.run_with_stdin(
        &["registry", "add", "ghcr.io", "--username", "alice"],
        "kc-other-secret-9k",
    );
    assert_success(&stored);
    let tofurc = "oci_credentials \"ghcr.io\" {\n  username = \"alice\"\n  password = \"kc-conflict-9m\"\n}\noci_credentials \"quay.io\" {\n  username = \"bob\"\n  password = \"kc-moves-9n\"\n}\n";
    home.write(".tofurc", tofurc);
    let conflict = "left \"ghcr.io\" in ";
    let advice = "the keychain already holds different credentials for ghcr.io";

    let dry = home.command(&["migrate", "--dry-run"]).output().unwrap();
    let dry_text = stdout(&dry);
    assert_eq!(dry.status.code(), Some(2), "{dry_text}");
    assert_contains(&dry_text, conflict);
    assert_contains(&dry_text, advice);
    assert_contains(
        &dry_text,
        "would move the credentials of quay.io (user bob)",
    );
    assert!(
        !dry_text.contains("would move the credentials of ghcr.io"),
        "{dry_text}"
    );
    // The redacted diff of the one block that moves.
    assert_contains(&dry_text, "(current)");
    assert_contains(&dry_text, "-  password = \"<redacted>\"");
    assert_contains(&dry_text, "docker_credentials_helper = \"scalr\"");
    assert!(!dry_text.contains("kc-moves-9n") && !dry_text.contains("kc-conflict-9m"));
    assert_contains(
        &dry_text,
        "Dry run: 1 credential(s) would move into the OS keychain, 1 would stay in plain text (named above); nothing was stored or written.",
    );
    assert_eq!(home.read(".tofurc"), tofurc, "the dry run wrote");

    let run = migrate(&home, None);
    let text = stdout(&run);
    assert_eq!(run.status.code(), Some(2), "{text}");
    assert_contains(&text, conflict);
    assert_contains(&text, advice);
    assert_contains(&text, "moved the credentials of quay.io (user bob)");
    assert_contains(
        &text,
        "Moved 1 credential(s) into the OS keychain; docker-credential-scalr and terraform-credentials-scalr now serve them from there; 1 plain-text secret(s) stay where they are",
    );
    assert!(!text.contains("Nothing"), "{text}");
    let quay = Secret {
        key: "quay.io",
        username: "bob",
        secret: "kc-moves-9n",
        file: ".tofurc",
    };
    assert!(in_keychain(&session, &quay));
    assert!(home.read(".tofurc").contains("kc-conflict-9m"));
}

/// A host token written by hand, `credentials "HOST" { token = … }`, moves
/// into the keychain like a `tofu login` token; another service's block
/// stays, and OpenTofu is sent to terraform-credentials-scalr.
#[test]
fn migrate_moves_a_credentials_block_and_writes_the_helper_block() {
    let Some((home, session)) = home_with_keyring() else {
        return;
    };
    let other = "credentials \"app.terraform.io\" {\n  token = \"kc-not-scalrs-1j\"\n}\n";
    home.write(
        ".tofurc",
        &format!("credentials \"acme.scalr.io\" {{\n  token = \"kc-secret-block-8h\"\n}}\n{other}"),
    );
    let out = migrate(&home, None);
    assert_success(&out);
    let item = Secret {
        key: "token:acme.scalr.io",
        username: "",
        secret: "kc-secret-block-8h",
        file: ".tofurc",
    };
    assert!(in_keychain(&session, &item), "{}", stdout(&out));
    assert_eq!(
        home.read(".tofurc"),
        format!("{other}\ncredentials_helper \"scalr\" {{}}\n")
    );
    home.assert_nowhere(item.secret);
}

/// A dotfiles repository hard-links the config: a rename would replace one
/// name and leave the secret under the other while migrate says no file
/// holds it. So migrate refuses, stores nothing, and changes neither name.
#[test]
fn migrate_refuses_a_hard_linked_file() {
    let Some((home, session)) = home_with_keyring() else {
        return;
    };
    let secret = "kc-secret-hardlink-9i";
    let text = format!(
        "{{\n  \"auths\": {{\n    \"quay.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }}\n}}\n",
        b64("frank", secret)
    );
    let config = home.write(".docker/config.json", &text);
    let other = home.file("dotfiles/docker-config.json");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::hard_link(&config, &other).unwrap();
    let out = migrate(&home, None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("hard link"), "{}", stdout(&out));
    assert_eq!(home.read(".docker/config.json"), text);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), text);
    let item = Secret {
        key: "quay.io",
        username: "frank",
        secret,
        file: ".docker/config.json",
    };
    assert!(
        !in_keychain(&session, &item),
        "stored although the file stays"
    );
}

#[test]
fn migrate_in_one_go() {
    let home = Home::new();
    let Some(session) = KeyringSession::start(home.path()) else {
        return;
    };
    let mut home = home;
    home.env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), session.bus.clone()));
    seed(&home);
    let dry = home.command(&["migrate", "--dry-run"]).output().unwrap();
    assert_success(&dry);
    assert_contains(
        &stdout(&dry),
        "would move the credentials of ghcr.io (user alice)",
    );
    assert!(
        SECRETS
            .iter()
            .all(|s| in_file(&home, s) && !in_keychain(&session, s)),
        "--dry-run moved something"
    );

    let out = migrate(&home, None);
    assert_success(&out);
    assert!(!stdout(&out).contains("kc-secret"), "{}", stdout(&out));
    assert_fully_migrated(&home, &session);
    let again = migrate(&home, None);
    assert_success(&again);
    // Not "Nothing to migrate": app.terraform.io's token is still plain
    // text, unread by OpenTofu now that credentials_helper "scalr" is set.
    let text = stdout(&again);
    assert_contains(&text, "left \"app.terraform.io\" in ");
    assert_contains(&text, "OpenTofu no longer reads this file");
    assert_contains(&text, "`scalr-oci migrate --all-hosts` moves it");
    assert_contains(&text, "Nothing was moved; 1 plain-text secret(s) stay");
    assert!(!text.contains("Nothing to migrate"), "{text}");
}

#[test]
fn migrate_interrupted_at_every_step_loses_nothing() {
    // 6 secrets are stored and verified; 6 files are written: the
    // credentials_helper block first, then 5 rewrites.
    let points: Vec<String> = (1..=6)
        .flat_map(|n| [format!("store:{n}"), format!("verify:{n}")])
        .chain((1..=6).map(|n| format!("write:{n}")))
        .collect();
    for point in points {
        let Some((home, session)) = home_with_keyring() else {
            return;
        };
        seed(&home);
        let out = migrate(&home, Some(&point));
        assert_eq!(
            out.status.code(),
            Some(86),
            "{point}: the failpoint was not reached:\n{}",
            stdout(&out)
        );
        for item in SECRETS {
            assert!(
                in_file(&home, item) || in_keychain(&session, item),
                "{point}: {} is in neither its file nor the keychain",
                item.key
            );
        }
        for path in common::walk(home.path()) {
            assert!(
                !path.to_string_lossy().ends_with(".tmp"),
                "{point}: {} left behind",
                path.display()
            );
        }
        let resumed = migrate(&home, None);
        assert_success(&resumed);
        assert_fully_migrated(&home, &session);
    }
}

#[test]
fn registry_and_login_take_secrets_from_stdin_only() {
    let Some((home, session)) = home_with_keyring() else {
        return;
    };
    let secret = "kc-secret-registry-add-7g";
    let out = home.run_with_stdin(
        &["registry", "add", "ghcr.io", "--username", "erin"],
        &format!("{secret}\n"),
    );
    assert_success(&out);
    let item = Secret {
        key: "ghcr.io",
        username: "erin",
        secret,
        file: "",
    };
    assert!(
        in_keychain(&session, &item),
        "the trailing newline was kept or nothing was stored"
    );
    let list = home.run(&["registry", "list"]);
    assert_success(&list);
    assert!(
        stdout(&list).contains("ghcr.io")
            && stdout(&list).contains("erin")
            && !stdout(&list).contains(secret)
    );
    assert_success(&home.run(&["registry", "remove", "ghcr.io"]));
    assert!(!in_keychain(&session, &item));
    let empty = home.run_with_stdin(&["registry", "add", "ghcr.io", "--username", "erin"], "");
    assert_eq!(empty.status.code(), Some(2));

    let token = "kc-secret-login-8h";
    let login = home.run_with_stdin(
        &[
            "login",
            "--hostname",
            "https://acme.scalr.io/",
            "--no-verify",
        ],
        token,
    );
    assert_success(&login);
    let item = Secret {
        key: "token:acme.scalr.io",
        username: "",
        secret: token,
        file: "",
    };
    assert!(in_keychain(&session, &item));
    assert_success(&home.run(&["logout", "--hostname", "acme.scalr.io"]));
    assert!(!in_keychain(&session, &item));
    home.assert_nowhere(secret);
    home.assert_nowhere(token);
}
