//! `scalr-oci status`: what is configured where, and who would answer for
//! each registry. Reads only; prints no secret (plain-text entries are named,
//! never shown).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use docker_credential_scalr::control_plane::{ControlPlane, Integration};
use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::settings::{Settings, SourceKind};
use serde_json::Value;

use crate::configure::writeln_out;
use crate::docker_config::{self, Flavor};
use crate::error::Result;
use crate::locations::Env;
use crate::scalr;
use crate::tofurc::{self, Locations, Style};
use crate::write;

pub const HELPER_BINARY: &str = "docker-credential-scalr";

/// The executable `name` as a shell (or OpenTofu's exec.LookPath) finds it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        let candidate = dir.join(name);
        is_executable(&candidate).then_some(candidate)
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.with_extension("exe").is_file() || path.is_file()
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

    /// Reads every OpenTofu, Docker and containers file of this machine.
    pub fn gather(env: &Env) -> Claims {
        let mut claims = Claims::default();
        if let Ok(locations) = Locations::find(env) {
            for path in locations.all() {
                let Ok(Some(text)) = write::read_optional(path) else {
                    continue;
                };
                for block in tofurc::credential_blocks(path, &text).unwrap_or_default() {
                    let Some(label) = &block.label else { continue };
                    let place = format!("OpenTofu oci_credentials {label:?} in {}", path.display());
                    let ours = block.style == Style::Helper(tofurc::HELPER.into());
                    let plain = matches!(block.style, Style::Basic | Style::OAuth);
                    claims.add(label, place, plain, ours);
                }
            }
        }
        for flavor in [Flavor::Docker, Flavor::Containers] {
            for path in flavor.existing_paths(env) {
                let Ok(Some(text)) = write::read_optional(&path) else {
                    continue;
                };
                let Ok(root) = docker_config::parse(&path, Some(&text)) else {
                    continue;
                };
                if let Some(helpers) = root.get("credHelpers").and_then(Value::as_object) {
                    for (key, helper) in helpers {
                        let helper = helper.as_str().unwrap_or("?");
                        let place = format!(
                            "{} credHelpers -> docker-credential-{helper} in {}",
                            flavor.name(),
                            path.display()
                        );
                        claims.add(key, place, false, helper == tofurc::HELPER);
                    }
                }
                if let Ok((found, _)) = docker_config::plaintext(&path, &text, flavor) {
                    for item in found {
                        let place =
                            format!("{} auths (plain text) in {}", flavor.name(), path.display());
                        claims.add(&item.key, place, true, false);
                    }
                }
            }
        }
        claims
    }
}

