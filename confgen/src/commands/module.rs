//! `scalr-oci module publish | verify | tags`: the module-publishing guide
//! (zip, `oras login`, `oras push` with the exact media types, `oras
//! manifest fetch` read by eye) as three commands.
//!
//! Credentials come in-process from the helper's own chain (keychain,
//! control plane, settings, in the configured order) and stay in memory:
//! no `docker login`, no ORAS, nothing written to disk. A registry that
//! needs none gets none.
//!
//! `publish` pushes the layer and the empty config (each skipped when the
//! registry has it), then the manifest once per tag. The manifest bytes are
//! a function of the package alone, so its digest is known before anything
//! is sent and `--dry-run` prints the same digest without a network.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::oci::client::{Access, DEFAULT_CHUNK_SIZE, Repository};
use crate::oci::package;
use crate::oci::reference::{Reference, Version};
use crate::oci::{
    Descriptor, EMPTY_CONFIG, EMPTY_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MODULE_ARTIFACT_TYPE,
    ZIP_MEDIA_TYPE, module_manifest,
};
use crate::output::say;
use crate::registry_connection;

/// OpenTofu asks for `latest` when a source names no tag.
pub const DEFAULT_TAG: &str = "latest";
/// Uploads slower than this get progress lines on stderr.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// `module publish`'s arguments, as the command line gives them.
#[derive(clap::Args, Debug)]
pub struct Publish {
    /// The module directory (its root holds .tf or .tofu files).
    pub dir: PathBuf,
    /// Where to push: oci://HOST[:PORT]/REPO.
    pub target: String,
    /// Tag to set (repeatable; default `latest`, which OpenTofu asks for without ?tag=).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Leave out paths matching GLOB too (repeatable; .terraformignore syntax).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Also write the package here (refused inside DIR).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Package and print the digest; contact no registry.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
    /// Upload blobs larger than this in PATCH chunks of this size (bytes).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_CHUNK_SIZE, hide = true)]
    pub chunk_size: usize,
}

pub fn publish(machine: &Machine, args: &Publish, out: &mut dyn Write) -> Result<()> {
    let target = Reference::parse(&args.target)?;
    if target.version.is_some() || target.subdir.is_some() {
        return Err(Error::Usage(format!(
            "publish to oci://HOST/REPO and name tags with --tag; {:?} carries a tag, digest or //subdirectory",
            args.target
        )));
    }
    let mut tags = args.tags.clone();
    if tags.is_empty() {
        tags.push(DEFAULT_TAG.to_string());
    }
    for tag in &tags {
        if !crate::oci::reference::valid_tag(tag) {
            return Err(Error::Usage(format!(
                "--tag {tag:?} is not a valid OCI tag (letters, digits, _ . -; at most 128; not starting with . or -)"
            )));
        }
    }
    if let Some(output) = &args.output {
        package::refuse_output_inside(&args.dir, output)?;
    }
    let epoch = machine.env.source_date_epoch.as_deref();
    let package = package::build(&args.dir, &args.excludes, epoch)?;
    if let Some(output) = &args.output {
        write_package(output, &package.bytes)?;
    }
    let layer = Descriptor::of(ZIP_MEDIA_TYPE, &package.bytes);
    let created = epoch.map(package::rfc3339).transpose()?;
    let manifest = module_manifest(&layer, created.as_deref());
    let digest = crate::oci::digest_of(&manifest);
    let source = format!("{}?digest={digest}", target.base());

    let mut uploaded = Vec::new();
    if !args.dry_run {
        let mut repo = connect(machine, &target, Access::Push)?;
        let config = Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG);
        let mut progress = Progress::new(&layer.digest);
        if repo.push_blob(
            &layer.digest,
            &package.bytes,
            args.chunk_size,
            &mut |sent, total| progress.report(sent, total),
        )? {
            uploaded.push(layer.digest.clone());
        }
        if repo.push_blob(
            &config.digest,
            EMPTY_CONFIG,
            args.chunk_size,
            &mut |_, _| {},
        )? {
            uploaded.push(config.digest.clone());
        }
        // By digest first: a tag is only ever made to point at a manifest
        // the registry already accepted whole.
        repo.push_manifest(&digest, &manifest)?;
        for tag in &tags {
            repo.push_manifest(tag, &manifest)
                .map_err(|source| Error::TagsNotSet {
                    source: Box::new(source),
                    digest: digest.clone(),
                    tags: tags.iter().skip_while(|t| *t != tag).cloned().collect(),
                })?;
        }
    }

    if args.json {
        let doc = json!({
            "repository": target.base(),
            "digest": digest,
            "tags": tags,
            "source": source,
            "layer": layer,
            "files": package.entries,
            "uploaded": uploaded,
            "dry_run": args.dry_run,
        });
        return say!(out, "{doc}");
    }
    let verb = if args.dry_run {
        "would publish"
    } else {
        "published"
    };
    say!(
        out,
        "{verb} {} ({} files, {} bytes, layer {}) as {}:{}",
        args.dir.display(),
        package.entries.len(),
        layer.size,
        layer.digest,
        target.base(),
        tags.join(", :")
    )?;
    if !args.dry_run && uploaded.is_empty() {
        say!(
            out,
            "the registry already had every blob; only tags were set"
        )?;
    }
    say!(out, "digest: {digest}")?;
    say!(out, "source = \"{source}\"")
}

