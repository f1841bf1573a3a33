//! Official provider package names, `terraform-provider-TYPE_VERSION_OS_ARCH.zip`
//! (the names provider releases and `tofu providers mirror` use), and the
//! set of packages that makes one release.
//!
//! A release is one type and one version, at most one package per
//! platform, each a zip that holds the provider's executable at its root
//! (`terraform-provider-TYPE…`, OpenTofu's rule for finding it after
//! unpacking). Platforms are Go's names (`GOOS`/`GOARCH`), which OpenTofu
//! uses; a name Go does not know is refused, because no `tofu` could ever
//! ask for it.

use std::collections::BTreeMap;
use std::io::Cursor;

use crate::error::{Error, PackageNameProblem, Result};

const PREFIX: &str = "terraform-provider-";

/// Go's operating systems (`go tool dist list`, Go 1.26).
pub const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
];
/// Go's architectures (`go tool dist list`, Go 1.26).
pub const KNOWN_ARCH: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
    "ppc64le", "riscv64", "s390x", "wasm",
];

/// `os` and `arch` in Go's names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.os, self.arch)
    }
}

/// What one package's file name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageName {
    pub provider_type: String,
    pub version: semver::Version,
    pub platform: Platform,
}

impl PackageName {
    /// Parses `file` (a file name, no directory).
    pub fn parse(file: &str) -> Result<PackageName> {
        let bad = |problem| Error::PackageName {
            file: file.to_string(),
            problem,
        };
        let stem = file
            .strip_suffix(".zip")
            .and_then(|s| s.strip_prefix(PREFIX))
            .ok_or_else(|| bad(PackageNameProblem::NotOfficialForm))?;
        // TYPE has no `_`; VERSION may (build metadata cannot, but the
        // split from the right keeps OS and ARCH whole).
        let mut parts = stem.rsplitn(3, '_');
        let (arch, os, rest) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(o), Some(r)) => (a, o, r),
            _ => return Err(bad(PackageNameProblem::NotOfficialForm)),
        };
        let (provider_type, version) = rest
            .split_once('_')
            .ok_or_else(|| bad(PackageNameProblem::NotOfficialForm))?;
        if provider_type.is_empty()
            || !provider_type
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(PackageNameProblem::BadType(provider_type.to_string())));
        }
        let version = semver::Version::parse(version)
            .map_err(|_| bad(PackageNameProblem::BadVersion(version.to_string())))?;
        if !KNOWN_OS.contains(&os) {
            return Err(bad(PackageNameProblem::UnknownOs(os.to_string())));
        }
        if !KNOWN_ARCH.contains(&arch) {
            return Err(bad(PackageNameProblem::UnknownArch(arch.to_string())));
        }
        Ok(PackageName {
            provider_type: provider_type.to_string(),
            version,
            platform: Platform {
                os: os.to_string(),
                arch: arch.to_string(),
            },
        })
    }

    /// The official file name.
    pub fn file_name(&self) -> String {
        format!(
            "{PREFIX}{}_{}_{}.zip",
            self.provider_type, self.version, self.platform
        )
    }
}

/// One package: its name, as parsed, and its bytes.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: PackageName,
    pub file: String,
    pub bytes: Vec<u8>,
}

/// One version of one provider: a package per platform, in platform order.
#[derive(Clone, Debug)]
pub struct Release {
    pub provider_type: String,
    pub version: semver::Version,
    pub packages: BTreeMap<Platform, Package>,
}

impl Release {
    /// Checks `(file name, bytes)` pairs into a release: every name in the
    /// official form, one type, one version, one package per platform,
    /// each a provider package.
    pub fn from_packages(files: Vec<(String, Vec<u8>)>) -> Result<Release> {
        let mut release: Option<Release> = None;
        for (file, bytes) in files {
            let name = PackageName::parse(&file)?;
            check_package(&file, &name, &bytes)?;
            let release = release.get_or_insert_with(|| Release {
                provider_type: name.provider_type.clone(),
                version: name.version.clone(),
                packages: BTreeMap::new(),
            });
            let first = release
                .packages
                .values()
                .next()
                .map(|p| p.file.clone())
                .unwrap_or_default();
            if name.provider_type != release.provider_type {
                return Err(Error::PackagesDisagree {
                    first,
                    other: file,
                    what: "provider type",
                });
            }
            if name.version != release.version {
                return Err(Error::PackagesDisagree {
                    first,
                    other: file,
                    what: "version",
                });
            }
            let platform = name.platform.clone();
            if let Some(earlier) = release.packages.get(&platform) {
                return Err(Error::PlatformTwice {
                    platform: platform.to_string(),
                    first: earlier.file.clone(),
                    second: file,
                });
            }
            release
                .packages
                .insert(platform, Package { name, file, bytes });
        }
        release.ok_or(Error::NoPackages)
    }

