//! Shared support for the end-to-end tests: a test CA, real peers, the fake
//! Scalr control plane.

pub mod fake_control_plane;
pub mod tls;
