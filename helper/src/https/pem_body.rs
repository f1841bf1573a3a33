//! A certificate's PEM body read fast where its layout allows, with the
//! bytes rustls-pki-types would decode: the certificate's subject
//! (root_index.rs indexes the roots by it), or the whole certificate.
//!
//! The subject: two readers of the base64, one answer. A body laid out as
//! PEM writers lay it out (every line the same number of digits, a multiple
//! of four, and the same line end) is read at any byte offset: the
//! certificate's headers are followed to the subject, skipping the serial
//! number, the issuer and the validity undecoded, and the subject itself is
//! decoded only when a chain names an issuer of its length. Whether the
//! layout really is that regular is checked by looking for whitespace
//! anywhere else: up to the subject's contents on the way (its place and
//! length depend on nothing after), and through the subject when it is
//! decoded. Any other body is decoded from its start, as rustls-pki-types
//! decodes it, up to the subject's end.
//!
//! Why the regular reader finds the same bytes: rustls-pki-types skips
//! whitespace and refuses any other character that is not a base64 digit
//! (padding only in the last eight digits). With whitespace only at the line
//! ends and a line end at each, the `n`-th group of four digits sits at the
//! place the layout gives it. A non-digit elsewhere before the subject's end
//! makes rustls-pki-types refuse the whole certificate, so no trust anchor
//! comes from it, whatever subject was read here.
//!
//! The whole certificate ([`decode_whole`]) is decoded here only from a
//! regular body of digits with standard padding at its very end, where
//! rustls-pki-types' decoder gives the standard decoding; any other body is
//! left to rustls-pki-types (its decoder works in constant time, for secret
//! keys, and costs ten times as much).

use std::ops::Range;

/// The most bytes of a certificate decoded to reach its subject; a section
/// whose subject ends later is a candidate for every chain.
const MAX_SUBJECT_END: usize = 4096;

/// Where a certificate's subject is, as [`subject_of`] found it.
#[derive(Debug, Clone)]
pub(super) enum Subject {
    /// Decoded, at this place in the subjects buffer: from a body the
    /// regular reader cannot take.
    Decoded(Range<usize>),
    /// At these bytes of the certificate, in a body laid out regularly
    /// up to them: decoded only when wanted ([`read_subject`]), which is
    /// when a chain names an issuer of that length.
    InBody(Range<usize>),
}

/// Where the subject of the certificate whose base64 `body` starts here
/// is: the contents of the sixth element of the TBSCertificate (the fifth
/// of a v1 one without a version), as webpki reads it for a trust anchor.
/// A subject the regular reader cannot reach is decoded into `subjects`.
/// `None` (and nothing appended) for anything unexpected.
pub(super) fn subject_of(body: &[u8], subjects: &mut Vec<u8>) -> Option<Subject> {
    // Regular up to the subject's contents: then its place and length are
    // exact; its own text is checked when it is read.
    if let Some(mut lines) = Lines::new(body)
        && let Some(subject) = subject_in(&mut lines)
        && lines.regular_through(subject.start)
    {
        return Some(Subject::InBody(subject));
    }
    let mut prefix = Prefix::new(body);
    let subject = subject_in(&mut prefix)?;
    let start = subjects.len();
    if !prefix.copy(subject, subjects) {
        return None;
    }
    Some(Subject::Decoded(start..subjects.len()))
}

/// Appends to `out` the subject [`subject_of`] found at `der` in the same
/// `body` ([`Subject::InBody`]): by the regular layout where it holds
/// through the subject, else decoded from the start. False (and `out` as it
/// was) if the text there is not base64 (then rustls-pki-types refuses the
/// body too).
pub(super) fn read_subject(body: &[u8], der: Range<usize>, out: &mut Vec<u8>) -> bool {
    if let Some(lines) = Lines::new(body)
        && lines.regular_through(der.end)
    {
        return lines.copy(der, out);
    }
    Prefix::new(body).copy(der, out)
}

