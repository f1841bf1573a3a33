//! `scalr-oci configure tofu|docker|containers`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::registry::RegistryHost;

use crate::docker_config::{self, Flavor};
use crate::error::{Error, Result};
use crate::locations::Env;
use crate::report::Note;
use crate::tofurc::{self, Locations, Policy, Style, Want};
use crate::write::{self, Mode, Outcome};

/// Options shared by every `configure` target.
pub struct Common {
    pub file: Option<PathBuf>,
    pub mode: Mode,
    pub force: bool,
}

/// `configure tofu`: makes OpenTofu ask docker-credential-scalr.
pub fn tofu(env: &Env, wants: Vec<Want>, common: &Common, out: &mut dyn Write) -> Result<()> {
    let mut unique = Vec::new();
    for want in wants {
        if let Want::Registry(label) = &want {
            tofurc::validate_helper_label(label)?;
        }
        if !unique.contains(&want) {
            unique.push(want);
        }
    }
    if unique.is_empty() {
        return Err(Error::Usage(
            "nothing to configure: pass --registry HOST, --default or --all-from-control-plane"
                .into(),
        ));
    }
    let locations = match &common.file {
        Some(file) => Locations::only(file.clone()),
        None => Locations::find(env)?,
    };

    // Where does each wanted block live today? A block found in another file
    // of the merged set is edited there: adding it to the primary file would
    // make a duplicate, which OpenTofu refuses.
    let mut per_file: BTreeMap<PathBuf, Vec<Want>> = BTreeMap::new();
    let mut seen = Vec::new();
    for path in locations.all() {
        let Some(text) = write::read_optional(path)? else {
            continue;
        };
        for block in tofurc::credential_blocks(path, &text)? {
            seen.push((path.clone(), block));
        }
    }
    if let Some(dup) = tofurc::first_duplicate(seen.iter().map(|(_, b)| b)) {
        writeln_out(
            out,
            &format!(
                "warning: the OpenTofu configuration already holds {} twice ({}); `tofu init` fails until one is removed",
                dup.describe(),
                files_holding(&seen, &dup).join(", ")
            ),
        )?;
    }
    for want in &unique {
        let home = files_holding(&seen, want)
            .into_iter()
            .next()
            .map(PathBuf::from)
            .unwrap_or_else(|| locations.primary.clone());
        per_file.entry(home).or_default().push(want.clone());
    }

    let policy = Policy {
        force: common.force,
        replace_plaintext: false,
    };
    let mut notes = Vec::new();
    let mut outcomes = Vec::new();
    for (path, wants) in &per_file {
        let collected = RefCell::new(Vec::new());
        let outcome = write::edit_file(path, common.mode, 0o600, |text| {
            let (new, notes) = tofurc::apply(path, text, wants, policy, true)?;
            *collected.borrow_mut() = notes;
            Ok(new)
        })?;
        notes.extend(collected.into_inner());
        outcomes.push(outcome);
    }
    finish(out, &notes, &outcomes, common.mode, "OpenTofu")
}

fn files_holding(seen: &[(PathBuf, tofurc::CredBlock)], want: &Want) -> Vec<String> {
    let label = match want {
        Want::Default => None,
        Want::Registry(l) => Some(l.as_str()),
    };
    seen.iter()
        .filter(|(_, b)| b.label.as_deref() == label)
        .map(|(p, _)| p.display().to_string())
        .collect()
}

