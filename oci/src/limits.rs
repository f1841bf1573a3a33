//! Every byte read from a registry is counted: each read has a limit of its
//! own, and one [`Budget`] bounds everything a command reads. A limit hit is
//! an error that names it ([`Error::TooLarge`], [`Error::BudgetSpent`]),
//! never a silent truncation.

use std::cell::Cell;
use std::io::Read;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// An error body: only its OCI codes are kept.
pub const MAX_ERROR_BODY: u64 = 64 * 1024;
/// A token service's answer.
pub const MAX_TOKEN_BODY: u64 = 64 * 1024;
/// A manifest (the spec's 4 MiB, what registries accept).
pub const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// One page of tags.
pub const MAX_TAGS_PAGE: u64 = 1024 * 1024;
/// Every page of tags together.
pub const MAX_TAGS_TOTAL: u64 = 8 * 1024 * 1024;
/// A module package (its zip layer). OpenTofu modules are source code:
/// anything near this is a mistake or an attack.
pub const MAX_PACKAGE: u64 = 256 * 1024 * 1024;
/// Everything one command reads from registries, token services and storage.
pub const COMMAND_BUDGET: u64 = 512 * 1024 * 1024;

const CHUNK: usize = 64 * 1024;

/// The bytes one command may still read.
pub struct Budget {
    limit: u64,
    spent: Cell<u64>,
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            spent: Cell::new(0),
        }
    }

    fn charge(&self, bytes: u64, what: &str) -> Result<()> {
        let spent = self.spent.get().saturating_add(bytes);
        self.spent.set(spent);
        if spent > self.limit {
            return Err(Error::BudgetSpent {
                what: what.to_string(),
                limit: self.limit,
            });
        }
        Ok(())
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(COMMAND_BUDGET)
    }
}

/// Reads all of `reader` if it is at most `limit` bytes; `what` names it
/// in the error, `request` names a transport failure.
pub fn read_bounded(
    mut reader: impl Read,
    limit: u64,
    what: &str,
    request: &str,
    budget: &Budget,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(CHUNK.min(limit as usize + 1)));
    let mut buf = [0u8; CHUNK];
    loop {
        let n = read_some(&mut reader, &mut buf, request)?;
        if n == 0 {
            return Ok(bytes);
        }
        budget.charge(n as u64, what)?;
        if bytes.len() as u64 + n as u64 > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                limit,
            });
        }
        bytes.extend_from_slice(&buf[..n]);
    }
}

/// Reads a blob of `size` bytes named `digest` (sha256), checking both
/// while reading: one byte more than `size` ends the read.
pub fn read_blob(
    mut reader: impl Read,
    digest: &str,
    size: u64,
    request: &str,
    budget: &Budget,
) -> Result<Vec<u8>> {
    let what = format!("the blob {digest}");
    if size > MAX_PACKAGE {
        return Err(Error::TooLarge {
            what: format!("{what} ({size} bytes by its descriptor)"),
            limit: MAX_PACKAGE,
        });
    }
    let mut bytes = Vec::with_capacity(CHUNK.min(size as usize));
    let mut hash = Sha256::new();
    let mut buf = [0u8; CHUNK];
    loop {
        let n = read_some(&mut reader, &mut buf, request)?;
        if n == 0 {
            break;
        }
        budget.charge(n as u64, &what)?;
        if bytes.len() as u64 + n as u64 > size {
            return Err(Error::SizeMismatch {
                what,
                expected: size,
                actual: bytes.len() as u64 + n as u64,
            });
        }
        hash.update(&buf[..n]);
        bytes.extend_from_slice(&buf[..n]);
    }
    if bytes.len() as u64 != size {
        return Err(Error::SizeMismatch {
            what,
            expected: size,
            actual: bytes.len() as u64,
        });
    }
    let actual = super::hex_digest(hash.finalize().as_slice());
    if actual != digest {
        return Err(Error::DigestMismatch {
            what,
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

fn read_some(reader: &mut impl Read, buf: &mut [u8], request: &str) -> Result<usize> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Transport {
                    request: request.to_string(),
                    detail: crate::error::chain(&e),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_hit_is_an_error_not_a_truncation() {
        let budget = Budget::default();
        let e = read_bounded(&[0u8; 11][..], 10, "the body", "GET x", &budget).unwrap_err();
        assert!(matches!(e, Error::TooLarge { limit: 10, .. }), "{e}");
        assert_eq!(
            read_bounded(&[1u8; 10][..], 10, "b", "GET x", &budget)
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn the_budget_spans_reads() {
        let budget = Budget::new(15);
        read_bounded(&[0u8; 10][..], 10, "one", "GET x", &budget).unwrap();
        let e = read_bounded(&[0u8; 10][..], 10, "two", "GET x", &budget).unwrap_err();
        assert!(matches!(e, Error::BudgetSpent { limit: 15, .. }), "{e}");
    }

    #[test]
    fn blobs_are_checked_while_read() {
        let budget = Budget::default();
        let digest = super::super::digest_of(b"abc");
        assert_eq!(
            read_blob(&b"abc"[..], &digest, 3, "GET", &budget).unwrap(),
            b"abc"
        );
        assert!(matches!(
            read_blob(&b"abcd"[..], &digest, 3, "GET", &budget),
            Err(Error::SizeMismatch { .. })
        ));
        assert!(matches!(
            read_blob(&b"abd"[..], &digest, 3, "GET", &budget),
            Err(Error::DigestMismatch { .. })
        ));
        assert!(matches!(
            read_blob(&b""[..], &digest, 1 << 30, "GET", &budget),
            Err(Error::TooLarge { .. })
        ));
    }
}
