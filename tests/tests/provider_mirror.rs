//! End to end: `scalr-oci provider push | mirror | verify | tags` and
//! `configure tofu --provider-mirror` (issue 20) with the real OpenTofu:
//! OpenTofu's own provider-simple-v6, cross-built for four platforms and
//! packed as official zips (`tests/peers/install.sh`), pushed into the real
//! registry (distribution 2.8, HTTPS with a test CA, htpasswd), installed by
//! `tofu init` through an `oci_mirror` block, and used by `tofu plan`.
//! Credentials reach `scalr-oci`, ORAS and `tofu` from the helper: a real
//! gnome-keyring, or only the (fake) control plane under `env -i`.
//!
//! The documentation's ORAS recipe builds the same version a second way;
//! `tofu` accepts both, and the test compares the two indexes field by
//! field.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scalr_oci_e2e::oci::sha256_hex;
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::provider_simple::{self, PLATFORMS, VERSION, Zips};
use scalr_oci_e2e::secrets::assert_no_credential_in_files;
use scalr_oci_e2e::stage::{Auth, Keychain, Stage};
use scalr_oci_e2e::tofu::{self, Env, show};
use serde_json::Value;

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "provider-bot";
const TIMEOUT: Duration = Duration::from_secs(180);
const PREFIX: &str = "scalr-e2e-provider-";
/// The provider's source address in the configurations below.
const SOURCE: &str = "registry.opentofu.org/opentofu/simple";
const PROVIDER_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider";
const TARGET_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider-target";

fn scalr_oci(env: &Env, args: &[&str]) -> Output {
    peers::run(env.command(tofu::scalr_oci_bin()).args(args), b"", TIMEOUT)
}

fn scalr_oci_ok(stage: &Stage, env: &Env, args: &[&str]) -> Output {
    let out = scalr_oci(env, args);
    stage
        .registry
        .assert_success(&out, &format!("scalr-oci {args:?}"));
    out
}

/// The lock file's `zh:` hash of each zip, by platform.
fn zh_of(zips: &Zips) -> BTreeMap<String, String> {
    PLATFORMS
        .iter()
        .map(|p| {
            let bytes = std::fs::read(zips.path(p)).expect("read a zip");
            (p.to_string(), format!("zh:{}", sha256_hex(&bytes)))
        })
        .collect()
}

fn zip_args(zips: &Zips) -> Vec<String> {
    zips.files
        .iter()
        .map(|f| f.to_str().expect("UTF-8 path").to_string())
        .collect()
}

/// `provider push ZIPS… oci://AUTHORITY/REPO --json`.
fn push(stage: &Stage, env: &Env, zips: &[String], repo: &str, extra: &[&str]) -> Value {
    let target = format!("oci://{}/{repo}", stage.registry.authority());
    let mut args: Vec<&str> = vec!["provider", "push"];
    args.extend(zips.iter().map(String::as_str));
    args.push(&target);
    args.push("--json");
    args.extend_from_slice(extra);
    let out = scalr_oci_ok(stage, env, &args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("push --json printed no JSON ({e}): {}", show(&out)))
}

