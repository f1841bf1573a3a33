//! The trust roots as read, indexed by subject: the PEM text of every file
//! is kept, each `CERTIFICATE` section is found by the line rules of
//! rustls-pki-types' PEM reader, and only each certificate's subject is
//! decoded (pem_body.rs). At verify time only the sections whose
//! subject is an issuer of the server's chain are decoded and parsed into
//! trust anchors, by rustls-pki-types and webpki as before (issue 21: a cold
//! `get` trusting the system store parsed ~440 roots for one handshake).
//!
//! Why the same chains are trusted: webpki tries a trust anchor only when its
//! subject equals, byte for byte, the issuer of the end-entity certificate or
//! of an intermediate the server sent; every other anchor is skipped without
//! effect. [`RootIndex::anchors_for`] keeps every section whose subject is one
//! of those issuers, in file order, and every section whose subject could not
//! be read here, and parses them exactly as the eager loader did
//! (`CertificateDer::from_pem_slice` on the section's own lines, then
//! `RootCertStore::add_parsable_certificates`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};

use super::pem_body::{Subject, decode_whole, read_subject, subject_of};

/// Every certificate section of the roots read, with its subject.
#[derive(Debug, Default)]
pub(super) struct RootIndex {
    texts: Vec<Vec<u8>>,
    sections: Vec<Section>,
    /// The subjects decoded at load (DER contents of the Name), one after
    /// another: those of bodies the regular reader cannot take.
    subjects: Vec<u8>,
    /// The sections by [`fingerprint`] of their text: a section whose text
    /// was indexed already (the same root in the bundle, in its own file
    /// and in the bundle's copy inside the directory) is not indexed again.
    by_text: FastMap<u64, usize>,
}

/// A map keyed by numbers read from the trust-root files (fingerprints,
/// file identities): hashed by one multiplication rather than SipHash.
/// Those files are the administrator's, not an attacker's input, so a
/// collision-resistant hash buys nothing here and cost 10 % of reading a
/// bundle.
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Multiply>>;

/// A multiplicative hash of the `u64`s written into it.
#[derive(Default)]
pub(super) struct Multiply(u64);

impl Hasher for Multiply {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

#[derive(Debug)]
struct Section {
    /// Which of `texts`.
    text: usize,
    /// From the start of the `BEGIN` line to the end of the `END` line.
    lines: Range<usize>,
    /// Between the `BEGIN` and the `END` line; `None` after a second
    /// `BEGIN` (then the text from the first is decoded as one).
    body: Option<Range<usize>>,
    /// Where the subject is (decoded into `subjects`, or left in the
    /// body); `None` when the start of the body is not a certificate this
    /// reader understands (webpki decides at verify time).
    subject: Option<Subject>,
    /// The trust anchor, once parsed ([`RootIndex::has_anchor`]).
    anchor: Option<TrustAnchor<'static>>,
}

impl RootIndex {
    /// Adds the certificate sections of one file's text that are not
    /// indexed yet (a section with the same text decodes to the same
    /// certificate); returns which sections are its own (for
    /// [`Self::has_anchor`]).
    pub(super) fn add(&mut self, text: Vec<u8>) -> Range<usize> {
        let first = self.sections.len();
        let index = self.texts.len();
        let mut found = Vec::new();
        certificate_sections(&text, &mut found);
        self.texts.push(text);
        let text = &self.texts[index];
        for (lines, body) in found {
            // A fingerprint taken by another text (never seen in practice)
            // leaves this section unmatched by later copies: indexed twice.
            let key = fingerprint(&text[lines.clone()]);
            if let Some(&other) = self.by_text.get(&key) {
                let other = &self.sections[other];
                if self.texts[other.text][other.lines.clone()] == text[lines.clone()] {
                    continue;
                }
            } else {
                self.by_text.insert(key, self.sections.len());
            }
            let subject = body
                .clone()
                .and_then(|body| subject_of(&text[body], &mut self.subjects));
            self.sections.push(Section {
                text: index,
                lines,
                body,
                subject,
                anchor: None,
            });
        }
        first..self.sections.len()
    }

    /// How many certificate sections have been added.
    pub(super) fn len(&self) -> usize {
        self.sections.len()
    }

    /// Whether one of `sections` is a certificate webpki takes as a trust
    /// anchor (what `add_parsable_certificates` counted). Parses them in
    /// order until the first that is, and keeps that anchor.
    pub(super) fn has_anchor(&mut self, sections: Range<usize>) -> bool {
        for at in sections {
            let section = &self.sections[at];
            if let Some(anchor) = self.anchor(section) {
                self.sections[at].anchor = Some(anchor);
                return true;
            }
        }
        false
    }

