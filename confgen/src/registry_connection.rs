//! A connection to one repository, authenticated with the credentials the
//! helper's own chain finds for its host (keychain, control plane,
//! settings, in the configured order). They stay in memory: no `docker
//! login`, nothing written to disk. A registry that needs none gets none.
//! Shared by `module` and `provider`.

use docker_credential_scalr::diagnostics::Diagnostics;
use docker_credential_scalr::protocol::{Backend, TOKEN_USERNAME};
use docker_credential_scalr::registry::RegistryHost;
use docker_credential_scalr::resolve::Resolver;
use docker_credential_scalr::settings::Settings;

use crate::error::{Error, Result};
use crate::oci::auth::Login;
use crate::oci::client::{self, Access, Repository};

/// Credentials for `host` from the helper's chain, then a connection to
/// `endpoint`'s `repository` authenticated for `access`.
pub fn connect(
    host: &RegistryHost,
    endpoint: &str,
    repository: &str,
    access: Access,
) -> Result<Repository> {
    // The chain's warnings (a plain-text token in use, ambiguous tokens)
    // reach the user on stderr, as the helper's do.
    let mut stderr = std::io::stderr();
    let resolver = Resolver::new(
        Settings::load()?,
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
    Ok(Repository::connect(
        client::http_client()?,
        endpoint,
        repository,
        access,
        login,
    )?)
}
