//! What this machine has, read once: the OpenTofu CLI config files (their
//! credentials blocks and provider installation), Docker's and containers'
//! config files, where the helper binaries are on `PATH`, the helper's
//! settings, the keychain's registry entries and (when asked for) what the
//! Scalr control plane says. `status`, `doctor`, `migrate` and `configure`
//! read the same [`Inventory`], so they cannot disagree about what is
//! configured where. `status` and `doctor` read nothing else; `migrate`
//! reads the files it rewrites again, for the secrets the scan drops.
//!
//! Decisions:
//! - A scan never fails as a whole: a file that cannot be read or parsed is
//!   kept with its error, so `status` can show it beside the others, and a
//!   command that must stop on it (`configure tofu`) reads the error there.
//! - Nothing here prints or writes; no secret is kept (plain-text entries
//!   are scanned for their names only, and dropped).
//! - Which integration answers for a host is decided in one place, the
//!   helper's `control_plane::pick` (and `Integration::names`, its test of
//!   whether an integration names a host), which `get` uses too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use docker_credential_scalr::control_plane::{ControlPlane, Integration, pick};
use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::settings::{Settings, SourceKind};
use serde_json::{Map, Value};

use crate::docker_config::{self, Flavor, PlaintextAuth};
use crate::environment::{Env, HELPER_BINARY};
use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::report::PlaintextScan;
use crate::tofurc::provider_mirror::{self, Installation};
use crate::tofurc::{self, CredBlock, Style, TofuFiles};
use crate::token_files::TokenFile;
use crate::{credentials_helper, scalr, write};

/// One OpenTofu CLI config file as read: its blocks, `None` when it does not
/// exist, or why it could not be read.
pub struct TofuFile {
    pub path: PathBuf,
    pub blocks: Result<Option<Vec<CredBlock>>>,
    /// The labels of its `credentials_helper` blocks (empty when the file
    /// is missing or broken: `blocks` holds the error then).
    pub helpers: Vec<String>,
    /// Its `provider_installation` blocks (none when missing or broken).
    pub installations: Vec<Installation>,
}