/// The certificate whose PEM `body` (from the end of the BEGIN line to the
/// start of the END line) is laid out regularly, every line ending with a
/// line end, all of it base64 digits but for standard padding at the very
/// end: the bytes rustls-pki-types decodes from it. `None` for any other
/// body (decode it with rustls-pki-types).
pub(super) fn decode_whole(body: &[u8]) -> Option<Vec<u8>> {
    let lines = Lines::new(body)?;
    let end_len = lines.stride - lines.digits;
    let mut der = Vec::with_capacity(lines.text.len() / 4 * 3);
    let mut rest = lines.text;
    while !rest.is_empty() {
        let line;
        (line, rest) = rest.split_at(rest.len().min(lines.stride));
        let (digits, end) = line.split_at(line.len().checked_sub(end_len)?);
        if digits.is_empty()
            || digits.len() % 4 != 0
            || !end.iter().all(|c| matches!(c, b'\n' | b'\r'))
        {
            return None;
        }
        let (body, last) = digits.split_at(digits.len() - 4);
        for digits in body.chunks_exact(4) {
            der.extend_from_slice(&group(digits)?);
        }
        let (bytes, n) = if rest.is_empty() {
            last_group(last)?
        } else {
            (group(last)?, 3)
        };
        der.extend_from_slice(&bytes[..n]);
    }
    Some(der)
}

/// The bytes of a body's last group, which may end with standard padding:
/// `xx==` gives one byte, `xxx=` two, four digits three. rustls-pki-types
/// reads padding as zero bits and ignores the bits past the last byte, as
/// decoding `A` (zero) in its place does.
fn last_group(digits: &[u8]) -> Option<([u8; 3], usize)> {
    match *digits {
        [a, b, b'=', b'='] => Some((group(&[a, b, b'A', b'A'])?, 1)),
        [a, b, c, b'='] => Some((group(&[a, b, c, b'A'])?, 2)),
        _ => Some((group(digits)?, 3)),
    }
}

/// Decoded bytes of a certificate, by offset.
trait Der {
    /// The byte at `at`; `None` when the text cannot give it.
    fn byte(&mut self, at: usize) -> Option<u8>;

    /// The DER header at `at`: (tag, where the contents start, their
    /// length). Single-byte tags, definite lengths of up to four bytes.
    fn header(&mut self, at: usize) -> Option<(u8, usize, usize)> {
        let (tag, first) = (self.byte(at)?, self.byte(at + 1)?);
        if first < 0x80 {
            return Some((tag, at + 2, usize::from(first)));
        }
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0;
        for at in at + 2..at + 2 + count {
            len = (len << 8) | usize::from(self.byte(at)?);
        }
        Some((tag, at + 2 + count, len))
    }
}

/// Where the subject's contents are in the certificate.
fn subject_in(der: &mut impl Der) -> Option<Range<usize>> {
    let (tag, certificate, _) = der.header(0)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der.header(certificate)?;
    if tag != 0x30 {
        return None;
    }
    let mut at = tbs;
    let (tag, contents, len) = der.header(at)?;
    if tag == 0xa0 {
        at = contents + len;
    }
    // serialNumber, signature, issuer, validity.
    for _ in 0..4 {
        let (_, contents, len) = der.header(at)?;
        at = contents + len;
    }
    let (tag, contents, len) = der.header(at)?;
    if tag != 0x30 || contents + len > MAX_SUBJECT_END {
        return None;
    }
    Some(contents..contents + len)
}

/// A base64 digit's value; [`WHITESPACE`] for what rustls-pki-types skips
/// (`\t` to `\r`, space); [`INVALID`] for the rest, padding included.
const SEXTET: [u8; 256] = {
    let mut table = [INVALID; 256];
    let digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[digits[i] as usize] = i as u8;
        i += 1;
    }
    let mut space = b'\t';
    while space <= b'\r' {
        table[space as usize] = WHITESPACE;
        space += 1;
    }
    table[b' ' as usize] = WHITESPACE;
    table
};
const WHITESPACE: u8 = 0x40;
const INVALID: u8 = 0x80;

