//! End to end: `scalr-oci module publish | verify | tags` (issue 9) against
//! the real registry (distribution 2.8, HTTPS with a test CA) in both of its
//! authentication modes, htpasswd (Basic) and `auth: token` with our token
//! server (Bearer, as ghcr.io, Docker Hub and GitLab), then consumed by the
//! real `tofu init` and inspected by the real ORAS.
//!
//! Credentials reach `scalr-oci` in-process from the helper's chain: from a
//! real gnome-keyring filled by `scalr-oci registry add`, or, as in a Scalr
//! run, only from the (fake) control plane under `env -i`. Every test ends
//! by searching every file it touched for the password and the tokens.

// Built on the Unix-only stages (gnome-keyring's Secret Service over D-Bus,
// Unix modes and links): see the crate docs of `scalr_oci_e2e`.
#![cfg(unix)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::FakeControlPlane;
use scalr_oci_e2e::oci::sha256_digest;
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::secrets::{assert_no_credential_in_files, assert_no_file_contains};
use scalr_oci_e2e::stage::{Auth, Keychain, REPO, Stage};
use scalr_oci_e2e::tofu::{self, Env, show};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "module-bot";
const READER: &str = "module-reader";
const TIMEOUT: Duration = Duration::from_secs(120);
const PREFIX: &str = "scalr-e2e-module-";

/// The Bearer-token registry: USER may push, READER only pull; `realm`
/// replaces the token server's own.
fn token_stage(realm: Option<String>) -> Option<Stage> {
    let users: &[(&str, &[&str])] = &[(USER, &["pull", "push"]), (READER, &["pull"])];
    Stage::new(PREFIX, Auth::Token { users, realm }, &[])
}

/// [`token_stage`] without another realm, and a Scalr run whose control
/// plane exports `username` ([`Stage::scalr_run_exporting`]).
fn token_stage_for_a_scalr_run(username: &str) -> Option<(Stage, FakeControlPlane, Env)> {
    let stage = token_stage(None)?;
    let (fake, env) = stage.scalr_run_exporting(username);
    Some((stage, fake, env))
}

/// A module directory for `marker`, plus what must never be published.
fn module(stage: &Stage, marker: &str) -> PathBuf {
    let dir = stage.scratch.path().join(format!("module-{marker}"));
    tofu::write_module(&dir, marker);
    for (rel, text) in [
        (".terraform/modules/modules.json", "{}"),
        ("terraform.tfstate", "{\"state\": \"local\"}"),
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".terraform.lock.hcl", "# lock\n"),
    ] {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write a file");
    }
    dir
}

/// `scalr-oci ARGS…` with exactly `env`.
fn scalr_oci(env: &Env, args: &[&str]) -> Output {
    peers::run(env.command(tofu::scalr_oci_bin()).args(args), b"", TIMEOUT)
}

/// `module publish … --json`: the parsed report, or a panic with the output.
fn publish(stage: &Stage, env: &Env, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let dir = dir.to_str().expect("UTF-8 path");
    let target = stage.source("");
    let mut args = vec!["module", "publish", dir, &target, "--json"];
    args.extend_from_slice(extra);
    let out = scalr_oci(env, &args);
    stage
        .registry
        .assert_success(&out, &format!("scalr-oci {args:?}"));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("publish --json printed no JSON ({e}): {}", show(&out)))
}

/// `tofu init` of three modules: by tag, by digest, and `//modules/vpc`;
/// asserts each landed with the right content and without the junk.
fn assert_tofu_installs(stage: &Stage, env: &Env, home: &Path, digest: &str) -> PathBuf {
    let workdir = stage.scratch.path().join("consumer");
    let base = stage.source("");
    tofu::write_root_config(
        &workdir,
        &[
            ("by_tag", &format!("{base}?tag=1.0.0")),
            ("by_digest", &format!("{base}?digest={digest}")),
            ("vpc", &format!("{base}//modules/vpc?tag=1.0.0")),
        ],
    );
    let tofurc = home.join(".tofurc");
    let authority = stage.registry.authority();
    let out = tofu::scalr_oci_configure_tofu(&tofurc, home, &["--registry", &authority]);
    assert!(out.status.success(), "configure tofu: {}", show(&out));
    let mut env = env.clone();
    env.set("TF_CLI_CONFIG_FILE", &tofurc);
    let out = stage.tofu_init_ok(&env, &workdir);
    for (key, rel, needle) in [
        ("by_tag", "outputs.tf", "\"1.0.0\""),
        ("by_digest", "modules/vpc/main.tf", "version 1.0.0"),
        ("vpc", "main.tf", "vpc submodule, version 1.0.0"),
    ] {
        let dir = tofu::installed_module_dir(&workdir, key)
            .unwrap_or_else(|| panic!("module {key} is not installed: {}", show(&out)));
        let text = std::fs::read_to_string(dir.join(rel))
            .unwrap_or_else(|e| panic!("module {key}: {rel}: {e}"));
        assert!(text.contains(needle), "module {key}: {rel}:\n{text}");
    }
    let package = tofu::installed_module_dir(&workdir, "by_tag").expect("installed");
    for junk in [
        ".terraform",
        "terraform.tfstate",
        ".git",
        ".terraform.lock.hcl",
    ] {
        assert!(
            !package.join(junk).exists(),
            "{junk} was published: {}",
            package.display()
        );
    }
    workdir
}

