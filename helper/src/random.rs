//! Unpredictable numbers without a dependency: the standard library seeds
//! every `RandomState` from the OS, and hashing the time and process id on
//! top keeps two calls in one process apart. Used for retry jitter and cache
//! epochs, which need uniqueness and spread, not cryptographic strength.

use std::hash::{BuildHasher, Hasher};
use std::time::SystemTime;

pub fn u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A number in [0, 1).
pub fn unit() -> f64 {
    (u64() >> 11) as f64 / (1u64 << 53) as f64
}
