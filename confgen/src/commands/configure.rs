//! `scalr-oci configure tofu|docker|containers`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use docker_credential_scalr::registry::RegistryHost;

use crate::docker_config::{self, Flavor};
use crate::environment::{Env, HELPER_BINARY};
use crate::error::{Error, Result};
use crate::inventory::{Inventory, Reach, TofuFile};
use crate::machine::Machine;
use crate::output::{self, say};
use crate::report::Note;
use crate::scalr;
use crate::tofurc::{self, Policy, TofuFiles, Want};
use crate::write::{self, FileChange, Mode};

/// Options shared by every `configure` target.
pub struct Common {
    pub file: Option<PathBuf>,
    pub mode: Mode,
    pub force: bool,
}

/// What `configure tofu` was asked for, flag by flag.
pub struct TofuFlags {
    pub registries: Vec<String>,
    pub default: bool,
    pub all_from_control_plane: bool,
    pub credentials_helper: bool,
    /// `--provider-mirror TEMPLATE`: a `provider_installation` block with an
    /// `oci_mirror` for what `includes` names (everything without any).
    pub provider_mirror: Option<String>,
    pub includes: Vec<String>,
}

/// `configure tofu` from its flags: the provider mirror and the host-token
/// helper block first when asked (alone, when nothing else is), then a helper block per wanted
/// registry; with `--all-from-control-plane`, every registry the control
/// plane exports to this token.
pub fn tofu_from_flags(
    machine: &Machine,
    flags: TofuFlags,
    common: &Common,
    out: &mut dyn Write,
) -> Result<()> {
    let env = &machine.env;
    if let Some(template) = flags.provider_mirror {
        provider_mirror(env, &template, flags.includes, common, out)?;
        if flags.registries.is_empty()
            && !flags.default
            && !flags.all_from_control_plane
            && !flags.credentials_helper
        {
            return Ok(());
        }
    }
    if flags.credentials_helper {
        credentials_helper(env, common, out)?;
        if flags.registries.is_empty() && !flags.default && !flags.all_from_control_plane {
            return Ok(());
        }
    }
    let mut wants: Vec<Want> = Vec::new();
    if flags.default {
        wants.push(Want::Default);
    }
    wants.extend(flags.registries.into_iter().map(Want::Registry));
    if flags.all_from_control_plane {
        let control_plane = scalr::connect(machine.settings()?, machine.keychain())?;
        let (labels, left_out) = scalr::exported_labels(&control_plane)?;
        for line in &left_out {
            say!(out, "skipped integration {line}")?;
        }
        if labels.is_empty() {
            say!(
                out,
                "{} exports no Docker registry integration to this token.",
                control_plane.hostname()
            )?;
        }
        wants.extend(labels.into_iter().map(Want::Registry));
        if wants.is_empty() {
            return Ok(());
        }
    }
    tofu(env, wants, common, out)
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
    let files = match &common.file {
        Some(file) => TofuFiles::only(file.clone()),
        None => TofuFiles::find(env)?,
    };

    // Where does each wanted block live today? A block found in another file
    // of the merged set is edited there: adding it to the primary file would
    // make a duplicate, which OpenTofu refuses.
    let mut per_file: BTreeMap<PathBuf, Vec<Want>> = BTreeMap::new();
    let mut seen = Vec::new();
    for file in TofuFile::read_all(&files) {
        for block in file.blocks?.unwrap_or_default() {
            seen.push((file.path.clone(), block));
        }
    }
    if let Some(dup) = tofurc::first_duplicate(seen.iter().map(|(_, b)| b)) {
        say!(
            out,
            "warning: the OpenTofu configuration already holds {} twice ({}); `tofu init` fails until one is removed",
            dup.describe(),
            files_holding(&seen, &dup)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    for want in &unique {
        let home = files_holding(&seen, want)
            .into_iter()
            .next()
            .map_or_else(|| files.primary.clone(), Path::to_path_buf);
        per_file.entry(home).or_default().push(want.clone());
    }

    let policy = Policy::configure(common.force);
    let mut notes = Vec::new();
    let mut changes = Vec::new();
    for (path, wants) in &per_file {
        let (change, file_notes) = write::edit_file(path, common.mode, 0o600, |text| {
            tofurc::apply(path, text, wants, policy)
        })?;
        notes.extend(file_notes);
        changes.push(change);
    }
    finish(env, out, &notes, &changes, common.mode, "OpenTofu")
}

fn files_holding<'a>(seen: &'a [(PathBuf, tofurc::CredBlock)], want: &Want) -> Vec<&'a Path> {
    seen.iter()
        .filter(|(_, b)| b.label.as_deref() == want.label())
        .map(|(p, _)| p.as_path())
        .collect()
}