/// The reference as OCI tools write it: `oci://HOST/REPO:TAG` for a tag
/// (`latest` when none was given), `oci://HOST/REPO@sha256:…` for a digest.
fn reference_name(base: &str, version: Option<&Version>) -> String {
    match version {
        Some(Version::Digest(d)) => format!("{base}@{d}"),
        Some(Version::Tag(t)) => format!("{base}:{t}"),
        None => format!("{base}:{DEFAULT_TAG}"),
    }
}

pub fn verify(machine: &Machine, target: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let target = Reference::parse(target)?;
    let reference = match &target.version {
        Some(Version::Tag(t)) => t.clone(),
        Some(Version::Digest(d)) => d.clone(),
        None => DEFAULT_TAG.to_string(),
    };
    let mut repo = connect(machine, &target, Access::Pull)?;
    let bytes = repo.manifest(&reference)?;
    let digest = crate::oci::digest_of(&bytes);
    let mut problems = Vec::new();
    let mut layer_digest = None;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => problems.push(format!("the manifest is not JSON: {e}")),
        Ok(doc) => {
            let media_type = doc["mediaType"].as_str().unwrap_or("");
            if media_type != MANIFEST_MEDIA_TYPE {
                problems.push(format!(
                    "the manifest's mediaType is {media_type:?}, not {MANIFEST_MEDIA_TYPE}"
                ));
            }
            let artifact = doc["artifactType"].as_str().unwrap_or("");
            if artifact != MODULE_ARTIFACT_TYPE {
                problems.push(format!(
                    "the artifactType is {artifact:?}, not {MODULE_ARTIFACT_TYPE}: OpenTofu will not install it"
                ));
            }
            let layers = doc["layers"].as_array().cloned().unwrap_or_default();
            if layers.len() != 1 {
                problems.push(format!(
                    "the manifest has {} layers; a module package has exactly one, of type {ZIP_MEDIA_TYPE}",
                    layers.len()
                ));
            }
            let zips: Vec<Descriptor> = layers
                .iter()
                .filter_map(|l| serde_json::from_value::<Descriptor>(l.clone()).ok())
                .filter(|d| d.media_type == ZIP_MEDIA_TYPE)
                .collect();
            if zips.len() != 1 {
                problems.push(format!(
                    "{} layer(s) of media type {ZIP_MEDIA_TYPE}; exactly one is required",
                    zips.len()
                ));
            }
            if let [layer] = zips.as_slice() {
                layer_digest = Some(layer.digest.clone());
                if !crate::oci::is_digest(&layer.digest) {
                    problems.push(format!("the layer digest {:?} is not sha256", layer.digest));
                } else {
                    match repo.blob(&layer.digest, layer.size) {
                        Ok(zip) => problems.extend(
                            package::problems(&zip, target.subdir.as_deref())
                                .iter()
                                .map(ToString::to_string),
                        ),
                        Err(e) => problems.push(e.to_string()),
                    }
                }
            }
        }
    }
    let name = format!("{}@{digest}", target.base());
    if json {
        let doc = json!({
            "reference": reference_name(&target.base(), target.version.as_ref()),
            "digest": digest,
            "layer": layer_digest,
            "subdir": target.subdir,
            "ok": problems.is_empty(),
            "problems": problems,
        });
        say!(out, "{doc}")?;
    } else if problems.is_empty() {
        say!(
            out,
            "ok    {name}: artifactType {MODULE_ARTIFACT_TYPE}, one {ZIP_MEDIA_TYPE} layer, digests and sizes match, a valid module package{}",
            target
                .subdir
                .as_deref()
                .map(|s| format!(" with //{s}"))
                .unwrap_or_default()
        )?;
    } else {
        for problem in &problems {
            say!(out, "FAIL  {problem}")?;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::NotAModulePackage {
            reference: name,
            problems: problems.len(),
        })
    }
}

