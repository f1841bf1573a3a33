//! `scalr-oci status`: what is configured where, and who would answer for
//! each registry. Reads only; prints no secret (plain-text entries are named,
//! never shown). Everything shown comes from one [`Inventory`] scan.

use std::io::Write;
use std::path::Path;

use docker_credential_scalr::registry::RegistryHost;
use serde_json::Value;

use crate::docker_config::Flavor;
use crate::environment::HELPER_BINARY;
use crate::error::{Error, Result};
use crate::inventory::{DockerFile, Inventory, Reach, TofuFile};
use crate::machine::Machine;
use crate::output::say;
use crate::scalr;
use crate::tofurc::{Style, provider_mirror};

pub fn run(machine: &Machine, out: &mut dyn Write) -> Result<()> {
    report(Inventory::scan(machine, Reach::WithControlPlane), out)
}

/// The status of a scanned machine (scanned with the control plane).
fn report(mut inventory: Inventory, out: &mut dyn Write) -> Result<()> {
    if let Some(e) = inventory.tofu_error.take() {
        return Err(e);
    }
    say!(out, "OpenTofu CLI configuration (the files `tofu` merges):")?;
    for file in &inventory.tofu {
        describe_tofu_file(file, out)?;
    }

    provider_mirror::report(&inventory.installations(), "  ", out)?;
    host_tokens(&inventory, out)?;

    for flavor in [Flavor::Docker, Flavor::Containers] {
        say!(out, "\n{}:", flavor.name())?;
        let files: Vec<&DockerFile> = inventory
            .docker
            .iter()
            .filter(|f| f.flavor == flavor)
            .collect();
        if files.is_empty() {
            let would = flavor
                .write_path(&inventory.env)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            say!(out, "  no configuration file ({would} does not exist)")?;
        }
        for file in files {
            describe_docker_file(file, out)?;
        }
    }

    say!(out, "")?;
    match &inventory.helper_binary {
        Some(path) => say!(out, "{HELPER_BINARY} on PATH: {}", path.display())?,
        None => say!(
            out,
            "{HELPER_BINARY} on PATH: NOT FOUND. OpenTofu and Docker look for it only on PATH; install it (install/install.sh) or add its directory to PATH."
        )?,
    }

    match &inventory.keychain.listed {
        Ok(listed) => say!(
            out,
            "OS keychain: reachable ({}), {} registry credential(s)",
            inventory.keychain.vendor,
            listed.len()
        )?,
        Err(e) => say!(out, "OS keychain: {e}")?,
    }
    let listed = inventory.keychain.entries();

    let control = inventory
        .control_plane
        .as_ref()
        .expect("scanned with the control plane");
    say!(out, "{}", control.summary)?;

    let claims = inventory.claims();
    let mut hosts: Vec<String> = claims.by_host.keys().cloned().collect();
    for server in listed.keys() {
        if let Ok(host) = RegistryHost::parse(server)
            && !hosts.contains(&host.key())
        {
            hosts.push(host.key());
        }
    }
    // What the control plane exports counts as configured: in a Scalr run
    // or CI job it is the only source.
    for integration in control.integrations.as_deref().unwrap_or_default() {
        if integration.usable()
            && let Some(label) = scalr::label_of(integration)
            && let Ok(host) = RegistryHost::parse(&label)
            && !hosts.contains(&host.key())
        {
            hosts.push(host.key());
        }
    }
    hosts.sort();
    let unreadable = inventory.unreadable().len();
    if hosts.is_empty() {
        say!(
            out,
            "\nNo registry is configured anywhere yet. Start with `scalr-oci registry add HOST --username NAME` and `scalr-oci configure tofu --registry HOST`."
        )?;
        return unreadable_files(unreadable);
    }
    say!(
        out,
        "\nWho answers for each registry (docker-credential-scalr asks its sources in this order):"
    )?;
    for host in hosts {
        let answers = RegistryHost::parse(&host).map(|parsed| control.who_answers(&parsed, listed));
        match &answers {
            Ok(answers) => say!(out, "  {host}: {answers}")?,
            Err(_) => say!(out, "  {host}: not a registry address")?,
        }
        for shadowed in answers.iter().flat_map(|a| a.shadowed()) {
            say!(
                out,
                "    shadows {shadowed}: asked only when the source above has nothing for this host"
            )?;
        }
        let host_claims = claims.by_host.get(&host).cloned().unwrap_or_default();
        for claim in &host_claims {
            let mark = if claim.plaintext {
                "  <- plain text: run `scalr-oci migrate`"
            } else {
                ""
            };
            say!(out, "    configured by {}{mark}", claim.place)?;
        }
        let plain = host_claims.iter().filter(|c| c.plaintext).count();
        if plain > 0 && host_claims.len() > plain {
            say!(
                out,
                "    warning: two sources claim this registry; a client may use the plain-text one rather than docker-credential-scalr"
            )?;
        }
    }
    unreadable_files(unreadable)
}