pub fn run(env: &Env, out: &mut dyn Write) -> Result<()> {
    writeln_out(out, "OpenTofu CLI configuration (the files `tofu` merges):")?;
    let locations = Locations::find(env)?;
    for path in locations.all() {
        describe_tofu_file(path, out)?;
    }

    for flavor in [Flavor::Docker, Flavor::Containers] {
        writeln_out(out, &format!("\n{}:", flavor.name()))?;
        let paths = flavor.existing_paths(env);
        if paths.is_empty() {
            let would = flavor
                .write_path(env)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            writeln_out(
                out,
                &format!("  no configuration file ({would} does not exist)"),
            )?;
        }
        for path in paths {
            describe_docker_file(&path, flavor, out)?;
        }
    }

    writeln_out(out, "")?;
    match find_on_path(HELPER_BINARY) {
        Some(path) => writeln_out(out, &format!("{HELPER_BINARY} on PATH: {}", path.display()))?,
        None => writeln_out(
            out,
            &format!(
                "{HELPER_BINARY} on PATH: NOT FOUND. OpenTofu and Docker look for it only on PATH; install it (install/install.sh) or add its directory to PATH."
            ),
        )?,
    }

    let keychain = Keychain::new();
    let listed = match keychain.list() {
        Ok(listed) => {
            let vendor = keychain.vendor().unwrap_or_default();
            writeln_out(
                out,
                &format!(
                    "OS keychain: reachable ({vendor}), {} registry credential(s)",
                    listed.len()
                ),
            )?;
            listed
        }
        Err(e) => {
            writeln_out(out, &format!("OS keychain: {e}"))?;
            BTreeMap::new()
        }
    };

    let control = ControlPlaneView::load(&keychain);
    writeln_out(out, &control.summary)?;

    let claims = Claims::gather(env);
    let mut hosts: Vec<String> = claims.by_host.keys().cloned().collect();
    for server in listed.keys() {
        if let Ok(host) = RegistryHost::parse(server)
            && !hosts.contains(&host.key())
        {
            hosts.push(host.key());
        }
    }
    hosts.sort();
    if hosts.is_empty() {
        return writeln_out(
            out,
            "\nNo registry is configured anywhere yet. Start with `scalr-oci registry add HOST --username NAME` and `scalr-oci configure tofu --registry HOST`.",
        );
    }
    writeln_out(
        out,
        "\nWho answers for each registry (docker-credential-scalr asks its sources in this order):",
    )?;
    for host in hosts {
        let answer = match RegistryHost::parse(&host) {
            Ok(parsed) => control.who_answers(&parsed, &listed),
            Err(_) => "not a registry address".into(),
        };
        writeln_out(out, &format!("  {host}: {answer}"))?;
        let host_claims = claims.by_host.get(&host).cloned().unwrap_or_default();
        for claim in &host_claims {
            let mark = if claim.plaintext {
                "  <- plain text: run `scalr-oci migrate`"
            } else {
                ""
            };
            writeln_out(out, &format!("    configured by {}{mark}", claim.place))?;
        }
        let plain = host_claims.iter().filter(|c| c.plaintext).count();
        if plain > 0 && host_claims.len() > plain {
            writeln_out(
                out,
                "    warning: two sources claim this registry; a client may use the plain-text one rather than docker-credential-scalr",
            )?;
        }
    }
    Ok(())
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
                    let found = self
                        .integrations
                        .iter()
                        .flatten()
                        .find(|i| i.usable() && i.host().as_ref() == Some(host));
                    if let Some(i) = found {
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

fn describe_tofu_file(path: &Path, out: &mut dyn Write) -> Result<()> {
    let text = match write::read_optional(path) {
        Ok(Some(text)) => text,
        Ok(None) => return writeln_out(out, &format!("  {} (does not exist)", path.display())),
        Err(e) => return writeln_out(out, &format!("  {e}")),
    };
    match tofurc::credential_blocks(path, &text) {
        Ok(blocks) if blocks.is_empty() => writeln_out(
            out,
            &format!("  {} (no OCI credentials settings)", path.display()),
        ),
        Ok(blocks) => {
            writeln_out(out, &format!("  {}", path.display()))?;
            for block in blocks {
                let name = match &block.label {
                    Some(label) => format!("oci_credentials {label:?}"),
                    None => "oci_default_credentials".into(),
                };
                let mark = match block.style {
                    Style::Basic => "  <- plain text: run `scalr-oci migrate`",
                    _ => "",
                };
                writeln_out(
                    out,
                    &format!("    {name}: {}{mark}", block.style.describe()),
                )?;
            }
            Ok(())
        }
        Err(e) => writeln_out(out, &format!("  {e}")),
    }
}

fn describe_docker_file(path: &Path, flavor: Flavor, out: &mut dyn Write) -> Result<()> {
    let text = write::read_optional(path)?.unwrap_or_default();
    let root = match docker_config::parse(path, Some(&text)) {
        Ok(root) => root,
        Err(e) => return writeln_out(out, &format!("  {e}")),
    };
    writeln_out(out, &format!("  {}", path.display()))?;
    if let Some(store) = root.get("credsStore").and_then(Value::as_str) {
        writeln_out(out, &format!("    credsStore: docker-credential-{store}"))?;
    }
    if let Some(helpers) = root.get("credHelpers").and_then(Value::as_object) {
        for (key, helper) in helpers {
            writeln_out(
                out,
                &format!(
                    "    credHelpers {key:?}: docker-credential-{}",
                    helper.as_str().unwrap_or("?")
                ),
            )?;
        }
    }
    let (found, skipped) = docker_config::plaintext(path, &text, flavor)?;
    for item in found {
        writeln_out(
            out,
            &format!(
                "    auths {:?}: plain-text credentials of {}  <- run `scalr-oci migrate`",
                item.key, item.username
            ),
        )?;
    }
    for (key, why) in skipped {
        writeln_out(
            out,
            &format!("    auths {key:?}: a secret that migrate cannot move: {why}"),
        )?;
    }
    Ok(())
}