/// `configure tofu --provider-mirror TEMPLATE --include SOURCE --registry
/// AUTHORITY` into `tofurc`; then `tofu init` and `tofu plan` of a
/// configuration that uses `simple_resource`. Returns init's output and the
/// lock file.
fn tofu_installs(
    stage: &Stage,
    env: &Env,
    home: &Path,
    tofurc: &Path,
    template: &str,
    name: &str,
) -> (Output, String) {
    let authority = stage.registry.authority();
    let out = tofu::scalr_oci_configure_tofu(
        tofurc,
        home,
        &[
            "--provider-mirror",
            template,
            "--include",
            SOURCE,
            "--registry",
            &authority,
        ],
    );
    assert!(out.status.success(), "configure tofu: {}", show(&out));
    let text = std::fs::read_to_string(tofurc).expect("the tofurc");
    assert!(text.contains("oci_mirror {"), "{text}");
    assert!(
        text.contains(&format!("exclude = [\"{SOURCE}\"]")),
        "{text}"
    );

    let workdir = stage.scratch.path().join(format!("consumer-{name}"));
    std::fs::create_dir_all(&workdir).expect("mkdir");
    std::fs::write(
        workdir.join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    simple = {{\n      source  = \"opentofu/simple\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n\nresource \"simple_resource\" \"a\" {{\n  value = \"from the mirror\"\n}}\n"
        ),
    )
    .expect("write main.tf");
    let mut env = env.clone();
    env.set("TF_CLI_CONFIG_FILE", tofurc);
    let init = stage.tofu_init_ok(&env, &workdir);
    let stdout = init.stdout_lossy();
    assert!(
        stdout.contains(&format!("Installing opentofu/simple v{VERSION}"))
            && stdout.contains(&format!("Installed opentofu/simple v{VERSION}")),
        "{}",
        show(&init)
    );
    let installed = workdir.join(format!(
        ".terraform/providers/{SOURCE}/{VERSION}/linux_amd64/terraform-provider-simple_v{VERSION}"
    ));
    assert!(installed.is_file(), "{} is missing", installed.display());
    let plan = peers::run(
        env.command(&stage.tools.tofu)
            .args(["plan", "-input=false", "-no-color"])
            .current_dir(&workdir),
        b"",
        TIMEOUT,
    );
    assert!(plan.status.success(), "tofu plan: {}", show(&plan));
    assert!(
        plan.stdout_lossy()
            .contains("simple_resource.a will be created")
            && plan.stdout_lossy().contains("from the mirror"),
        "{}",
        show(&plan)
    );
    let lock = std::fs::read_to_string(workdir.join(".terraform.lock.hcl")).expect("a lock file");
    eprintln!("--- tofu init ({name})\n{stdout}\n--- .terraform.lock.hcl ({name})\n{lock}");
    (init, lock)
}

/// The lock file's hashes: the `zh:` of the linux_amd64 zip (OpenTofu
/// 1.12 turns the layer digest of the platform it installed into one, and
/// warns that other platforms' are missing) and the `h1:` of what it
/// unpacked, nothing else.
fn assert_lock_hashes(lock: &str, zips: &Zips) {
    let hashes: Vec<&str> = lock
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"'))
        .filter_map(|l| l.split('"').next())
        .filter(|h| h.starts_with("zh:") || h.starts_with("h1:"))
        .collect();
    let zh: Vec<&str> = hashes
        .iter()
        .copied()
        .filter(|h| h.starts_with("zh:"))
        .collect();
    assert_eq!(zh, [zh_of(zips)["linux_amd64"].as_str()], "{lock}");
    assert_eq!(
        hashes.iter().filter(|h| h.starts_with("h1:")).count(),
        1,
        "{lock}"
    );
}

/// The documentation's recipe: `oras push` per platform into an OCI
/// layout, `oras manifest index create`, `oras cp` to `repo:VERSION`.
fn oras_recipe(stage: &Stage, env: &Env, zips: &Zips, repo: &str) {
    let layout = stage.scratch.path().join("tmp-layout");
    let run = |args: Vec<String>| {
        let out = peers::run(
            env.command(&stage.tools.oras)
                .args(&args)
                .current_dir(&zips.dir),
            b"",
            TIMEOUT,
        );
        assert!(out.status.success(), "oras {args:?}: {}", show(&out));
    };
    let layout_s = layout.to_str().expect("UTF-8").to_string();
    for platform in PLATFORMS {
        let (os, arch) = platform.split_once('_').expect("os_arch");
        run(vec![
            "push".into(),
            "--artifact-type".into(),
            TARGET_ARTIFACT_TYPE.into(),
            "--artifact-platform".into(),
            format!("{os}/{arch}"),
            "--oci-layout".into(),
            format!("{layout_s}:{platform}"),
            format!("{}:archive/zip", Zips::file_name(platform)),
        ]);
    }
    let mut create = vec![
        "manifest".to_string(),
        "index".into(),
        "create".into(),
        format!("--artifact-type={PROVIDER_ARTIFACT_TYPE}"),
        "--oci-layout".into(),
        format!("{layout_s}:{VERSION}"),
    ];
    create.extend(PLATFORMS.iter().map(|p| p.to_string()));
    run(create);
    run(vec![
        "cp".into(),
        "--to-registry-config".into(),
        stage.oras_config().to_str().expect("UTF-8").into(),
        "--from-oci-layout".into(),
        format!("{layout_s}:{VERSION}"),
        format!("{}/{repo}:{VERSION}", stage.registry.authority()),
    ]);
}

/// Both indexes, field by field: what OpenTofu reads must agree, the rest
/// is printed. Returns the comparison as lines.
fn compare_indexes(stage: &Stage, env: &Env, ours: &str, theirs: &str) -> Vec<String> {
    let authority = stage.registry.authority();
    let a = stage.oras_manifest(env, &format!("{authority}/{ours}:{VERSION}"));
    let b = stage.oras_manifest(env, &format!("{authority}/{theirs}:{VERSION}"));
    let mut lines = Vec::new();
    let mut row = |field: &str, x: &Value, y: &Value, must_agree: bool| {
        let same = x == y;
        lines.push(format!(
            "{field:<44} {} | scalr-oci {x} | oras {y}",
            if same { "same " } else { "DIFF " }
        ));
        if must_agree {
            assert!(same, "{field}: scalr-oci {x} vs oras {y}");
        }
    };
    row("index.mediaType", &a["mediaType"], &b["mediaType"], true);
    row(
        "index.artifactType",
        &a["artifactType"],
        &b["artifactType"],
        true,
    );
    row(
        "index.manifests (count)",
        &a["manifests"].as_array().map(Vec::len).into(),
        &b["manifests"].as_array().map(Vec::len).into(),
        true,
    );
    let by_platform = |doc: &Value| -> BTreeMap<String, Value> {
        doc["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|m| {
                (
                    format!(
                        "{}_{}",
                        m["platform"]["os"].as_str().unwrap_or(""),
                        m["platform"]["architecture"].as_str().unwrap_or("")
                    ),
                    m.clone(),
                )
            })
            .collect()
    };
    let (pa, pb) = (by_platform(&a), by_platform(&b));
    assert_eq!(pa.keys().collect::<Vec<_>>(), pb.keys().collect::<Vec<_>>());
    for (platform, ea) in &pa {
        let eb = &pb[platform];
        row(
            &format!("[{platform}].mediaType"),
            &ea["mediaType"],
            &eb["mediaType"],
            true,
        );
        row(
            &format!("[{platform}].artifactType"),
            &ea["artifactType"],
            &eb["artifactType"],
            true,
        );
        row(
            &format!("[{platform}].platform"),
            &ea["platform"],
            &eb["platform"],
            true,
        );
        row(
            &format!("[{platform}].digest"),
            &ea["digest"],
            &eb["digest"],
            false,
        );
        let ma = stage.oras_manifest(
            env,
            &format!(
                "{authority}/{ours}@{}",
                ea["digest"].as_str().expect("digest")
            ),
        );
        let mb = stage.oras_manifest(
            env,
            &format!(
                "{authority}/{theirs}@{}",
                eb["digest"].as_str().expect("digest")
            ),
        );
        row(
            &format!("[{platform}] manifest.artifactType"),
            &ma["artifactType"],
            &mb["artifactType"],
            true,
        );
        row(
            &format!("[{platform}] manifest.config.mediaType"),
            &ma["config"]["mediaType"],
            &mb["config"]["mediaType"],
            false,
        );
        row(
            &format!("[{platform}] manifest.layers (count)"),
            &ma["layers"].as_array().map(Vec::len).into(),
            &mb["layers"].as_array().map(Vec::len).into(),
            true,
        );
        for field in ["mediaType", "digest", "size"] {
            row(
                &format!("[{platform}] layer.{field}"),
                &ma["layers"][0][field],
                &mb["layers"][0][field],
                true,
            );
        }
        row(
            &format!("[{platform}] layer title"),
            &ma["layers"][0]["annotations"]["org.opencontainers.image.title"],
            &mb["layers"][0]["annotations"]["org.opencontainers.image.title"],
            true,
        );
    }
    lines
}

