//! Provider versions as tags: OpenTofu lists a repository's tags, turns `_`
//! into `+` and keeps what parses as a semantic version; `latest` and every
//! other tag are ignored.

/// The tag for `version`: build metadata's `+` written `_` (a tag cannot
/// hold `+`).
pub fn tag_of(version: &semver::Version) -> String {
    version.to_string().replace('+', "_")
}

/// The version OpenTofu reads from `tag`, if it reads one.
pub fn version_of(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(&tag.replace('_', "+")).ok()
}

/// The tags OpenTofu counts as versions, highest version first.
pub fn versions(tags: &[String]) -> Vec<(semver::Version, String)> {
    let mut found: Vec<(semver::Version, String)> = tags
        .iter()
        .filter_map(|t| version_of(t).map(|v| (v, t.clone())))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_metadata_is_written_with_an_underscore() {
        let v = semver::Version::parse("1.2.3-rc.1+build.7").unwrap();
        assert_eq!(tag_of(&v), "1.2.3-rc.1_build.7");
        assert_eq!(version_of("1.2.3-rc.1_build.7"), Some(v));
    }

    #[test]
    fn only_semver_tags_count() {
        let tags: Vec<String> = ["latest", "1.0.0", "v2.0.0", "1.10.0", "linux_amd64"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let seen: Vec<String> = versions(&tags).into_iter().map(|(_, t)| t).collect();
        assert_eq!(seen, ["1.10.0", "1.0.0"]);
    }
}