/// `configure docker|containers`.
pub fn docker(
    env: &Env,
    flavor: Flavor,
    registries: &[String],
    store: bool,
    common: &Common,
    out: &mut dyn Write,
) -> Result<()> {
    let mut hosts = Vec::new();
    for registry in registries {
        let host = RegistryHost::parse(registry)?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    if hosts.is_empty() && !store {
        hosts = known_hosts(env);
        if hosts.is_empty() {
            writeln_out(
                out,
                &format!(
                    "Nothing to configure for {}: no registry was given and none is known yet (from the OpenTofu configuration or the keychain).\nPass --registry HOST for each registry, or --store to send every registry to docker-credential-scalr.",
                    flavor.name()
                ),
            )?;
            return Ok(());
        }
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        writeln_out(
            out,
            &format!(
                "Registries known to OpenTofu or the keychain: {}",
                names.join(", ")
            ),
        )?;
    }
    let path = match &common.file {
        Some(file) => file.clone(),
        None => flavor.write_path(env)?,
    };
    let request = docker_config::Request {
        hosts,
        store,
        force: common.force,
    };
    let collected = RefCell::new(Vec::new());
    let outcome = write::edit_file(&path, common.mode, 0o600, |text| {
        let (new, notes) = docker_config::apply(&path, text, flavor, &request)?;
        *collected.borrow_mut() = notes;
        Ok(new)
    })?;
    finish(
        out,
        &collected.into_inner(),
        &[outcome],
        common.mode,
        flavor.name(),
    )
}

/// Hosts that the OpenTofu configuration already sends to our helper, and
/// hosts the keychain holds credentials for: what a bare `configure docker`
/// (as the installer runs it) should cover.
pub fn known_hosts(env: &Env) -> Vec<RegistryHost> {
    let mut hosts = Vec::new();
    if let Ok(locations) = Locations::find(env) {
        for path in locations.all() {
            let Ok(Some(text)) = write::read_optional(path) else {
                continue;
            };
            for block in tofurc::credential_blocks(path, &text).unwrap_or_default() {
                if let (Some(label), Style::Helper(name)) = (&block.label, &block.style)
                    && name == tofurc::HELPER
                    && let Ok(host) = RegistryHost::parse(label)
                {
                    hosts.push(host);
                }
            }
        }
    }
    // No keychain (a container, CI) simply means nothing known from there.
    if let Ok(listed) = Keychain::new().list() {
        hosts.extend(listed.keys().filter_map(|k| RegistryHost::parse(k).ok()));
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Prints the notes and diffs, and turns the result into the exit status.
pub fn finish(
    out: &mut dyn Write,
    notes: &[Note],
    outcomes: &[Outcome],
    mode: Mode,
    what: &str,
) -> Result<()> {
    let applied = mode == Mode::Apply;
    for note in notes {
        writeln_out(out, &note.display(applied))?;
    }
    for diff in outcomes.iter().filter_map(|o| o.diff.as_deref()) {
        out.write_all(diff.as_bytes())
            .map_err(Error::io("stdout", "write to"))?;
    }
    let changed = outcomes.iter().any(|o| o.changed);
    let summary = match (changed, mode) {
        (false, _) if notes.iter().any(Note::kept) => {
            format!("Nothing was changed in the {what} configuration.")
        }
        (false, _) => format!("Nothing to change: the {what} configuration already says this."),
        (true, Mode::Apply) => {
            let files: Vec<String> = outcomes
                .iter()
                .filter(|o| o.changed)
                .map(|o| o.path.display().to_string())
                .collect();
            format!("Updated {}.", files.join(", "))
        }
        (true, Mode::DryRun) => "Dry run: nothing was written.".into(),
        (true, Mode::Check) => String::new(),
    };
    if !summary.is_empty() {
        writeln_out(out, &summary)?;
    }
    let kept: Vec<&Note> = notes.iter().filter(|n| n.kept()).collect();
    if !kept.is_empty() {
        return Err(Error::Usage(format!(
            "{} setting(s) were left as they are (see above)",
            kept.len()
        )));
    }
    if changed && mode == Mode::Check {
        return Err(Error::CheckFailed);
    }
    if changed && applied && crate::status::find_on_path(crate::status::HELPER_BINARY).is_none() {
        writeln_out(
            out,
            "Next: put docker-credential-scalr on your PATH (OpenTofu and Docker look for it only there), e.g. with install/install.sh.",
        )?;
    }
    Ok(())
}

pub fn writeln_out(out: &mut dyn Write, line: &str) -> Result<()> {
    writeln!(out, "{line}").map_err(Error::io("stdout", "write to"))
}
