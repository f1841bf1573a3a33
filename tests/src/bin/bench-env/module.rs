//! `bench-env module --dir DIR [--size-mib N]`: what `bench/module-publish.sh`
//! times.
//!
//! The bench stage ([`bench_env::stage`]) with a private gnome-keyring
//! holding the registry password (stored by `scalr-oci registry add`), a
//! module directory `DIR/module` of N MiB (default 5: the `.tf` files of
//! [`tofu::write_module`] plus `files/data.bin`), and three scripts:
//!
//! - `prepare.sh`: new random content in `files/data.bin`, so that every
//!   timed run uploads N MiB (neither side may skip a blob it pushed before);
//! - `ours.sh`: `scalr-oci module publish DIR/module oci://…/bench/ours`,
//!   credentials from the keychain;
//! - `theirs.sh`: the guide's recipe: `zip -qr` of the same tree (the
//!   guide's exclusions), then `oras push --artifact-type … pkg.zip:archive/zip`,
//!   credentials from a Docker-style config with plain-text `auths` (what
//!   `oras login` leaves behind; a throw-away password).
//!
//! Each runs in a complete, cleared environment. Both are run once and
//! checked before `ready` is printed.

use std::path::Path;
use std::process::ExitCode;

use scalr_oci_e2e::bench_env::{KeychainVsPlainText, env_args, quote, script};
use scalr_oci_e2e::tofu;

pub fn main(dir: &Path, size_mib: usize) -> ExitCode {
    let Some(bed) = KeychainVsPlainText::start(dir) else {
        return ExitCode::FAILURE;
    };
    let (dir, stage, env) = (&bed.dir, &bed.stage, &bed.keychain.env);
    let authority = stage.registry.authority();

    let module = dir.join("module");
    tofu::write_module(&module, "1.0.0");
    std::fs::create_dir_all(module.join("files")).expect("mkdir files");

    let data = module.join("files/data.bin");
    script(
        &dir.join("prepare.sh"),
        &format!(
            "head -c {} /dev/urandom > {}\n",
            size_mib * 1024 * 1024,
            quote(&data)
        ),
    );
    let ours = format!(
        "exec env -i {} {} module publish {} oci://{authority}/bench/ours --tag bench >/dev/null\n",
        env_args(env),
        quote(tofu::scalr_oci_bin()),
        quote(&module)
    );
    script(&dir.join("ours.sh"), &ours);
    let zip = dir.join("pkg.zip");
    let theirs = format!(
        "cd {module} || exit 1\nrm -f {zip}\nzip -qr {zip} . -x '.git/*' '.terraform/*' || exit 1\n\
         cd {dir} || exit 1\n\
         exec env -i {env} {oras} push --registry-config {config} --artifact-type application/vnd.opentofu.modulepkg \
         {authority}/bench/theirs:bench pkg.zip:archive/zip >/dev/null\n",
        module = quote(&module),
        zip = quote(&zip),
        dir = quote(dir),
        env = env_args(env),
        oras = quote(&stage.tools.oras),
        config = quote(&bed.oras_config),
    );
    script(&dir.join("theirs.sh"), &theirs);

    bed.check_and_serve(&["prepare.sh", "ours.sh", "prepare.sh", "theirs.sh"])
}
