//! The `store` JSON and the `get` answer, through `protocol::serve` with an
//! in-memory backend: never a panic; a store that succeeds stored exactly
//! the parsed registry under a key that re-parses to itself; a `get` answer
//! is JSON holding the backend's secret; no planted secret ever appears on
//! store's stdout or stderr.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeMap;

use docker_credential_scalr::Result;
use docker_credential_scalr::protocol::{self, Backend, Credential};
use docker_credential_scalr::registry::RegistryHost;
use libfuzzer_sys::fuzz_target;
use scalr_oci_fuzz::{assert_hidden, json_secrets, known, planted};
use secrecy::{ExposeSecret, SecretString};

/// What `get` answers with; never part of any input.
const ANSWER: &str = "Fz-answer-0d6c1b";

#[derive(Default)]
struct Memory {
    stored: RefCell<Vec<(RegistryHost, String, String)>>,
}

impl Backend for &Memory {
    fn get(&self, _host: &RegistryHost) -> Result<Option<Credential>> {
        Ok(Some(Credential {
            username: "u".into(),
            secret: SecretString::from(ANSWER),
        }))
    }
    fn store(&self, host: &RegistryHost, c: &Credential) -> Result<()> {
        let entry = (
            host.clone(),
            c.username.clone(),
            c.secret.expose_secret().to_string(),
        );
        self.stored.borrow_mut().push(entry);
        Ok(())
    }
    fn erase(&self, _host: &RegistryHost) -> Result<bool> {
        Ok(true)
    }
    fn list(&self) -> Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }
}

fn serve(verb: &str, input: &[u8], memory: &Memory) -> (i32, String) {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = protocol::serve(
        &[verb.to_string()],
        &mut &input[..],
        &mut stdout,
        &mut stderr,
        |_diagnostics| Ok(memory),
    );
    stdout.extend(stderr);
    (status, String::from_utf8_lossy(&stdout).into_owned())
}

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let secrets = match serde_json::from_slice::<serde_json::Value>(input) {
        Ok(doc) => planted(json_secrets(&doc), &text),
        Err(_) => Vec::new(),
    };

    let memory = Memory::default();
    let (status, output) = serve("store", input, &memory);
    assert_hidden("store-output", &secrets, "store's output", &output);
    let stored = memory.stored.borrow();
    match status {
        0 => {
            let [(host, username, secret)] = &stored[..] else {
                panic!("a successful store stored {} entries", stored.len());
            };
            let request = protocol::parse_store_request(input).expect("serve accepted it");
            assert_eq!(&request.username, username);
            assert_eq!(request.secret.expose_secret(), secret);
            assert_eq!(
                RegistryHost::parse(&request.server_url).ok().as_ref(),
                Some(host)
            );
            // Percent-escapes decode into keys that do not parse again.
            if !(known("registry-percent") && request.server_url.contains('%')) {
                assert_eq!(RegistryHost::parse(&host.key()).ok().as_ref(), Some(host));
            }
        }
        _ => assert!(stored.is_empty(), "a failed store stored something"),
    }

    // The same bytes as a `get` request: the answer is one JSON object.
    let (status, output) = serve("get", input, &memory);
    // No planted-secret check here: `get` reads a server URL and, by design,
    // names what it was sent when that is not one (never when it holds
    // user information, a query or a fragment: see `registry_host`).
    if status == 0 {
        let answer: serde_json::Value = serde_json::from_str(&output).expect("get answers JSON");
        assert_eq!(answer["Secret"], ANSWER);
        assert_eq!(answer["Username"], "u");
        let sent = std::str::from_utf8(input).expect("get accepted it").trim();
        assert_eq!(answer["ServerURL"], sent);
    }
});