// ---------------------------------------------------------------------------

/// Keychain credentials: `provider push` of four platforms, verify, tags,
/// `configure tofu --provider-mirror`, `tofu init` + `tofu plan`, the lock
/// file's hashes; then the ORAS recipe's index, accepted by `tofu` too and
/// compared field by field with ours.
#[test]
#[ignore = "needs peers"]
fn push_then_tofu_installs_from_the_mirror_and_agrees_with_the_oras_recipe() {
    let Some(zips) = provider_simple::require() else {
        return;
    };
    Stage::with_keychain(
        PREFIX,
        USER,
        |stage, Keychain { session, env }, authority| {
            let files = zip_args(&zips);
            let report = push(stage, env, &files, "mirror/opentofu/simple", &[]);
            assert_eq!(report["tag"], VERSION);
            assert_eq!(report["unchanged"], false);
            // Four zips and the empty config.
            assert_eq!(
                report["uploaded"].as_array().map(Vec::len),
                Some(5),
                "{report}"
            );
            for (platform, zh) in zh_of(&zips) {
                assert_eq!(
                    report["platforms"][&platform]["zh"],
                    zh.as_str(),
                    "{report}"
                );
            }
            let digest = report["digest"].as_str().expect("a digest").to_string();

            // Again: the tag already names this index; nothing is sent.
            let again = push(stage, env, &files, "mirror/opentofu/simple", &[]);
            assert_eq!(again["digest"], digest.as_str());
            assert_eq!(again["unchanged"], true);

            let target = format!("oci://{authority}/mirror/opentofu/simple");
            let out = scalr_oci_ok(
                stage,
                env,
                &["provider", "verify", &format!("{target}?tag={VERSION}")],
            );
            let text = out.stdout_lossy();
            for (platform, zh) in zh_of(&zips) {
                assert!(
                    text.contains(&format!("ok    {platform:<16} {zh}")),
                    "{text}"
                );
            }
            let out = scalr_oci_ok(stage, env, &["provider", "tags", &target]);
            assert_eq!(out.stdout_lossy(), format!("{VERSION}\n"));

            let home = session.home();
            let tofurc = home.join(".tofurc");
            let template = format!("{authority}/mirror/${{namespace}}/${{type}}");
            let (_, lock) = tofu_installs(stage, env, &home, &tofurc, &template, "scalr-oci");
            assert_lock_hashes(&lock, &zips);
            // The registry served the linux_amd64 zip to tofu.
            let linux_blob = format!("sha256:{}", &zh_of(&zips)["linux_amd64"][3..]);
            assert!(
                stage
                    .registry
                    .log()
                    .contains(&format!("/v2/mirror/opentofu/simple/blobs/{linux_blob}")),
                "the registry never served the linux_amd64 zip:\n{}",
                stage.registry.log()
            );

            // The documentation's ORAS recipe, into another repository.
            oras_recipe(stage, env, &zips, "oras/opentofu/simple");
            let out = scalr_oci_ok(
                stage,
                env,
                &[
                    "provider",
                    "verify",
                    &format!("oci://{authority}/oras/opentofu/simple?tag={VERSION}"),
                ],
            );
            assert!(
                out.stdout_lossy().contains("OpenTofu installs"),
                "{}",
                show(&out)
            );
            let lines =
                compare_indexes(stage, env, "mirror/opentofu/simple", "oras/opentofu/simple");
            eprintln!(
                "--- scalr-oci index vs ORAS recipe index\n{}",
                lines.join("\n")
            );
            let tofurc_oras = home.join("oras.tofurc");
            let oras_template = format!("{authority}/oras/${{namespace}}/${{type}}");
            let (_, oras_lock) =
                tofu_installs(stage, env, &home, &tofurc_oras, &oras_template, "oras");
            assert_lock_hashes(&oras_lock, &zips);

            for place in [home.as_path(), stage.scratch.path()] {
                assert_no_credential_in_files(place, USER, &stage.password);
            }
        },
    );
}