/// The three bytes of four base64 digits; `None` if one is not a digit.
fn group(digits: &[u8]) -> Option<[u8; 3]> {
    let &[a, b, c, d] = digits else {
        return None;
    };
    let (a, b, c, d) = (
        SEXTET[usize::from(a)],
        SEXTET[usize::from(b)],
        SEXTET[usize::from(c)],
        SEXTET[usize::from(d)],
    );
    // Whitespace, padding or anything else is 64 or more.
    if (a | b | c | d) >= 64 {
        return None;
    }
    let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
    Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// A body whose lines are `digits` base64 digits each (a multiple of four)
/// and end alike, `stride` characters from one line's start to the next:
/// the group of four digits holding any byte is found without reading what
/// comes before it.
struct Lines<'a> {
    text: &'a [u8],
    digits: usize,
    stride: usize,
    /// The last group decoded: its first byte's offset and its bytes.
    last: (usize, [u8; 3]),
}

impl<'a> Lines<'a> {
    /// The layout of the body's first line; `None` when it is not a whole
    /// number of groups followed by `\n` or `\r\n`. The line end of the
    /// BEGIN line before it, which the body may start with, is skipped.
    fn new(text: &'a [u8]) -> Option<Self> {
        let start = text.iter().position(|&c| !matches!(c, b'\n' | b'\r'))?;
        let text = &text[start..];
        let digits = memchr::memchr2(b'\n', b'\r', text)?;
        let stride = match &text[digits..] {
            [b'\n', ..] => digits + 1,
            [b'\r', b'\n', ..] => digits + 2,
            _ => return None,
        };
        (digits > 0 && digits % 4 == 0).then_some(Lines {
            text,
            digits,
            stride,
            last: (usize::MAX, [0; 3]),
        })
    }

    /// Where the group holding byte `at` starts in the text.
    fn group_start(&self, at: usize) -> usize {
        let digit = at / 3 * 4;
        digit / self.digits * self.stride + digit % self.digits
    }

    /// Whether, up to the end of the group holding byte `end - 1`, the
    /// text has whitespace at every line end of this layout and nowhere
    /// else: then each group is where [`Self::group_start`] put it.
    fn regular_through(&self, end: usize) -> bool {
        let Some(text) = self.text.get(..self.group_start(end.saturating_sub(1)) + 4) else {
            return false;
        };
        text.chunks(self.stride).all(|line| {
            let (digits, ends) = line.split_at(line.len().min(self.digits));
            nothing_below_bang(digits) && ends.iter().all(|c| matches!(c, b'\n' | b'\r'))
        })
    }

    /// Appends the bytes of `range` to `out`, a line's run of groups at a
    /// time; false (and `out` as it was) if a group there is not four
    /// digits.
    fn copy(&self, range: Range<usize>, out: &mut Vec<u8>) -> bool {
        let (start, first) = (out.len(), range.start / 3 * 3);
        let mut left = (range.end - first).div_ceil(3);
        out.reserve(left * 3);
        let mut at = self.group_start(first);
        while left > 0 {
            let in_line = (self.digits - at % self.stride) / 4;
            let run = in_line.min(left);
            let Some(text) = self.text.get(at..at + run * 4) else {
                out.truncate(start);
                return false;
            };
            for digits in text.chunks_exact(4) {
                let Some(bytes) = group(digits) else {
                    out.truncate(start);
                    return false;
                };
                out.extend_from_slice(&bytes);
            }
            left -= run;
            at += run * 4 + (self.stride - self.digits);
        }
        out.truncate(start + range.end - first);
        out.drain(start..start + range.start - first);
        true
    }
}

impl Der for Lines<'_> {
    fn byte(&mut self, at: usize) -> Option<u8> {
        let first = at / 3 * 3;
        if self.last.0 != first {
            let start = self.group_start(first);
            self.last = (first, group(self.text.get(start..start + 4)?)?);
        }
        Some(self.last.1[at - first])
    }
}

