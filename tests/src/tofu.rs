//! OpenTofu module packages in a real OCI registry, published and consumed
//! the way users do it (`../shared/seeds/001_…`): a zip of a module directory
//! pushed with `oras push --artifact-type application/vnd.opentofu.modulepkg
//! REF module.zip:archive/zip`, then `tofu init` of a configuration whose
//! module `source` is `oci://…`.
//!
//! Every child runs with a cleared environment plus exactly what the test
//! hands it ([`Env`]): this machine's own `TF_CLI_CONFIG_FILE`, `SSL_CERT_*`
//! or Docker config must never decide an outcome.
//!
//! OpenTofu and ORAS are not Debian packages, so they are not in
//! [`peers::Peer`]; [`require`] finds them the same way (`$SCALR_OCI_PEERS_BIN`,
//! then `PATH`) and, failing that, where `tests/peers/install.sh` builds them
//! (`${SCALR_OCI_PEERS_DIR:-$HOME/.cache/scalr-oci-peers}/bin`), and skips or
//! fails exactly like [`peers::require`].

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::peers::{self, Found, Output, Peer};

/// The manifest `artifactType` OpenTofu requires of a module package.
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
/// The media type of its single layer.
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
/// What the helper prints on stdout when it has nothing for a host.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// A cold `tofu init` of one module takes about a second; a minute means a hang.
pub const TOFU_TIMEOUT: Duration = Duration::from_secs(120);
const ORAS_TIMEOUT: Duration = Duration::from_secs(60);
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);
const SCALR_OCI_TIMEOUT: Duration = Duration::from_secs(60);

/// The peers a test asked for, plus OpenTofu and ORAS.
pub struct Tools {
    pub found: Found,
    pub tofu: PathBuf,
    pub oras: PathBuf,
}

/// Finds `peers` and OpenTofu and ORAS. When one is missing, prints a loud
/// skip notice and returns `None`, or panics when `CI` is set.
pub fn require(peers_needed: &[Peer]) -> Option<Tools> {
    let found = peers::require(peers_needed)?;
    let tofu = find_built("tofu");
    let oras = find_built("oras");
    match (tofu, oras) {
        (Some(tofu), Some(oras)) => Some(Tools { found, tofu, oras }),
        (tofu, oras) => {
            let missing: Vec<&str> = [("tofu", tofu.is_none()), ("oras", oras.is_none())]
                .into_iter()
                .filter_map(|(name, absent)| absent.then_some(name))
                .collect();
            let test = std::thread::current()
                .name()
                .unwrap_or("an end-to-end test")
                .to_string();
            let list = missing
                .iter()
                .map(|m| format!("`{m}` (built from the Go module proxy)"))
                .collect::<Vec<_>>()
                .join(", ");
            peers::missing_peers(&test, &list);
            None
        }
    }
}

/// `$SCALR_OCI_PEERS_BIN`, `PATH`, then install.sh's default cache.
fn find_built(binary: &str) -> Option<PathBuf> {
    peers::find(binary).or_else(|| {
        let cache = std::env::var_os("SCALR_OCI_PEERS_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/scalr-oci-peers"))
            })?;
        let path = cache.join("bin").join(binary);
        is_executable(&path).then_some(path)
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `scalr-oci` binary under test, found like [`peers::helper_bin`]
/// (`$SCALR_OCI_BIN` overrides).
pub fn scalr_oci_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| peers::our_bin("SCALR_OCI_BIN", "scalr-oci", "scalr-oci"))
}

// ---------------------------------------------------------------------------
// A child's whole environment.

/// The complete environment of a child process: nothing is inherited.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: Vec<(OsString, OsString)>,
}

impl Env {
    /// Empty: `env -i`.
    pub fn empty() -> Env {
        Env::default()
    }

    /// Starts from a list such as [`crate::keyring_session::KeyringSession::env`].
    pub fn from_vars(vars: Vec<(OsString, OsString)>) -> Env {
        let mut env = Env::empty();
        for (k, v) in vars {
            env.set(k, v);
        }
        env
    }

    /// Sets (or replaces) one variable.
    pub fn set(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Env {
        let key = key.as_ref().to_os_string();
        self.vars.retain(|(k, _)| *k != key);
        self.vars.push((key, value.as_ref().to_os_string()));
        self
    }

    pub fn remove(&mut self, key: &str) -> &mut Env {
        self.vars.retain(|(k, _)| k != key);
        self
    }

    pub fn get(&self, key: &str) -> Option<&OsStr> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_os_str())
    }

    /// The variable names, for assertions on what a child could see.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .vars
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        keys.sort();
        keys
    }

    /// `program` with a cleared environment plus these variables.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(
            self.vars
                .iter()
                .map(|(k, v)| (k.as_os_str(), v.as_os_str())),
        );
        cmd
    }
}

