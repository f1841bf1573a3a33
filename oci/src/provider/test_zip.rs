//! Test packages for the provider modules' unit tests.

use std::io::{Cursor, Write};

/// A zip that holds one file, `entry`, whose content begins as an ELF
/// executable does.
pub(crate) fn zip_with(entry: &str) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(entry, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"\x7fELF").unwrap();
    zip.finish().unwrap();
    out.into_inner()
}
