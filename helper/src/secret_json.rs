//! JSON that holds a secret, written without leaving copies behind.
//!
//! `serde_json::to_string` grows its buffer as it writes: every growth
//! copies what was written so far (the secret included) and frees the old
//! block unwiped. Here the buffer is sized for the worst case before the
//! first byte ([`worst_case`]), refuses to grow ([`Fixed`]), and is a
//! `Zeroizing` buffer, wiped when dropped. `tests/secret_buffers.rs` proves
//! it with an allocator that inspects every freed block.
//!
//! Two dialects: [`compact`] (serde_json's escaping) and [`go`], which
//! escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings as Go's
//! encoding/json does: clients decode either form, but byte-identical
//! output makes the helper a drop-in replacement for the Go helpers
//! (`<token>` reads `\u003ctoken\u003e` on the wire).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use zeroize::{Zeroize, Zeroizing};

/// What any JSON object of `strings` (keys and values together) can take:
/// an escape turns one byte into at most six (`\u001f`, or `\u2028` for a
/// three-byte character), and each string adds its quotes and a separator;
/// the rest is the braces and a trailing newline.
pub fn worst_case(strings: &[&str]) -> usize {
    strings.iter().map(|s| s.len() * 6 + 3).sum::<usize>() + 3
}

/// `value` as JSON with serde_json's escaping, followed by `\n`, in a buffer
/// of `capacity` bytes that is never reallocated and is wiped on drop.
///
/// # Panics
/// When `capacity` is too small: [`worst_case`] of every key and value is
/// always enough.
pub fn compact<T: Serialize>(value: &T, capacity: usize) -> Zeroizing<String> {
    write(value, capacity, CompactFormatter)
}

/// [`compact`] with Go's escaping of `<`, `>`, `&`, U+2028 and U+2029.
///
/// # Panics
/// As [`compact`].
pub fn go<T: Serialize>(value: &T, capacity: usize) -> Zeroizing<String> {
    write(value, capacity, GoFormatter)
}

fn write<T: Serialize, F: Formatter>(
    value: &T,
    capacity: usize,
    formatter: F,
) -> Zeroizing<String> {
    let mut out = Fixed {
        buf: Zeroizing::new(Vec::with_capacity(capacity)),
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io))
        .expect("the buffer is sized for the worst case, and strings always serialise");
    // Moves the allocation (no copy) from one wiped-on-drop owner to another.
    let bytes = std::mem::take(&mut *out.buf);
    match String::from_utf8(bytes) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            e.into_bytes().zeroize();
            unreachable!("serde_json writes UTF-8")
        }
    }
}

/// A writer that fills a pre-sized buffer and fails instead of growing it.
struct Fixed {
    buf: Zeroizing<Vec<u8>>,
}

impl Write for Fixed {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < data.len() {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the secret's JSON outgrew its pre-sized buffer",
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Go's encoding/json string escaping on top of serde_json's compact output
/// (which already escapes quotes, backslashes and control characters).
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..at])?;
            writer.write_all(escaped.as_bytes())?;
            start = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Go-escaped JSON of something that holds no secret (a listing), with `\n`.
pub fn go_public<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value
        .serialize(&mut serializer)
        .expect("strings always serialise");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Pair<'a> {
        a: &'a str,
        b: &'a str,
    }

    #[test]
    fn go_escapes_what_go_escapes_and_the_rest_as_serde_does() {
        let v = Pair {
            a: "<&>\u{2028}\u{2029}",
            b: "\"\\\u{1f}é",
        };
        let out = go(&v, worst_case(&["a", v.a, "b", v.b]));
        assert_eq!(
            out.as_str(),
            "{\"a\":\"\\u003c\\u0026\\u003e\\u2028\\u2029\",\"b\":\"\\\"\\\\\\u001fé\"}\n"
        );
        let plain = compact(&v, worst_case(&["a", v.a, "b", v.b]));
        assert_eq!(
            plain.as_str(),
            "{\"a\":\"<&>\u{2028}\u{2029}\",\"b\":\"\\\"\\\\\\u001fé\"}\n"
        );
    }

    #[test]
    fn the_worst_case_fits_and_the_buffer_never_grows() {
        // Every byte a six-byte escape: control characters, and U+2028.
        for s in ["\u{1}".repeat(100), "\u{2028}".repeat(50), "<".repeat(77)] {
            let v = Pair { a: &s, b: "" };
            let capacity = worst_case(&["a", &s, "b", ""]);
            let out = go(&v, capacity);
            assert!(out.len() <= capacity);
            assert_eq!(out.capacity(), capacity, "the buffer was reallocated");
        }
    }

    #[test]
    #[should_panic(expected = "sized for the worst case")]
    fn too_small_a_buffer_is_refused_not_grown() {
        let _ = compact(&Pair { a: "abcdef", b: "" }, 8);
    }
}
