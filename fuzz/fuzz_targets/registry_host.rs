//! `RegistryHost::parse`: never panics; a key is stable under re-parsing its
//! own output in every spelling a client may send back; an input holding
//! user information, a query or a fragment is never echoed in the error.
#![no_main]

use docker_credential_scalr::error::Error;
use docker_credential_scalr::registry::RegistryHost;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let host = match RegistryHost::parse(input) {
        Ok(host) => host,
        Err(e) => {
            let trimmed = input.trim();
            if trimmed.contains(docker_credential_scalr::echo::MAY_HOLD_A_SECRET)
                && trimmed.len() >= scalr_oci_fuzz::MIN_SECRET
            {
                // The part that quotes the input must be empty; the reason is
                // a fixed text, which an input may happen to spell
                // (`r@host`) is not` is inside the userinfo reason).
                let quoted = match &e {
                    Error::BadRegistry { input, .. } => input.clone(),
                    other => other.to_string(),
                };
                assert!(
                    !quoted.contains(trimmed),
                    "the error echoes a userinfo/query input: {e}"
                );
            }
            return;
        }
    };
    // Percent-escapes decode into characters the allow-list refuses.
    if scalr_oci_fuzz::known("registry-percent") && input.contains('%') {
        return;
    }
    let key = host.key();
    assert!(
        !key.is_empty() && key == key.to_ascii_lowercase(),
        "a key is lower case and not empty"
    );
    for spelling in [
        key.clone(),
        host.authority(),
        host.to_string(),
        host.docker_server_url(),
        format!("https://{key}"),
        format!("https://{key}/v2/"),
        format!("{}\n", key.to_ascii_uppercase()),
    ] {
        match RegistryHost::parse(&spelling) {
            Ok(again) => assert_eq!(again, host, "{spelling:?} names another registry"),
            Err(e) => panic!("{spelling:?}, built from a parsed key, does not parse: {e}"),
        }
    }
});
