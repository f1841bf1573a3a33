//! The commands of `scalr-oci`, one file each, named as the user types them.
//! A command reads and writes through the shared rooms of the crate (see the
//! crate's documentation) and never imports another command.

pub mod configure;
pub mod doctor;
pub mod login;
pub mod migrate;
pub mod module;
pub mod provider;
pub mod registry;
pub mod status;
