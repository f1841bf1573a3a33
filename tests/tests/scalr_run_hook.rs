//! A Scalr run that fetches a pinned, verified binary (issue 16): the
//! release's pre-init hook (install/scalr-run-hook.sh, filled in by the real
//! release/hook.sh from the release's SHA256SUMS) runs in a runner built with
//! bubblewrap as Scalr's agent runs a job: uid 1000, a read-only root,
//! writable /tmp, /opt/workdir and /opt/data only, no cargo or rustc on PATH,
//! and `add_key`/`keyctl`/`request_key` refused by seccomp as under Docker's
//! default profile. A local HTTPS release host serves the archives.
//!
//! The hook downloads this machine's archive, checks it against the
//! checksum pinned in the hook, and sets up the helpers; then the real
//! `tofu init` pulls a private `oci://` module through the fetched helper,
//! which asks the fake control plane with the run's token, and a module from
//! the Scalr module registry, whose host token OpenTofu gets from the fetched
//! `terraform-credentials-scalr` (the run's `SCALR_TOKEN`). The hook also
//! appends `PATH` and `TF_CLI_CONFIG_FILE` to the agent's `SCALR_AGENT_ENV`
//! file, and a second process given only that file's variables runs `tofu
//! init` the same way. With a tampered
//! archive the hook refuses, says why, and `tofu` is left unconfigured.
//! Nothing is written but the binaries and the CLI config (and its plugin
//! link), and no file holds the token or the registry password.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use scalr_oci_e2e::peers::{self, Output, Peer};
use scalr_oci_e2e::release_host::{Release, ReleaseHost};
use scalr_oci_e2e::scratch::scratch_with;
use scalr_oci_e2e::secrets::{assert_no_credential_in_files, assert_no_file_contains};
use scalr_oci_e2e::stage::{Auth, ControlPlane, REPO, Stage};
use scalr_oci_e2e::tofu::{self, show};

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "hook-bot";
/// The module in the Scalr module registry (`NS/NAME/SYSTEM`).
const HOSTED: &str = "acme/hosted/scalr";
/// What the agent gives a hook as `SCALR_AGENT_ENV`, inside the runner.
const AGENT_ENV: &str = "/tmp/scalr-agent.env";
/// What was in that file before the hook ran (the agent's own lines).
const AGENT_ENV_BEFORE: &str = "SCALR_RUN_ID=run-v0hook\n";