impl TofuFile {
    /// Reads and parses one file: the one scan of the OpenTofu configuration.
    pub fn read(path: &Path) -> TofuFile {
        let text = write::read_optional(path);
        let (helpers, installations) = match &text {
            Ok(Some(text)) => (
                credentials_helper::names_in(path, text).unwrap_or_default(),
                provider_mirror::installations(path, text),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let blocks = text.and_then(|text| {
            text.map(|text| tofurc::credential_blocks(path, &text))
                .transpose()
        });
        TofuFile {
            path: path.to_path_buf(),
            blocks,
            helpers,
            installations,
        }
    }

    /// Every file of the set, in OpenTofu's merge order.
    pub fn read_all(files: &TofuFiles) -> Vec<TofuFile> {
        files.all().map(|p| TofuFile::read(p)).collect()
    }

    /// The blocks, or nothing when the file is missing or broken.
    fn blocks(&self) -> &[CredBlock] {
        match &self.blocks {
            Ok(Some(blocks)) => blocks,
            _ => &[],
        }
    }
}

/// One existing Docker or containers config file.
pub struct DockerFile {
    pub flavor: Flavor,
    pub path: PathBuf,
    pub content: Result<DockerContent>,
}

pub struct DockerContent {
    pub root: Map<String, Value>,
    /// The plain-text `auths` entries (their secrets are dropped by callers
    /// that only name them).
    pub plaintext: PlaintextScan<PlaintextAuth>,
}

impl DockerFile {
    fn read(flavor: Flavor, path: PathBuf) -> DockerFile {
        let content = write::read_optional(&path).and_then(|text| {
            let text = text.unwrap_or_default();
            Ok(DockerContent {
                root: docker_config::parse(&path, Some(&text))?,
                plaintext: docker_config::plaintext(&path, &text, flavor)?,
            })
        });
        DockerFile {
            flavor,
            path,
            content,
        }
    }

    /// `credHelpers` as (key, helper name) pairs.
    pub fn cred_helpers(&self) -> Vec<(&str, &str)> {
        let Ok(content) = &self.content else {
            return Vec::new();
        };
        content
            .root
            .get("credHelpers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("?")))
            .collect()
    }
}

/// The keychain's registry entries (server → username), or why it could
/// not be listed.
pub struct KeychainView {
    pub listed: std::result::Result<BTreeMap<String, String>, docker_credential_scalr::Error>,
    pub vendor: String,
    /// The Scalr hosts it holds an API token for (canonical names).
    pub token_hosts: Vec<String>,
}

impl KeychainView {
    /// Lists `keychain`'s registry entries and Scalr token hosts.
    pub fn read(keychain: &Keychain) -> KeychainView {
        KeychainView {
            // No keychain (a container, CI) simply means nothing known there.
            listed: keychain.list(),
            vendor: keychain.vendor().unwrap_or_default(),
            token_hosts: keychain
                .token_hosts()
                .unwrap_or_default()
                .iter()
                .map(|h| canonical_service_host(h))
                .collect(),
        }
    }

    /// The entries, or none when the keychain could not be listed.
    pub fn entries(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.listed.as_ref().unwrap_or(&EMPTY)
    }
}

/// Whether [`Inventory::scan`] asks the Scalr control plane too (a network
/// round trip, and a token discovery that may consult the keychain).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Local,
    WithControlPlane,
}

pub struct Inventory {
    /// Why the OpenTofu file set could not be found (no home directory);
    /// `tofu` is empty then.
    pub tofu_error: Option<Error>,
    pub tofu: Vec<TofuFile>,
    pub docker: Vec<DockerFile>,
    /// `tofu login`'s credentials.tfrc.json: the hosts it holds a token for.
    pub token_file: Option<TokenFileView>,
    pub keychain: KeychainView,
    pub control_plane: Option<ControlPlaneView>,
    /// The environment the scan read (`SCALR_*`, `TF_TOKEN_*`).
    pub env: Env,
    /// The Scalr host of the helper's settings (`SCALR_HOSTNAME`, else the
    /// settings file), when there is one.
    pub settings_hostname: Option<String>,
    /// docker-credential-scalr as OpenTofu and Docker find it on `PATH`.
    pub helper_binary: Option<PathBuf>,
    /// The installed terraform-credentials-scalr (beside this program, else
    /// on `PATH`), which the plugin in OpenTofu's directory should be.
    pub plugin_binary: Option<PathBuf>,
    /// The machine's one keychain, for a command that goes on to store or
    /// read a secret (migrate, doctor).
    store: Arc<Keychain>,
}

/// `tofu login`'s plain-text token file: where it is and which hosts it
/// holds a token for (never the tokens).
pub struct TokenFileView {
    pub path: PathBuf,
    /// `Ok(None)` when it does not exist.
    pub hosts: Result<Option<Vec<String>>>,
}

impl TokenFileView {
    fn read(env: &Env) -> Option<TokenFileView> {
        let path = TokenFile::TofuCredentials.path(env)?;
        let hosts = write::read_optional(&path).and_then(|text| {
            text.map(|text| {
                let root = docker_config::parse(&path, Some(&text))?;
                Ok(root
                    .get(credentials_helper::CREDENTIALS)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter(|(_, v)| v.get("token").and_then(Value::as_str).is_some())
                    .map(|(k, _)| canonical_service_host(k))
                    .collect())
            })
            .transpose()
        });
        Some(TokenFileView { path, hosts })
    }

    /// The hosts, or none when the file is missing or broken.
    pub fn host_list(&self) -> &[String] {
        match &self.hosts {
            Ok(Some(hosts)) => hosts,
            _ => &[],
        }
    }
}

/// A Scalr (service) host as OpenTofu names it: bare, lower-case.
pub fn canonical_service_host(host: &str) -> String {
    use docker_credential_scalr::service_host::ServiceHost;
    let bare = docker_credential_scalr::scalr_access::bare_host(host);
    ServiceHost::parse(&bare).map_or(bare, |s| s.to_string())
}

/// One file the scan could not read or parse, with the error (which names
/// the file, and the line and column where it has them).
pub struct Unreadable<'a> {
    pub path: &'a Path,
    pub error: &'a Error,
}

impl Inventory {
    /// Scans the machine: its files, `PATH`, its keychain and, with
    /// [`Reach::WithControlPlane`], the control plane.
    pub fn scan(machine: &Machine, reach: Reach) -> Inventory {
        let keychain = KeychainView::read(machine.keychain());
        let control_plane = (reach == Reach::WithControlPlane)
            .then(|| ControlPlaneView::load(machine.settings(), machine.keychain()));
        Inventory::of_files(machine, keychain, control_plane)
    }

