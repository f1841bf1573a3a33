//! `scalr-oci provider push | mirror | verify | tags`: OpenTofu provider
//! mirrors in an OCI registry, in place of the documentation's ORAS recipe
//! (one `oras push` per platform into an OCI layout, `oras manifest index
//! create`, `oras cp`).
//!
//! `push` reads one release's official zips, builds every document
//! ([`crate::oci::provider::index`]) before anything is sent, and pushes
//! in an order that never leaves a tag half-done: blobs (each skipped when
//! the registry has it), the platform manifests and the index by digest,
//! and only then the version's tag. An interrupted push leaves untagged
//! content that a rerun reuses. A tag that already names another index is
//! refused unless `--force`.
//!
//! Credentials come from the helper's own chain ([`registry_connection`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::oci::client::{Access, DEFAULT_CHUNK_SIZE, Repository};
use crate::oci::provider::index::{Documents, documents};
use crate::oci::provider::name::{PackageName, Release};
use crate::oci::provider::template::Template;
use crate::oci::provider::{INDEX_MEDIA_TYPE, tags, verify};
use crate::oci::reference::{Reference, Version};
use crate::oci::{Descriptor, EMPTY_CONFIG, EMPTY_MEDIA_TYPE, digest_of};
use crate::output::say;
use crate::{failpoint, registry_connection};

/// Where a provider version's documents came from.
struct Pushed {
    digest: String,
    uploaded: Vec<String>,
    /// The tag already named this very index.
    unchanged: bool,
}

/// `provider push ZIP... oci://HOST/REPO`.
pub fn push(
    machine: &Machine,
    zips: &[PathBuf],
    target: &str,
    force: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let target = repository(target)?;
    let release = read_release(zips)?;
    let docs = documents(&release);
    let mut repo = connect(machine, &target, Access::Push)?;
    let pushed = push_release(&mut repo, &target, &release, &docs, force)?;
    let tag = release.tag();
    if json {
        let platforms: BTreeMap<String, serde_json::Value> = docs
            .targets
            .iter()
            .map(|t| {
                (
                    t.platform.to_string(),
                    json!({ "manifest": t.digest, "zip": t.layer.digest, "zh": zh(&t.layer.digest) }),
                )
            })
            .collect();
        let doc = json!({
            "repository": target.base(),
            "provider": release.provider_type,
            "version": release.version.to_string(),
            "tag": tag,
            "digest": pushed.digest,
            "platforms": platforms,
            "uploaded": pushed.uploaded,
            "unchanged": pushed.unchanged,
        });
        return say!(out, "{doc}");
    }
    let platforms: Vec<String> = docs
        .targets
        .iter()
        .map(|t| t.platform.to_string())
        .collect();
    say!(
        out,
        "{} terraform-provider-{} {} for {} as {}:{tag}",
        if pushed.unchanged {
            "already there:"
        } else {
            "pushed"
        },
        release.provider_type,
        release.version,
        platforms.join(", "),
        target.base()
    )?;
    say!(out, "digest: {}", pushed.digest)?;
    say!(
        out,
        "uploaded {} blob(s); the registry already had the others",
        pushed.uploaded.len()
    )?;
    let repository = format!("{}/{}", target.endpoint(), target.repository);
    say!(
        out,
        "Point OpenTofu at it (NAMESPACE: the provider's namespace in its source address):\n  scalr-oci configure tofu --provider-mirror '{repository}' --include 'registry.opentofu.org/NAMESPACE/{}'",
        release.provider_type
    )
}

/// `provider mirror DIR --repository-template T`: every provider version of
/// a `tofu providers mirror` directory (packed layout,
/// `HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip`).
pub fn mirror(
    machine: &Machine,
    dir: &Path,
    template: &str,
    force: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let template = Template::parse(template)?;
    let releases = scan_mirror_dir(dir)?;
    if releases.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no provider packages (expected HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip, as `tofu providers mirror` writes them)",
            dir.display()
        )));
    }
    let total = releases.len();
    let mut failed = 0;
    for ((host, namespace, provider_type, version), files) in releases {
        let repository = template.render(&[&host, &namespace, &provider_type]);
        let shown = format!("{host}/{namespace}/{provider_type} {version}");
        let result = (|| -> Result<(String, Pushed)> {
            let target = repository_of(&repository)?;
            let release = read_release(&files)?;
            let docs = documents(&release);
            let mut repo = connect(machine, &target, Access::Push)?;
            let pushed = push_release(&mut repo, &target, &release, &docs, force)?;
            Ok((format!("{}:{}", target.base(), release.tag()), pushed))
        })();
        match result {
            Ok((at, pushed)) if pushed.unchanged => {
                say!(out, "skipped {shown}: {at} already names {}", pushed.digest)?
            }
            Ok((at, pushed)) => say!(
                out,
                "pushed  {shown} ({} platform(s)) to {at} as {} ({} blob(s) uploaded)",
                files.len(),
                pushed.digest,
                pushed.uploaded.len()
            )?,
            Err(e) => {
                failed += 1;
                say!(out, "FAILED  {shown}: {e}")?;
            }
        }
    }
    if failed > 0 {
        return Err(Error::MirrorIncomplete { failed, total });
    }
    Ok(())
}