/// The runner's writable places, on the host so the test can look inside.
struct Runner {
    root: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        Runner {
            root: scratch_with("scalr-e2e-runner-", &["workdir", "data", "tmp", "opt"]),
        }
    }

    fn host(&self, place: &str) -> PathBuf {
        self.root.path().join(place)
    }

    /// Runs `script` with `sh` in the runner, after the seccomp filter.
    fn run(&self, bwrap: &Path, tofu: &Path, env: &[(&str, String)], script: &str) -> Output {
        let confined = peers::our_bin("SCALR_OCI_CONFINED_BIN", "scalr-oci-e2e", "confined");
        // Files the runner reads are under opt/, so that nothing of the
        // host's /tmp (where the stage lives) is visible. The two programs
        // are bound over empty files there, not copied: a copy written by
        // this process while another test thread spawns a child can fail
        // to run with ETXTBSY ("Text file busy").
        let opt = self.host("opt");
        let programs = [(tofu, "tofu"), (confined.as_path(), "confined")];
        for (_, name) in programs {
            std::fs::write(opt.join(name), b"").expect("a mount point for a program");
        }
        let mut cmd = Command::new(bwrap);
        cmd.args(["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]);
        for link in ["bin", "sbin", "lib", "lib64"] {
            let host = Path::new("/").join(link);
            match std::fs::read_link(&host) {
                Ok(target) => {
                    cmd.arg("--symlink").arg(target).arg(&host);
                }
                Err(_) if host.is_dir() => {
                    cmd.arg("--ro-bind").arg(&host).arg(&host);
                }
                Err(_) => {}
            }
        }
        cmd.args(["--dev", "/dev", "--proc", "/proc"])
            .arg("--ro-bind")
            .arg(&opt)
            .arg("/opt/tools");
        for (program, name) in programs {
            cmd.arg("--ro-bind")
                .arg(program)
                .arg(format!("/opt/tools/{name}"));
        }
        cmd.arg("--bind")
            .arg(self.host("workdir"))
            .arg("/opt/workdir")
            .arg("--bind")
            .arg(self.host("data"))
            .arg("/opt/data")
            .arg("--bind")
            .arg(self.host("tmp"))
            .arg("/tmp")
            .args(["--remount-ro", "/"])
            .args(["--unshare-user", "--uid", "1000", "--gid", "1000"])
            .args(["--unshare-pid", "--unshare-ipc", "--die-with-parent"])
            .args(["--chdir", "/opt/workdir", "--clearenv"]);
        let base = [
            (
                "PATH",
                "/opt/tools:/usr/local/bin:/usr/bin:/bin".to_string(),
            ),
            ("HOME", "/opt/data".to_string()),
            ("TMPDIR", "/tmp".to_string()),
            ("SCALR_RUN_ID", "run-v0hook".to_string()),
        ];
        for (key, value) in base.iter().cloned().chain(env.iter().cloned()) {
            cmd.arg("--setenv").arg(key).arg(value);
        }
        cmd.args([
            "--",
            "/opt/tools/confined",
            "--deny-keyctl",
            "--",
            "/bin/sh",
            "-c",
        ])
        .arg(script);
        peers::run(&mut cmd, b"", Duration::from_secs(300))
    }

    /// Every path under the runner's writable places, relative, sorted.
    fn written(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut pending: Vec<PathBuf> = ["tmp", "data", "workdir"]
            .iter()
            .map(|p| self.host(p))
            .collect();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a runner directory") {
                let entry = entry.expect("an entry");
                let path = entry.path();
                let rel = path
                    .strip_prefix(self.root.path())
                    .expect("under the runner")
                    .to_string_lossy()
                    .into_owned();
                let meta = std::fs::symlink_metadata(&path).expect("metadata");
                if meta.is_dir() {
                    pending.push(path);
                }
                out.push(rel);
            }
        }
        out.sort();
        out
    }
}

/// The stage: registry with a published module, fake control plane,
/// release host, and the hook filled in from the release's SHA256SUMS.
struct HookStage {
    stage: Stage,
    cp: ControlPlane,
    release: Release,
    bwrap: PathBuf,
    /// The hook as release/hook.sh fills it.
    hook: String,
}

impl HookStage {
    fn new() -> Option<HookStage> {
        let found = peers::require(&[Peer::Bubblewrap])?;
        let stage = Stage::new("scalr-e2e-hook-", Auth::Htpasswd(USER), &[])?;
        let cp = stage.control_plane(USER);
        // Published through ORAS and our helper with a token of its own.
        let publisher = cp.fake.add_token();
        let publisher_home = stage.scratch.path().join("publisher-home");
        std::fs::create_dir_all(&publisher_home).unwrap();
        let env = stage.scalr_run_env(&cp.fake, &cp.bundle, &publisher_home, &publisher);
        let dir = stage.scratch.path().join("module");
        tofu::write_module(&dir, "1.0.0");
        let zip = stage.scratch.path().join("module.zip");
        tofu::zip_dir(&dir, &zip);
        let reference = format!("{}/{REPO}:1.0.0", stage.registry.authority());
        tofu::oras_push(&stage.tools, &env, &stage.oras_config(), &reference, &zip)
            .unwrap_or_else(|out| panic!("oras push: {}", show(&out)));
        // The same module under another version marker, in the account's
        // private module registry (served by the fake as the Scalr host).
        let hosted = stage.scratch.path().join("hosted");
        tofu::write_module(&hosted, "hosted-1.0.0");
        let hosted_zip = stage.scratch.path().join("hosted.zip");
        tofu::zip_dir(&hosted, &hosted_zip);
        cp.fake
            .publish_module(HOSTED, "1.0.0", std::fs::read(&hosted_zip).unwrap());
        cp.fake.reset_counters();

        let release = Release::staged();
        let filled = Command::new("sh")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../release/hook.sh"))
            .arg(release.dir.path())
            .output()
            .expect("run release/hook.sh");
        assert!(
            filled.status.success(),
            "release/hook.sh: {}",
            String::from_utf8_lossy(&filled.stderr)
        );
        let hook = String::from_utf8(filled.stdout).expect("a UTF-8 hook");
        assert!(
            !hook.contains("@SHA256_"),
            "release/hook.sh left a placeholder"
        );
        Some(HookStage {
            bwrap: found.path(Peer::Bubblewrap).to_path_buf(),
            stage,
            cp,
            release,
            hook,
        })
    }