/// As in a Scalr run (`env -i`, only the control plane): `provider push`
/// and `tofu init` from it, then `provider mirror DIR` of a `tofu providers
/// mirror` directory into another prefix (a rerun skips what is there), and
/// `tofu init` + `tofu plan` from that copy.
#[test]
#[ignore = "needs peers"]
fn control_plane_only_mirror_of_a_tofu_providers_mirror_directory() {
    let Some(zips) = provider_simple::require() else {
        return;
    };
    let Some(stage) = Stage::new(PREFIX, Auth::Htpasswd(USER), &[]) else {
        return;
    };
    let (_fake, env) = stage.scalr_run_exporting(USER);
    let home = stage.scratch.path().join("home");
    let authority = stage.registry.authority();

    push(&stage, &env, &zip_args(&zips), "first/opentofu/simple", &[]);

    // The packed layout `tofu providers mirror DIR` writes
    // (HOSTNAME/NAMESPACE/TYPE/the official zips, plus its JSON indexes).
    // `tofu providers mirror` itself always downloads from the origin
    // registry, which this machine cannot reach, so the layout is made here.
    let (_, _) = tofu_installs(
        &stage,
        &env,
        &home,
        &home.join(".tofurc"),
        &format!("{authority}/first/${{namespace}}/${{type}}"),
        "first",
    );
    let dir = stage.scratch.path().join("mirror-dir");
    let packed = dir.join(SOURCE);
    std::fs::create_dir_all(&packed).expect("mkdir the packed layout");
    std::fs::write(packed.join("index.json"), "{\"versions\":{\"1.0.0\":{}}}").expect("index.json");
    for platform in ["linux_amd64", "linux_arm64", "darwin_arm64"] {
        std::fs::copy(zips.path(platform), packed.join(Zips::file_name(platform)))
            .expect("copy a zip");
    }

    let template = format!("{authority}/copy/${{namespace}}/${{type}}");
    let mirror = [
        "provider",
        "mirror",
        dir.to_str().expect("UTF-8"),
        "--repository-template",
        &template,
    ];
    let out = scalr_oci_ok(&stage, &env, &mirror);
    assert!(
        out.stdout_lossy().contains(&format!("pushed  {SOURCE} {VERSION} (3 platform(s)) to oci://{authority}/copy/opentofu/simple:{VERSION}")),
        "{}",
        show(&out)
    );
    // The same again: everything is there already.
    let out = scalr_oci_ok(&stage, &env, &mirror);
    assert!(
        out.stdout_lossy()
            .starts_with(&format!("skipped {SOURCE} {VERSION}")),
        "{}",
        show(&out)
    );

    let copy_rc = home.join("copy.tofurc");
    let (_, lock) = tofu_installs(&stage, &env, &home, &copy_rc, &template, "copy");
    assert_lock_hashes(&lock, &zips);
    assert_no_credential_in_files(&home, USER, &stage.password);
    assert_no_credential_in_files(stage.scratch.path(), USER, &stage.password);
}

