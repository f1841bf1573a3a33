//! Shared support for the end-to-end tests: a test CA, real peers, the fake
//! Scalr control plane.
//!
//! The stages (`stage`, `client_stage`, `tofu`, `scalr_run`) are built on
//! gnome-keyring's Secret Service over a private D-Bus (`keyring_session`),
//! pseudo-terminals (`pty`), Unix modes and symbolic links: they exist on Unix
//! only, where `tests/peers/install.sh` installs the peers (Linux). The rest
//! (the test CA, the fake control plane, the registry and token servers, the
//! peer finder) builds everywhere. On Windows the helper's and scalr-oci's
//! own tests cover the product instead.

pub mod bench_env;
#[cfg(unix)]
pub mod client_stage;
pub mod fake_control_plane;
pub mod hostile_registry;
pub mod https_server;
#[cfg(unix)]
pub mod keyring_session;
// wait4's rusage (peak memory of one child) is Unix's.
#[cfg(unix)]
pub mod measured;
pub mod oci;
pub mod peers;
pub mod provider_simple;
#[cfg(unix)]
pub mod pty;
pub mod registry;
// Serves archives for install.sh and the Scalr-run hook, Unix shell scripts.
#[cfg(unix)]
pub mod release_host;
#[cfg(unix)]
pub mod scalr_run;
pub mod scratch;
pub mod secrets;
pub mod session_keyring;
#[cfg(unix)]
pub mod stage;
pub mod storage_front;
pub mod tls;
#[cfg(unix)]
pub mod tofu;
pub mod token_server;
pub mod zip_bomb;
