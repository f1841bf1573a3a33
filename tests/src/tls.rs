//! A throw-away certificate authority made at test time.
//!
//! Every TLS peer in the tests (the registry, the fake control plane) gets a
//! server certificate for `localhost`, `127.0.0.1` and `::1` from one CA per
//! test. Clients trust it through `SSL_CERT_FILE` (Go programs and our rustls
//! client) or `--cert-dir`/`--tls-verify` where a tool wants that instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM files of one CA and one server certificate it signed.
pub struct TestCa {
    /// The CA certificate alone: point `SSL_CERT_FILE` here.
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl TestCa {
    /// Writes `ca.pem`, `server.pem` and `server-key.pem` into `dir`.
    pub fn create(dir: &Path) -> TestCa {
        Self::create_named(dir, "scalr-oci test CA")
    }

    /// Like [`TestCa::create`], with a CA name of its own (an "untrusted" CA
    /// for negative tests is simply a second, unrelated one).
    pub fn create_named(dir: &Path, ca_name: &str) -> TestCa {
        std::fs::create_dir_all(dir).expect("create the CA directory");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");

        let server_key = KeyPair::generate().expect("server key");
        let mut server_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        let ca = TestCa {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        };
        std::fs::write(&ca.ca_cert, &ca.ca_pem).expect("write ca.pem");
        std::fs::write(&ca.server_cert, &ca.server_cert_pem).expect("write server.pem");
        std::fs::write(&ca.server_key, &ca.server_key_pem).expect("write server-key.pem");
        ca
    }
}

/// A rustls server configuration for one certificate chain and key (PEM),
/// HTTP/1.1 only, with ring, the workspace's one crypto provider, chosen explicitly (so no
/// process-wide default needs installing). Every HTTPS test server uses it.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the server certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("the server key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the server certificate and key");
    // HTTP/1.1 only, so that "truncated body, then the connection closes"
    // means exactly that on the wire.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A TLS client configuration that trusts only the CA certificates in
/// `ca_pem`, with ring, the workspace's one crypto provider, passed
/// explicitly (reqwest is built without a provider of its own): for
/// `reqwest::blocking::ClientBuilder::tls_backend_preconfigured`.
pub fn client_config(ca_pem: &[u8]) -> rustls::ClientConfig {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a CA certificate");
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}