/// What cannot be a release is refused before any registry is contacted,
/// each with its own message (no peers needed: the address is unreachable).
#[test]
fn bad_packages_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let provider = |name: &str, entry: &str| -> PathBuf {
        let path = dir.path().join(name);
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        zip.start_file(entry, zip::write::SimpleFileOptions::default())
            .expect("zip");
        std::io::Write::write_all(&mut zip, b"\x7fELF").expect("zip");
        zip.finish().expect("zip");
        std::fs::write(&path, out.into_inner()).expect("write");
        path
    };
    let ok = provider(
        "terraform-provider-simple_1.0.0_linux_amd64.zip",
        "terraform-provider-simple_v1.0.0",
    );
    let sub = dir.path().join("other");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let twice = sub.join("terraform-provider-simple_1.0.0_linux_amd64.zip");
    std::fs::copy(&ok, &twice).expect("copy");
    let cases: Vec<(&str, Vec<PathBuf>, &str)> = vec![
        (
            "unparsable name",
            vec![provider("simple.zip", "terraform-provider-simple")],
            "not an official provider package name",
        ),
        (
            "bad version",
            vec![provider(
                "terraform-provider-simple_1.0_linux_amd64.zip",
                "terraform-provider-simple",
            )],
            "\"1.0\" is not a semantic version",
        ),
        (
            "two versions",
            vec![
                ok.clone(),
                provider(
                    "terraform-provider-simple_1.0.1_linux_arm64.zip",
                    "terraform-provider-simple",
                ),
            ],
            "differ in version",
        ),
        (
            "two types",
            vec![
                ok.clone(),
                provider(
                    "terraform-provider-other_1.0.0_linux_arm64.zip",
                    "terraform-provider-other",
                ),
            ],
            "differ in provider type",
        ),
        (
            "one platform twice",
            vec![ok.clone(), twice],
            "are both for linux_amd64",
        ),
        (
            "unknown OS",
            vec![provider(
                "terraform-provider-simple_1.0.0_beos_amd64.zip",
                "terraform-provider-simple",
            )],
            "\"beos\" is not an operating system OpenTofu knows",
        ),
        (
            "unknown arch",
            vec![provider(
                "terraform-provider-simple_1.0.0_linux_z80.zip",
                "terraform-provider-simple",
            )],
            "\"z80\" is not an architecture OpenTofu knows",
        ),
        (
            "not a provider",
            vec![provider(
                "terraform-provider-simple_1.0.0_darwin_arm64.zip",
                "main.tf",
            )],
            "is not a provider package: its root holds no terraform-provider-simple… executable",
        ),
        (
            "not a zip",
            vec![{
                let p = dir
                    .path()
                    .join("terraform-provider-simple_1.0.0_linux_386.zip");
                std::fs::write(&p, b"MZ").expect("w");
                p
            }],
            "is not a provider package: it is not a zip archive",
        ),
        (
            "windows without .exe",
            vec![provider(
                "terraform-provider-simple_1.0.0_windows_amd64.zip",
                "terraform-provider-simple_v1.0.0",
            )],
            "is not a provider package",
        ),
    ];
    let env = {
        let mut env = Env::empty();
        env.set("HOME", dir.path());
        env
    };
    for (what, files, message) in cases {
        let mut args = vec!["provider".to_string(), "push".into()];
        args.extend(files.iter().map(|f| f.to_str().expect("UTF-8").to_string()));
        // Port 1 on loopback: a request would fail with another message.
        args.push("oci://127.0.0.1:1/providers/simple".into());
        let out = peers::run(env.command(tofu::scalr_oci_bin()).args(&args), b"", TIMEOUT);
        assert_eq!(out.code(), Some(2), "{what}: {}", show(&out));
        assert!(
            out.stderr_lossy().contains(message),
            "{what}: expected {message:?}: {}",
            show(&out)
        );
        eprintln!("{what:<22} | {}", out.stderr_lossy().trim());
    }
}