/// Whether every byte is above a space: whitespace (`\t` to `\r`, space)
/// is not, and every base64 digit is. Eight bytes at a time.
fn nothing_below_bang(text: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = text.chunks_exact(8);
    // A byte below 0x21 in the word (exact for "any", as bytes go).
    let below = |word: u64| word.wrapping_sub(ONES * 0x21) & !word & HIGHS != 0;
    words.all(|word| !below(u64::from_ne_bytes(word.try_into().unwrap())))
        && words.remainder().iter().all(|&c| c > b' ')
}

/// Base64 decoded on demand from the start of a PEM body, skipping the
/// whitespace rustls-pki-types skips (`\t` to `\r`, space) and stopping at
/// padding or anything else. Public data: no need for constant time.
struct Prefix<'a> {
    rest: &'a [u8],
    out: Vec<u8>,
    /// Sextets not yet making a whole byte, and how many bits they hold.
    acc: u32,
    bits: u32,
}

impl<'a> Prefix<'a> {
    fn new(body: &'a [u8]) -> Self {
        Prefix {
            rest: body,
            out: Vec::with_capacity(512),
            acc: 0,
            bits: 0,
        }
    }

    /// Decodes until `n` bytes are out; false if the text ends first.
    /// Four characters at a time where they are four base64 digits (a PEM
    /// line is sixteen such groups), else one at a time.
    fn fill(&mut self, n: usize) -> bool {
        if n > MAX_SUBJECT_END {
            return false;
        }
        while self.out.len() < n {
            if self.bits == 0 && self.whole_groups() {
                continue;
            }
            let Some((&c, rest)) = self.rest.split_first() else {
                return false;
            };
            self.rest = rest;
            let value = match SEXTET[c as usize] {
                WHITESPACE => continue,
                INVALID => return false,
                value => value,
            };
            self.acc = (self.acc << 6) | u32::from(value);
            self.bits += 6;
            if self.bits >= 8 {
                self.bits -= 8;
                self.out.push((self.acc >> self.bits) as u8);
                self.acc &= (1 << self.bits) - 1;
            }
        }
        true
    }

    /// Decodes the groups of four base64 digits at the start of the text
    /// (up to a PEM line's sixteen) in one go; false when there is none.
    fn whole_groups(&mut self) -> bool {
        let text = &self.rest[..self.rest.len().min(64)];
        let mut at = 0;
        while let Some(bytes) = text.get(at..at + 4).and_then(group) {
            self.out.extend_from_slice(&bytes);
            at += 4;
        }
        self.rest = &self.rest[at..];
        at > 0
    }

    /// Appends the bytes of `range` to `out`, decoding as far as its end;
    /// false (and `out` as it was) if the text ends or stops being base64
    /// first.
    fn copy(&mut self, range: Range<usize>, out: &mut Vec<u8>) -> bool {
        if !self.fill(range.end) {
            return false;
        }
        out.extend_from_slice(&self.out[range]);
        true
    }
}

