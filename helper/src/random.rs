//! Unpredictable numbers from the operating system, through `ring::rand`
//! (ring is already the TLS provider, so this adds no dependency). Used for
//! retry jitter and cache epochs, which need uniqueness and spread.

use ring::rand::{SecureRandom, SystemRandom};

pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    // The OS generator fails only when the OS has none (a bare sandbox with
    // no getrandom(2) nor /dev/urandom); jitter and epochs then fall back to
    // the clock, which still keeps two processes apart in practice.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return clock_fallback();
    }
    u64::from_le_bytes(bytes)
}

fn clock_fallback() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}

/// A number in [0, 1).
pub fn unit() -> f64 {
    (u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_differ_and_units_stay_in_range() {
        let drawn: std::collections::HashSet<u64> = (0..64).map(|_| u64()).collect();
        assert_eq!(drawn.len(), 64, "64 draws from the OS generator collided");
        for _ in 0..1000 {
            let x = unit();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }
}