/// `provider verify oci://HOST/REPO?tag=V`.
pub fn verify(machine: &Machine, target: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let target = Reference::parse(target)?;
    let reference = match (&target.version, &target.subdir) {
        (Some(Version::Tag(t)), None) => t.clone(),
        (Some(Version::Digest(d)), None) => d.clone(),
        _ => {
            return Err(Error::Usage(
                "verify one provider version: oci://HOST/REPO?tag=VERSION (build metadata's + written _), or ?digest=sha256:…".into(),
            ));
        }
    };
    let mut repo = connect(machine, &target, Access::Pull)?;
    let bytes = repo.manifest(&reference)?;
    let digest = digest_of(&bytes);
    let provider_type = target.repository.rsplit('/').next();
    let report = verify::check(&bytes, provider_type, &mut repo);
    let name = format!("{}@{digest}", target.base());
    if json {
        let targets: BTreeMap<String, String> = report
            .targets
            .iter()
            .map(|(p, d)| (p.to_string(), zh(d)))
            .collect();
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        let doc = json!({
            "reference": format!("{}:{reference}", target.base()),
            "digest": digest,
            "version": tags::version_of(&reference).map(|v| v.to_string()),
            "platforms": targets,
            "ok": problems.is_empty(),
            "problems": problems,
        });
        say!(out, "{doc}")?;
    } else {
        for (platform, zip) in &report.targets {
            say!(out, "ok    {:<16} {}", platform.to_string(), zh(zip))?;
        }
        for problem in &report.problems {
            say!(out, "FAIL  {problem}")?;
        }
        if report.problems.is_empty() {
            say!(
                out,
                "ok    {name}: an index of {} platform(s) OpenTofu installs",
                report.targets.len()
            )?;
        }
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(Error::NotAProviderVersion {
            reference: name,
            problems: report.problems.len(),
        })
    }
}

/// `provider tags oci://HOST/REPO`: the versions OpenTofu sees, highest first.
pub fn tags(machine: &Machine, target: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let target = repository(target)?;
    let all = connect(machine, &target, Access::Pull)?.tags(None)?;
    let versions = tags::versions(&all);
    if json {
        let list: Vec<_> = versions
            .iter()
            .map(|(v, t)| json!({ "version": v.to_string(), "tag": t }))
            .collect();
        let doc = json!({ "repository": target.base(), "versions": list, "ignored": all.len() - versions.len() });
        return say!(out, "{doc}");
    }
    for (version, tag) in &versions {
        if version.to_string() == *tag {
            say!(out, "{version}")?;
        } else {
            say!(out, "{version} (tag {tag})")?;
        }
    }
    let ignored = all.len() - versions.len();
    if ignored > 0 {
        say!(
            out,
            "({ignored} other tag(s) are not versions; OpenTofu ignores them)"
        )?;
    }
    Ok(())
}

