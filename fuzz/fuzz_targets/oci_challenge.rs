//! `Challenge::parse_all` on any `WWW-Authenticate` value: never panics;
//! every scheme is a lower-case token; a Bearer challenge picked is one of
//! those parsed; a realm taken from it is HTTPS or refused by `token_url`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalr_oci::oci::auth::{Challenge, token_url};

fuzz_target!(|input: &str| {
    let all = Challenge::parse_all(input);
    for c in &all {
        assert!(!c.scheme.is_empty(), "an empty scheme from {input:?}");
        assert_eq!(c.scheme, c.scheme.to_ascii_lowercase());
        assert!(!c.scheme.contains([' ', ',', '=', '"']), "{:?}", c.scheme);
        for (key, _) in &c.params {
            assert_eq!(*key, key.to_ascii_lowercase());
        }
    }
    if let Some(picked) = Challenge::pick(&all) {
        assert!(all.contains(picked));
        assert!(picked.scheme == "bearer" || picked.scheme == "basic");
        if picked.scheme == "basic" {
            assert!(all.iter().all(|c| c.scheme != "bearer"), "Bearer is preferred");
        }
        if let Ok(url) = token_url(picked, "repository:a:pull") {
            assert_eq!(url.scheme(), "https", "a realm that is not HTTPS got through");
        }
    }
});
