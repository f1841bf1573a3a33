//! What OpenTofu checks when it installs a provider version from a tag
//! (v1.12.6, `oci_registry_mirror_source.go`), checked all at once, each
//! broken rule a [`Problem`]:
//!
//! - the tag names an image index (not an image manifest) whose
//!   `artifactType` is `application/vnd.opentofu.provider`;
//! - its `manifests[]` entries with `artifactType`
//!   `application/vnd.opentofu.provider-target` are image manifests with a
//!   `platform` (entries with `os.version` are skipped by OpenTofu, so not
//!   counted), one per platform ("ambiguous" otherwise), each at most 4 MiB;
//! - each such manifest has the same media and artifact type as its entry
//!   and exactly one `archive/zip` layer, named by a sha256 digest;
//! - and, beyond OpenTofu (which finds out only when it unpacks): the zip
//!   is a provider package of that platform.

use std::collections::BTreeMap;

use serde_json::Value;

use super::name::{PackageName, Platform, check_package};
use super::{INDEX_MEDIA_TYPE, PROVIDER_ARTIFACT_TYPE, TARGET_ARTIFACT_TYPE, TITLE_ANNOTATION};
use crate::client::Repository;
use crate::error::{Error, Result};
use crate::{MANIFEST_MEDIA_TYPE, ZIP_MEDIA_TYPE, is_digest};

/// Where verification reads manifests and blobs (a [`Repository`], or a
/// map in tests).
pub trait Store {
    fn manifest(&mut self, digest: &str) -> Result<Vec<u8>>;
    fn blob(&mut self, digest: &str, size: u64) -> Result<Vec<u8>>;
}

impl Store for Repository {
    fn manifest(&mut self, digest: &str) -> Result<Vec<u8>> {
        Repository::manifest(self, digest)
    }
    fn blob(&mut self, digest: &str, size: u64) -> Result<Vec<u8>> {
        Repository::blob(self, digest, size)
    }
}

/// One rule a provider version breaks.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("the tag names something that is not JSON")]
    IndexNotJson,
    #[error(
        "the tag names an image manifest; OpenTofu requires an image index ({INDEX_MEDIA_TYPE}) of per-platform manifests"
    )]
    TagNamesManifest,
    #[error("the tag's mediaType is {0:?}, not {INDEX_MEDIA_TYPE}")]
    IndexMediaType(String),
    #[error("the index's artifactType is {0:?}, not {PROVIDER_ARTIFACT_TYPE}")]
    IndexArtifactType(String),
    #[error("the index lists no manifest of artifactType {TARGET_ARTIFACT_TYPE}")]
    NoTargets,
    #[error("the entry {digest} has mediaType {media_type:?}, not {MANIFEST_MEDIA_TYPE}")]
    EntryMediaType { digest: String, media_type: String },
    #[error("the entry {digest} has no platform")]
    EntryWithoutPlatform { digest: String },
    #[error("the entry {digest} is not named by a sha256 digest")]
    EntryDigest { digest: String },
    #[error("{platform} is listed {count} times; OpenTofu refuses the version as ambiguous")]
    Ambiguous { platform: String, count: usize },
    #[error("the {platform} manifest is {size} bytes; OpenTofu reads at most 4 MiB")]
    ManifestTooLarge { platform: String, size: u64 },
    #[error("cannot read the {platform} manifest or package: {error}")]
    Unreadable { platform: String, error: Box<Error> },
    #[error("the {platform} manifest is not JSON")]
    ManifestNotJson { platform: String },
    #[error("the {platform} manifest's {field} is {got:?}, not {want}")]
    ManifestType {
        platform: String,
        field: &'static str,
        got: String,
        want: &'static str,
    },
    #[error(
        "the {platform} manifest has {count} layer(s) of type {ZIP_MEDIA_TYPE}; OpenTofu needs exactly one"
    )]
    ZipLayers { platform: String, count: usize },
    #[error("the {platform} package is named {title:?}, which is not a package for {platform}")]
    TitleDisagrees { platform: String, title: String },
    #[error("the {platform} package: {error}")]
    NotAProvider { platform: String, error: Box<Error> },
}

