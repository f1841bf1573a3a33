//! `next_link` on any `Link` header: never panics; a target it returns
//! appeared between `<` and `>` in the input, so nothing outside a target
//! can be followed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalr_oci::oci::client::next_link;

fuzz_target!(|input: &str| {
    if let Some(target) = next_link(input) {
        assert!(
            input.contains(&format!("<{target}>")),
            "{target:?} is not a <target> of {input:?}"
        );
        assert!(!target.contains(','), "a target spans link values");
    }
});
