//! OpenTofu provider mirrors in an OCI registry (OpenTofu 1.10+,
//! `provider_installation { oci_mirror { … } }`), as OpenTofu v1.12.6 reads
//! them (`internal/getproviders/oci_registry_mirror_source.go`):
//!
//! - [`name`]: the official package names,
//!   `terraform-provider-TYPE_VERSION_OS_ARCH.zip`, parsed and checked
//!   against each other into one [`name::Release`];
//! - [`index`]: the per-platform image manifests and the image index that
//!   a version tag names, byte for byte what we push;
//! - [`verify`]: every rule OpenTofu applies when it installs from a tag,
//!   each broken rule a [`verify::Problem`];
//! - [`template`]: `repository_template`, checked as OpenTofu does;
//! - [`tags`]: which tags OpenTofu counts as versions (semver, `+` written
//!   `_`).

pub use semver::Version;

pub mod index;
pub mod name;
pub mod tags;
pub mod template;
#[cfg(test)]
mod test_zip;
pub mod verify;

/// An OCI image index.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The `artifactType` of the index a provider version's tag names.
pub const PROVIDER_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider";
/// The `artifactType` of each platform's manifest (and its index entry).
pub const TARGET_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider-target";
/// OpenTofu reads at most this much of a provider manifest or index.
pub const MAX_PROVIDER_MANIFEST: u64 = 4 * 1024 * 1024;
/// The annotation ORAS (and we) put on a layer: its file name.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
