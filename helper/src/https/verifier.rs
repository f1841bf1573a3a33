//! The server-certificate verifier over a [`RootIndex`]: webpki decides, as
//! with rustls' `WebPkiServerVerifier`, over the trust anchors that can
//! anchor the chain presented (root_index.rs says why that is the same
//! decision).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::root_index::RootIndex;

#[derive(Debug)]
pub(super) struct IndexedRootsVerifier {
    roots: RootIndex,
    provider: Arc<CryptoProvider>,
}

impl IndexedRootsVerifier {
    pub(super) fn new(roots: RootIndex, provider: Arc<CryptoProvider>) -> Self {
        IndexedRootsVerifier { roots, provider }
    }
}

impl ServerCertVerifier for IndexedRootsVerifier {
    /// What `WebPkiServerVerifier::verify_server_cert` does without CRLs,
    /// with the anchors whose subject is an issuer in the chain.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        // A certificate webpki cannot parse names no issuer it would look for.
        let parsed: Vec<webpki::EndEntityCert<'_>> = std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|der| webpki::EndEntityCert::try_from(der).ok())
            .collect();
        let issuers: Vec<&[u8]> = parsed.iter().map(|cert| cert.issuer()).collect();
        let roots = self.roots.anchors_for(&issuers);
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