/// What a sound version holds: per platform, the zip's digest (OpenTofu's
/// `zh:` hash is its hex).
#[derive(Debug, Default)]
pub struct Report {
    pub targets: BTreeMap<Platform, String>,
    pub problems: Vec<Problem>,
}

/// Checks the index `bytes` (what the tag names) and everything it lists.
/// `provider_type`, when known (from the repository name), is the
/// executable each zip must hold.
pub fn check(bytes: &[u8], provider_type: Option<&str>, store: &mut dyn Store) -> Report {
    let mut report = Report::default();
    let problems = &mut report.problems;
    let Ok(doc) = serde_json::from_slice::<Value>(bytes) else {
        problems.push(Problem::IndexNotJson);
        return report;
    };
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or("").to_string();
    let media_type = text(&doc, "mediaType");
    if media_type == MANIFEST_MEDIA_TYPE {
        problems.push(Problem::TagNamesManifest);
        return report;
    }
    if media_type != INDEX_MEDIA_TYPE {
        problems.push(Problem::IndexMediaType(media_type));
    }
    let artifact = text(&doc, "artifactType");
    if artifact != PROVIDER_ARTIFACT_TYPE {
        problems.push(Problem::IndexArtifactType(artifact));
    }
    let mut per_platform: BTreeMap<Platform, Vec<&Value>> = BTreeMap::new();
    for entry in doc["manifests"].as_array().into_iter().flatten() {
        if text(entry, "artifactType") != TARGET_ARTIFACT_TYPE {
            continue; // OpenTofu ignores other artifacts.
        }
        let digest = text(entry, "digest");
        let entry_type = text(entry, "mediaType");
        if entry_type != MANIFEST_MEDIA_TYPE {
            problems.push(Problem::EntryMediaType {
                digest,
                media_type: entry_type,
            });
            continue;
        }
        let platform = &entry["platform"];
        if !platform.is_object() {
            problems.push(Problem::EntryWithoutPlatform { digest });
            continue;
        }
        if platform
            .get("os.version")
            .is_some_and(|v| v.as_str() != Some(""))
        {
            continue; // OpenTofu skips entries with an OS version.
        }
        per_platform
            .entry(Platform {
                os: text(platform, "os"),
                arch: text(platform, "architecture"),
            })
            .or_default()
            .push(entry);
    }
    if per_platform.is_empty() {
        problems.push(Problem::NoTargets);
    }
    for (platform, entries) in per_platform {
        let shown = platform.to_string();
        let [entry] = entries.as_slice() else {
            problems.push(Problem::Ambiguous {
                platform: shown,
                count: entries.len(),
            });
            continue;
        };
        let digest = text(entry, "digest");
        if !is_digest(&digest) {
            problems.push(Problem::EntryDigest { digest });
            continue;
        }
        let size = entry["size"].as_u64().unwrap_or(0);
        if size > super::MAX_PROVIDER_MANIFEST {
            problems.push(Problem::ManifestTooLarge {
                platform: shown,
                size,
            });
            continue;
        }
        match check_target(&platform, &digest, provider_type, store) {
            Ok(zip) => {
                report.targets.insert(platform, zip);
            }
            Err(problem) => problems.push(problem),
        }
    }
    report
}