    /// The trust anchors that can anchor a chain whose certificates name
    /// `issuers` (`None`: issuers unknown): every root with one of those
    /// subjects, and every root whose subject this index could not read;
    /// in the order they were read.
    pub(super) fn anchors_for(&self, issuers: Option<&[&[u8]]>) -> RootCertStore {
        let mut scratch = Vec::new();
        let candidates = self.sections.iter().filter(|section| {
            let Some(issuers) = issuers else {
                return true;
            };
            match &section.subject {
                // Decoded only when an issuer has its length.
                Some(Subject::InBody(der)) if !issuers.iter().any(|i| i.len() == der.len()) => {
                    false
                }
                Some(_) => self
                    .subject(section, &mut scratch)
                    .is_none_or(|subject| issuers.contains(&subject)),
                None => true,
            }
        });
        RootCertStore {
            roots: candidates
                .filter_map(|section| section.anchor.clone().or_else(|| self.anchor(section)))
                .collect(),
        }
    }

    /// The section's subject, decoded into `scratch` if it is still in the
    /// body; `None` when it is not a subject after all (a group of it is
    /// not base64 digits, so rustls-pki-types refuses the body too).
    fn subject<'a>(&'a self, section: &Section, scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
        match section.subject.as_ref()? {
            Subject::Decoded(range) => Some(&self.subjects[range.clone()]),
            Subject::InBody(der) => {
                let body = &self.texts[section.text][section.body.clone()?];
                scratch.clear();
                read_subject(body, der.clone(), scratch).then_some(&scratch[..])
            }
        }
    }

    /// The section's trust anchor as `add_parsable_certificates` makes it.
    fn anchor(&self, section: &Section) -> Option<TrustAnchor<'static>> {
        let der = self.certificate(section)?;
        webpki::anchor_from_trusted_cert(&der)
            .ok()
            .map(|anchor| anchor.to_owned())
    }

    /// The section decoded as rustls-pki-types decodes it, as the eager
    /// loader did: here where the body's layout allows (pem_body.rs), else
    /// by rustls-pki-types.
    fn certificate(&self, section: &Section) -> Option<CertificateDer<'static>> {
        let text = &self.texts[section.text];
        if let Some(body) = &section.body
            && let Some(der) = decode_whole(&text[body.clone()])
        {
            return Some(CertificateDer::from(der));
        }
        CertificateDer::from_pem_slice(&text[section.lines.clone()]).ok()
    }
}

/// A cheap key for a section's text: its length and eight bytes from its
/// middle (base64 of a key or a signature); equal texts, equal keys.
fn fingerprint(lines: &[u8]) -> u64 {
    let middle = lines.len() / 2;
    let mut bytes = [0u8; 8];
    for (to, from) in bytes.iter_mut().zip(lines.iter().skip(middle)) {
        *to = *from;
    }
    u64::from_le_bytes(bytes) ^ (lines.len() as u64).rotate_left(32)
}

/// The `CERTIFICATE` sections of `text` as rustls-pki-types' `SliceIter`
/// frames them: lines end at each `\n` or `\r`; a line starting
/// `-----BEGIN ` opens a section (or, with a malformed trailer, closes any
/// open one), `-----END LABEL-----` closes the open section of that label,
/// and a section open at the end of the text is dropped. Only lines starting
/// with `-` can do any of that, so the scan jumps from one to the next.
///
/// A BEGIN inside an open section does not clear what rustls-pki-types has
/// gathered of the first: its text is decoded as part of the second. So the
/// lines pushed start at the first BEGIN, and such a section has no body of
/// its own (its subject is not read here; webpki decides).
/// Pushes (the section's lines, its body when it has one).
fn certificate_sections(text: &[u8], found: &mut Vec<(Range<usize>, Option<Range<usize>>)>) {
    // The open section: where its first BEGIN line starts, where its body
    // starts (None after a second BEGIN), and its label.
    let mut open: Option<(usize, Option<usize>, &[u8])> = None;
    let mut pos = 0;
    while let Some(offset) = memchr::memchr(b'-', &text[pos..]) {
        let start = pos + offset;
        if start > 0 && !matches!(text[start - 1], b'\n' | b'\r') {
            pos = start + 1;
            continue;
        }
        let end = memchr::memchr2(b'\n', b'\r', &text[start..]).map_or(text.len(), |e| start + e);
        let line = &text[start..end];
        if line.starts_with(b"-----BEGIN ") {
            open = begin_label(line).map(|label| match open {
                Some((first, _, _)) => (first, None, label),
                None => (start, Some(end), label),
            });
        } else if let Some((first, body, label)) = open
            && is_end(line, label)
        {
            if label == b"CERTIFICATE" {
                found.push((first..end, body.map(|body| body..start)));
            }
            open = None;
        }
        if end >= text.len() {
            break;
        }
        pos = end + 1;
    }
}

/// The label of a `-----BEGIN LABEL-----` line; `None` when its trailer is
/// not exactly five dashes (trailing spaces allowed), as rustls-pki-types.
fn begin_label(line: &[u8]) -> Option<&[u8]> {
    let (mut trailer, mut pos) = (0, line.len());
    for (i, &b) in line.iter().enumerate().rev() {
        match b {
            b'-' => {
                trailer += 1;
                pos = i;
            }
            b'\n' | b'\r' | b' ' => continue,
            _ => break,
        }
    }
    if trailer != 5 {
        return None;
    }
    line.get(11..pos)
}

