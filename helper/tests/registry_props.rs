//! Property tests: no spelling of one registry ever reaches another's key.

use docker_credential_scalr::registry::RegistryHost;
use proptest::prelude::*;

/// IDNA reserves labels with `--` in positions 3 and 4 (`xn--` is
/// punycode); an invalid one is rightly refused, so none is generated here.
fn not_reserved(label: &str) -> bool {
    label.get(2..4) != Some("--")
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?".prop_filter("IDNA-reserved label", |l| not_reserved(l))
}

/// Host names whose last label is alphabetic (a numeric last label makes
/// the WHATWG parser read an IPv4 address, as browsers and Go do).
fn domain() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 0..3),
        "[a-z][a-z0-9-]{0,5}[a-z]".prop_filter("IDNA-reserved label", |l| not_reserved(l)),
    )
        .prop_map(|(mut l, tld)| {
            l.push(tld);
            l.join(".")
        })
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop::option::of(1u16..=65535)
}

/// The ways clients spell one registry.
fn spell(host: &str, port: Option<u16>, style: u8, upper: bool) -> String {
    let host = if upper {
        host.to_ascii_uppercase()
    } else {
        host.to_string()
    };
    let authority = match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    match style % 7 {
        0 => authority,
        1 => format!("https://{authority}"),
        2 => format!("https://{authority}/"),
        3 => format!("http://{authority}"),
        4 => format!("https://{authority}/v2/"),
        5 => format!("{authority}\n"),
        _ => format!("  https://{authority}/v1/  "),
    }
}

fn effective_port(port: Option<u16>) -> Option<u16> {
    // 443 is https's default; http:// spells port 80 as its default too, but
    // an explicit port is always written here, so only 443 folds away.
    port.filter(|p| *p != 443)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn spellings_of_one_host_share_a_key(host in domain(), port in port(), a in 0u8..7, b in 0u8..7, up in any::<bool>()) {
        // http:// with an explicit :80 is a different authority than https on :80.
        prop_assume!(port != Some(80));
        let ka = RegistryHost::parse(&spell(&host, port, a, false)).unwrap().key();
        let kb = RegistryHost::parse(&spell(&host, port, b, up)).unwrap().key();
        prop_assert_eq!(ka, kb);
    }

    #[test]
    fn different_hosts_never_share_a_key(
        h1 in domain(), p1 in port(), h2 in domain(), p2 in port(), a in 0u8..7, b in 0u8..7,
    ) {
        prop_assume!(p1 != Some(80) && p2 != Some(80));
        let same_docker_hub = [&h1, &h2].iter().all(|h| {
            ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(&h.as_str())
        });
        prop_assume!(!same_docker_hub);
        prop_assume!((h1.as_str(), effective_port(p1)) != (h2.as_str(), effective_port(p2)));
        let k1 = RegistryHost::parse(&spell(&h1, p1, a, false)).unwrap().key();
        let k2 = RegistryHost::parse(&spell(&h2, p2, b, false)).unwrap().key();
        prop_assert_ne!(k1, k2);
    }

    #[test]
    fn lookalikes_are_other_hosts_or_refused(host in domain(), evil in domain(), style in 0u8..7) {
        prop_assume!(host != evil);
        let real = RegistryHost::parse(&host).unwrap().key();
        for attack in [
            format!("{host}.{evil}"),
            format!("{evil}-{host}"),
            format!("{evil}/{host}"),
            format!("https://{evil}/https://{host}"),
            format!("https://{host}@{evil}"),
            format!("{host}@{evil}"),
            format!("https://{evil}#@{host}"),
            format!("https://{evil}?@{host}"),
            format!("https://{evil}\\@{host}"),
            format!("https://{host}:{evil}"),
            spell(&format!("{host}x"), None, style, false),
        ] {
            if let Ok(parsed) = RegistryHost::parse(&attack) {
                prop_assert_ne!(parsed.key(), real.clone(), "{:?}", attack);
            }
        }
    }

    #[test]
    fn percent_encoding_in_the_host_is_refused_and_never_echoed(
        host in domain(), port in port(), at in any::<prop::sample::Index>(),
        extra in any::<u8>(), insert in any::<bool>(), lower in any::<bool>(), style in 0u8..7,
    ) {
        // One character of the host spelled as %XX (a%2eexample), or one
        // more byte inserted as %XX (a fullwidth dot is three of them).
        let i = at.index(host.len());
        let byte = if insert { extra } else { host.as_bytes()[i] };
        let hex = if lower { format!("%{byte:02x}") } else { format!("%{byte:02X}") };
        let rest = if insert { &host[i..] } else { &host[i + 1..] };
        let encoded = format!("{}{hex}{rest}", &host[..i]);
        let input = spell(&encoded, port, style, false);
        let err = RegistryHost::parse(&input).unwrap_err().to_string();
        prop_assert!(err.contains("percent-encoding"), "{:?}: {}", input, err);
        prop_assert!(!err.contains('%') && !err.contains(input.trim()), "{:?} echoed: {}", input, err);
    }

    #[test]
    fn any_input_parses_to_a_clean_stable_key_or_a_clear_error(input in "\\PC{0,40}") {
        match RegistryHost::parse(&input) {
            Ok(h) => {
                let key = h.key();
                prop_assert!(!key.contains(['@', '/', '?', '#', '\\', ' ']), "{key:?}");
                prop_assert_eq!(RegistryHost::parse(&key).unwrap().key(), key.clone());
                prop_assert_eq!(RegistryHost::parse(&format!("https://{key}/")).unwrap().key(), key);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
