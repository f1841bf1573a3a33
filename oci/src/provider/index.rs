//! The documents one provider version is made of, byte for byte what we
//! push: field order fixed, no whitespace, so the same zips give the same
//! digests anywhere.
//!
//! - per platform, an image manifest: `artifactType`
//!   `application/vnd.opentofu.provider-target`, the empty config, one
//!   `archive/zip` layer (the official zip, its file name as
//!   `org.opencontainers.image.title`, as ORAS writes it);
//! - an image index with `artifactType` `application/vnd.opentofu.provider`
//!   listing each manifest with its `platform` (Go's names), in platform
//!   order.

use serde_json::json;

use super::name::{Platform, Release};
use super::{INDEX_MEDIA_TYPE, PROVIDER_ARTIFACT_TYPE, TARGET_ARTIFACT_TYPE, TITLE_ANNOTATION};
use crate::{
    Descriptor, EMPTY_CONFIG, EMPTY_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, ZIP_MEDIA_TYPE, digest_of,
};

/// One platform's manifest, with the zip it names.
#[derive(Clone, Debug)]
pub struct Target {
    pub platform: Platform,
    pub layer: Descriptor,
    pub manifest: Vec<u8>,
    pub digest: String,
}

/// A release as documents: the platform manifests and the index.
#[derive(Clone, Debug)]
pub struct Documents {
    pub targets: Vec<Target>,
    pub index: Vec<u8>,
    pub digest: String,
}

/// The manifest of one platform's package `file`.
pub fn target_manifest(layer: &Descriptor, file: &str) -> Vec<u8> {
    let config = Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG);
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": TARGET_ARTIFACT_TYPE,
        "config": config,
        "layers": [{
            "mediaType": layer.media_type,
            "digest": layer.digest,
            "size": layer.size,
            "annotations": { TITLE_ANNOTATION: file },
        }],
    });
    serde_json::to_vec(&doc).expect("a manifest always serialises")
}

/// The index over `targets`, in the order given.
pub fn index(targets: &[Target]) -> Vec<u8> {
    let manifests: Vec<_> = targets
        .iter()
        .map(|t| {
            json!({
                "mediaType": MANIFEST_MEDIA_TYPE,
                "artifactType": TARGET_ARTIFACT_TYPE,
                "digest": t.digest,
                "size": t.manifest.len(),
                "platform": { "architecture": t.platform.arch, "os": t.platform.os },
            })
        })
        .collect();
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "artifactType": PROVIDER_ARTIFACT_TYPE,
        "manifests": manifests,
    });
    serde_json::to_vec(&doc).expect("an index always serialises")
}

/// Every document of `release`.
pub fn documents(release: &Release) -> Documents {
    let targets: Vec<Target> = release
        .packages
        .iter()
        .map(|(platform, package)| {
            let layer = Descriptor::of(ZIP_MEDIA_TYPE, &package.bytes);
            let manifest = target_manifest(&layer, &package.file);
            Target {
                platform: platform.clone(),
                digest: digest_of(&manifest),
                layer,
                manifest,
            }
        })
        .collect();
    let index = index(&targets);
    Documents {
        digest: digest_of(&index),
        targets,
        index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_are_exact() {
        let layer = Descriptor::of(ZIP_MEDIA_TYPE, b"zip");
        let manifest = target_manifest(&layer, "terraform-provider-x_1.0.0_linux_amd64.zip");
        assert_eq!(
            String::from_utf8(manifest.clone()).unwrap(),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.opentofu.provider-target","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[{{"mediaType":"archive/zip","digest":"{}","size":3,"annotations":{{"org.opencontainers.image.title":"terraform-provider-x_1.0.0_linux_amd64.zip"}}}}]}}"#,
                layer.digest
            )
        );
        let target = Target {
            platform: Platform {
                os: "linux".into(),
                arch: "amd64".into(),
            },
            layer,
            digest: digest_of(&manifest),
            manifest,
        };
        let text = String::from_utf8(index(std::slice::from_ref(&target))).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","artifactType":"application/vnd.opentofu.provider","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.opentofu.provider-target","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
                target.digest,
                target.manifest.len()
            )
        );
    }
}