/// Against the registry: build metadata is tagged with `_` and installs;
/// a tag naming another index is refused without --force (nothing moved);
/// a push killed midway leaves no tag, and a rerun completes it.
#[test]
#[ignore = "needs peers"]
fn metadata_versions_taken_tags_and_interrupted_pushes() {
    let Some(zips) = provider_simple::require() else {
        return;
    };
    Stage::with_keychain(PREFIX, USER, |stage, Keychain { env, .. }, authority| {
        let target = format!("oci://{authority}/edge/opentofu/simple");
        let scratch = stage.scratch.path().join("renamed");
        std::fs::create_dir_all(&scratch).expect("mkdir");
        let renamed = |version: &str, platforms: &[&str]| -> Vec<String> {
            platforms
                .iter()
                .map(|p| {
                    let to = scratch.join(format!("terraform-provider-simple_{version}_{p}.zip"));
                    std::fs::copy(zips.path(p), &to).expect("copy");
                    to.to_str().expect("UTF-8").to_string()
                })
                .collect()
        };

        // `version` for `platforms`, pushed to the target: the report.
        let push_renamed = |version: &str, platforms: &[&str]| {
            push(
                stage,
                env,
                &renamed(version, platforms),
                "edge/opentofu/simple",
                &[],
            )
        };

        // +metadata: the tag is 1.0.0_b7; OpenTofu reads it as 1.0.0+b7.
        let report = push_renamed("1.0.0+b7", &["linux_amd64"]);
        assert_eq!(report["tag"], "1.0.0_b7");
        let out = scalr_oci_ok(stage, env, &["provider", "tags", &target]);
        assert_eq!(out.stdout_lossy(), "1.0.0+b7 (tag 1.0.0_b7)\n");
        scalr_oci_ok(
            stage,
            env,
            &["provider", "verify", &format!("{target}?tag=1.0.0_b7")],
        );

        // 2.0.0 for one platform, then for two: the tag names another index.
        let first = push_renamed("2.0.0", &["linux_amd64"]);
        let mut args: Vec<String> = vec!["provider".into(), "push".into()];
        args.extend(renamed("2.0.0", &["linux_amd64", "linux_arm64"]));
        args.push(target.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = scalr_oci(env, &refs);
        assert_eq!(out.code(), Some(2), "{}", show(&out));
        let message = out.stderr_lossy();
        assert!(
            message.contains(&format!(
                "{target}:2.0.0 already names {}",
                first["digest"].as_str().expect("digest")
            )) && message.contains("nothing was tagged. Pass --force to move the tag"),
            "{}",
            show(&out)
        );
        eprintln!("existing tag elsewhere | {}", message.trim());
        let fetched = stage.oras_manifest(env, &format!("{authority}/edge/opentofu/simple:2.0.0"));
        assert_eq!(
            fetched["manifests"].as_array().map(Vec::len),
            Some(1),
            "the tag moved"
        );
        let mut forced = refs.clone();
        forced.push("--force");
        scalr_oci_ok(stage, env, &forced);
        let fetched = stage.oras_manifest(env, &format!("{authority}/edge/opentofu/simple:2.0.0"));
        assert_eq!(fetched["manifests"].as_array().map(Vec::len), Some(2));

        // Killed after the second zip (as if the registry went away), in a
        // repository of its own: no tag; the rerun uploads only the two zips
        // still missing, then tags.
        let killed = format!("oci://{authority}/killed/opentofu/simple");
        let files = renamed("3.0.0", PLATFORMS);
        let mut args: Vec<&str> = vec!["provider", "push"];
        args.extend(files.iter().map(String::as_str));
        args.push(&killed);
        let mut killed_env = env.clone();
        killed_env.set("SCALR_OCI_FAILPOINT", "provider-push:2");
        let out = scalr_oci(&killed_env, &args);
        assert_eq!(out.code(), Some(86), "{}", show(&out));
        let out = scalr_oci_ok(stage, env, &["provider", "tags", &killed]);
        assert_eq!(
            out.stdout_lossy(),
            "",
            "half a push was tagged: {}",
            show(&out)
        );
        let rerun = push(stage, env, &files, "killed/opentofu/simple", &[]);
        assert_eq!(rerun["tag"], "3.0.0");
        assert_eq!(
            rerun["uploaded"].as_array().map(Vec::len),
            Some(2),
            "{rerun}"
        );
        scalr_oci_ok(
            stage,
            env,
            &["provider", "verify", &format!("{killed}?tag=3.0.0")],
        );
    });
}