/// A file that could not be read or parsed was shown above; OpenTofu or
/// Docker fails on it too, so status does not end as if all were well.
fn unreadable_files(count: usize) -> Result<()> {
    match count {
        0 => Ok(()),
        count => Err(Error::FilesUnreadable { count }),
    }
}

fn describe_tofu_file(file: &TofuFile, out: &mut dyn Write) -> Result<()> {
    let shown = file.path.display();
    match &file.blocks {
        Ok(None) => say!(out, "  {shown} (does not exist)"),
        Err(e) => say!(out, "  {e}"),
        Ok(Some(blocks)) if blocks.is_empty() => {
            say!(out, "  {shown} (no OCI credentials settings)")
        }
        Ok(Some(blocks)) => {
            say!(out, "  {shown}")?;
            for block in blocks {
                let name = block.want().describe();
                let mark = match block.style {
                    Style::Basic => "  <- plain text: run `scalr-oci migrate`",
                    _ => "",
                };
                say!(out, "    {name}: {}{mark}", block.style.describe())?;
            }
            Ok(())
        }
    }
}

fn describe_docker_file(file: &DockerFile, out: &mut dyn Write) -> Result<()> {
    let content = match &file.content {
        Ok(content) => content,
        Err(e) => return say!(out, "  {e}"),
    };
    say!(out, "  {}", file.path.display())?;
    if let Some(store) = content.root.get("credsStore").and_then(Value::as_str) {
        say!(out, "    credsStore: docker-credential-{store}")?;
    }
    for (key, helper) in file.cred_helpers() {
        say!(out, "    credHelpers {key:?}: docker-credential-{helper}")?;
    }
    for item in &content.plaintext.found {
        say!(
            out,
            "    auths {:?}: plain-text credentials of {}  <- run `scalr-oci migrate`",
            item.key,
            item.username
        )?;
    }
    for item in &content.plaintext.unmovable {
        say!(
            out,
            "    auths {:?}: a secret that migrate cannot move: {}",
            item.name,
            item.why
        )?;
    }
    Ok(())
}

/// What is at the plugin's place in `dir` (by its real file name, `.exe`
/// on Windows), against the `installed` binary.
fn plugin_line(dir: &Path, installed: Option<&Path>) -> String {
    use crate::credentials_helper::{self as ch, Placement};
    let place = dir.join(ch::PLUGIN_FILE);
    let place = place.display();
    match (ch::placement(dir, installed), installed) {
        (Placement::Link(to), Some(bin)) if to == bin => {
            format!("  plugin {place} -> {}", to.display())
        }
        (Placement::Link(to), _) => format!(
            "  plugin {place} -> {} (not the installed one; `scalr-oci configure tofu --credentials-helper` relinks it)",
            to.display()
        ),
        (Placement::Copy, Some(bin)) => {
            format!("  plugin {place} (a copy of {})", bin.display())
        }
        (Placement::Copy | Placement::Other, _) => format!(
            "  plugin {place} (a file, not ours or not the installed version; `scalr-oci configure tofu --credentials-helper --force` replaces it)"
        ),
        (Placement::Missing, _) => format!(
            "  plugin {place} is missing; `scalr-oci configure tofu --credentials-helper` places it"
        ),
    }
}