    /// The files and `PATH` of `machine`'s environment, read now, beside a
    /// keychain and control-plane view read already (a test's own).
    pub fn of_files(
        machine: &Machine,
        keychain: KeychainView,
        control_plane: Option<ControlPlaneView>,
    ) -> Inventory {
        let env = &machine.env;
        let (tofu, tofu_error) = match TofuFiles::find(env) {
            Ok(files) => (TofuFile::read_all(&files), None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let docker = [Flavor::Docker, Flavor::Containers]
            .into_iter()
            .flat_map(|flavor| {
                flavor
                    .existing_paths(env)
                    .into_iter()
                    .map(move |path| DockerFile::read(flavor, path))
            })
            .collect();
        Inventory {
            tofu_error,
            tofu,
            docker,
            token_file: TokenFileView::read(env),
            keychain,
            control_plane,
            env: env.clone(),
            settings_hostname: machine.settings().ok().and_then(|s| s.hostname.clone()),
            helper_binary: env.find_on_path(HELPER_BINARY),
            plugin_binary: credentials_helper::installed_plugin(env),
            store: machine.shared_keychain(),
        }
    }

    /// Every `provider_installation` block of the OpenTofu files, in their
    /// merge order.
    pub fn installations(&self) -> Vec<Installation> {
        self.tofu
            .iter()
            .flat_map(|f| f.installations.iter().cloned())
            .collect()
    }

    /// The machine's one keychain.
    pub fn keychain_store(&self) -> &Keychain {
        &self.store
    }

    /// Every file that exists but could not be read or parsed. OpenTofu
    /// (or Docker) fails on such a file too, so status and doctor report
    /// each as a failure.
    pub fn unreadable(&self) -> Vec<Unreadable<'_>> {
        let tofu = self.tofu.iter().filter_map(|f| match &f.blocks {
            Err(error) => Some(Unreadable {
                path: &f.path,
                error,
            }),
            Ok(_) => None,
        });
        let docker = self.docker.iter().filter_map(|f| match &f.content {
            Err(error) => Some(Unreadable {
                path: &f.path,
                error,
            }),
            Ok(_) => None,
        });
        let token = self.token_file.iter().filter_map(|f| match &f.hosts {
            Err(error) => Some(Unreadable {
                path: &f.path,
                error,
            }),
            Ok(_) => None,
        });
        tofu.chain(docker).chain(token).collect()
    }

    /// The one rule for "is this a Scalr host" (checked for OpenTofu's host
    /// token, not as a registry; its token is Scalr's to move): a host the
    /// keychain holds a Scalr token for, `SCALR_HOSTNAME` or the settings'
    /// hostname, or any `*.scalr.io`.
    pub fn is_scalr_host(&self, host: &str) -> bool {
        let host = canonical_service_host(host);
        let named = |h: Option<&str>| h.is_some_and(|h| canonical_service_host(h) == host);
        host.ends_with(".scalr.io")
            || self.keychain.token_hosts.contains(&host)
            || named(self.env.scalr_hostname.as_deref())
            || named(self.settings_hostname.as_deref())
    }

    /// Whether OpenTofu is configured with our credentials helper (then it
    /// no longer reads `credentials.tfrc.json` at all).
    pub fn helper_configured(&self) -> bool {
        self.credentials_helpers()
            .iter()
            .any(|(_, n)| *n == credentials_helper::NAME)
    }

    /// The `credentials_helper` blocks of the OpenTofu files: (file, label).
    pub fn credentials_helpers(&self) -> Vec<(&Path, &str)> {
        self.tofu
            .iter()
            .flat_map(|f| f.helpers.iter().map(|h| (f.path.as_path(), h.as_str())))
            .collect()
    }

    /// Who gives OpenTofu the token for each Scalr host this machine knows
    /// (the keychain's token hosts, `tofu login`'s file, `SCALR_HOSTNAME`),
    /// in OpenTofu's order: `TF_TOKEN_<host>`, a `credentials` entry in a
    /// file, then the credentials helper. Never a token, only where it is.
    pub fn host_token_answers(&self) -> Vec<(String, String)> {
        use credentials_helper::PLUGIN;
        let helper_configured = self.helper_configured();
        let file_hosts = self
            .token_file
            .as_ref()
            .map(TokenFileView::host_list)
            .unwrap_or_default();
        let run_host = self
            .env
            .scalr_hostname
            .as_deref()
            .map(canonical_service_host);
        let mut hosts: Vec<String> = self
            .keychain
            .token_hosts
            .iter()
            .chain(file_hosts)
            .cloned()
            .chain(run_host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
            .into_iter()
            .map(|host| {
                let who = if let Some(var) = self.env.tf_token_var(&host) {
                    format!("{var} (the environment; OpenTofu reads it first)")
                } else if file_hosts.contains(&host) && !helper_configured {
                    format!(
                        "{} (plain text): run `scalr-oci migrate`",
                        self.token_file
                            .as_ref()
                            .map(|f| f.path.display().to_string())
                            .unwrap_or_default()
                    )
                } else if !helper_configured {
                    "nobody: no credentials_helper \"scalr\" block (`scalr-oci configure tofu --credentials-helper`)".into()
                } else if self.env.scalr_token_set && run_host.as_deref() == Some(host.as_str()) {
                    format!("{PLUGIN}, from SCALR_TOKEN")
                } else if self.keychain.token_hosts.contains(&host) {
                    format!("{PLUGIN}, from the OS keychain")
                } else {
                    "nobody".into()
                };
                (host, who)
            })
            .collect()
    }

    /// Hosts that the OpenTofu configuration already sends to our helper, and
    /// hosts the keychain holds credentials for: what a bare `configure
    /// docker` (as the installer runs it) and a bare `doctor` cover.
    pub fn known_hosts(&self) -> Vec<RegistryHost> {
        let mut hosts: Vec<RegistryHost> = self
            .tofu
            .iter()
            .flat_map(TofuFile::blocks)
            .filter(|block| block.style == Style::Helper(tofurc::HELPER.into()))
            .filter_map(|block| RegistryHost::parse(block.label.as_deref()?).ok())
            .collect();
        hosts.extend(
            self.keychain
                .entries()
                .keys()
                .filter_map(|k| RegistryHost::parse(k).ok()),
        );
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// Who claims each registry host, for status and doctor.
    pub fn claims(&self) -> Claims {
        let mut claims = Claims::default();
        for file in &self.tofu {
            for block in file.blocks() {
                let Some(label) = &block.label else { continue };
                let place = format!(
                    "OpenTofu oci_credentials {label:?} in {}",
                    file.path.display()
                );
                let ours = block.style == Style::Helper(tofurc::HELPER.into());
                let plain = matches!(block.style, Style::Basic | Style::OAuth);
                claims.add(label, place, plain, ours);
            }
        }
        for file in &self.docker {
            let (name, shown) = (file.flavor.name(), file.path.display());
            for (key, helper) in file.cred_helpers() {
                let place = format!("{name} credHelpers -> docker-credential-{helper} in {shown}");
                claims.add(key, place, false, helper == tofurc::HELPER);
            }
            if let Ok(content) = &file.content {
                for item in &content.plaintext.found {
                    let place = format!("{name} auths (plain text) in {shown}");
                    claims.add(&item.key, place, true, false);
                }
            }
        }
        claims
    }
}

/// Who claims a registry host, for status and doctor.
#[derive(Default, Debug)]
pub struct Claims {
    /// Per host key: descriptions of each place that configures it.
    pub by_host: BTreeMap<String, Vec<Claim>>,
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub place: String,
    /// Whether this place holds a plain-text secret for the host.
    pub plaintext: bool,
    /// Whether this place sends the host to docker-credential-scalr.
    pub ours: bool,
}

impl Claims {
    fn add(&mut self, host: &str, place: String, plaintext: bool, ours: bool) {
        let key = RegistryHost::parse(host).map_or_else(|_| host.to_string(), |h| h.key());
        self.by_host.entry(key).or_default().push(Claim {
            place,
            plaintext,
            ours,
        });
    }
}

/// What the Scalr control plane says, fetched once: whether the token is
/// accepted and which integrations it exports.
pub struct ControlPlaneView {
    pub settings: Option<Settings>,
    /// `None` when the control plane could not be asked.
    pub integrations: Option<Vec<Integration>>,
    /// One line for the user.
    pub summary: String,
    /// Whether a configured token was rejected or unreachable.
    pub failed: bool,
}

impl ControlPlaneView {
    /// Asks the control plane the helper's settings lead to.
    pub fn load(settings: Result<&Settings>, keychain: &Keychain) -> ControlPlaneView {
        let found = settings.and_then(|s| Ok((s.clone(), scalr::access(s, keychain)?)));
        let (settings, access) = match found {
            Ok(pair) => pair,
            Err(e) => {
                return ControlPlaneView {
                    settings: None,
                    integrations: None,
                    summary: format!("Scalr control plane: {e}"),
                    failed: true,
                };
            }
        };
        let Some(access) = access else {
            return ControlPlaneView {
                settings: Some(settings),
                integrations: None,
                summary: "Scalr control plane: no token configured (set SCALR_HOSTNAME and SCALR_TOKEN, or `scalr-oci login --hostname ACCOUNT.scalr.io`); only the keychain answers".into(),
                failed: false,
            };
        };
        let head = format!(
            "Scalr control plane: {} with the token from {}",
            access.hostname, access.origin
        );
        match ControlPlane::connect(access, &settings).and_then(|cp| cp.integrations()) {
            Ok(list) => {
                let exported = list.iter().filter(|i| i.usable()).count();
                ControlPlaneView {
                    summary: format!(
                        "{head}: token accepted; {} Docker registry integration(s), {exported} exported",
                        list.len()
                    ),
                    settings: Some(settings),
                    integrations: Some(list),
                    failed: false,
                }
            }
            Err(e) => ControlPlaneView {
                summary: format!("{head}: NOT accepted: {e}"),
                settings: Some(settings),
                integrations: None,
                failed: true,
            },
        }
    }

    /// Every integration that names the host, exported or not (doctor warns
    /// when several claim one host).
    pub fn integrations_for(&self, host: &RegistryHost) -> Vec<&Integration> {
        let all = self.integrations.as_deref().unwrap_or_default();
        all.iter().filter(|i| i.names(host)).collect()
    }

    /// The source that would answer `get` for the host, in the helper's
    /// configured order, and every later source that also has credentials
    /// for it (shadowed); never a secret.
    pub fn who_answers(&self, host: &RegistryHost, keychain: &BTreeMap<String, String>) -> Answers {
        let defaults = Settings::defaults();
        let settings = self.settings.as_ref().unwrap_or(&defaults);
        let mut found = Vec::new();
        for kind in settings.sources_for(host) {
            match kind {
                SourceKind::Keychain => {
                    if let Some(user) = keychain.get(&host.docker_server_url()) {
                        found.push(Answer::Keychain { user: user.clone() });
                    }
                }
                SourceKind::ControlPlane => {
                    let all = self.integrations.as_deref().unwrap_or_default();
                    if let Some(i) = pick(all, host).chosen {
                        found.push(Answer::ControlPlane {
                            name: i.name.clone(),
                            id: i.id.clone(),
                            user: i.username.clone(),
                        });
                    }
                }
            }
        }
        Answers { found }
    }
}

/// A source of docker-credential-scalr that has credentials for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Keychain {
        user: String,
    },
    ControlPlane {
        name: String,
        id: String,
        user: String,
    },
}

impl Answer {
    /// What to do when the registry rejects this source's credentials.
    pub fn fix(&self, host: &str) -> String {
        match self {
            Answer::Keychain { user } => format!(
                "they come from the OS keychain (user {user}): store the right ones with `scalr-oci registry add {host} --username {user}`"
            ),
            Answer::ControlPlane { name, id, .. } => format!(
                "they come from the Scalr integration {name} ({id}): update its credentials in Scalr, and confirm it is active and that Export credentials is enabled"
            ),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Keychain { user } => write!(f, "the keychain (user {user})"),
            Answer::ControlPlane { name, id, user } => {
                write!(
                    f,
                    "the control plane: integration {name} ({id}), user {user}"
                )
            }
        }
    }
}

/// Who answers for a host: the first source, then those it shadows.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub found: Vec<Answer>,
}

impl Answers {
    pub fn first(&self) -> Option<&Answer> {
        self.found.first()
    }

