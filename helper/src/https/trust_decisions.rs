//! Which server chains the roots named by `SSL_CERT_FILE`/`SSL_CERT_DIR`
//! make trusted, and which files are refused. Written against the loader
//! that parsed every root up front, kept unchanged for the one that indexes
//! the roots by subject and parses only the candidates (issue 21): a chain to
//! any root of the bundle or the directory is trusted, nothing else is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::{MAX_ROOTS_BYTES, RootsSource, TrustRootsError, provider};

/// A CA made here: its certificate (PEM and DER) and what signs with it.
struct Ca {
    pem: String,
    der: CertificateDer<'static>,
    params: CertificateParams,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    ca_with(name, None)
}

/// A CA named `name`; signed by `parent` (an intermediate) or self-signed.
fn ca_with(name: &str, parent: Option<&Ca>) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = match parent {
        Some(parent) => params
            .signed_by(&key, &Issuer::from_params(&parent.params, &parent.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        params,
        key,
    }
}

/// A server certificate for `server.test` signed by `issuer`.
fn leaf(issuer: &Ca) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["server.test".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "server.test");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
        .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .unwrap()
        .der()
        .clone()
}

fn source(file: Option<&Path>, dirs: &[&Path]) -> RootsSource {
    RootsSource {
        var: if file.is_some() {
            "SSL_CERT_FILE"
        } else {
            "SSL_CERT_DIR"
        },
        file: file.map(Path::to_path_buf),
        dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
    }
}

fn verifier(file: Option<&Path>, dirs: &[&Path]) -> Arc<dyn ServerCertVerifier> {
    source(file, dirs)
        .verifier(provider())
        .unwrap_or_else(|e| panic!("the roots load: {e}"))
}

fn load_error(file: Option<&Path>, dirs: &[&Path]) -> TrustRootsError {
    match source(file, dirs).verifier(provider()) {
        Ok(_) => panic!("the roots were accepted"),
        Err(e) => e,
    }
}

