//! What this machine has, read once: the OpenTofu CLI config files, Docker's
//! and containers' config files, the keychain's registry entries and (when
//! asked for) what the Scalr control plane says. `status`, `doctor` and
//! `configure` read the same [`Inventory`], so they cannot disagree about
//! what is configured where.
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

use docker_credential_scalr::control_plane::{ControlPlane, Integration, pick};
use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::settings::{Settings, SourceKind};
use serde_json::{Map, Value};

use crate::docker_config::{self, Flavor, PlaintextAuth};
use crate::environment::Env;
use crate::error::{Error, Result};
use crate::report::PlaintextScan;
use crate::tofurc::{self, CredBlock, Style, TofuFiles};
use crate::{scalr, write};

/// One OpenTofu CLI config file as read: its blocks, `None` when it does not
/// exist, or why it could not be read.
pub struct TofuFile {
    pub path: PathBuf,
    pub blocks: Result<Option<Vec<CredBlock>>>,
}

impl TofuFile {
    /// Reads and parses one file: the one scan of the OpenTofu configuration.
    pub fn read(path: &Path) -> TofuFile {
        let blocks = write::read_optional(path).and_then(|text| {
            text.map(|text| tofurc::credential_blocks(path, &text))
                .transpose()
        });
        TofuFile {
            path: path.to_path_buf(),
            blocks,
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
}

impl KeychainView {
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
    pub keychain: KeychainView,
    pub control_plane: Option<ControlPlaneView>,
}

impl Inventory {
    pub fn scan(env: &Env, reach: Reach) -> Inventory {
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
        let keychain = Keychain::new();
        let view = KeychainView {
            // No keychain (a container, CI) simply means nothing known there.
            listed: keychain.list(),
            vendor: keychain.vendor().unwrap_or_default(),
        };
        let control_plane =
            (reach == Reach::WithControlPlane).then(|| ControlPlaneView::load(&keychain));
        Inventory {
            tofu_error,
            tofu,
            docker,
            keychain: view,
            control_plane,
        }
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
    pub fn load(keychain: &Keychain) -> ControlPlaneView {
        let (settings, access) = match scalr::access(keychain) {
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
    /// configured order; never a secret.
    pub fn who_answers(&self, host: &RegistryHost, keychain: &BTreeMap<String, String>) -> String {
        let defaults = Settings::defaults();
        let settings = self.settings.as_ref().unwrap_or(&defaults);
        for kind in settings.sources_for(host) {
            match kind {
                SourceKind::Keychain => {
                    if let Some(user) = keychain.get(&host.docker_server_url()) {
                        return format!("the keychain (user {user})");
                    }
                }
                SourceKind::ControlPlane => {
                    let all = self.integrations.as_deref().unwrap_or_default();
                    if let Some(i) = pick(all, host).chosen {
                        return format!(
                            "the control plane: integration {} ({}), user {}",
                            i.name, i.id, i.username
                        );
                    }
                }
            }
        }
        "nobody: docker-credential-scalr answers \"credentials not found\" and clients go on without credentials".into()
    }
}
