//! `scalr-oci`: sets a machine up to use docker-credential-scalr.
//!
//! - [`tofurc`]: find, read and edit the OpenTofu CLI configuration;
//! - [`docker_config`]: Docker's config.json and containers' auth.json;
//! - [`write`]: locked, atomic, mode-keeping writes and dry-run diffs;
//! - [`configure`], [`migrate`], [`registry_cmd`], [`status`], [`doctor`]:
//!   the subcommands; [`cli`] the command line that dispatches to them.

pub mod cli;
pub mod configure;
pub mod docker_config;
pub mod doctor;
pub mod error;
pub mod failpoint;
pub mod json_format;
pub mod locations;
pub mod login;
pub mod migrate;
pub mod module_cmd;
pub mod oci;
pub mod package;
pub mod redact;
pub mod registry_cmd;
pub mod report;
pub mod scalr;
pub mod secret_input;
pub mod status;
pub mod tofurc;
pub mod token_files;
pub mod write;

pub use error::{Error, Result};