/// Does `verifier` trust `leaf` (with `intermediates`) for `server.test`?
fn trusts(
    verifier: &dyn ServerCertVerifier,
    leaf: &CertificateDer<'static>,
    intermediates: &[CertificateDer<'static>],
) -> Result<(), rustls::Error> {
    verifier
        .verify_server_cert(
            leaf,
            intermediates,
            &ServerName::try_from("server.test").unwrap(),
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
}

fn assert_trusted(verifier: &dyn ServerCertVerifier, what: &str, leaf: &CertificateDer<'static>) {
    assert_trusted_via(verifier, what, leaf, &[]);
}

fn assert_trusted_via(
    verifier: &dyn ServerCertVerifier,
    what: &str,
    leaf: &CertificateDer<'static>,
    intermediates: &[CertificateDer<'static>],
) {
    if let Err(e) = trusts(verifier, leaf, intermediates) {
        panic!("{what}: not trusted: {e}");
    }
}

fn assert_untrusted(
    verifier: &dyn ServerCertVerifier,
    what: &str,
    leaf: &CertificateDer<'static>,
    intermediates: &[CertificateDer<'static>],
) {
    match trusts(verifier, leaf, intermediates) {
        Ok(()) => panic!("{what}: trusted"),
        Err(rustls::Error::InvalidCertificate(_)) => {}
        Err(e) => panic!("{what}: refused for another reason: {e}"),
    }
}

/// A chain to a new root named `name`, trusted by no one, is refused.
fn assert_stranger_untrusted(verifier: &dyn ServerCertVerifier, what: &str, name: &str) {
    assert_untrusted(verifier, what, &leaf(&ca(name)), &[]);
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A bundle of `n` unrelated roots, the `special` ones among them.
fn bundle_text(decoys: &[Ca], special: &[&Ca]) -> String {
    let mut text = String::new();
    for (i, decoy) in decoys.iter().enumerate() {
        text.push_str(&decoy.pem);
        if let Some(ca) = special.get(i) {
            text.push_str(&ca.pem);
        }
    }
    for ca in special.iter().skip(decoys.len()) {
        text.push_str(&ca.pem);
    }
    text
}

#[test]
fn a_chain_to_any_root_of_the_bundle_or_the_directory_is_trusted_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let decoys: Vec<Ca> = (0..6).map(|i| ca(&format!("Decoy Root {i}"))).collect();
    let in_bundle = ca("Bundle Root");
    let last_in_bundle = ca("Last Bundle Root");
    let in_dir = ca("Directory Root");
    let linked = ca("Linked Directory Root");
    let elsewhere = ca("Root Nobody Trusts");
    // Same subject as a trusted root, another key: the subject alone must not
    // make it trusted.
    let impostor = ca("Bundle Root");
    let intermediate = ca_with("Intermediate CA", Some(&in_dir));
    let stray_intermediate = ca_with("Stray Intermediate", Some(&elsewhere));

    let bundle = write(
        &tmp.path().join("bundle.pem"),
        &bundle_text(&decoys, &[&in_bundle, &last_in_bundle]),
    );
    let dir = tmp.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("directory-root.pem"), &in_dir.pem);
    write(&dir.join("decoy.crt"), &decoys[0].pem);
    // As c_rehash lays it out: the certificate elsewhere, a name and a hash
    // link to it in the directory.
    #[cfg(unix)]
    {
        let share = tmp.path().join("share");
        std::fs::create_dir(&share).unwrap();
        let real = write(&share.join("linked.crt"), &linked.pem);
        symlink(&real, &dir.join("linked.pem"));
        symlink(&dir.join("linked.pem"), &dir.join("1a2b3c4d.0"));
    }
    #[cfg(not(unix))]
    write(&dir.join("linked.pem"), &linked.pem);

    for (setup, v) in [
        ("bundle + directory", verifier(Some(&bundle), &[&dir])),
        (
            "bundle + directory, twice",
            verifier(Some(&bundle), &[&dir, &dir]),
        ),
    ] {
        assert_trusted(&*v, setup, &leaf(&in_bundle));
        assert_trusted(&*v, setup, &leaf(&last_in_bundle));
        assert_trusted(&*v, setup, &leaf(&decoys[3]));
        assert_trusted(&*v, setup, &leaf(&in_dir));
        assert_trusted(&*v, setup, &leaf(&linked));
        assert_trusted_via(
            &*v,
            setup,
            &leaf(&intermediate),
            std::slice::from_ref(&intermediate.der),
        );
        // The intermediate's root is trusted, but the server did not send it.
        assert_untrusted(&*v, setup, &leaf(&intermediate), &[]);
        assert_untrusted(&*v, setup, &leaf(&elsewhere), &[]);
        assert_untrusted(&*v, setup, &leaf(&impostor), &[]);
        assert_untrusted(
            &*v,
            setup,
            &leaf(&stray_intermediate),
            std::slice::from_ref(&stray_intermediate.der),
        );
        // A trusted root's certificate sent as an intermediate does not
        // anchor a chain it did not sign.
        assert_untrusted(
            &*v,
            setup,
            &leaf(&elsewhere),
            std::slice::from_ref(&in_bundle.der),
        );
    }

    let bundle_only = verifier(Some(&bundle), &[]);
    assert_trusted(&*bundle_only, "bundle only", &leaf(&in_bundle));
    assert_untrusted(&*bundle_only, "bundle only", &leaf(&in_dir), &[]);
    assert_untrusted(&*bundle_only, "bundle only", &leaf(&linked), &[]);

    let dir_only = verifier(None, &[&dir]);
    assert_trusted(&*dir_only, "directory only", &leaf(&in_dir));
    assert_trusted(&*dir_only, "directory only", &leaf(&linked));
    assert_trusted(&*dir_only, "directory only", &leaf(&decoys[0]));
    assert_untrusted(&*dir_only, "directory only", &leaf(&in_bundle), &[]);
    assert_untrusted(&*dir_only, "directory only", &leaf(&decoys[1]), &[]);
}

#[test]
fn two_roots_with_one_subject_both_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let first = ca("Shared Name Root");
    let second = ca("Shared Name Root");
    let bundle = write(
        &tmp.path().join("bundle.pem"),
        &format!("{}{}", first.pem, second.pem),
    );
    let v = verifier(Some(&bundle), &[]);
    assert_trusted(&*v, "first of the name", &leaf(&first));
    assert_trusted(&*v, "second of the name", &leaf(&second));
    assert_stranger_untrusted(&*v, "a third of the name", "Shared Name Root");
}

#[test]
fn pem_text_around_and_between_certificates_is_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = ca("Plain Root");
    let crlf = ca("CRLF Root");
    let after_key = ca("Root After A Key");
    let after_broken = ca("Root After A Broken One");
    let key = KeyPair::generate().unwrap().serialize_pem();
    let broken = plain.pem.replacen("MII", "M!I", 1);
    let text = format!(
        "# comments and other text are skipped\n{}{}{}{}some trailing words\n{}",
        plain.pem,
        crlf.pem.replace('\n', "\r\n"),
        key,
        broken,
        after_key.pem,
    ) + &after_broken.pem;
    let bundle = write(&tmp.path().join("bundle.pem"), &text);
    let v = verifier(Some(&bundle), &[]);
    for (what, root) in [
        ("plain", &plain),
        ("CRLF line ends", &crlf),
        ("after a private key", &after_key),
        ("after a broken certificate", &after_broken),
    ] {
        assert_trusted(&*v, what, &leaf(root));
    }
}

#[test]
fn a_certificate_after_an_unfinished_section_is_not_trusted_as_before() {
    // rustls-pki-types decodes what it gathered after the unfinished BEGIN
    // together with the certificate: the result is no certificate.
    let tmp = tempfile::tempdir().unwrap();
    let swallowed = ca("Swallowed Root");
    let kept = ca("Kept Root");
    let text = format!(
        "-----BEGIN CERTIFICATE-----\nAAAA\n{}{}",
        swallowed.pem, kept.pem
    );
    let bundle = write(&tmp.path().join("bundle.pem"), &text);
    let v = verifier(Some(&bundle), &[]);
    assert_untrusted(&*v, "after an unfinished section", &leaf(&swallowed), &[]);
    assert_trusted(&*v, "the next one", &leaf(&kept));
}

#[test]
fn directory_entries_that_are_not_certificates_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = ca("Directory Root");
    let dir = tmp.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("root.pem"), &root.pem);
    write(&dir.join("README"), "not a certificate\n");
    write(
        &dir.join("key.pem"),
        &KeyPair::generate().unwrap().serialize_pem(),
    );
    std::fs::write(dir.join("binary.der"), root.der.as_ref()).unwrap();
    write(
        &dir.join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    );
    std::fs::create_dir(dir.join("subdirectory")).unwrap();
    write(
        &dir.join("subdirectory").join("nested.pem"),
        &ca("Nested").pem,
    );
    #[cfg(unix)]
    {
        symlink(Path::new("/dev/null"), &dir.join("device.pem"));
        symlink(&tmp.path().join("nowhere"), &dir.join("dangling.pem"));
        let fifo = dir.join("fifo.pem");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
    }
    let v = verifier(None, &[&dir]);
    assert_trusted(&*v, "the certificate beside them", &leaf(&root));
    // DER files are not read (PEM only), nested directories are not walked.
    let only_der = tmp.path().join("der");
    std::fs::create_dir(&only_der).unwrap();
    std::fs::write(only_der.join("root.der"), root.der.as_ref()).unwrap();
    let err = load_error(None, &[&only_der]);
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
    assert_stranger_untrusted(&*v, "a root only in a subdirectory", "Nested");
}