/// Every file's mtime moved and modes changed: packaging must not care.
fn touch_everything(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let later = std::time::SystemTime::now() + Duration::from_secs(86_400 * 400);
    for file in scalr_oci_e2e::secrets::regular_files(dir) {
        let handle = std::fs::File::options()
            .append(true)
            .open(&file)
            .expect("open");
        handle.set_modified(later).expect("set mtime");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

// ---------------------------------------------------------------------------

/// Keychain credentials (stored by `scalr-oci registry add`), the Basic
/// registry: publish, ORAS sees our bytes, the same tree gives the same
/// digest, `tofu init` installs by tag, digest and subdirectory, verify and
/// tags agree.
#[test]
#[ignore = "needs peers"]
fn keychain_publish_is_reproducible_and_installs_with_tofu() {
    Stage::with_keychain(
        PREFIX,
        USER,
        |stage, Keychain { session, env }, authority| {
            let dir = module(stage, "1.0.0");
            let first = publish(stage, env, &dir, &["--tag", "1.0.0", "--tag", "latest"]);
            let digest = first["digest"].as_str().expect("a digest").to_string();
            assert_eq!(first["tags"], serde_json::json!(["1.0.0", "latest"]));
            assert_eq!(
                first["source"],
                format!("{}?digest={digest}", stage.source(""))
            );
            let files: Vec<&str> = first["files"]
                .as_array()
                .expect("files")
                .iter()
                .filter_map(|f| f.as_str())
                .collect();
            assert_eq!(
                files,
                [
                    "README.md",
                    "main.tf",
                    "modules/vpc/main.tf",
                    "outputs.tf",
                    "variables.tf"
                ]
            );

            // ORAS reads back exactly the bytes we pushed.
            let bytes = stage.oras_manifest_bytes(env, &format!("{authority}/{REPO}:1.0.0"));
            assert_eq!(
                sha256_digest(&bytes),
                digest,
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(manifest["artifactType"], tofu::MODULE_ARTIFACT_TYPE);
            assert_eq!(manifest["layers"][0]["mediaType"], tofu::ZIP_MEDIA_TYPE);
            assert_eq!(manifest["layers"][0], first["layer"]);
            assert_eq!(
                manifest["config"]["mediaType"],
                "application/vnd.oci.empty.v1+json"
            );

            // The same tree, other mtimes and modes: the same digest, nothing uploaded.
            touch_everything(&dir);
            let second = publish(stage, env, &dir, &["--tag", "1.0.0"]);
            assert_eq!(second["digest"], digest);
            assert_eq!(second["uploaded"], serde_json::json!([]));

            let home = session.home();
            let workdir = assert_tofu_installs(stage, env, &home, &digest);

            let target = stage.source("");
            let out = scalr_oci(env, &["module", "verify", &format!("{target}?tag=1.0.0")]);
            assert!(out.status.success(), "verify: {}", show(&out));
            assert!(out.stdout_lossy().starts_with("ok "), "{}", show(&out));
            let out = scalr_oci(
                env,
                &[
                    "module",
                    "verify",
                    &format!("{target}//modules/vpc?digest={digest}"),
                ],
            );
            assert!(out.status.success(), "verify //modules/vpc: {}", show(&out));
            let out = scalr_oci(env, &["module", "tags", &target]);
            assert_eq!(out.success(), "1.0.0\nlatest\n");
            // One tag a page: the second comes from the Link header's next page.
            let out = scalr_oci(env, &["module", "tags", &target, "--page-size", "1"]);
            assert_eq!(out.success(), "1.0.0\nlatest\n");

            for place in [home.as_path(), stage.scratch.path(), workdir.as_path()] {
                assert_no_credential_in_files(place, USER, &stage.password);
            }
        },
    );
}

/// The control plane as the only source (`env -i`), the Bearer-token
/// registry: publish in chunks, verify, tags, `tofu init`, and `doctor`'s
/// Bearer flow, all through our token server.
#[test]
#[ignore = "needs peers"]
fn control_plane_only_with_a_bearer_token_registry() {
    let Some((stage, fake, env)) = token_stage_for_a_scalr_run(USER) else {
        return;
    };
    let home = stage.scratch.path().join("home");

    // A module with a poorly compressible file, pushed in 8 KiB PATCH chunks.
    let dir = module(&stage, "1.0.0");
    let noise: String = (0..2000u32)
        .map(|i| format!("# {}\n", sha256_digest(&i.to_le_bytes())))
        .collect();
    std::fs::write(dir.join("noise.tf"), noise).expect("write noise.tf");
    let report = publish(
        &stage,
        &env,
        &dir,
        &["--tag", "1.0.0", "--chunk-size", "8192"],
    );
    let digest = report["digest"].as_str().expect("a digest").to_string();
    assert!(report["layer"]["size"].as_u64().expect("a size") > 8192 * 4);
    assert_eq!(report["uploaded"].as_array().map(Vec::len), Some(2));

    let token = stage.registry.token_server().expect("a token registry");
    let requests = token.requests();
    assert!(
        requests.iter().any(|r| r.user.as_deref() == Some(USER)
            && r.granted
                .iter()
                .any(|g| g == &format!("repository:{REPO}:pull,push"))),
        "the token server never granted {USER} push: {requests:?}"
    );
    assert!(
        requests.iter().all(|r| r.status == 200),
        "a token request failed: {requests:?}"
    );

    let target = stage.source("");
    let out = scalr_oci(
        &env,
        &["module", "verify", &format!("{target}?tag=1.0.0"), "--json"],
    );
    assert!(out.status.success(), "verify: {}", show(&out));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["digest"], digest.as_str());
    let out = scalr_oci(&env, &["module", "tags", &target, "--json"]);
    let tags: serde_json::Value = serde_json::from_slice(out.success().as_bytes()).expect("JSON");
    assert_eq!(tags["tags"], serde_json::json!(["1.0.0"]));

    let workdir = assert_tofu_installs(&stage, &env, &home, &digest);

    // doctor's Bearer flow, live (it asks the helper on PATH, as OpenTofu does).
    let before = token.requests().len();
    let out = scalr_oci(&env, &["doctor", &stage.registry.authority()]);
    assert!(
        out.status.success()
            && out.stdout_lossy().contains(&format!(
                "the credentials of {USER} authenticate (bearer flow)"
            )),
        "doctor: {}",
        show(&out)
    );
    assert!(
        token.requests().len() > before,
        "doctor never asked for a token"
    );

    for place in [home.as_path(), stage.scratch.path(), workdir.as_path()] {
        assert_no_credential_in_files(place, USER, &stage.password);
        assert_no_file_contains(place, &fake.token());
    }
}

/// The registry refuses the push (a user allowed to pull only): a clear
/// error naming the permission, exit non-zero, and no tag was made.
#[test]
#[ignore = "needs peers"]
fn a_refused_push_is_explained_and_makes_no_tag() {
    let Some((stage, fake, env)) = token_stage_for_a_scalr_run(READER) else {
        return;
    };
    let dir = module(&stage, "1.0.0");
    let target = stage.source("");
    let out = scalr_oci(
        &env,
        &[
            "module",
            "publish",
            dir.to_str().expect("UTF-8"),
            &target,
            "--tag",
            "1.0.0",
        ],
    );
    assert_eq!(out.code(), Some(2), "{}", show(&out));
    let err = out.stderr_lossy();
    assert!(
        err.contains("401") && err.contains("lack the permission"),
        "{}",
        show(&out)
    );
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let out = scalr_oci(&env, &["module", "tags", &target]);
    assert_eq!(out.success(), "", "a refused push left tags");
    let out = scalr_oci(&env, &["module", "verify", &format!("{target}?tag=1.0.0")]);
    assert!(
        !out.status.success() && out.stderr_lossy().contains("1.0.0 does not exist"),
        "{}",
        show(&out)
    );
    assert_no_credential_in_files(stage.scratch.path(), READER, &stage.password);
    assert_no_file_contains(stage.scratch.path(), &fake.token());
}

/// Attack: the registry names a token realm over plain HTTP. Our client must
/// refuse before sending anything there, so the credentials never cross
/// the network in clear text. A listener stands at that realm and counts
/// connections.
#[test]
#[ignore = "needs peers"]
fn credentials_never_go_to_a_token_realm_that_is_not_https() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let realm = format!("http://{}/token", listener.local_addr().expect("addr"));
    let Some(stage) = token_stage(Some(realm.clone())) else {
        return;
    };
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    listener.set_nonblocking(true).expect("non-blocking");
    let stop = Arc::new(AtomicUsize::new(0));
    let stopped = stop.clone();
    let watcher = std::thread::spawn(move || {
        while stopped.load(Ordering::SeqCst) == 0 {
            if let Ok((mut stream, _)) = listener.accept() {
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(b"HTTP/1.1 500 no\r\ncontent-length: 0\r\n\r\n");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let (fake, env) = stage.scalr_run_exporting(USER);
    let dir = module(&stage, "1.0.0");
    let target = stage.source("");
    for args in [
        vec!["module", "publish", dir.to_str().expect("UTF-8"), &target],
        vec!["module", "tags", &target],
    ] {
        let out = scalr_oci(&env, &args);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(
            out.stderr_lossy().contains(&format!(
                "refusing to send credentials to the token realm {realm}"
            )),
            "{args:?}: {}",
            show(&out)
        );
    }
    // doctor's Bearer check must refuse the same way.
    let out = scalr_oci(&env, &["doctor", &stage.registry.authority()]);
    assert_eq!(out.code(), Some(2), "doctor: {}", show(&out));
    assert!(
        out.stdout_lossy().contains("is not HTTPS"),
        "doctor: {}",
        show(&out)
    );
    stop.store(1, Ordering::SeqCst);
    watcher.join().expect("the watcher");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "something connected to the plain-HTTP realm"
    );
    assert_no_credential_in_files(stage.scratch.path(), USER, &stage.password);
    assert_no_file_contains(stage.scratch.path(), &fake.token());
}

/// `verify` names each way an artifact is not a module package: another
/// artifact type, two layers, a zip with a `../` entry, a missing tag.
#[test]
#[ignore = "needs peers"]
fn verify_rejects_each_bad_artifact_with_its_message() {
    Stage::with_keychain(
        PREFIX,
        USER,
        |stage, Keychain { session, env }, authority| {
            let files = stage.scratch.path().join("files");
            std::fs::create_dir_all(&files).expect("mkdir");
            let module = module(stage, "1.0.0");
            tofu::zip_dir(&module, &files.join("good.zip"));
            std::fs::write(files.join("notes.txt"), "notes").expect("write");
            {
                use zip::write::SimpleFileOptions;
                let file = std::fs::File::create(files.join("evil.zip")).expect("create");
                let mut zip = zip::ZipWriter::new(file);
                for (name, text) in [("main.tf", "# ok\n"), ("../escape.tf", "# out\n")] {
                    zip.start_file(name, SimpleFileOptions::default())
                        .expect("an entry");
                    zip.write_all(text.as_bytes()).expect("write");
                }
                zip.finish().expect("finish");
            }
            let oras_push = |tag: &str, artifact_type: &str, layers: &[&str]| {
                let out = peers::run(
                    env.command(&stage.tools.oras)
                        .arg("push")
                        .arg("--registry-config")
                        .arg(stage.oras_config())
                        .args(["--artifact-type", artifact_type])
                        .arg(format!("{authority}/{REPO}:{tag}"))
                        .args(layers)
                        .current_dir(&files),
                    b"",
                    TIMEOUT,
                );
                assert!(out.status.success(), "oras push {tag}: {}", show(&out));
            };
            oras_push(
                "other-type",
                "application/vnd.example.thing",
                &["good.zip:archive/zip"],
            );
            oras_push(
                "two-layers",
                tofu::MODULE_ARTIFACT_TYPE,
                &["good.zip:archive/zip", "notes.txt:text/plain"],
            );
            oras_push(
                "escape",
                tofu::MODULE_ARTIFACT_TYPE,
                &["evil.zip:archive/zip"],
            );
            oras_push(
                "fine",
                tofu::MODULE_ARTIFACT_TYPE,
                &["good.zip:archive/zip"],
            );

            let target = stage.source("");
            let verify =
                |tag: &str| scalr_oci(env, &["module", "verify", &format!("{target}?tag={tag}")]);
            let out = verify("fine");
            assert!(
                out.status.success(),
                "an ORAS-pushed good package: {}",
                show(&out)
            );
            for (tag, message) in [
                (
                    "other-type",
                    "the artifactType is \"application/vnd.example.thing\", not application/vnd.opentofu.modulepkg",
                ),
                ("two-layers", "the manifest has 2 layers"),
                ("escape", "zip entry \"../escape.tf\" contains `..`"),
                ("missing", "missing does not exist"),
            ] {
                let out = verify(tag);
                assert_eq!(out.code(), Some(2), "verify {tag}: {}", show(&out));
                let seen = format!("{}{}", out.stdout_lossy(), out.stderr_lossy());
                assert!(
                    seen.contains(message),
                    "verify {tag}: want {message:?}: {}",
                    show(&out)
                );
            }
            assert_no_credential_in_files(&session.home(), USER, &stage.password);
            assert_no_credential_in_files(stage.scratch.path(), USER, &stage.password);
        },
    );
}