/// Every tag, sorted (registries differ in the order they list them).
pub fn tags(
    machine: &Machine,
    target: &str,
    page_size: Option<usize>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let target = Reference::parse(target)?;
    if target.version.is_some() || target.subdir.is_some() {
        return Err(Error::Usage(
            "tags lists a repository: give oci://HOST/REPO, without tag, digest or //subdirectory"
                .to_string(),
        ));
    }
    let mut tags = connect(machine, &target, Access::Pull)?.tags(page_size)?;
    tags.sort();
    tags.dedup();
    if json {
        let doc = json!({ "repository": target.base(), "tags": tags });
        return say!(out, "{doc}");
    }
    for tag in tags {
        say!(out, "{tag}")?;
    }
    Ok(())
}

/// Writes the package to a new file beside `output`, then renames it over
/// `output`: a symlink placed there is replaced, never written through.
fn write_package(output: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(Error::io(dir, "create a file in"))?;
    file.write_all(bytes).map_err(Error::io(output, "write"))?;
    file.persist(output)
        .map_err(|e| Error::io(output, "write")(e.error))?;
    Ok(())
}

/// A connection to the target's repository (credentials from the helper's chain).
fn connect(machine: &Machine, target: &Reference, access: Access) -> Result<Repository> {
    registry_connection::connect(machine, target, access)
}

/// Progress lines on stderr, only once an upload has taken a while, at
/// most one a second.
struct Progress {
    what: String,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(digest: &str) -> Progress {
        Progress {
            what: digest.chars().take(19).collect(),
            started: Instant::now(),
            last: None,
        }
    }

    fn report(&mut self, sent: u64, total: u64) {
        let now = Instant::now();
        let due = now.duration_since(self.started) >= PROGRESS_AFTER
            && self
                .last
                .is_none_or(|l| now.duration_since(l) >= PROGRESS_AFTER);
        if due || (sent == total && self.last.is_some()) {
            self.last = Some(now);
            crate::output::progress(format_args!(
                "uploading {}…: {} of {} KiB ({}%)",
                self.what,
                sent / 1024,
                total / 1024,
                sent * 100 / total.max(1)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `module verify --json` used to write `oci://HOST/REPO:sha256:…`.
    #[test]
    fn a_digest_reference_uses_the_at_sign() {
        let base = "oci://ghcr.io/acme/net";
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            reference_name(base, Some(&Version::Digest(digest.clone()))),
            format!("oci://ghcr.io/acme/net@{digest}")
        );
        assert_eq!(
            reference_name(base, Some(&Version::Tag("1.0.0".into()))),
            "oci://ghcr.io/acme/net:1.0.0"
        );
        assert_eq!(reference_name(base, None), "oci://ghcr.io/acme/net:latest");
    }
}