    /// The tag OpenTofu looks for: the version, `+` written `_`.
    pub fn tag(&self) -> String {
        super::tags::tag_of(&self.version)
    }
}

/// A provider package is a zip whose root holds the provider's executable,
/// `terraform-provider-TYPE…` (`.exe` for Windows).
pub fn check_package(file: &str, name: &PackageName, bytes: &[u8]) -> Result<()> {
    let bad = |problem| Error::NotAProviderPackage {
        file: file.to_string(),
        problem,
    };
    let archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| bad(PackageNameProblem::NotAZip))?;
    let wanted = format!("{PREFIX}{}", name.provider_type);
    let windows = name.platform.os == "windows";
    let found = archive.file_names().flatten().any(|entry| {
        !entry.contains('/')
            && !entry.contains('\\')
            && entry.starts_with(&wanted)
            && (!windows || entry.ends_with(".exe"))
    });
    if found {
        Ok(())
    } else {
        Err(bad(PackageNameProblem::NoExecutable(wanted)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_zip::zip_with;
    use super::*;

    #[test]
    fn official_names_parse() {
        let name = PackageName::parse("terraform-provider-tls_4.0.6_linux_amd64.zip").unwrap();
        assert_eq!(name.provider_type, "tls");
        assert_eq!(name.version.to_string(), "4.0.6");
        assert_eq!(name.platform.to_string(), "linux_amd64");
        assert_eq!(
            name.file_name(),
            "terraform-provider-tls_4.0.6_linux_amd64.zip"
        );
        let pre = PackageName::parse("terraform-provider-my-cloud_1.0.0-rc.1+b7_darwin_arm64.zip")
            .unwrap();
        assert_eq!(pre.version.to_string(), "1.0.0-rc.1+b7");
    }

    /// Why `file` is not a provider package name, in words.
    fn problem(file: &str) -> String {
        PackageName::parse(file).unwrap_err().to_string()
    }

    #[test]
    fn bad_names_say_why() {
        assert!(problem("tls.zip").contains("not an official provider package name"));
        assert!(problem("terraform-provider-tls_4.0_linux_amd64.zip").contains("\"4.0\""));
        assert!(problem("terraform-provider-tls_4.0.6_beos_amd64.zip").contains("\"beos\""));
        assert!(problem("terraform-provider-tls_4.0.6_linux_z80.zip").contains("\"z80\""));
        assert!(problem("terraform-provider-TLS_4.0.6_linux_amd64.zip").contains("\"TLS\""));
    }

    #[test]
    fn a_release_is_one_type_one_version_one_package_per_platform() {
        let pkg = |f: &str| (f.to_string(), zip_with("terraform-provider-tls_v4.0.6"));
        let ok = Release::from_packages(vec![
            pkg("terraform-provider-tls_4.0.6_linux_amd64.zip"),
            pkg("terraform-provider-tls_4.0.6_linux_arm64.zip"),
        ])
        .unwrap();
        assert_eq!(ok.packages.len(), 2);
        assert_eq!(ok.tag(), "4.0.6");
        let two_versions = Release::from_packages(vec![
            pkg("terraform-provider-tls_4.0.6_linux_amd64.zip"),
            pkg("terraform-provider-tls_4.0.7_linux_arm64.zip"),
        ])
        .unwrap_err();
        assert!(matches!(
            two_versions,
            Error::PackagesDisagree {
                what: "version",
                ..
            }
        ));
        let twice = Release::from_packages(vec![
            pkg("terraform-provider-tls_4.0.6_linux_amd64.zip"),
            (
                "terraform-provider-tls_4.0.6_linux_amd64.zip".into(),
                zip_with("terraform-provider-tls"),
            ),
        ])
        .unwrap_err();
        assert!(matches!(twice, Error::PlatformTwice { .. }));
        assert!(matches!(
            Release::from_packages(vec![]).unwrap_err(),
            Error::NoPackages
        ));
    }

    #[test]
    fn a_package_must_hold_the_provider() {
        let name = PackageName::parse("terraform-provider-tls_4.0.6_windows_amd64.zip").unwrap();
        let file = name.file_name();
        assert!(
            check_package(&file, &name, &zip_with("terraform-provider-tls_v4.0.6.exe")).is_ok()
        );
        assert!(check_package(&file, &name, &zip_with("terraform-provider-tls_v4.0.6")).is_err());
        assert!(check_package(&file, &name, &zip_with("main.tf")).is_err());
        assert!(check_package(&file, &name, &zip_with("sub/terraform-provider-tls.exe")).is_err());
        assert!(check_package(&file, &name, b"not a zip").is_err());
    }
}
