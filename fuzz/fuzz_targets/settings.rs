//! The settings file, read as the helper reads it (`Settings::load` with
//! `SCALR_OCI_CONFIG` pointing at it): never a panic; what loads is
//! coherent; an error names keys, lines and columns, never a value.
#![no_main]

use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::settings::{self, Settings};
use libfuzzer_sys::fuzz_target;
use scalr_oci_fuzz::{assert_hidden, known, planted, scratch, toml_values};

fn settings_file() -> &'static std::path::Path {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let file = scratch().join("settings.toml");
        // SAFETY: set once, before anything else in this single-threaded
        // process reads the environment.
        unsafe {
            std::env::set_var("SCALR_OCI_CONFIG", &file);
            for (name, _) in std::env::vars() {
                if name.starts_with("SCALR_") && name != "SCALR_OCI_CONFIG" {
                    std::env::remove_var(name);
                }
            }
        }
        file
    })
}

fuzz_target!(|text: &str| {
    let file = settings_file();
    std::fs::write(file, text).expect("the scratch file is writable");
    let secrets = match text.parse::<toml::Table>() {
        Ok(doc) => planted(toml_values(&toml::Value::Table(doc)), text),
        Err(_) => Vec::new(),
    };
    match Settings::load() {
        Ok(s) => {
            assert!(
                text.parse::<toml::Table>().is_ok(),
                "loaded a file that is not TOML"
            );
            assert_eq!(s.path.as_deref(), Some(file));
            assert!(!s.sources.is_empty());
            assert!(!s.timeout.is_zero() && !s.connect_timeout.is_zero());
            assert!(s.cache_ttl <= settings::MAX_CACHE_TTL);
            for (host, sources) in &s.per_registry {
                assert!(!sources.is_empty());
                if !(known("registry-percent") && text.contains('%')) {
                    assert_eq!(RegistryHost::parse(&host.key()).ok().as_ref(), Some(host));
                }
                if !known("settings-duplicate-registry") {
                    assert_eq!(
                        s.sources_for(host),
                        &sources[..],
                        "two [registries] spellings of one registry; one is ignored"
                    );
                }
            }
        }
        Err(e) => {
            assert_hidden(
                "settings-error",
                &secrets,
                "a settings error",
                &e.to_string(),
            );
            if let Some(hint) = e.hint() {
                assert_hidden("settings-error", &secrets, "a settings hint", &hint);
            }
        }
    }
});