    /// Serves the release, lays out the runner (hook, root module, the CA
    /// bundle) and runs the hook then `tofu init` as a run would.
    fn run(&self, runner: &Runner, host: &ReleaseHost) -> Output {
        let workdir = runner.host("workdir");
        std::fs::write(workdir.join("scalr-oci-pre-init.sh"), &self.hook).unwrap();
        tofu::write_root_config(
            &workdir.join("root"),
            &[("network", &self.stage.source("?tag=1.0.0"))],
        );
        let main_tf = workdir.join("root/main.tf");
        let mut text = std::fs::read_to_string(&main_tf).unwrap();
        text.push_str(&format!(
            "module \"hosted\" {{\n  source  = \"{}\"\n  version = \"1.0.0\"\n}}\n",
            self.cp.fake.module_source(HOSTED)
        ));
        std::fs::write(&main_tf, text).unwrap();
        std::fs::write(runner.host("tmp/scalr-agent.env"), AGENT_ENV_BEFORE).unwrap();
        let bundle = tofu::ca_bundle(
            &runner.host("opt").join("ca.pem"),
            &[&self.cp.bundle, &host.ca.ca_cert],
        );
        assert!(bundle.exists());
        let env = self.run_env(host);
        let script = "\
            if command -v cargo || command -v rustc; then echo 'RUST ON PATH'; exit 9; fi
            touch /opt/readonly-check 2>/dev/null && { echo 'ROOT IS WRITABLE'; exit 9; }
            echo \"uid=$(id -u)\"
            . ./scalr-oci-pre-init.sh
            rc=$?
            echo \"hook rc=$rc\"
            echo \"TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE:-unset}\"
            echo \"helper=$(command -v docker-credential-scalr || echo none)\"
            echo \"PATH=$PATH\"
            [ \"$rc\" = 0 ] || exit 3
            cd root && exec tofu init -input=false -no-color";
        runner.run(&self.bwrap, &self.stage.tools.tofu, &env, script)
    }

    /// The run's environment: the agent's variables, the CA bundle, the
    /// release mirror and the helper's debug log.
    fn run_env(&self, host: &ReleaseHost) -> Vec<(&'static str, String)> {
        vec![
            ("SSL_CERT_FILE", "/opt/tools/ca.pem".to_string()),
            ("CURL_CA_BUNDLE", "/opt/tools/ca.pem".to_string()),
            ("SCALR_HOSTNAME", self.cp.fake.hostname()),
            ("SCALR_TOKEN", self.cp.fake.token()),
            (
                "SCALR_OCI_RELEASE_URL",
                host.url("Scalr/releases/download/v0"),
            ),
            ("SCALR_OCI_DEBUG", "1".to_string()),
            ("SCALR_AGENT_ENV", AGENT_ENV.to_string()),
        ]
    }
}

#[test]
#[ignore = "needs peers"]
fn the_hook_fetches_the_pinned_binary_and_tofu_init_pulls_a_private_module() {
    let Some(s) = HookStage::new() else {
        return;
    };
    let runner = Runner::new();
    let host = ReleaseHost::serve(s.release.dir.path());
    let out = s.run(&runner, &host);
    let text = out.stdout_lossy();
    assert_eq!(out.code(), Some(0), "{}", show(&out));
    assert!(text.contains("uid=1000"), "{text}");
    assert!(text.contains("hook rc=0"), "{text}");
    assert!(
        text.contains("TF_CLI_CONFIG_FILE=/opt/data/.scalr-oci/tofurc"),
        "{text}"
    );
    assert!(text.contains("helper=/tmp/scalr-oci-"), "{text}");
    assert_eq!(host.requests(&s.release.archive), 1);

    // The module came through the fetched helper, from the control plane,
    // for the run's token.
    let installed = tofu::installed_module_dir(&runner.host("workdir/root"), "network")
        .unwrap_or_else(|| panic!("tofu installed no module: {}", show(&out)));
    let outputs = std::fs::read_to_string(installed.join("outputs.tf")).unwrap();
    assert!(outputs.contains("\"1.0.0\""), "{outputs}");
    assert!(
        s.cp.fake.credentials_requests(&s.cp.integration) >= 1,
        "the helper never asked the control plane"
    );
    assert!(
        s.cp.fake
            .request_log()
            .iter()
            .any(|r| r.sent_bearer(&s.cp.fake.token())),
        "no request carried the run's SCALR_TOKEN"
    );
    // The module from the Scalr module registry: OpenTofu asked the fetched
    // terraform-credentials-scalr for the host token, which answered with
    // the run's SCALR_TOKEN; every registry request carried it and was served.
    assert_hosted_module_installed(&s, &runner.host("workdir/root"), &out);

    // The keyring was refused (seccomp), so the answer came from the source.
    assert!(
        out.stderr_lossy().contains("the cache is unavailable")
            || text.contains("the cache is unavailable"),
        "the helper's debug log does not show the refused keyring: {}",
        show(&out)
    );

    // Written: the unpacked archive under /tmp, the CLI config and the
    // plugin link under HOME, and what tofu writes in the working directory.
    let written = runner.written();
    let outside_workdir: Vec<&String> = written
        .iter()
        .filter(|p| !p.starts_with("workdir/"))
        .collect();
    for path in &outside_workdir {
        assert!(
            path.starts_with("tmp/scalr-oci-")
                || [
                    "data/.scalr-oci",
                    "data/.scalr-oci/tofurc",
                    // scalr-oci's write lock beside the config (empty, below).
                    "data/.scalr-oci/.tofurc.scalr-oci.lock",
                    "data/.terraform.d",
                    "data/.terraform.d/plugins",
                    "data/.terraform.d/plugins/terraform-credentials-scalr",
                    // The agent's file, which the hook appends to.
                    "tmp/scalr-agent.env",
                ]
                .contains(&path.as_str()),
            "the hook wrote {path}: {outside_workdir:?}"
        );
    }
    assert!(
        !written.iter().any(|p| p.ends_with(".tar.gz")),
        "the downloaded archive was left behind: {written:?}"
    );
    if let Ok(lock) = std::fs::metadata(runner.host("data/.scalr-oci/.tofurc.scalr-oci.lock")) {
        assert_eq!(lock.len(), 0, "the lock file holds something");
    }
    let tofurc = std::fs::read_to_string(runner.host("data/.scalr-oci/tofurc")).unwrap();
    assert!(
        tofurc.contains("docker_credentials_helper = \"scalr\""),
        "{tofurc}"
    );
    for place in ["tmp", "data", "workdir"] {
        assert_no_file_contains(&runner.host(place), &s.cp.fake.token());
        assert_no_credential_in_files(&runner.host(place), USER, &s.stage.password);
    }

    // SCALR_AGENT_ENV: the agent's lines kept, then exactly two NAME=VALUE
    // lines, the PATH and TF_CLI_CONFIG_FILE the sourcing shell got.
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("PATH="))
        .unwrap_or_else(|| panic!("the script printed no PATH: {text}"));
    assert!(
        path.starts_with("/tmp/scalr-oci-")
            && path.ends_with(":/opt/tools:/usr/local/bin:/usr/bin:/bin"),
        "{path}"
    );
    let agent_env = std::fs::read_to_string(runner.host("tmp/scalr-agent.env")).unwrap();
    assert_eq!(
        agent_env,
        format!("{AGENT_ENV_BEFORE}PATH={path}\nTF_CLI_CONFIG_FILE=/opt/data/.scalr-oci/tofurc\n")
    );

