//! `package::verify::problems_within` on any bytes: never panics and stays
//! bounded (a small inflate limit, so a bomb ends quickly); when it calls a
//! zip clean, every entry name is relative without `..`, and no symlink
//! target is absolute or longer than the limit.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use scalr_oci::oci::package::verify::{MAX_LINK_TARGET, problems_within};

fuzz_target!(|bytes: &[u8]| {
    let problems = problems_within(bytes, None, 1 << 20);
    if !problems.is_empty() {
        return;
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a clean zip reads");
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("a clean entry reads");
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        assert!(!name.starts_with('/') && !name.split(['/', '\\']).any(|p| p == ".."));
        if file.is_symlink() {
            let mut target = Vec::new();
            (&mut file).take(MAX_LINK_TARGET + 1).read_to_end(&mut target).unwrap();
            assert!(target.len() as u64 <= MAX_LINK_TARGET);
            assert!(!target.starts_with(b"/"), "an absolute link passed");
        }
    }
});