#[test]
fn the_named_file_must_hold_a_parsable_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.pem", String::new()),
        ("text.pem", "hello\n".to_string()),
        ("key.pem", KeyPair::generate().unwrap().serialize_pem()),
        (
            "not-a-certificate.pem",
            // Valid PEM and base64 of something that is not a certificate.
            "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n".to_string(),
        ),
    ] {
        let path = write(&tmp.path().join(name), &text);
        let err = load_error(Some(&path), &[]);
        assert!(
            err.to_string().contains("SSL_CERT_FILE")
                && err.to_string().contains("holds no PEM certificate"),
            "{name}: {err}"
        );
        // The directory's roots do not excuse an unusable file.
        let dir = tmp.path().join("dir");
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir.join("root.pem"), &ca("Directory Root").pem);
        assert!(matches!(
            load_error(Some(&path), &[&dir]),
            TrustRootsError::Unusable {
                var: "SSL_CERT_FILE",
                ..
            }
        ));
    }
}

#[cfg(unix)]
#[test]
fn fifos_devices_and_missing_files_are_refused_as_the_named_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.pem");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [
        fifo.as_path(),
        Path::new("/dev/zero"),
        Path::new("/dev/null"),
        tmp.path(),
    ] {
        let err = load_error(Some(path), &[]);
        assert!(
            err.to_string().contains("not a regular file"),
            "{}: {err}",
            path.display()
        );
    }
    let err = load_error(Some(&tmp.path().join("missing.pem")), &[]);
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
}

