//! The Scalr control plane as scalr-oci uses it, through the helper's own
//! client and token discovery (so that status, doctor and the helper agree
//! on which token and which integration answer).

use docker_credential_scalr::control_plane::{ControlPlane, Integration};
use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::scalr_access::{self, ScalrAccess};
use docker_credential_scalr::settings::Settings;

use crate::address::written_authority;
use crate::error::{Error, Result};
use crate::tofurc;

/// The Scalr access the helper would use with `settings`, if any.
pub fn access(settings: &Settings, keychain: &Keychain) -> Result<Option<ScalrAccess>> {
    Ok(scalr_access::discover(settings, keychain)?)
}

/// Connects with the discovered access, or says how to provide one.
pub fn connect(settings: &Settings, keychain: &Keychain) -> Result<ControlPlane> {
    let access = access(settings, keychain)?.ok_or(Error::NoScalrToken)?;
    Ok(ControlPlane::connect(access, settings)?)
}

/// The OpenTofu label of an integration's registry: its URL's authority as
/// written (`https://registry-1.docker.io` → `registry-1.docker.io`), which
/// is the host OpenTofu module sources name.
pub fn label_of(integration: &Integration) -> Option<String> {
    let (_, authority) = written_authority(&integration.registry_url).ok()?;
    tofurc::validate_helper_label(&authority).ok()?;
    Some(authority)
}

/// Labels for every exported, non-disabled integration, deduplicated, with
/// the integrations that were left out and why.
pub fn exported_labels(control_plane: &ControlPlane) -> Result<(Vec<String>, Vec<String>)> {
    let mut labels = Vec::new();
    let mut left_out = Vec::new();
    for integration in control_plane.integrations()? {
        let name = format!("{} ({})", integration.name, integration.id);
        if !integration.usable() {
            left_out.push(format!(
                "{name}: {}",
                if integration.export_credentials {
                    "disabled"
                } else {
                    "Export credentials is off"
                }
            ));
            continue;
        }
        match label_of(&integration) {
            Some(label) if labels.contains(&label) => left_out.push(format!(
                "{name}: a second integration for {label}; only one set of credentials per host is used"
            )),
            Some(label) => labels.push(label),
            None => left_out.push(format!("{name}: its registry URL is not a valid host")),
        }
    }
    Ok((labels, left_out))
}
