//! `bench-env provider --dir DIR`: what `bench/provider-mirror.sh` times.
//!
//! The bench stage ([`bench_env::stage`]) with a private gnome-keyring
//! holding the registry password (stored by `scalr-oci registry add`), and
//! three scripts over the four provider-simple-v6 zips that
//! `tests/peers/install.sh` builds:
//!
//! - `prepare.sh`: the next run number, so that every timed run pushes to a
//!   new repository and uploads every zip (about 60 MiB);
//! - `ours.sh`: `scalr-oci provider push ZIPS… oci://…/bench/ours-N/simple`,
//!   credentials from the keychain: one command;
//! - `theirs.sh`: the documentation's recipe: `oras push` per platform into
//!   a fresh OCI layout, `oras manifest index create`, `oras cp` to
//!   `…/bench/theirs-N/simple:1.0.0`, credentials from the plain-text
//!   `auths` `oras login` leaves: six commands.
//!
//! Each runs in a cleared environment; both run once and are checked before
//! `ready` is printed.

use std::path::Path;
use std::process::ExitCode;

use scalr_oci_e2e::bench_env::{KeychainVsPlainText, env_args, quote, script};
use scalr_oci_e2e::provider_simple::{self, PLATFORMS, VERSION, Zips};
use scalr_oci_e2e::tofu;

pub fn main(dir: &Path) -> ExitCode {
    let Some(zips) = provider_simple::require() else {
        return ExitCode::FAILURE;
    };
    let Some(bed) = KeychainVsPlainText::start(dir) else {
        return ExitCode::FAILURE;
    };
    let (dir, stage, env) = (&bed.dir, &bed.stage, &bed.keychain.env);
    let authority = stage.registry.authority();

    let counter = dir.join("run");
    script(
        &dir.join("prepare.sh"),
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0)\necho $((n + 1)) > {c}\n",
            c = quote(&counter)
        ),
    );
    let files: Vec<String> = PLATFORMS.iter().map(|p| quote(&zips.path(p))).collect();
    script(
        &dir.join("ours.sh"),
        &format!(
            "n=$(cat {c})\nexec env -i {env} {bin} provider push {files} oci://{authority}/bench/ours-$n/simple >/dev/null\n",
            c = quote(&counter),
            env = env_args(env),
            bin = quote(tofu::scalr_oci_bin()),
            files = files.join(" "),
        ),
    );
    let layout = dir.join("tmp-layout");
    let oras = |args: &str| {
        format!(
            "env -i {} {} {args} >/dev/null || exit 1\n",
            env_args(env),
            quote(&stage.tools.oras)
        )
    };
    let mut theirs = format!(
        "n=$(cat {c})\ncd {zips} || exit 1\nrm -rf {layout}\n",
        c = quote(&counter),
        zips = quote(&zips.dir),
        layout = quote(&layout)
    );
    for platform in PLATFORMS {
        theirs.push_str(&oras(&format!(
            "push --artifact-type application/vnd.opentofu.provider-target --artifact-platform {} --oci-layout {}:{platform} {}:archive/zip",
            platform.replace('_', "/"),
            quote(&layout),
            Zips::file_name(platform)
        )));
    }
    theirs.push_str(&oras(&format!(
        "manifest index create --artifact-type=application/vnd.opentofu.provider --oci-layout {}:{VERSION} {}",
        quote(&layout),
        PLATFORMS.join(" ")
    )));
    theirs.push_str(&oras(&format!(
        "cp --to-registry-config {} --from-oci-layout {}:{VERSION} {authority}/bench/theirs-$n/simple:{VERSION}",
        quote(&bed.oras_config),
        quote(&layout)
    )));
    script(&dir.join("theirs.sh"), &theirs);

    bed.check_and_serve(&["prepare.sh", "ours.sh", "theirs.sh"])
}