    /// The sources that also have credentials but are never asked.
    pub fn shadowed(&self) -> &[Answer] {
        self.found.get(1..).unwrap_or_default()
    }
}

impl std::fmt::Display for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.first() {
            Some(a) => write!(f, "{a}"),
            None => f.write_str(
                "nobody: docker-credential-scalr answers \"credentials not found\" and clients go on without credentials",
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A machine whose home, settings directory and `PATH` are in `dir`
    /// (`home/`, `config/`, `bin/`), with the helpers installed in `bin/`
    /// and `tofurc` as its one OpenTofu CLI config file.
    pub(crate) fn machine_in(dir: &Path, tofurc: &str) -> Machine {
        let (home, bin) = (dir.join("home"), dir.join("bin"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        for name in [HELPER_BINARY, credentials_helper::PLUGIN] {
            let file = bin.join(crate::environment::executable_file_name(name));
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let config = home.join(".tofurc");
        std::fs::write(&config, tofurc).unwrap();
        Machine::new(Env {
            home: Some(home),
            tf_cli_config_file: Some(config),
            docker_config: Some(dir.join("docker")),
            registry_auth_file: Some(dir.join("auth.json")),
            path: Some(std::env::join_paths([bin]).unwrap()),
            // Where the plugin goes on Windows.
            appdata: Some(dir.join("appdata")),
            settings_vars: vec![(
                "XDG_CONFIG_HOME".into(),
                dir.join("config").display().to_string(),
            )],
            ..Env::default()
        })
    }

    /// The keychain and control plane of an in-process scan: nothing asked.
    pub(crate) fn nothing_asked() -> (KeychainView, ControlPlaneView) {
        let keychain = KeychainView {
            listed: Ok(BTreeMap::new()),
            vendor: "none (a unit test)".into(),
            token_hosts: Vec::new(),
        };
        let control = ControlPlaneView {
            settings: None,
            integrations: None,
            summary: "Scalr control plane: not asked (a unit test)".into(),
            failed: false,
        };
        (keychain, control)
    }

    /// The scan of [`machine_in`]'s files beside [`nothing_asked`], for a
    /// command's report.
    pub(crate) fn scanned_in(dir: &Path, tofurc: &str) -> (Machine, Inventory) {
        let machine = machine_in(dir, tofurc);
        let (keychain, control) = nothing_asked();
        let inventory = Inventory::of_files(&machine, keychain, Some(control));
        (machine, inventory)
    }

    /// Fails unless `text` has each of `lines` as a whole line.
    pub(crate) fn assert_has_lines(text: &str, lines: &[String]) {
        for line in lines {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in:\n{text}"
            );
        }
    }

    /// The helpers are found on the `Env`'s PATH, not the process's: the
    /// scan of a machine whose PATH is a temporary `bin/` finds both there,
    /// and with no PATH in its `Env` finds neither.
    #[test]
    fn the_helpers_are_found_on_the_envs_path() {
        let dir = tempfile::tempdir().unwrap();
        let machine = machine_in(dir.path(), "");
        let bin = dir.path().join("bin");
        let (keychain, _) = nothing_asked();
        let inventory = Inventory::of_files(&machine, keychain, None);
        let file = |name| bin.join(crate::environment::executable_file_name(name));
        assert_eq!(inventory.helper_binary, Some(file(HELPER_BINARY)));
        assert_eq!(
            inventory.plugin_binary,
            Some(file(credentials_helper::PLUGIN))
        );

        let no_path = Machine::new(Env {
            path: None,
            ..machine.env.clone()
        });
        let (keychain, _) = nothing_asked();
        let inventory = Inventory::of_files(&no_path, keychain, None);
        assert_eq!(inventory.helper_binary, None);
    }

    /// The provider installation is a fact of the one scan: the mirror of a
    /// `provider_installation` block scalr-oci wrote is read with the
    /// credentials blocks, and the report of it comes from that fact (the
    /// file is gone by the time the report is written).
    #[test]
    fn a_provider_installation_is_a_fact_of_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = provider_mirror::Mirror::new(
            "r.example/providers/${namespace}/${type}",
            vec!["registry.opentofu.org/*/*".into()],
        )
        .unwrap();
        let tofurc = format!("credentials_helper \"scalr\" {{}}\n\n{}", mirror.hcl("\n"));
        let machine = machine_in(dir.path(), &tofurc);
        let (keychain, _) = nothing_asked();
        let inventory = Inventory::of_files(&machine, keychain, None);
        let config = dir.path().join("home").join(".tofurc");
        assert_eq!(
            inventory.installations(),
            [Installation {
                path: config.clone(),
                kind: provider_mirror::InstallationKind::Hcl {
                    mirrors: vec![Some("r.example/providers/${namespace}/${type}".into())],
                    ours: true,
                },
            }]
        );
        assert!(inventory.helper_configured());

        std::fs::remove_file(&config).unwrap();
        let mut out = Vec::new();
        provider_mirror::report(&inventory.installations(), "  ", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "  provider_installation in {}: oci_mirror \"r.example/providers/${{namespace}}/${{type}}\" (written by scalr-oci)\n",
                config.display()
            )
        );
    }

    /// The settings' Scalr host comes from the `Env`'s settings file, so
    /// the one Scalr-host rule follows it.
    #[test]
    fn the_settings_hostname_comes_from_the_envs_settings_file() {
        let dir = tempfile::tempdir().unwrap();
        let machine = machine_in(dir.path(), "");
        let settings = dir.path().join("config").join("scalr-oci");
        std::fs::create_dir_all(&settings).unwrap();
        std::fs::write(
            settings.join("settings.toml"),
            "[control_plane]\nhostname = \"scalr.corp.example\"\n",
        )
        .unwrap();
        let machine = Machine::new(machine.env.clone());
        let (keychain, _) = nothing_asked();
        let inventory = Inventory::of_files(&machine, keychain, None);
        assert_eq!(
            inventory.settings_hostname.as_deref(),
            Some("scalr.corp.example")
        );
        assert!(inventory.is_scalr_host("scalr.corp.example"));
    }

    fn view(integrations: Vec<Integration>) -> ControlPlaneView {
        ControlPlaneView {
            settings: Some(Settings::defaults()),
            integrations: Some(integrations),
            summary: String::new(),
            failed: false,
        }
    }

    fn integration(url: &str) -> Integration {
        Integration {
            id: "dr-1".into(),
            name: "ghcr-prod".into(),
            registry_url: url.into(),
            username: "bot".into(),
            export_credentials: true,
            status: "active".into(),
        }
    }

    /// On a workstation the keychain answers first (the default order) and
    /// the control plane's integration for the same host is shadowed:
    /// status says both (old: only the keychain, never the integration).
    #[test]
    fn the_keychain_answers_and_shadows_the_integration() {
        let host = RegistryHost::parse("ghcr.io").unwrap();
        let keychain = BTreeMap::from([(host.docker_server_url(), "alice".to_string())]);
        let answers = view(vec![integration("https://ghcr.io")]).who_answers(&host, &keychain);
        assert_eq!(answers.to_string(), "the keychain (user alice)");
        assert_eq!(
            answers.shadowed(),
            [Answer::ControlPlane {
                name: "ghcr-prod".into(),
                id: "dr-1".into(),
                user: "bot".into()
            }]
        );
    }

    /// In a CI job (no keychain) the integration answers, and nothing is
    /// shadowed; with no source at all, "nobody" says what clients do then.
    #[test]
    fn the_control_plane_answers_alone_and_nobody_is_explained() {
        let host = RegistryHost::parse("ghcr.io").unwrap();
        let none = BTreeMap::new();
        let answers = view(vec![integration("https://ghcr.io")]).who_answers(&host, &none);
        assert_eq!(
            answers.to_string(),
            "the control plane: integration ghcr-prod (dr-1), user bot"
        );
        assert!(answers.shadowed().is_empty());
        let nobody = view(Vec::new()).who_answers(&host, &none);
        assert!(nobody.to_string().starts_with("nobody: "), "{nobody}");
    }

    /// The one rule for Scalr hosts: `*.scalr.io` (which the old doctor's
    /// doc promised and its code left out), SCALR_HOSTNAME, and a host the
    /// keychain holds a token for; nothing else.
    #[test]
    fn scalr_hosts_by_one_rule() {
        let env = Env {
            scalr_hostname: Some("https://Scalr.Example.Com/".into()),
            ..Env::default()
        };
        // Built by hand: a scan would ask the machine's own keychain.
        let inventory = Inventory {
            tofu_error: None,
            tofu: Vec::new(),
            docker: Vec::new(),
            token_file: None,
            keychain: KeychainView {
                listed: Ok(BTreeMap::new()),
                vendor: String::new(),
                token_hosts: vec!["own.example.net".into()],
            },
            control_plane: None,
            env,
            settings_hostname: None,
            helper_binary: None,
            plugin_binary: None,
            store: Arc::new(Keychain::new()),
        };
        assert!(inventory.is_scalr_host("acme.scalr.io"));
        assert!(inventory.is_scalr_host("scalr.example.com"));
        assert!(inventory.is_scalr_host("own.example.net"));
        assert!(!inventory.is_scalr_host("ghcr.io"));
    }
}
