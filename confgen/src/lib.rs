//! `scalr-oci`: sets a machine up to use docker-credential-scalr.
//!
//! Commands live in [`commands`], one file each, named as the user types
//! them; [`cli`] parses the command line and dispatches. Commands never
//! import one another. What they share lives in rooms of its own:
//!
//! - [`output`]: the `say!` line writer;
//! - [`environment`]: the environment variables, `PATH` and the helper's name;
//! - [`machine`]: what one run works with, made once: the environment, the
//!   helper's settings and the one keychain, passed to every command;
//! - [`inventory`]: one scan of the config files, `PATH`, the keychain and
//!   the control plane, for status, doctor, migrate and configure;
//! - [`tofurc`]: find, read and edit the OpenTofu CLI configuration;
//! - [`credentials_helper`]: OpenTofu's `credentials_helper "scalr"` block
//!   and the `terraform-credentials-scalr` plugin link (the host token);
//! - [`docker_config`]: Docker's config.json and containers' auth.json;
//! - [`token_files`]: Scalr tokens other tools wrote in plain text;
//! - [`write`]: locked, atomic, mode-keeping writes and dry-run diffs;
//! - [`registry_connection`]: a repository connection with the helper's
//!   credentials (module and provider commands);
//! - [`oci`]: the OCI distribution client (challenge, Basic/Bearer, blobs,
//!   manifests, tags), the module package (`oci::package`: build and
//!   verify) and provider mirrors (`oci::provider`), a crate of its own;
//! - [`address`], [`scalr`], [`report`], [`redact`], [`json_format`],
//!   [`secret_input`], [`error`]: the smaller pieces their names say.

pub mod address;
pub mod cli;
pub mod commands;
pub mod credentials_helper;
pub mod docker_config;
pub mod environment;
pub mod error;
pub mod failpoint;
pub mod inventory;
pub mod json_format;
pub mod login_check;
pub mod machine;
/// The OCI distribution client, a crate of its own (`oci/`).
pub use scalr_oci_registry as oci;
pub mod output;
pub mod redact;
pub mod registry_connection;
pub mod report;
pub mod scalr;
pub mod secret_input;
pub mod syntax;
pub mod tofurc;
pub mod token_files;
pub mod write;

pub use error::{Error, Result};