    // A step the agent starts with those variables, without the hook
    // sourced, finds both helpers and the CLI config: tofu init again.
    let vars: Vec<(&str, String)> = agent_env
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(name, _)| *name != "SCALR_RUN_ID")
        .map(|(name, value)| (name, value.to_string()))
        .collect();
    assert_eq!(vars.len(), 2, "{agent_env}");
    let mut env = s.run_env(&host);
    env.retain(|(name, _)| !name.starts_with("SCALR_OCI_"));
    env.extend(vars);
    let root2 = runner.host("workdir/root2");
    std::fs::create_dir_all(&root2).unwrap();
    std::fs::copy(runner.host("workdir/root/main.tf"), root2.join("main.tf")).unwrap();
    s.cp.fake.reset_counters();
    let again = runner.run(
        &s.bwrap,
        &s.stage.tools.tofu,
        &env,
        "echo \"helper=$(command -v docker-credential-scalr)\"; cd root2 && exec tofu init -input=false -no-color",
    );
    assert_eq!(again.code(), Some(0), "{}", show(&again));
    assert!(
        again.stdout_lossy().contains("helper=/tmp/scalr-oci-"),
        "{}",
        show(&again)
    );
    let network = tofu::installed_module_dir(&root2, "network")
        .unwrap_or_else(|| panic!("no oci:// module: {}", show(&again)));
    assert!(
        std::fs::read_to_string(network.join("outputs.tf"))
            .unwrap()
            .contains("\"1.0.0\"")
    );
    assert!(s.cp.fake.credentials_requests(&s.cp.integration) >= 1);
    assert_hosted_module_installed(&s, &root2, &again);
}

