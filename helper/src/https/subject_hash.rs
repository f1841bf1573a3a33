//! The name a hashed certificate directory (OpenSSL's `c_rehash`,
//! `openssl rehash`, Debian's `update-ca-certificates`) gives the files of
//! a subject: `HASH.N`, where HASH is OpenSSL's `X509_NAME_hash`: the first
//! four bytes, little-endian, of the SHA-1 of the name's canonical encoding.
//!
//! The canonical encoding: each RDN's SET re-encoded, one after another
//! (no outer SEQUENCE), where every attribute value of a string type is
//! turned into a UTF8String, stripped of leading and trailing whitespace,
//! with each inner run of whitespace made one space and ASCII letters
//! lower-cased; values of other types are kept as they are.
//!
//! Only a shortcut: a name this cannot hash, or hashes differently from
//! OpenSSL, finds no file, and the caller then reads the whole directory
//! (verifier.rs). So a mistake here costs time, never trust.

/// The hash of the name whose DER contents (the RDN SETs, without the
/// outer SEQUENCE header) are `name`; `None` when it is not DER this
/// understands.
pub(super) fn subject_hash(name: &[u8]) -> Option<u32> {
    let mut canonical = Vec::with_capacity(name.len());
    for set in elements(name, SET)? {
        let mut attributes = elements(set, SEQUENCE)?
            .into_iter()
            .map(canonical_attribute)
            .collect::<Option<Vec<_>>>()?;
        // DER orders a SET OF by the encodings of its elements.
        attributes.sort();
        push_tlv(&mut canonical, SET, &attributes.concat());
    }
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &canonical);
    let first: [u8; 4] = digest.as_ref().get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(first))
}

/// The hash a `HASH.N` file name stands for (N: decimal digits); `None`
/// for any other name (`HASH.rN` names a CRL).
pub(super) fn hash_of_file_name(name: &[u8]) -> Option<u32> {
    let (hash, n) = (name.get(..8)?, name.get(8..)?);
    let n = n.strip_prefix(b".")?;
    if n.is_empty() || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Lower-case hex, as c_rehash and openssl rehash write it.
    hash.iter().try_fold(0u32, |value, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u32::from(digit))
    })
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;

/// One `SEQUENCE { type OID, value }` canonically encoded.
fn canonical_attribute(attribute: &[u8]) -> Option<Vec<u8>> {
    let (tag, _, after_oid) = tlv(attribute)?;
    if tag != OID {
        return None;
    }
    let oid = &attribute[..attribute.len() - after_oid.len()];
    let (tag, value, after) = tlv(after_oid)?;
    if !after.is_empty() {
        return None;
    }
    let mut contents = oid.to_vec();
    match as_utf8(tag, value)? {
        Some(text) => push_tlv(&mut contents, UTF8_STRING, &canonical_text(&text)),
        None => contents.extend_from_slice(after_oid),
    }
    let mut encoded = Vec::with_capacity(contents.len() + 4);
    push_tlv(&mut encoded, SEQUENCE, &contents);
    Some(encoded)
}

/// A string value as UTF-8: `Some(None)` for a type that is not
/// canonicalised (kept as it is), `None` for a malformed string.
fn as_utf8(tag: u8, value: &[u8]) -> Option<Option<Vec<u8>>> {
    const PRINTABLE_STRING: u8 = 0x13;
    const T61_STRING: u8 = 0x14;
    const IA5_STRING: u8 = 0x16;
    const VISIBLE_STRING: u8 = 0x1a;
    const UNIVERSAL_STRING: u8 = 0x1c;
    const BMP_STRING: u8 = 0x1e;
    let from_code_points = |points: &mut dyn Iterator<Item = u32>| -> Option<Vec<u8>> {
        let mut text = String::new();
        for point in points {
            text.push(char::from_u32(point)?);
        }
        Some(text.into_bytes())
    };
    let text = match tag {
        UTF8_STRING => std::str::from_utf8(value).ok()?.as_bytes().to_vec(),
        // One byte a character, Latin-1 (T61String included, as OpenSSL).
        PRINTABLE_STRING | T61_STRING | IA5_STRING | VISIBLE_STRING => {
            from_code_points(&mut value.iter().map(|&b| u32::from(b)))?
        }
        BMP_STRING if value.len().is_multiple_of(2) => from_code_points(
            &mut value
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))),
        )?,
        UNIVERSAL_STRING if value.len().is_multiple_of(4) => from_code_points(
            &mut value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        )?,
        BMP_STRING | UNIVERSAL_STRING => return None,
        _ => return Some(None),
    };
    Some(Some(text))
}

