//! `scalr-oci module publish | verify` against the real registry
//! (distribution 2.8) with its `redirect` storage middleware: blob GETs
//! answer 307 to a storage host on another origin, as GHCR, Docker Hub, ECR
//! and Quay redirect blob downloads to S3, Azure Blob or GCS. The download
//! must follow the redirect and send the storage host no credential.

// Unix only: built on the Unix stage (`tofu`) and the Debian registry peer.
#![cfg(unix)]

use std::time::Duration;

use scalr_oci_e2e::fake_control_plane::{FakeControlPlane, IntegrationSpec};
use scalr_oci_e2e::keyring_session::NoKeychain;
use scalr_oci_e2e::peers::{self, Output};
use scalr_oci_e2e::registry::Registry;
use scalr_oci_e2e::tofu;

scalr_oci_e2e::ci_runs_the_ignored_tests!();

const USER: &str = "redirect-bot";
const PASSWORD: &str = "pw-redirect-9Qm2xT";

#[test]
#[ignore = "needs peers"]
fn verify_follows_the_registrys_redirect_to_storage_without_credentials() {
    let Some(found) = peers::require_for(
        "verify_follows_the_registrys_redirect_to_storage_without_credentials",
        Registry::PEERS,
    ) else {
        return;
    };
    let (registry, front) = Registry::start_redirecting(&found, USER, PASSWORD);
    let fake = FakeControlPlane::start();
    fake.add_integration(IntegrationSpec::new(
        &format!("https://{}", registry.authority()),
        USER,
        PASSWORD,
    ));
    let home = NoKeychain::new();
    let bundle = tofu::ca_bundle(
        &home.root().join("bundle.pem"),
        &[fake.ca_cert_path(), registry.ca_cert()],
    );
    let module = home.root().join("module");
    tofu::write_module(&module, "redirected");
    let target = format!("oci://{}/team/redirected", registry.authority());
    let run = |args: &[&str]| -> Output {
        let mut cmd = home.command(tofu::scalr_oci_bin());
        cmd.env("SCALR_HOSTNAME", fake.hostname())
            .env("SCALR_TOKEN", fake.token())
            .env("SSL_CERT_FILE", &bundle)
            .env("SCALR_OCI_SOURCES", "control-plane")
            .args(args);
        peers::run(&mut cmd, b"", Duration::from_secs(120))
    };
    let publish = |tag: &str| {
        run(&[
            "module",
            "publish",
            module.to_str().unwrap(),
            &target,
            "--tag",
            tag,
        ])
    };
    registry.assert_success(&publish("1.0.0"), "publish");
    // Again: the registry has every blob, and its HEADs redirect too.
    registry.assert_success(&publish("1.0.1"), "publish again");
    let verified = run(&["module", "verify", &format!("{target}?tag=1.0.0")]);
    registry.assert_success(&verified, "verify");
    assert!(
        verified.stdout_lossy().starts_with("ok "),
        "{}",
        verified.show()
    );
    let seen = front.seen();
    assert!(
        seen.iter()
            .any(|r| r.path.starts_with("/docker/registry/v2/blobs/sha256/")),
        "the layer was not fetched from the storage host: {seen:?}"
    );
    for request in &seen {
        assert_eq!(
            request.authorization, None,
            "the storage host got an Authorization header for {}",
            request.path
        );
    }
}