#[test]
fn the_16_mib_bound_holds_for_one_file_and_for_all_together() {
    assert_eq!(MAX_ROOTS_BYTES, 16 << 20);
    let tmp = tempfile::tempdir().unwrap();
    let root = ca("Root");
    // One file over the bound, with a good certificate first.
    let mut big = root.pem.clone().into_bytes();
    big.resize(MAX_ROOTS_BYTES as usize + 1, b'\n');
    let big_file = tmp.path().join("big.pem");
    std::fs::write(&big_file, &big).unwrap();
    let err = load_error(Some(&big_file), &[]);
    assert!(err.to_string().contains("larger than"), "{err}");

    // Exactly at the bound is read.
    big.truncate(MAX_ROOTS_BYTES as usize);
    std::fs::write(&big_file, &big).unwrap();
    let v = verifier(Some(&big_file), &[]);
    assert_trusted(&*v, "a file of exactly 16 MiB", &leaf(&root));

    // The file and the directory share the bound: the directory's first byte
    // past it is refused, with the directory named.
    let dir = tmp.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("other.pem"), &ca("Other").pem);
    let err = load_error(Some(&big_file), &[&dir]);
    assert!(
        matches!(
            err,
            TrustRootsError::Unusable {
                var: "SSL_CERT_DIR",
                ..
            }
        ) && err.to_string().contains("larger than"),
        "{err}"
    );

    // An oversized file in the directory is refused, not skipped.
    let small = write(&tmp.path().join("small.pem"), &root.pem);
    let dir2 = tmp.path().join("dir2");
    std::fs::create_dir(&dir2).unwrap();
    std::fs::rename(&big_file, dir2.join("big.pem")).unwrap();
    let mut over = std::fs::OpenOptions::new()
        .append(true)
        .open(dir2.join("big.pem"))
        .unwrap();
    std::io::Write::write_all(&mut over, b"\n").unwrap();
    let err = load_error(Some(&small), &[&dir2]);
    assert!(err.to_string().contains("larger than"), "{err}");
}

/// The verifier over `source`'s roots, to see which directory files it read.
fn indexed(file: Option<&Path>, dirs: &[&Path]) -> super::verifier::IndexedRootsVerifier {
    let roots = source(file, dirs)
        .load()
        .unwrap_or_else(|e| panic!("the roots load: {e}"));
    super::verifier::IndexedRootsVerifier::new(roots, provider())
}

/// The name `c_rehash` gives `ca`'s first file: `HASH.0`.
fn hash_name(ca: &Ca) -> String {
    let anchor = webpki::anchor_from_trusted_cert(&ca.der).unwrap();
    let hash = super::subject_hash::subject_hash(anchor.subject.as_ref()).unwrap();
    format!("{hash:08x}.0")
}

/// A directory as `c_rehash` lays it out: the i-th root in `rootI.pem`
/// and, for the hashed ones, a `HASH.0` link to it.
fn hashed_dir(path: &Path, roots: &[(&Ca, bool)]) {
    std::fs::create_dir(path).unwrap();
    for (i, (ca, hashed)) in roots.iter().enumerate() {
        let file = write(&path.join(format!("root{i}.pem")), &ca.pem);
        if *hashed {
            link(&file, &path.join(hash_name(ca)));
        }
    }
}

fn assert_files_read(v: &super::verifier::IndexedRootsVerifier, files: usize, why: &str) {
    assert_eq!(v.files_read(), files, "{why}");
}

#[cfg(unix)]
fn link(target: &Path, link: &Path) {
    symlink(target, link);
}

#[cfg(not(unix))]
fn link(target: &Path, link: &Path) {
    std::fs::copy(target, link).unwrap();
}

// c_rehash's layout is symbolic links, which this test counts reads
// through; on Windows `link` copies, and a hashed directory does not occur.
// The trust decisions there are pinned by the other tests.
#[cfg(unix)]
#[test]
fn a_hashed_directory_is_read_by_the_issuers_hash_name_first() {
    let tmp = tempfile::tempdir().unwrap();
    let in_bundle = ca("Bundle Root");
    let (first, second, third) = (ca("First Root"), ca("Second Root"), ca("Third Root"));
    let bundle = write(&tmp.path().join("bundle.pem"), &in_bundle.pem);
    let dir = tmp.path().join("certs");
    hashed_dir(&dir, &[(&first, true), (&second, true), (&third, true)]);

    let v = indexed(Some(&bundle), &[&dir]);
    assert_trusted(&v, "in the bundle", &leaf(&in_bundle));
    assert_files_read(&v, 0, "a chain the bundle anchors reads no directory file");
    assert_trusted(&v, "through its hash name", &leaf(&second));
    assert_files_read(&v, 1, "only the issuer's HASH.0 file is read");
    assert_stranger_untrusted(&v, "a root nobody trusts", "Stranger");
    assert_files_read(&v, 3, "a refusal comes only after every file was read");
    assert_trusted(&v, "after the full read", &leaf(&first));
}