/// The Scalr-registry module is installed in `root`, and every request to
/// the registry carried the run's token and was answered 200 or 204.
fn assert_hosted_module_installed(s: &HookStage, root: &Path, out: &Output) {
    let hosted = tofu::installed_module_dir(root, "hosted")
        .unwrap_or_else(|| panic!("tofu installed no registry module: {}", show(out)));
    let outputs = std::fs::read_to_string(hosted.join("outputs.tf")).unwrap();
    assert!(outputs.contains("\"hosted-1.0.0\""), "{outputs}");
    let seen = s.cp.fake.registry_requests();
    assert!(
        seen.iter().any(|r| r.path.ends_with("/versions"))
            && seen.iter().any(|r| r.path.ends_with("/download")),
        "the registry saw {seen:?}"
    );
    for request in &seen {
        assert!(
            request.sent_bearer(&s.cp.fake.token()) && matches!(request.status, Some(200 | 204)),
            "a registry request without the run's token, or refused: {request:?}"
        );
    }
}

#[test]
#[ignore = "needs peers"]
fn a_tampered_archive_makes_the_hook_refuse_and_leaves_tofu_unconfigured() {
    let Some(s) = HookStage::new() else {
        return;
    };
    // The release host now serves an archive other than the one pinned.
    s.release.tamper_with_the_archive();
    let runner = Runner::new();
    let host = ReleaseHost::serve(s.release.dir.path());
    let out = s.run(&runner, &host);
    let text = out.stdout_lossy();
    let logs = out.stderr_lossy();
    assert_eq!(out.code(), Some(3), "{}", show(&out));
    assert!(
        logs.contains(&format!(
            "{} does not match the checksum pinned in this hook",
            s.release.archive
        )) && logs.contains("tofu is left unconfigured"),
        "{}",
        show(&out)
    );
    assert!(text.contains("TF_CLI_CONFIG_FILE=unset"), "{text}");
    assert!(text.contains("helper=none"), "{text}");
    assert_eq!(host.requests(&s.release.archive), 1);
    // Nothing unpacked, nothing configured.
    let written = runner.written();
    let outside_workdir: Vec<&String> = written
        .iter()
        .filter(|p| !p.starts_with("workdir/"))
        .collect();
    // The agent's file was there before; a refused hook adds nothing to it.
    assert_eq!(
        outside_workdir,
        [&"tmp/scalr-agent.env".to_string()],
        "a refused hook wrote {outside_workdir:?}"
    );
    assert_eq!(
        std::fs::read_to_string(runner.host("tmp/scalr-agent.env")).unwrap(),
        AGENT_ENV_BEFORE,
        "a refused hook passed variables on to the run"
    );
    assert_eq!(s.cp.fake.total_requests(), 0);
}
