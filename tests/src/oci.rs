//! OCI image layouts made at test time, for pushing with skopeo, and the
//! SHA-256 digests of blobs.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lower-case hex (SHA256SUMS, `zh:` hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The OCI digest of `bytes`: `sha256:HEX`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Writes a blob into an OCI layout and returns its descriptor.
fn blob(layout: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let hex = sha256_hex(bytes);
    std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).expect("write a blob");
    serde_json::json!({ "mediaType": media_type, "digest": sha256_digest(bytes), "size": bytes.len() })
}

/// The smallest real image: one empty tar layer, tagged `tag`.
pub fn oci_layout(dir: &Path, tag: &str) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("mkdir the layout");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("write oci-layout");
    // An empty tar archive is two zeroed 512-byte blocks.
    let layer = blob(dir, "application/vnd.oci.image.layer.v1.tar", &[0u8; 1024]);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": [layer["digest"]] },
    });
    let config = blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [layer],
    });
    let mut manifest = blob(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    manifest["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [manifest] });
    std::fs::write(dir.join("index.json"), index.to_string()).expect("write index.json");
}