// c_rehash's layout is symbolic links, which this test counts reads
// through; on Windows `link` copies, and a hashed directory does not occur.
// The trust decisions there are pinned by the other tests.
#[cfg(unix)]
#[test]
fn a_miss_in_the_hash_names_falls_back_to_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = write(&tmp.path().join("bundle.pem"), &ca("Bundle Root").pem);
    let (linked, unlinked, misnamed) = (ca("Linked"), ca("Not Linked"), ca("Misnamed"));
    // Two roots of one name: the hash name leads to the other one.
    let (shared, namesake) = (ca("Shared Name"), ca("Shared Name"));
    let dir = tmp.path().join("certs");
    let roots = [(&linked, true), (&unlinked, false), (&shared, true)];
    hashed_dir(&dir, &[roots.as_slice(), &[(&namesake, false)]].concat());
    // A HASH.0 name that leads to another root's file.
    write(&dir.join("misnamed.pem"), &misnamed.pem);
    link(&dir.join("root0.pem"), &dir.join(hash_name(&misnamed)));

    for (what, root) in [
        ("a root without a hash name", &unlinked),
        ("a root whose hash name leads elsewhere", &misnamed),
        (
            "a root whose name's hash file holds its namesake",
            &namesake,
        ),
    ] {
        let v = indexed(Some(&bundle), &[&dir]);
        assert_trusted(&v, what, &leaf(root));
        assert_files_read(&v, 5, what);
    }
    let v = indexed(Some(&bundle), &[&dir]);
    assert_trusted(&v, "the root behind the hash name", &leaf(&shared));
    assert_files_read(&v, 1, "the hash name's file only");
}

#[test]
fn a_directory_without_hash_names_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let roots: Vec<Ca> = (0..4).map(|i| ca(&format!("Plain Root {i}"))).collect();
    let dir = tmp.path().join("certs");
    hashed_dir(
        &dir,
        &roots.iter().map(|root| (root, false)).collect::<Vec<_>>(),
    );
    for root in &roots {
        let v = indexed(None, &[&dir]);
        assert_trusted(&v, "a root of a plain directory", &leaf(root));
    }
    let v = indexed(None, &[&dir]);
    assert_stranger_untrusted(&v, "a root not in it", "Plain Root 9");
    assert_files_read(&v, 4, "every file");
}

#[cfg(unix)]
#[test]
fn each_file_is_read_once_and_each_certificate_indexed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (ca("Root A"), ca("Root B"));
    let bundle = write(
        &tmp.path().join("bundle.pem"),
        &format!("{}{}{}", a.pem, b.pem, a.pem),
    );
    let dir = tmp.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    // The bundle itself, linked into the directory, and a copy of it; one
    // file under two names; a hard link.
    symlink(&bundle, &dir.join("bundle-link.crt"));
    std::fs::copy(&bundle, dir.join("bundle-copy.crt")).unwrap();
    let c = ca("Root C");
    let file = write(&dir.join("c.pem"), &c.pem);
    symlink(&file, &dir.join("c-again.pem"));
    std::fs::hard_link(&file, dir.join("c-hard.pem")).unwrap();

    let v = indexed(Some(&bundle), &[&dir, &dir]);
    assert_trusted(&v, "a", &leaf(&a));
    assert_trusted(&v, "b", &leaf(&b));
    assert_stranger_untrusted(&v, "unknown", "Root D");
    let why = "the copy and c.pem; the bundle's link and c's other names are the same files";
    assert_files_read(&v, 2, why);
    assert_trusted(&v, "c", &leaf(&c));
    let mut roots = source(Some(&bundle), &[&dir]).load().unwrap();
    while let Some(text) = roots.unread.read_next() {
        roots.index.add(text);
    }
    assert_eq!(
        roots.index.len(),
        3,
        "a, b and c once each: the bundle's second a and the copy's are skipped"
    );
}