/// The Scalr host token: OpenTofu's credentials_helper block, the plugin,
/// and who answers each Scalr host.
fn host_tokens(inventory: &Inventory, out: &mut dyn Write) -> Result<()> {
    use crate::credentials_helper as ch;
    say!(out, "\nOpenTofu host tokens (credentials_helper):")?;
    let blocks = inventory.credentials_helpers();
    let broken: Vec<&Path> = inventory
        .tofu
        .iter()
        .filter(|f| f.blocks.is_err())
        .map(|f| f.path.as_path())
        .collect();
    if !broken.is_empty() {
        for path in &broken {
            say!(
                out,
                "  {} cannot be parsed (see above), so whether it configures a credentials helper is unknown; fix it first",
                path.display()
            )?;
        }
    } else if blocks.is_empty() {
        say!(
            out,
            "  no credentials_helper block; `scalr-oci configure tofu --credentials-helper` adds one"
        )?;
    }
    for (path, name) in &blocks {
        say!(out, "  credentials_helper {name:?} in {}", path.display())?;
    }
    if let Ok(dir) = ch::plugin_dir(&inventory.env) {
        say!(
            out,
            "{}",
            plugin_line(&dir, inventory.plugin_binary.as_deref())
        )?;
    }
    let ours = blocks.iter().any(|(_, n)| *n == ch::NAME);
    let file_hosts = inventory
        .token_file
        .as_ref()
        .map(|f| f.host_list())
        .unwrap_or_default();
    for (host, who) in inventory.host_token_answers() {
        say!(out, "  {host}: {who}")?;
        if ours && file_hosts.contains(&host) {
            let file = inventory
                .token_file
                .as_ref()
                .map(|f| f.path.display().to_string())
                .unwrap_or_default();
            say!(
                out,
                "    {file} still holds a plain-text token for {host}, which OpenTofu no longer reads (a credentials_helper is configured): `scalr-oci migrate --all-hosts` moves it into the keychain"
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials_helper::{PLUGIN_FILE, place};
    use crate::inventory::tests::{assert_has_lines, scanned_in};

    #[test]
    fn the_plugin_line_names_the_file_opentofu_runs() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let binary = bin.join(PLUGIN_FILE);
        std::fs::write(&binary, "helper v1").unwrap();
        let plugins = dir.path().join("plugins");
        let shown = plugins.join(PLUGIN_FILE).display().to_string();

        let line = plugin_line(&plugins, Some(&binary));
        assert!(line.contains(&format!("{shown} is missing")), "{line}");

        place(&plugins, &binary).unwrap();
        let line = plugin_line(&plugins, Some(&binary));
        #[cfg(windows)]
        assert_eq!(
            line,
            format!("  plugin {shown} (a copy of {})", binary.display())
        );
        #[cfg(not(windows))]
        assert_eq!(line, format!("  plugin {shown} -> {}", binary.display()));
        assert_eq!(
            shown.ends_with(".exe"),
            cfg!(windows),
            "the real file name: {shown}"
        );
    }

    /// A status report from an Inventory built in-process: what it says of
    /// PATH, the plugin, the provider mirror and the host-token helper
    /// comes from the scan of the machine's `Env`.
    #[test]
    fn status_reports_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let tofurc = "credentials_helper \"scalr\" {}\nprovider_installation {\n  oci_mirror {\n    repository_template = \"r.example/${namespace}/${type}\"\n  }\n}\n";
        let (machine, inventory) = scanned_in(dir.path(), tofurc);
        let (helper, plugin) = (
            inventory.helper_binary.clone().unwrap(),
            inventory.plugin_binary.clone().unwrap(),
        );
        assert!(helper.starts_with(dir.path().join("bin")), "{helper:?}");
        let plugins = crate::credentials_helper::plugin_dir(&machine.env).unwrap();
        place(&plugins, &plugin).unwrap();
        let mut out = Vec::new();
        report(inventory, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let config = dir.path().join("home").join(".tofurc");
        assert_has_lines(
            &text,
            &[
                format!("{HELPER_BINARY} on PATH: {}", helper.display()),
                format!(
                    "  provider_installation in {}: oci_mirror \"r.example/${{namespace}}/${{type}}\" (not written by scalr-oci)",
                    config.display()
                ),
                format!("  credentials_helper \"scalr\" in {}", config.display()),
                plugin_line(&plugins, Some(&plugin)),
                "OS keychain: reachable (none (a unit test)), 0 registry credential(s)".into(),
                "Scalr control plane: not asked (a unit test)".into(),
            ],
        );
        #[cfg(unix)]
        assert!(
            text.contains(&format!(
                "  plugin {} -> {}\n",
                plugins.join(PLUGIN_FILE).display(),
                plugin.display()
            )),
            "{text}"
        );
    }
}