/// What a Scalr run gives each step: `env -i` plus these (sorted).
const SCALR_RUN_VARS: [&str; 5] = [
    "HOME",
    "PATH",
    "SCALR_HOSTNAME",
    "SCALR_TOKEN",
    "SSL_CERT_FILE",
];

/// Asserts that `env` is exactly a Scalr run's environment plus `extra`:
/// nothing of this machine's can reach the child.
#[track_caller]
pub fn assert_scalr_run_env(env: &Env, extra: &[&str]) {
    let mut expected: Vec<&str> = SCALR_RUN_VARS.iter().chain(extra).copied().collect();
    expected.sort_unstable();
    assert_eq!(
        env.keys(),
        expected,
        "not exactly a Scalr run's environment plus {extra:?}"
    );
}

/// A directory holding links to exactly `programs` (by file name): a `PATH`
/// that reaches our helper and the peers, and nothing else.
pub fn bin_dir(dir: &Path, programs: &[&Path]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create the bin directory");
    for program in programs {
        let name = program.file_name().expect("a program has a file name");
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        let target = std::fs::canonicalize(program)
            .unwrap_or_else(|e| panic!("cannot resolve {}: {e}", program.display()));
        std::os::unix::fs::symlink(&target, &link)
            .unwrap_or_else(|e| panic!("cannot link {}: {e}", link.display()));
    }
    dir.to_path_buf()
}

/// Concatenates PEM files into one `SSL_CERT_FILE` bundle (the registry's
/// CA and the control plane's may differ).
pub fn ca_bundle(dest: &Path, cas: &[&Path]) -> PathBuf {
    let mut pem = String::new();
    for ca in cas {
        let text = std::fs::read_to_string(ca)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", ca.display()));
        pem.push_str(text.trim_end());
        pem.push('\n');
    }
    std::fs::write(dest, pem).expect("write the CA bundle");
    dest.to_path_buf()
}

// ---------------------------------------------------------------------------
// The module package.

/// Writes a module directory laid out as the seed recommends: `main.tf`,
/// `variables.tf`, `outputs.tf`, `README.md` and a `modules/vpc` submodule.
/// `marker` is in every `.tf` file (as an output value), so that a test can
/// tell which published version OpenTofu installed.
pub fn write_module(dir: &Path, marker: &str) {
    let files = [
        (
            "main.tf",
            format!(
                "# network module, version {marker}\n\
                 module \"vpc\" {{\n  source = \"./modules/vpc\"\n  cidr   = var.cidr\n}}\n"
            ),
        ),
        (
            "variables.tf",
            "variable \"cidr\" {\n  type    = string\n  default = \"10.0.0.0/16\"\n}\n".to_string(),
        ),
        (
            "outputs.tf",
            format!(
                "output \"version\" {{\n  value = \"{marker}\"\n}}\n\n\
                 output \"vpc_cidr\" {{\n  value = module.vpc.cidr\n}}\n"
            ),
        ),
        (
            "README.md",
            format!("# network\n\nA test module, version {marker}.\n"),
        ),
        (
            "modules/vpc/main.tf",
            format!(
                "# vpc submodule, version {marker}\n\
                 variable \"cidr\" {{\n  type    = string\n  default = \"10.1.0.0/16\"\n}}\n\n\
                 output \"cidr\" {{\n  value = var.cidr\n}}\n\n\
                 output \"vpc_version\" {{\n  value = \"{marker}\"\n}}\n"
            ),
        ),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create module dirs");
        std::fs::write(&path, text).expect("write a module file");
    }
}

/// `cd src && zip -r dest .`: every file and directory under `src`, with
/// paths relative to it (the archive's root is the module's root), deflated,
/// in a stable order.
pub fn zip_dir(src: &Path, dest: &Path) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(dest)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dest.display()));
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut pending = vec![src.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list a module directory") {
            let entry = entry.expect("a directory entry");
            let kind = entry.file_type().expect("stat an entry");
            if kind.is_dir() {
                pending.push(entry.path());
            }
            entries.push((entry.path(), kind.is_dir()));
        }
    }
    entries.sort();
    for (path, is_dir) in entries {
        let rel = path
            .strip_prefix(src)
            .expect("under src")
            .to_str()
            .expect("UTF-8 paths")
            .to_string();
        if is_dir {
            zip.add_directory(format!("{rel}/"), options.unix_permissions(0o755))
                .expect("add a directory to the zip");
        } else {
            zip.start_file(rel, options).expect("add a file to the zip");
            zip.write_all(&std::fs::read(&path).expect("read a module file"))
                .expect("write into the zip");
        }
    }
    zip.finish().expect("finish the zip");
}

