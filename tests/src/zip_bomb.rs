//! The overlapping-entries zip bomb, for the tests that refuse it: the
//! e2e tests (`hostile_registry`) and scalr-oci's own unit tests
//! (`package_verify`), which include this file by path (it needs nothing
//! but std), so the two attack the same construction.

/// A zip whose central directory lists `copies` entries that all point at
/// the one local header of `single`'s only entry: each inflates it again.
pub fn overlapping_bomb(single: &[u8], copies: usize) -> Vec<u8> {
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let u32_at =
        |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    let eocd = single.len() - 22;
    let (cd_size, cd_start) = (u32_at(single, eocd + 12), u32_at(single, eocd + 16));
    let entry = &single[cd_start..cd_start + cd_size];
    let name_len = u16_at(entry, 28);
    let mut out = single[..cd_start].to_vec();
    let new_cd = out.len();
    for i in 0..copies {
        let mut e = entry.to_vec();
        // A distinct name of the same length.
        let name = format!("{i:0name_len$}");
        e[46..46 + name_len].copy_from_slice(&name.as_bytes()[..name_len]);
        out.extend_from_slice(&e);
    }
    let cd_len = out.len() - new_cd;
    let mut end = single[eocd..].to_vec();
    end[8..10].copy_from_slice(&(copies as u16).to_le_bytes());
    end[10..12].copy_from_slice(&(copies as u16).to_le_bytes());
    end[12..16].copy_from_slice(&(cd_len as u32).to_le_bytes());
    end[16..20].copy_from_slice(&(new_cd as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}