/// Leading and trailing whitespace dropped, each inner run of it one
/// space, ASCII letters lower-cased; other bytes as they are.
fn canonical_text(text: &[u8]) -> Vec<u8> {
    // OpenSSL's isspace: space, \t, \n, \v, \f, \r.
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut out = Vec::with_capacity(text.len());
    for word in text.split(space).filter(|word| !word.is_empty()) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend(word.iter().map(u8::to_ascii_lowercase));
    }
    out
}

/// The contents of each DER element of `input`; `None` unless all are
/// well-formed and tagged `tag`.
fn elements(mut input: &[u8], tag: u8) -> Option<Vec<&[u8]>> {
    let mut contents = Vec::new();
    while !input.is_empty() {
        let (found, element, after) = tlv(input)?;
        if found != tag {
            return None;
        }
        contents.push(element);
        input = after;
    }
    Some(contents)
}

/// The tag, contents and what follows of the DER element at the start of
/// `input`: single-byte tags, definite lengths of up to four bytes.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Appends the DER element `tag` with `contents` (definite length).
fn push_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    /// A Name's contents: one RDN per (OID of CN/O, tag, value).
    fn name(rdns: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(attribute, tag, value) in rdns {
            let mut ava = Vec::new();
            push_tlv(&mut ava, OID, &[0x55, 0x04, attribute]);
            push_tlv(&mut ava, tag, value);
            let mut seq = Vec::new();
            push_tlv(&mut seq, SEQUENCE, &ava);
            push_tlv(&mut out, SET, &seq);
        }
        out
    }

    #[test]
    fn case_whitespace_and_string_type_do_not_change_the_hash() {
        let plain = subject_hash(&name(&[(3, 0x0c, b"example root ca")])).unwrap();
        for (tag, value) in [
            (0x13, &b"Example Root CA"[..]),
            (0x0c, b"  EXAMPLE \t root\n\nCA "),
            (0x16, b"example  ROOT ca"),
            (0x1e, b"\0E\0x\0a\0m\0p\0l\0e\0 \0R\0o\0o\0t\0 \0C\0A"),
        ] {
            assert_eq!(
                subject_hash(&name(&[(3, tag, value)])),
                Some(plain),
                "{value:?}"
            );
        }
        for other in [
            name(&[(3, 0x0c, b"example root ca2")]),
            name(&[(10, 0x0c, b"example root ca")]),
            // A type that is not a string is kept as it is.
            name(&[(3, 0x04, b"example root ca")]),
        ] {
            assert_ne!(subject_hash(&other), Some(plain));
        }
        assert_eq!(subject_hash(b"\x31\x05\x30"), None, "truncated DER");
        assert_eq!(
            subject_hash(&name(&[(3, 0x0c, b"\xff")])),
            None,
            "bad UTF-8"
        );
    }

    #[test]
    fn hash_file_names() {
        assert_eq!(hash_of_file_name(b"1a2b3c4d.0"), Some(0x1a2b3c4d));
        assert_eq!(hash_of_file_name(b"1a2b3c4d.12"), Some(0x1a2b3c4d));
        assert_eq!(hash_of_file_name(b"ffffffff.0"), Some(0xffff_ffff));
        assert_eq!(hash_of_file_name(b"09000000.0"), Some(0x0900_0000));
        for name in [
            &b"0000000g.0"[..],
            b"0000/000.0",
            b"1a2b3c4d.r0",
            b"1a2b3c4d.",
            b"1a2b3c4d",
            b"1A2B3C4D.0",
            b"1a2b3c4.0",
            b"1a2b3c4dd.0",
            b"ca-certificates.crt",
            b"1a2b3c4d.0.pem",
        ] {
            assert_eq!(hash_of_file_name(name), None, "{name:?}");
        }
    }

    /// Every `HASH.N` link of this machine's hashed directory (made by
    /// OpenSSL's rehash) names the hash computed here for its certificate.
    #[test]
    fn the_hashes_of_the_system_directory_are_openssls() {
        let Ok(entries) = std::fs::read_dir("/etc/ssl/certs") else {
            eprintln!("no /etc/ssl/certs: nothing to compare");
            return;
        };
        let mut compared = 0;
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(hash) = hash_of_file_name(file_name.as_encoded_bytes()) else {
                continue;
            };
            let Ok(der) = CertificateDer::from_pem_file(entry.path()) else {
                continue;
            };
            let anchor = webpki::anchor_from_trusted_cert(&der).unwrap();
            assert_eq!(
                subject_hash(anchor.subject.as_ref()),
                Some(hash),
                "{}",
                entry.path().display()
            );
            compared += 1;
        }
        eprintln!("{compared} hash names compared");
    }
}
