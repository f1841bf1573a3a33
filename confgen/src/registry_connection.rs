//! A connection to one repository, authenticated with the credentials the
//! helper's own chain finds for its host (keychain, control plane,
//! settings, in the configured order). They stay in memory: no `docker
//! login`, nothing written to disk. A registry that needs none gets none.
//! Shared by `module` and `provider`.

use std::time::Duration;

use docker_credential_scalr::diagnostics::Diagnostics;
use docker_credential_scalr::protocol::{Backend, TOKEN_USERNAME};
use docker_credential_scalr::resolve::Resolver;

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::oci::auth::Login;
use crate::oci::client::{self, Access, Repository};
use crate::oci::reference::Reference;

/// Credentials for `target`'s host from the helper's chain (with the
/// machine's settings), then a connection to its repository authenticated
/// for `access`.
pub fn connect(machine: &Machine, target: &Reference, access: Access) -> Result<Repository> {
    let host = &target.host;
    // The chain's warnings (a plain-text token in use, ambiguous tokens)
    // reach the user on stderr, as the helper's do.
    let mut stderr = std::io::stderr();
    let resolver = Resolver::new(
        machine.settings()?.clone(),
        machine.shared_keychain(),
        Diagnostics::new(&mut stderr, "scalr-oci"),
    );
    let login = resolver.get(host)?.map(|c| Login {
        username: c.username,
        secret: c.secret,
    });
    if login.as_ref().is_some_and(|l| l.username == TOKEN_USERNAME) {
        return Err(Error::Usage(format!(
            "the credentials for {host} are an identity token (username <token>), which registries accept only from Docker's own OAuth flow; store a username and password or access token: `scalr-oci registry add {host} --username NAME`"
        )));
    }
    Ok(Repository::connect_within(
        client::http_client()?,
        &target.endpoint(),
        &target.repository,
        access,
        login,
        deadline(machine.env.settings_var("SCALR_OCI_DEADLINE"))?,
    )?)
}

/// The longest a deadline may be set to (an hour).
const MAX_DEADLINE_SECS: u64 = 3600;

/// `SCALR_OCI_DEADLINE`: the seconds one command may spend with the
/// registry, every request, retry and pause included (default 600).
fn deadline(value: Option<&str>) -> Result<Duration> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(client::COMMAND_DEADLINE);
    };
    match text.parse::<u64>() {
        Ok(secs) if (1..=MAX_DEADLINE_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(Error::Usage(format!(
            "SCALR_OCI_DEADLINE={text:?} is not a number of seconds from 1 to {MAX_DEADLINE_SECS}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_600_s_unless_set_to_1_to_3600() {
        assert_eq!(deadline(None).unwrap(), client::COMMAND_DEADLINE);
        assert_eq!(deadline(Some(" ")).unwrap(), client::COMMAND_DEADLINE);
        assert_eq!(deadline(Some("3")).unwrap(), Duration::from_secs(3));
        for bad in ["0", "3601", "-1", "2s", "x"] {
            let e = deadline(Some(bad)).unwrap_err().to_string();
            assert!(
                e.contains("SCALR_OCI_DEADLINE") && e.contains("1 to 3600"),
                "{e}"
            );
        }
    }
}
