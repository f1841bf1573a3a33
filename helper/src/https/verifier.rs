//! The server-certificate verifier over the trust roots read so far: webpki
//! decides, as with rustls' `WebPkiServerVerifier`, over the trust anchors
//! that can anchor the chain presented (root_index.rs says why that is the
//! same decision).
//!
//! The files of `SSL_CERT_DIR` are read only when needed (root_files.rs):
//! when the chain is not trusted by the roots read so far, the files a
//! hashed directory names for its issuers are read and the chain checked
//! again; when it is still not trusted, every file left, and once more.
//! So the decision is the one over every root: a chain trusted by some of
//! the roots is trusted by all of them (webpki looks for any path to any
//! anchor), and a chain refused is refused only after every root was read.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::root_files::DirectoryFiles;
use super::root_index::RootIndex;
use super::subject_hash::subject_hash;

/// The trust roots: those read, and the directory files not read yet.
#[derive(Debug)]
pub(super) struct Roots {
    pub(super) index: RootIndex,
    pub(super) unread: DirectoryFiles,
}

impl Roots {
    /// Reads the directory files named by the hashes of `issuers`;
    /// whether a section was added.
    fn read_hashed(&mut self, issuers: Option<&[&[u8]]>) -> bool {
        let Some(issuers) = issuers else {
            return false;
        };
        if !self.unread.has_hash_names() {
            return false;
        }
        let hashes: Vec<u32> = issuers.iter().filter_map(|i| subject_hash(i)).collect();
        let before = self.index.len();
        for text in self.unread.read_hashed(&hashes) {
            self.index.add(text);
        }
        self.index.len() > before
    }

    /// Reads every directory file not read yet; whether a section was
    /// added.
    fn read_all(&mut self) -> bool {
        let before = self.index.len();
        while let Some(text) = self.unread.read_next() {
            self.index.add(text);
        }
        self.index.len() > before
    }
}

#[derive(Debug)]
pub(super) struct IndexedRootsVerifier {
    roots: Mutex<Roots>,
    provider: Arc<CryptoProvider>,
}

impl IndexedRootsVerifier {
    pub(super) fn new(roots: Roots, provider: Arc<CryptoProvider>) -> Self {
        IndexedRootsVerifier {
            roots: Mutex::new(roots),
            provider,
        }
    }

    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }

    /// How many directory files have been read, for tests.
    #[cfg(test)]
    pub(super) fn files_read(&self) -> usize {
        self.lock().unread.files_read()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Roots> {
        // A panic while reading leaves the roots as read: still sound.
        self.roots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handshake-signature method of [`ServerCertVerifier`]: rustls' check
/// for that TLS version over the provider's algorithms.
macro_rules! signature_check {
    ($method:ident, $check:path) => {
        fn $method(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            $check(message, cert, dss, self.algorithms())
        }
    };
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
        let issuers = Some(issuers.as_slice());
        let chain_to = |roots: &Roots| {
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                &roots.index.anchors_for(issuers),
                intermediates,
                now,
                self.algorithms().all,
            )
        };
        let mut roots = self.lock();
        let mut verdict = chain_to(&roots);
        if verdict.is_err() && roots.read_hashed(issuers) {
            verdict = chain_to(&roots);
        }
        if verdict.is_err() && roots.read_all() {
            verdict = chain_to(&roots);
        }
        drop(roots);
        verdict?;
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    signature_check!(
        verify_tls12_signature,
        rustls::crypto::verify_tls12_signature
    );
    signature_check!(
        verify_tls13_signature,
        rustls::crypto::verify_tls13_signature
    );

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}