/// Whether `line` is `-----END LABEL-----` (anything may follow).
fn is_end(line: &[u8], label: &[u8]) -> bool {
    line.strip_prefix(b"-----END ")
        .and_then(|rest| rest.strip_prefix(label))
        .is_some_and(|rest| rest.starts_with(b"-----"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        certificate_sections(text.as_bytes(), &mut found);
        found
            .into_iter()
            .map(|(lines, _)| text[lines].to_string())
            .collect()
    }

    /// The certificates rustls-pki-types finds in `text`, and those of the
    /// sections found here, decoded one by one: the same certificates. The
    /// index keeps a certificate whose text it has already seen once, so
    /// ours may be fewer, never more, and hold each of theirs.
    fn assert_same_certificates(text: &[u8]) {
        let distinct = |certificates: &[CertificateDer<'_>]| {
            let mut ders: Vec<Vec<u8>> = certificates.iter().map(|c| c.to_vec()).collect();
            ders.sort();
            ders.dedup();
            ders
        };
        let theirs: Vec<_> = CertificateDer::pem_slice_iter(text)
            .filter_map(|c| c.ok())
            .collect();
        let mut index = RootIndex::default();
        let ours = index.add(text.to_vec());
        let ours: Vec<_> = index.sections[ours]
            .iter()
            .filter_map(|s| index.certificate(s))
            .collect();
        let shown = String::from_utf8_lossy(text);
        assert_eq!(distinct(&theirs), distinct(&ours), "{shown:?}");
        assert!(ours.len() <= theirs.len(), "{shown:?}");
    }

    proptest::proptest! {
        #[test]
        fn the_same_certificates_as_rustls_pki_types(
            lines in proptest::collection::vec(
                proptest::sample::select(vec![
                    "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----",
                    "-----BEGIN CERTIFICATE----- ", "-----END CERTIFICATE-----x",
                    "-----BEGIN CERTIFICATE----", "-----BEGIN PRIVATE KEY-----",
                    "-----END PRIVATE KEY-----", "-----BEGIN X-----", "-----END X-----",
                    "-----BEGIN -----", "-----END -----", "--", "-", "MAMCAQE=", "MAMC", "AQE=",
                    "MA MC", "AAAA", "!!", "", "# - comment -",
                ]),
                0..14,
            ),
            breaks in proptest::collection::vec(proptest::sample::select(vec!["\n", "\r\n", "\r"]), 14),
        ) {
            let mut text = String::new();
            for (line, brk) in lines.iter().zip(&breaks) {
                text.push_str(line);
                text.push_str(brk);
            }
            assert_same_certificates(text.as_bytes());
            assert_same_certificates(text.trim_end().as_bytes());
        }
    }

    #[test]
    fn sections_are_framed_as_rustls_pki_types_frames_them() {
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        assert_eq!(sections(cert), [cert]);
        assert_eq!(sections(&format!("x-y\n{cert}\n-- {cert}")), [cert]);
        // A BEGIN inside a section starts over; an unknown label's END
        // closes it; a bad trailer closes it; an open one at the end is lost.
        let nested = format!("-----BEGIN CERTIFICATE-----\nBBBB\n{cert}");
        assert_eq!(sections(&format!("{nested}\n")), [nested]);
        assert!(sections("-----BEGIN CERTIFICATE----\nAAAA\n-----END CERTIFICATE-----").is_empty());
        assert!(sections("-----BEGIN CERTIFICATE-----\nAAAA\n").is_empty());
        assert!(
            sections("-----BEGIN X-----\n-----END CERTIFICATE-----\n-----END X-----").is_empty()
        );
        assert_eq!(
            sections("-----BEGIN CERTIFICATE-----  \r\nAAAA\r\n-----END CERTIFICATE-----xyz"),
            ["-----BEGIN CERTIFICATE-----  \r\nAAAA\r\n-----END CERTIFICATE-----xyz"]
        );
    }

    /// The subject read from the start of each certificate is the one webpki
    /// reads for a trust anchor: for rcgen's (v3, P-256) and, where the
    /// system bundle is here, for every root of it.
    #[test]
    fn subjects_are_webpkis() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "A Root With A Name");
        let mut text = params.self_signed(&key).unwrap().pem().into_bytes();
        for bundle in [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        ] {
            if let Ok(system) = std::fs::read(bundle) {
                text.extend_from_slice(&system);
            }
        }
        let mut index = RootIndex::default();
        let sections = index.add(text);
        assert!(!sections.is_empty());
        for section in &index.sections[sections] {
            let der = index.certificate(section).unwrap();
            let anchor = webpki::anchor_from_trusted_cert(&der).unwrap();
            let mut scratch = Vec::new();
            let ours = index.subject(section, &mut scratch).expect("a subject");
            assert_eq!(ours, anchor.subject.as_ref());
        }
    }
}