impl Der for Prefix<'_> {
    fn byte(&mut self, at: usize) -> Option<u8> {
        self.fill(at + 1).then(|| self.out[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    /// A fresh certificate's PEM: its BEGIN line, its body, its END line
    /// (the body starts and ends with a line end).
    fn pem_parts() -> (String, String, String) {
        pem_parts_named("a.test")
    }

    /// [`pem_parts`] for a certificate naming `host` (its length moves the
    /// certificate's length, and so the padding, around).
    fn pem_parts_named(host: &str) -> (String, String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
        params.distinguished_name.push(
            rcgen::DnType::OrganizationName,
            "An Organization Long Enough",
        );
        // rcgen ends lines with \r\n on Windows: the layouts under test
        // are made here, from \n.
        let pem = params
            .self_signed(&key)
            .unwrap()
            .pem()
            .replace("\r\n", "\n");
        let (begin, rest) = pem.split_once('\n').unwrap();
        let (body, end) = rest.split_once("-----END").unwrap();
        // As root_index.rs passes it: from the BEGIN line's end.
        (
            begin.to_string(),
            format!("\n{body}"),
            format!("-----END{end}"),
        )
    }

    /// The digits of `body` laid out again: lines of `width` digits, each
    /// ending with `\r\n` or `\n`, and a line end first (the BEGIN line's).
    fn relaid(body: &str, width: usize, crlf: bool) -> String {
        let digits: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let line_end = if crlf { "\r\n" } else { "\n" };
        let mut body = line_end.to_string();
        for line in digits.as_bytes().chunks(width) {
            body.push_str(std::str::from_utf8(line).unwrap());
            body.push_str(line_end);
        }
        body
    }

    /// [`subject_of`] on its own, the subject decoded wherever it is.
    fn subject_alone(body: &[u8]) -> Option<Vec<u8>> {
        let mut subjects = b"before".to_vec();
        let subject = subject_of(body, &mut subjects);
        let decoded = match subject.clone() {
            None => None,
            Some(Subject::Decoded(range)) => Some(subjects[range].to_vec()),
            Some(Subject::InBody(der)) => {
                let mut out = b"out".to_vec();
                if read_subject(body, der, &mut out) {
                    Some(out[3..].to_vec())
                } else {
                    assert_eq!(out, b"out", "appended, yet no subject");
                    None
                }
            }
        };
        if !matches!(subject, Some(Subject::Decoded(_))) {
            assert_eq!(subjects, b"before", "appended, yet not decoded");
        }
        assert!(subjects.starts_with(b"before"));
        decoded
    }

    /// The subject as webpki reads it from rustls-pki-types' decoding.
    fn webpkis_subject(begin: &str, body: &str, end: &str) -> Option<Vec<u8>> {
        let text = format!("{begin}{body}{end}");
        let der = CertificateDer::from_pem_slice(text.as_bytes()).ok()?;
        let anchor = webpki::anchor_from_trusted_cert(&der).ok()?;
        Some(anchor.subject.to_vec())
    }

    proptest::proptest! {
        /// The bytes decoded from the start of a certificate's body,
        /// whitespace anywhere in it, are rustls-pki-types' bytes.
        #[test]
        fn the_prefix_decodes_as_rustls_pki_types(
            spaces in proptest::collection::vec((0usize..2000, proptest::sample::select(vec![" ", "\t", "\r\n", "\n"])), 0..8),
        ) {
            let (begin, mut body, end) = pem_parts();
            for (at, space) in &spaces {
                // After the BEGIN line's end: whitespace on that line is
                // not PEM.
                let at = (*at).clamp(1, body.len() - 1);
                body.insert_str(at, space);
            }
            let text = format!("{begin}{body}{end}");
            let der = CertificateDer::from_pem_slice(text.as_bytes()).unwrap();
            let mut prefix = Prefix::new(body.as_bytes());
            let n = der.len().min(MAX_SUBJECT_END);
            proptest::prop_assert!(prefix.fill(n));
            proptest::prop_assert_eq!(&prefix.out[..n], &der[..n]);
        }

        /// Whatever the layout of the body (lines of any width, either line
        /// end, whitespace or a stray character anywhere), the subject read
        /// here is webpki's whenever webpki takes the certificate.
        #[test]
        fn the_subject_is_webpkis_in_any_layout(
            width in proptest::sample::select(vec![4usize, 8, 60, 64, 76, 3000]),
            crlf in proptest::bool::ANY,
            edits in proptest::collection::vec(
                (0usize..2000, proptest::sample::select(vec![" ", "\t", "\n", "\r\n", "\x0b", "\x0c", "=", "-", "A", ""])),
                0..3,
            ),
        ) {
            let (begin, body, end) = pem_parts();
            let mut body = relaid(&body, width, crlf);
            for (at, edit) in &edits {
                let at = (*at).min(body.len() - 1);
                body.insert_str(at, edit);
            }
            let theirs = webpkis_subject(&begin, &body, &end);
            let ours = subject_alone(body.as_bytes());
            if theirs.is_some() {
                proptest::prop_assert_eq!(ours, theirs);
            }
        }
    }

    proptest::proptest! {
        /// Whatever the body (lines of any width, either line end, padding
        /// of any length, whitespace, a stray or missing character
        /// anywhere), the certificate decoded whole here is the one
        /// rustls-pki-types decodes, whenever it is decoded here; and a
        /// body as PEM writers lay it out is always decoded here.
        #[test]
        fn the_whole_certificate_is_rustls_pki_types(
            host in "[a-z]{1,3}\\.test",
            width in proptest::sample::select(vec![4usize, 8, 60, 64, 76, 3000]),
            crlf in proptest::bool::ANY,
            edits in proptest::collection::vec(
                (0usize..3000, proptest::sample::select(vec![" ", "\t", "\n", "\r\n", "=", "==", "-", "A", "AA", ""])),
                0..3,
            ),
        ) {
            let (begin, body, end) = pem_parts_named(&host);
            let mut body = relaid(&body, width, crlf);
            let regular = decode_whole(body.as_bytes());
            proptest::prop_assert!(regular.is_some(), "{body:?}");
            for (at, edit) in &edits {
                let at = (*at).clamp(1, body.len() - 1);
                // An empty edit removes the character there.
                body.replace_range(at..at + usize::from(edit.is_empty()), edit);
            }
            let text = format!("{begin}{body}{end}");
            let theirs = CertificateDer::from_pem_slice(text.as_bytes()).ok();
            if let Some(ours) = decode_whole(body.as_bytes()) {
                proptest::prop_assert_eq!(Some(&ours[..]), theirs.as_deref(), "{:?}", body);
            }
        }
    }

    /// The regular layout is taken only where it holds: whitespace inside a
    /// line, a line end missing, or a line longer than the first, before the
    /// subject's end sends the body to the decoder that reads from the
    /// start, which still finds webpki's subject.
    #[test]
    fn an_irregular_layout_is_noticed() {
        let (begin, body, end) = pem_parts();
        let lines = Lines::new(body.as_bytes()).unwrap();
        assert_eq!((lines.digits, lines.stride), (64, 65));
        let expected = webpkis_subject(&begin, &body, &end).unwrap();
        assert_eq!(subject_alone(body.as_bytes()).unwrap(), expected);
        let subject = subject_in(&mut Lines::new(body.as_bytes()).unwrap()).unwrap();
        assert!(
            Lines::new(body.as_bytes())
                .unwrap()
                .regular_through(subject.end)
        );
        // (where, what is inserted, how many characters it replaces)
        for (at, edit, replaced) in [
            (11, " ", 0),
            (71, "\t", 0),
            (65, "", 1),
            (131, "\x0c", 0),
            (71, " ", 1),
            (141, "\t", 1),
            (130, "A", 0),
        ] {
            let mut bent = body.clone();
            bent.replace_range(at..at + replaced, edit);
            let lines = Lines::new(bent.as_bytes());
            assert!(
                lines.is_none_or(|lines| !lines.regular_through(subject.end)),
                "{edit:?} at {at}"
            );
            if let Some(theirs) = webpkis_subject(&begin, &bent, &end) {
                assert_eq!(
                    subject_alone(bent.as_bytes()),
                    Some(theirs),
                    "{edit:?} at {at}"
                );
            }
        }
    }

    /// Every root of the system bundle, where there is one here, is laid
    /// out regularly: its subject is read without decoding from the start,
    /// and it is decoded whole here, to rustls-pki-types' bytes (the cheap
    /// paths; root_index's `subjects_are_webpkis` checks the subjects).
    #[test]
    fn the_system_roots_take_the_regular_reader() {
        let Ok(bundle) = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt") else {
            return;
        };
        let mut roots = 0;
        for section in bundle.split("-----BEGIN CERTIFICATE-----").skip(1) {
            let body = section.split("-----END").next().unwrap();
            let mut lines = Lines::new(body.as_bytes()).expect("a regular first line");
            let subject = subject_in(&mut lines).expect("a subject");
            assert!(lines.regular_through(subject.end));
            let pem = format!("-----BEGIN CERTIFICATE-----{section}");
            let theirs = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
            assert_eq!(decode_whole(body.as_bytes()).as_deref(), Some(&theirs[..]));
            roots += 1;
        }
        assert!(roots > 100, "{roots} roots");
    }
}
