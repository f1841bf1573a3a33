//! `Reference::parse` on any module address: never panics; what parses is
//! a valid repository, tag or digest, a subdirectory without `..`, and
//! `base()` parses back to the same registry and repository.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalr_oci::oci::reference::{Reference, Version, valid_repository, valid_tag};

fuzz_target!(|input: &str| {
    let Ok(r) = Reference::parse(input) else {
        return;
    };
    assert!(valid_repository(&r.repository), "{:?}", r.repository);
    match &r.version {
        Some(Version::Tag(t)) => assert!(valid_tag(t)),
        Some(Version::Digest(d)) => assert!(scalr_oci::oci::is_digest(d)),
        None => {}
    }
    if let Some(sub) = &r.subdir {
        assert!(!sub.split('/').any(|p| p == ".." || p.is_empty()), "{sub:?}");
    }
    let again = Reference::parse(&r.base()).expect("base() parses");
    assert_eq!(again.repository, r.repository);
    assert_eq!(again.endpoint(), r.endpoint());
});
