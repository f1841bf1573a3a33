//! The OpenTofu module package, both ways:
//!
//! - [`build`]: a module directory made into a reproducible zip, with
//!   `.terraformignore` and the built-in excludes applied (`module publish`);
//! - [`verify`]: whether a zip a registry sent is a module package OpenTofu
//!   can install safely (`module verify`), bounded whatever the zip claims.
//!
//! Failures are the crate's one [`crate::error::Error`].

pub mod build;
pub mod verify;

pub use build::{IGNORE_FILE, MAX_IGNORE_FILE, Package, build, refuse_output_inside, rfc3339};
pub use verify::{MAX_INFLATED, MAX_LINK_TARGET, Problem, problems, problems_within};