/// `configure docker|containers`.
pub fn docker(
    machine: &Machine,
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
        hosts = Inventory::scan(machine, Reach::Local).known_hosts();
        if hosts.is_empty() {
            say!(
                out,
                "Nothing to configure for {0}: no registry was given and none is known yet (from the OpenTofu configuration or the keychain), so nothing was changed.\nWhen you have one: `scalr-oci configure {1} --registry HOST` for each registry, or `scalr-oci configure {1} --store` to send every registry to docker-credential-scalr.",
                flavor.name(),
                match flavor {
                    Flavor::Docker => "docker",
                    Flavor::Containers => "containers",
                }
            )?;
            return Ok(());
        }
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        say!(
            out,
            "Registries known to OpenTofu or the keychain: {}",
            names.join(", ")
        )?;
    }
    let path = match &common.file {
        Some(file) => file.clone(),
        None => flavor.write_path(&machine.env)?,
    };
    let request = docker_config::Request {
        hosts,
        store,
        force: common.force,
    };
    let (change, notes) = write::edit_file(&path, common.mode, 0o600, |text| {
        docker_config::apply(&path, text, flavor, &request)
    })?;
    finish(
        &machine.env,
        out,
        &notes,
        &[change],
        common.mode,
        flavor.name(),
    )
}

/// Prints the notes and diffs, and turns the result into the exit status.
fn finish(
    env: &Env,
    out: &mut dyn Write,
    notes: &[Note],
    changes: &[FileChange],
    mode: Mode,
    what: &str,
) -> Result<()> {
    let applied = mode == Mode::Apply;
    for note in notes {
        say!(out, "{}", note.display(applied))?;
    }
    for diff in changes.iter().filter_map(|o| o.diff.as_deref()) {
        output::raw(out, diff)?;
    }
    let changed = changes.iter().any(|o| o.changed);
    let summary = match (changed, mode) {
        (false, _) if notes.iter().any(Note::kept) => {
            format!("Nothing was changed in the {what} configuration.")
        }
        (false, _) => format!("Nothing to change: the {what} configuration already says this."),
        (true, Mode::Apply) => {
            let files: Vec<String> = changes
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
        say!(out, "{}", summary)?;
    }
    let kept: Vec<&Note> = notes.iter().filter(|n| n.kept()).collect();
    if !kept.is_empty() {
        return Err(Error::SettingsKept { count: kept.len() });
    }
    if changed && mode == Mode::Check {
        return Err(Error::CheckFailed);
    }
    if changed && applied && env.find_on_path(HELPER_BINARY).is_none() {
        say!(
            out,
            "Next: put docker-credential-scalr on your PATH (OpenTofu and Docker look for it only there)."
        )?;
    }
    Ok(())
}

/// `configure tofu --credentials-helper`: the `credentials_helper "scalr" {}`
/// block (never a second one anywhere in the merged set) and the plugin
/// link OpenTofu runs it through.
pub fn credentials_helper(env: &Env, common: &Common, out: &mut dyn Write) -> Result<()> {
    let done =
        crate::credentials_helper::ensure(env, common.file.clone(), common.mode, common.force)?;
    for line in &done.lines {
        say!(out, "{line}")?;
    }
    if done.kept > 0 {
        return Err(Error::SettingsKept { count: done.kept });
    }
    match (done.changed, common.mode) {
        (true, Mode::Check) => Err(Error::CheckFailed),
        (true, Mode::DryRun) => say!(out, "Dry run: nothing was written."),
        (false, _) => say!(
            out,
            "Nothing to change: OpenTofu already asks terraform-credentials-scalr for host tokens."
        ),
        (true, Mode::Apply) => say!(
            out,
            "OpenTofu now asks terraform-credentials-scalr for Scalr host tokens (from the OS keychain, or SCALR_TOKEN in a run)."
        ),
    }
}

/// `configure tofu --provider-mirror TEMPLATE [--include PATTERN]...`: the
/// `provider_installation` block with our `oci_mirror` (see
/// [`tofurc::provider_mirror`]).
pub fn provider_mirror(
    env: &Env,
    template: &str,
    includes: Vec<String>,
    common: &Common,
    out: &mut dyn Write,
) -> Result<()> {
    let mirror = tofurc::provider_mirror::Mirror::new(template, includes)?;
    let files = match &common.file {
        Some(file) => TofuFiles::only(file.clone()),
        None => TofuFiles::find(env)?,
    };
    let done = tofurc::provider_mirror::ensure(&files, &mirror, common.mode, common.force)?;
    for line in &done.lines {
        output::raw(out, line)?;
        if !line.ends_with('\n') {
            say!(out, "")?;
        }
    }
    if done.kept {
        return Err(Error::SettingsKept { count: 1 });
    }
    match (done.changed, common.mode) {
        (true, Mode::Check) => Err(Error::CheckFailed),
        (true, Mode::DryRun) => say!(out, "Dry run: nothing was written."),
        _ => Ok(()),
    }
}
