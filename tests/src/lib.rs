//! Shared support for the end-to-end tests: a test CA, real peers, the fake
//! Scalr control plane.

pub mod bench_env;
pub mod client_stage;
pub mod fake_control_plane;
pub mod hostile_registry;
pub mod https_server;
pub mod keyring_session;
pub mod measured;
pub mod oci;
pub mod peers;
pub mod pty;
pub mod registry;
pub mod scalr_run;
pub mod secrets;
pub mod session_keyring;
pub mod stage;
pub mod storage_front;
pub mod tls;
pub mod tofu;
pub mod token_server;