/// The names inside a zip, for assertions on the package itself.
pub fn zip_names(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open the zip");
    let archive = zip::ZipArchive::new(file).expect("read the zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("a readable entry name").into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// Docker-style configuration.

/// A Docker `config.json` that sends each of `hosts` to
/// `docker-credential-scalr` through `credHelpers`, and nothing else.
pub fn write_docker_config(path: &Path, hosts: &[&str]) {
    let helpers: serde_json::Map<String, serde_json::Value> = hosts
        .iter()
        .map(|h| (h.to_string(), serde_json::Value::from("scalr")))
        .collect();
    let doc = serde_json::json!({ "credHelpers": helpers });
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the config dir");
    std::fs::write(
        path,
        serde_json::to_string_pretty(&doc).expect("serialise") + "\n",
    )
    .expect("write the Docker config");
}

/// `docker login HOST --username USER --password-stdin`, the password on
/// stdin. `env` must reach the helper on `PATH` and hold `SSL_CERT_FILE`.
pub fn docker_login(docker: &Path, env: &Env, host: &str, user: &str, password: &str) -> Output {
    peers::run(
        env.command(docker)
            .args(["login", host, "--username", user, "--password-stdin"]),
        password.as_bytes(),
        DOCKER_TIMEOUT,
    )
}

// ---------------------------------------------------------------------------
// ORAS.

/// `oras push --artifact-type application/vnd.opentofu.modulepkg REF
/// ZIP:archive/zip`, run in the zip's directory (ORAS wants a relative path),
/// with `registry_config` as its Docker-style config. Returns the manifest
/// digest, or the failed output.
pub fn oras_push(
    tools: &Tools,
    env: &Env,
    registry_config: &Path,
    reference: &str,
    zip: &Path,
) -> Result<String, Output> {
    let dir = zip.parent().expect("the zip's directory");
    let name = zip.file_name().expect("the zip's name").to_string_lossy();
    let out = peers::run(
        env.command(&tools.oras)
            .arg("push")
            .arg("--registry-config")
            .arg(registry_config)
            .args(["--artifact-type", MODULE_ARTIFACT_TYPE, "--format", "json"])
            .arg(reference)
            .arg(format!("{name}:{ZIP_MEDIA_TYPE}"))
            .current_dir(dir),
        b"",
        ORAS_TIMEOUT,
    );
    if !out.status.success() {
        return Err(out);
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oras push --format json printed no JSON ({e}): {}",
            out.stdout_lossy()
        )
    });
    let digest = doc["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("oras push printed no digest: {doc}"))
        .to_string();
    assert!(digest.starts_with("sha256:"), "digest {digest}");
    Ok(digest)
}

/// `oras manifest fetch REF`: the manifest as JSON.
pub fn oras_manifest(
    tools: &Tools,
    env: &Env,
    registry_config: &Path,
    reference: &str,
) -> serde_json::Value {
    let bytes = oras_manifest_bytes(tools, env, registry_config, reference);
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "the manifest is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// `oras manifest fetch REF`: the manifest's bytes, as the registry sent
/// them.
pub fn oras_manifest_bytes(
    tools: &Tools,
    env: &Env,
    registry_config: &Path,
    reference: &str,
) -> Vec<u8> {
    let out = peers::run(
        env.command(&tools.oras)
            .args(["manifest", "fetch", "--registry-config"])
            .arg(registry_config)
            .arg(reference),
        b"",
        ORAS_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "oras manifest fetch {reference}: {}",
        show(&out)
    );
    out.stdout
}

// ---------------------------------------------------------------------------
// scalr-oci and tofu.

/// `scalr-oci configure tofu --file FILE ARGS…` with only `HOME` (and a
/// locale) in its environment. Returns its output; the caller asserts.
pub fn scalr_oci_configure_tofu(file: &Path, home: &Path, args: &[&str]) -> Output {
    let mut env = Env::empty();
    env.set("HOME", home).set("LANG", "C.UTF-8");
    peers::run(
        env.command(scalr_oci_bin())
            .args(["configure", "tofu", "--file"])
            .arg(file)
            .args(args),
        b"",
        SCALR_OCI_TIMEOUT,
    )
}

/// A root module that calls each `(name, source)` module.
pub fn write_root_config(dir: &Path, modules: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("create the working directory");
    let mut text = String::new();
    for (name, source) in modules {
        text.push_str(&format!(
            "module \"{name}\" {{\n  source = \"{source}\"\n}}\n\n"
        ));
    }
    std::fs::write(dir.join("main.tf"), text).expect("write main.tf");
}

/// `tofu init -input=false -no-color` in `dir`.
pub fn tofu_init(tools: &Tools, env: &Env, dir: &Path) -> Output {
    peers::run(
        env.command(&tools.tofu)
            .args(["init", "-input=false", "-no-color"])
            .current_dir(dir),
        b"",
        TOFU_TIMEOUT,
    )
}

/// Where OpenTofu installed module `key` (from `.terraform/modules/modules.json`),
/// or `None` when it did not record it.
pub fn installed_module_dir(workdir: &Path, key: &str) -> Option<PathBuf> {
    let manifest = workdir.join(".terraform/modules/modules.json");
    let text = std::fs::read_to_string(&manifest).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    let dir = doc["Modules"]
        .as_array()?
        .iter()
        .find(|m| m["Key"] == key)?["Dir"]
        .as_str()?
        .to_string();
    Some(workdir.join(dir))
}

/// Exit status, stdout and stderr, for assertion messages. Never used on
/// output that may hold a secret (no child here prints one).
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.code(),
        out.stdout_lossy(),
        out.stderr_lossy()
    )
}