/// Blobs, platform manifests and the index by digest, then the tag.
fn push_release(
    repo: &mut Repository,
    target: &Reference,
    release: &Release,
    docs: &Documents,
    force: bool,
) -> Result<Pushed> {
    let tag = release.tag();
    // Refuse before sending anything: a tag that names another index.
    let current = match repo.manifest(&tag) {
        Ok(bytes) => Some(digest_of(&bytes)),
        Err(crate::oci::error::Error::ManifestUnknown { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if current.as_deref() == Some(docs.digest.as_str()) {
        return Ok(Pushed {
            digest: docs.digest.clone(),
            uploaded: Vec::new(),
            unchanged: true,
        });
    }
    if let Some(current) = current
        && !force
    {
        return Err(Error::TagTaken {
            repository: target.base(),
            tag,
            current,
            ours: docs.digest.clone(),
        });
    }
    let mut uploaded = Vec::new();
    let config = Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG);
    if repo.push_blob(
        &config.digest,
        EMPTY_CONFIG,
        DEFAULT_CHUNK_SIZE,
        &mut |_, _| {},
    )? {
        uploaded.push(config.digest.clone());
    }
    for (target_doc, package) in docs.targets.iter().zip(release.packages.values()) {
        if repo.push_blob(
            &target_doc.layer.digest,
            &package.bytes,
            DEFAULT_CHUNK_SIZE,
            &mut |_, _| {},
        )? {
            uploaded.push(target_doc.layer.digest.clone());
        }
        failpoint::hit("provider-push");
    }
    for target_doc in &docs.targets {
        repo.push_manifest(&target_doc.digest, &target_doc.manifest)?;
        failpoint::hit("provider-push");
    }
    repo.push_manifest_as(&docs.digest, INDEX_MEDIA_TYPE, &docs.index)?;
    failpoint::hit("provider-push");
    repo.push_manifest_as(&tag, INDEX_MEDIA_TYPE, &docs.index)
        .map_err(|source| Error::TagsNotSet {
            source: Box::new(source),
            digest: docs.digest.clone(),
            tags: vec![tag.clone()],
        })?;
    Ok(Pushed {
        digest: docs.digest.clone(),
        uploaded,
        unchanged: false,
    })
}

/// The zips named, read and checked into one release.
fn read_release(zips: &[PathBuf]) -> Result<Release> {
    let mut files = Vec::new();
    let names: Vec<String> = zips
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    // Every name first: a wrong one is reported before any file is read.
    for name in &names {
        PackageName::parse(name)?;
    }
    for (path, name) in zips.iter().zip(names) {
        let bytes = std::fs::read(path).map_err(Error::io(path, "read"))?;
        files.push((name, bytes));
    }
    Ok(Release::from_packages(files)?)
}

type ReleaseKey = (String, String, String, crate::oci::provider::Version);

/// The packed layout's zips, grouped by provider and version.
fn scan_mirror_dir(dir: &Path) -> Result<BTreeMap<ReleaseKey, Vec<PathBuf>>> {
    let mut found: BTreeMap<ReleaseKey, Vec<PathBuf>> = BTreeMap::new();
    let list = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(Error::io(d, "read the directory"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        Ok(entries)
    };
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for host in list(dir)?.into_iter().filter(|p| p.is_dir()) {
        for namespace in list(&host)?.into_iter().filter(|p| p.is_dir()) {
            for provider in list(&namespace)?.into_iter().filter(|p| p.is_dir()) {
                for zip in list(&provider)?
                    .into_iter()
                    .filter(|p| name_of(p).ends_with(".zip"))
                {
                    let name = PackageName::parse(&name_of(&zip))?;
                    if name.provider_type != name_of(&provider) {
                        return Err(Error::Usage(format!(
                            "{} is in the directory of provider {:?}",
                            zip.display(),
                            name_of(&provider)
                        )));
                    }
                    found
                        .entry((
                            name_of(&host),
                            name_of(&namespace),
                            name.provider_type,
                            name.version,
                        ))
                        .or_default()
                        .push(zip);
                }
            }
        }
    }
    Ok(found)
}

/// `oci://HOST/REPO` without tag, digest or subdirectory.
fn repository(target: &str) -> Result<Reference> {
    let target = Reference::parse(target)?;
    if target.version.is_some() || target.subdir.is_some() {
        return Err(Error::Usage(format!(
            "give the repository as oci://HOST/REPO; the tag is the provider's version, taken from the zips' names ({:?} carries a tag, digest or //subdirectory)",
            target.base()
        )));
    }
    Ok(target)
}

/// A template's `HOST/PATH` as a repository reference.
fn repository_of(rendered: &str) -> Result<Reference> {
    repository(&format!("oci://{rendered}"))
}

fn connect(machine: &Machine, target: &Reference, access: Access) -> Result<Repository> {
    registry_connection::connect(machine, target, access)
}

/// OpenTofu's lock-file hash of a zip: `zh:` and the sha256's hex.
fn zh(digest: &str) -> String {
    format!("zh:{}", digest.strip_prefix("sha256:").unwrap_or(digest))
}
