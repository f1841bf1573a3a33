//! `scalr-oci-registry`: an OCI distribution client (spec 1.1), just what
//! module publishing needs, for `scalr-oci module publish | verify | tags`
//! and `doctor`.
//!
//! - [`reference`]: `oci://HOST/REPO[//SUBDIR][?tag=T|?digest=D]`, the
//!   module source addresses OpenTofu reads, parsed once;
//! - [`auth`]: the `WWW-Authenticate` challenges and the Basic and
//!   Bearer-token flows;
//! - [`error`]: every way a request can fail, in our words, with the
//!   registry's OCI error codes and never its text;
//! - [`limits`]: the bound of every read and the byte budget of a command;
//! - [`provider`]: OpenTofu provider mirrors (official zips, the index a
//!   version tag names, OpenTofu's rules);
//! - [`client`]: credentials only to the registry's origin, redirects of
//!   blob and manifest GETs, retries; blobs (HEAD-skip, monolithic and
//!   chunked uploads), manifests (the registry's `Docker-Content-Digest`
//!   checked against ours), tags with pagination;
//! - [`package`]: the module package, built reproducibly from a directory
//!   and verified as OpenTofu would install it.
//!
//! The client never prints: progress goes to a callback the caller passes,
//! and every failure comes back as an error that names the step.

pub mod auth;
pub mod client;
pub mod error;
pub mod limits;
pub mod provider;
pub mod reference;

// Module packaging and verification (`module publish | verify`).
pub mod package;

use sha2::{Digest as _, Sha256};

/// An OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The manifest `artifactType` OpenTofu requires of a module package.
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
/// The media type of its single layer.
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
/// The empty config an artifact without a config carries (spec 1.1).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Its content: `{}`.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// `sha256:<64 hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    hex_digest(Sha256::digest(bytes).as_slice())
}

/// `sha256:<64 hex>` of a finished sha256.
pub fn hex_digest(hash: &[u8]) -> String {
    let mut text = String::with_capacity(71);
    text.push_str("sha256:");
    for b in hash {
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// Whether `text` is a sha256 digest as the spec writes them.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest_of(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// The manifest of a module package, byte for byte what we push: field
/// order fixed, no whitespace, so the same package gives the same digest.
/// `created` (RFC 3339) becomes `org.opencontainers.image.created`.
pub fn module_manifest(layer: &Descriptor, created: Option<&str>) -> Vec<u8> {
    let config = Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG);
    let mut doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": MODULE_ARTIFACT_TYPE,
        "config": config,
        "layers": [layer],
    });
    if let Some(created) = created {
        doc["annotations"] = serde_json::json!({ "org.opencontainers.image.created": created });
    }
    serde_json::to_vec(&doc).expect("a manifest always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_the_empty_config() {
        assert_eq!(
            digest_of(EMPTY_CONFIG),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(is_digest(&digest_of(b"x")));
        assert!(!is_digest("sha256:ABC"));
        assert!(!is_digest("md5:00"));
    }

    #[test]
    fn the_manifest_is_exact() {
        let layer = Descriptor::of(ZIP_MEDIA_TYPE, b"zip");
        let text = String::from_utf8(module_manifest(&layer, None)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.opentofu.modulepkg","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[{{"mediaType":"archive/zip","digest":"{}","size":3}}]}}"#,
                layer.digest
            )
        );
    }
}