/// One platform's manifest and zip; the zip's digest when sound.
fn check_target(
    platform: &Platform,
    digest: &str,
    provider_type: Option<&str>,
    store: &mut dyn Store,
) -> std::result::Result<String, Problem> {
    let shown = platform.to_string();
    let unreadable = |e| Problem::Unreadable {
        platform: shown.clone(),
        error: Box::new(e),
    };
    let bytes = store.manifest(digest).map_err(unreadable)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| Problem::ManifestNotJson {
        platform: shown.clone(),
    })?;
    for (field, want) in [
        ("mediaType", MANIFEST_MEDIA_TYPE),
        ("artifactType", TARGET_ARTIFACT_TYPE),
    ] {
        let got = doc[field].as_str().unwrap_or("");
        if got != want {
            return Err(Problem::ManifestType {
                platform: shown,
                field,
                got: got.to_string(),
                want,
            });
        }
    }
    let zips: Vec<&Value> = doc["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["mediaType"].as_str() == Some(ZIP_MEDIA_TYPE))
        .collect();
    let [layer] = zips.as_slice() else {
        return Err(Problem::ZipLayers {
            platform: shown,
            count: zips.len(),
        });
    };
    let zip_digest = layer["digest"].as_str().unwrap_or("").to_string();
    if !is_digest(&zip_digest) {
        return Err(Problem::EntryDigest { digest: zip_digest });
    }
    let size = layer["size"].as_u64().unwrap_or(0);
    let zip = store.blob(&zip_digest, size).map_err(unreadable)?;
    // The name the package was pushed under, else the official name the
    // repository's type implies.
    let title = layer["annotations"][TITLE_ANNOTATION].as_str();
    let name = match title {
        Some(title) => match PackageName::parse(title) {
            Ok(name) if name.platform == *platform => name,
            _ => {
                return Err(Problem::TitleDisagrees {
                    platform: shown,
                    title: title.to_string(),
                });
            }
        },
        None => match provider_type {
            Some(t) => PackageName {
                provider_type: t.to_string(),
                version: semver::Version::new(0, 0, 0),
                platform: platform.clone(),
            },
            None => return Ok(zip_digest),
        },
    };
    check_package(&name.file_name(), &name, &zip).map_err(|e| Problem::NotAProvider {
        platform: shown,
        error: Box::new(e),
    })?;
    Ok(zip_digest)
}

#[cfg(test)]
mod tests {
    use super::super::index::{documents, target_manifest};
    use super::super::name::Release;
    use super::super::test_zip::zip_with;
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Map(HashMap<String, Vec<u8>>);

    impl Store for Map {
        fn manifest(&mut self, digest: &str) -> Result<Vec<u8>> {
            self.0.get(digest).cloned().ok_or(Error::ManifestUnknown {
                reference: digest.into(),
                repository: "test".into(),
            })
        }
        fn blob(&mut self, digest: &str, _size: u64) -> Result<Vec<u8>> {
            self.manifest(digest)
        }
    }

    fn stored(release: &Release) -> (Map, Vec<u8>) {
        let docs = documents(release);
        let mut map = Map::default();
        for (target, package) in docs.targets.iter().zip(release.packages.values()) {
            map.0.insert(target.digest.clone(), target.manifest.clone());
            map.0
                .insert(target.layer.digest.clone(), package.bytes.clone());
        }
        (map, docs.index)
    }

    fn release() -> Release {
        Release::from_packages(
            ["linux_amd64", "darwin_arm64"]
                .iter()
                .map(|p| {
                    (
                        format!("terraform-provider-simple_1.0.0_{p}.zip"),
                        zip_with("terraform-provider-simple_v1.0.0"),
                    )
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn what_we_build_passes() {
        let (mut map, index) = stored(&release());
        let report = check(&index, Some("simple"), &mut map);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.targets.len(), 2);
    }

    #[test]
    fn a_manifest_under_the_tag_is_refused() {
        let layer = crate::Descriptor::of(ZIP_MEDIA_TYPE, b"z");
        let manifest = target_manifest(&layer, "terraform-provider-simple_1.0.0_linux_amd64.zip");
        let report = check(&manifest, None, &mut Map::default());
        assert!(matches!(report.problems[..], [Problem::TagNamesManifest]));
    }

    #[test]
    fn every_problem_is_named() {
        let (mut map, index) = stored(&release());
        let mut doc: Value = serde_json::from_slice(&index).unwrap();
        doc["artifactType"] = "application/vnd.example".into();
        let first = doc["manifests"][0].clone();
        doc["manifests"].as_array_mut().unwrap().push(first);
        let bad = serde_json::to_vec(&doc).unwrap();
        let report = check(&bad, None, &mut map);
        let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|p| p.contains("artifactType")), "{text:?}");
        assert!(text.iter().any(|p| p.contains("ambiguous")), "{text:?}");
    }

    #[test]
    fn a_zip_without_the_provider_is_refused() {
        let (mut map, index) = stored(&release());
        let zip_digest = documents(&release()).targets[0].layer.digest.clone();
        map.0.insert(zip_digest, zip_with("README.md"));
        let report = check(&index, Some("simple"), &mut map);
        // Both platforms share that zip here: both are refused.
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert!(
            report
                .problems
                .iter()
                .all(|p| matches!(p, Problem::NotAProvider { .. })),
            "{:?}",
            report.problems
        );
    }
}