// ---------------------------------------------------------------------------
// The Scalr host token: OpenTofu's credentials helper (issue 8).

/// `terraform-credentials-scalr`, built like [`peers::helper_bin`]
/// (`$SCALR_OCI_HOST_TOKEN_BIN` overrides).
pub fn host_token_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        peers::our_bin(
            "SCALR_OCI_HOST_TOKEN_BIN",
            "docker-credential-scalr",
            "terraform-credentials-scalr",
        )
    })
}

/// Where OpenTofu looks for `terraform-credentials-NAME` first, and where
/// `install.sh` and `scalr-oci configure tofu --credentials-helper` put ours:
/// `~/.terraform.d/plugins/` (cmd/tofu/plugins.go; `$XDG_DATA_HOME/opentofu/plugins`
/// is searched only when that variable is set).
pub fn plugin_dir(home: &Path) -> PathBuf {
    home.join(".terraform.d").join("plugins")
}

/// Links our helper into HOME's plugin directory, as `install.sh` does.
pub fn install_host_token_helper(home: &Path) -> PathBuf {
    let dir = plugin_dir(home);
    std::fs::create_dir_all(&dir).expect("create the plugin directory");
    let link = dir.join("terraform-credentials-scalr");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(host_token_bin(), &link).expect("link the helper");
    link
}

/// Writes `~/.tofurc` with `text` (the CLI configuration OpenTofu reads when
/// `TF_CLI_CONFIG_FILE` is not set).
pub fn write_tofurc(home: &Path, text: &str) -> PathBuf {
    let path = home.join(".tofurc");
    std::fs::write(&path, text).expect("write ~/.tofurc");
    path
}

/// `credentials.tfrc.json`, where `tofu login` writes a token in plain text
/// when no credentials helper takes it.
pub fn credentials_file(home: &Path) -> PathBuf {
    home.join(".terraform.d").join("credentials.tfrc.json")
}

/// A root module calling `source` (a module registry address) at `version`.
pub fn write_registry_root(dir: &Path, name: &str, source: &str, version: &str) {
    std::fs::create_dir_all(dir).expect("create the working directory");
    std::fs::write(
        dir.join("main.tf"),
        format!("module \"{name}\" {{\n  source  = \"{source}\"\n  version = \"{version}\"\n}}\n"),
    )
    .expect("write main.tf");
}

/// `tofu login HOST` (or `logout`) on a pseudo-terminal, playing `steps`.
pub fn tofu_on_terminal(
    tools: &Tools,
    env: &Env,
    dir: &Path,
    args: &[&str],
    steps: &[crate::pty::Step<'_>],
) -> crate::pty::Transcript {
    crate::pty::converse(
        env.command(&tools.tofu).args(args).current_dir(dir),
        steps,
        TOFU_TIMEOUT,
    )
}
