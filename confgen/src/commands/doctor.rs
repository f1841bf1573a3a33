//! `scalr-oci doctor`: a live check of each registry, turning the known
//! troubleshooting cases into diagnoses.
//!
//! Per registry: the endpoint answers HTTPS without redirecting (Scalr and
//! registry clients reject redirecting URLs such as https://docker.io);
//! `GET /v2/` gives a 401 challenge; docker-credential-scalr, called exactly
//! as OpenTofu calls it, has credentials; and the Basic or Bearer token flow
//! succeeds with them. Failures are explained; no secret is printed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use docker_credential_scalr::client::{self, GetAnswer};
use docker_credential_scalr::error::NetworkFailure;
use docker_credential_scalr::keychain::Keychain;
use docker_credential_scalr::protocol::TOKEN_USERNAME;
use docker_credential_scalr::registry::{DOCKER_HUB_ENDPOINT, RegistryHost};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::address::written_authority;
use crate::environment::{Env, HELPER_BINARY};
use crate::error::{Error, Result};
use crate::inventory::{Answer, Claims, ControlPlaneView, Inventory, Reach};
use crate::login_check::{self, Outcome};
use crate::machine::Machine;
use crate::oci::auth::{Challenge, Login};
use crate::oci::limits::{Budget, read_bounded};
use crate::output::say;
use crate::tofurc::provider_mirror;

/// A service-discovery document.
const MAX_DOCUMENT: u64 = 64 * 1024;

pub fn run(machine: &Machine, registries: &[String], out: &mut dyn Write) -> Result<()> {
    let endpoints: Vec<String> = registries
        .iter()
        .map(|r| endpoint_of(r))
        .collect::<Result<_>>()?;
    diagnose(
        &Inventory::scan(machine, Reach::WithControlPlane),
        endpoints,
        out,
    )
}

/// Checks `endpoints` (every known registry when none is given) on a
/// scanned machine (scanned with the control plane).
fn diagnose(inventory: &Inventory, endpoints: Vec<String>, out: &mut dyn Write) -> Result<()> {
    // A file OpenTofu or Docker cannot parse fails every run of theirs:
    // a failure here too, named with its line and column.
    let mut failures = 0;
    for file in inventory.unreadable() {
        failures += 1;
        say!(out, "FAIL  {}", file.error)?;
    }
    let endpoints: Vec<String> = if endpoints.is_empty() {
        inventory
            .known_hosts()
            .iter()
            .map(RegistryHost::api_endpoint)
            .collect()
    } else {
        endpoints
    };
    if endpoints.is_empty() {
        say!(
            out,
            "No registry to check: none is configured yet. Name one: `scalr-oci doctor ghcr.io`."
        )?;
        return match failures {
            0 => Ok(()),
            problems => Err(Error::ProblemsFound { problems }),
        };
    }
    let client = login_check::client()?;
    provider_mirror::report(&inventory.installations(), "info  ", out)?;
    let claims = inventory.claims();
    // A Scalr host is checked through terraform-credentials-scalr; the
    // Docker helper on PATH matters only for registries.
    let registries_asked = endpoints.iter().any(|e| !inventory.is_scalr_host(e));
    let helper = &inventory.helper_binary;
    match helper {
        _ if !registries_asked => {}
        Some(path) => say!(out, "ok    {HELPER_BINARY} is on PATH ({})", path.display())?,
        None => {
            failures += 1;
            say!(
                out,
                "FAIL  {HELPER_BINARY} is not on PATH: OpenTofu and Docker look for it only there (checking with the keychain directly instead)"
            )?;
        }
    }
    let control = inventory
        .control_plane
        .as_ref()
        .expect("scanned with the control plane");
    if control.failed {
        failures += 1;
        say!(out, "FAIL  {}", control.summary)?;
    } else {
        say!(out, "ok    {}", control.summary)?;
    }
    for endpoint in &endpoints {
        say!(out, "\n{endpoint}:")?;
        let mut report = Report { out, failures: 0 };
        if inventory.is_scalr_host(endpoint) {
            check_scalr_host(&client, &inventory.env, endpoint, &mut report)?;
        } else {
            check(
                &client,
                endpoint,
                &claims,
                control,
                inventory,
                helper.as_deref(),
                &mut report,
            )?;
        }
        failures += report.failures;
    }
    if failures > 0 {
        return Err(Error::ProblemsFound { problems: failures });
    }
    Ok(())
}

/// The authority to contact, as typed: `https://docker.io/` → `docker.io`
/// (not normalised to Docker Hub's alias, so that a redirect is noticed).
fn endpoint_of(input: &str) -> Result<String> {
    Ok(written_authority(input)?.1)
}

struct Report<'a> {
    out: &'a mut dyn Write,
    failures: usize,
}

impl Report<'_> {
    fn ok(&mut self, line: &str) -> Result<()> {
        say!(self.out, "  ok    {line}")
    }
    fn warn(&mut self, line: &str) -> Result<()> {
        say!(self.out, "  warn  {line}")
    }
    fn fail(&mut self, line: &str) -> Result<()> {
        self.failures += 1;
        say!(self.out, "  FAIL  {line}")
    }
}

fn check(
    client: &Client,
    endpoint: &str,
    claims: &Claims,
    control: &ControlPlaneView,
    inventory: &Inventory,
    helper: Option<&Path>,
    report: &mut Report,
) -> Result<()> {
    let host = RegistryHost::parse(endpoint)?;
    let base = format!("https://{endpoint}");
    let ping = match client.get(format!("{base}/v2/")).send() {
        Ok(response) => response,
        Err(e) => return report.fail(&explain_transport(&base, &e)),
    };
    let status = ping.status();
    if status.is_redirection() {
        let to = header(&ping, "location").unwrap_or_default();
        let hint = if host.is_docker_hub() {
            format!(" Use https://{DOCKER_HUB_ENDPOINT}, Docker Hub's registry endpoint.")
        } else {
            " Use the registry's own API endpoint (see your registry's documentation).".into()
        };
        return report.fail(&format!(
            "{base} redirects ({status}) to {to}: registry URLs must be the exact, non-redirecting HTTPS endpoint; OpenTofu and Scalr's integration validation reject it.{hint}"
        ));
    }
    report.ok(&format!("{base} answers HTTPS without redirecting"))?;
    let anonymous = status.is_success();
    if anonymous {
        report
            .ok("GET /v2/ succeeds without credentials: this registry allows anonymous access")?;
    } else if status == StatusCode::NOT_FOUND {
        return report.fail(&format!(
            "GET {base}/v2/ gives 404: this is not a Docker Registry HTTP API V2 endpoint"
        ));
    } else if status != StatusCode::UNAUTHORIZED {
        return report.fail(&format!(
            "GET {base}/v2/ gives {status}, expected 401 with an authentication challenge"
        ));
    }
    let challenge = header(&ping, "www-authenticate");
    if status == StatusCode::UNAUTHORIZED {
        match &challenge {
            Some(c) => report.ok(&format!(
                "GET /v2/ asks for credentials ({} challenge)",
                c.split_whitespace().next().unwrap_or("?")
            ))?,
            None => return report.fail(
                "GET /v2/ gives 401 without a WWW-Authenticate challenge; clients cannot log in",
            ),
        }
    }

    let plain: Vec<&str> = claims
        .by_host
        .get(&host.key())
        .into_iter()
        .flatten()
        .filter(|c| c.plaintext)
        .map(|c| c.place.as_str())
        .collect();
    {
        if !plain.is_empty() {
            report.warn(&format!(
                "plain-text credentials for this registry are also configured ({}); two sources claim one host, and a client may use those instead of docker-credential-scalr. Run `scalr-oci migrate`.",
                plain.join("; ")
            ))?;
        }
    }

    let integrations: Vec<String> = control
        .integrations_for(&host)
        .into_iter()
        .map(|i| {
            format!(
                "{} ({}{})",
                i.name,
                i.id,
                if i.usable() { "" } else { ", not exported" }
            )
        })
        .collect();
    if integrations.len() > 1 {
        report.warn(&format!(
            "{} Scalr integrations claim this host: {}; only one set of credentials is used per host, so consolidate them or disable Export credentials on the unused ones",
            integrations.len(),
            integrations.join(", ")
        ))?;
    }

    let keychain = inventory.keychain_store();
    let Some((username, secret)) = credentials(&host, keychain, helper, anonymous, report)? else {
        return Ok(());
    };
    if username == TOKEN_USERNAME {
        report.warn("the helper answers with an identity token (username <token>): Docker and skopeo accept it, but OpenTofu refuses it (\"only username/password-style is allowed from a credential helper\"); store a username and password or access token for OpenTofu")?;
        return Ok(());
    }
    let Some(challenge) = challenge else {
        return Ok(());
    };
    // One parser, one realm policy and one bounded token fetch for every
    // registry client of ours: every challenge of every header, Bearer
    // preferred.
    let challenges = Challenge::from_headers(ping.headers());
    let Some(challenge) = Challenge::pick(&challenges) else {
        return report.warn(&format!(
            "unknown challenge scheme {:?}; cannot check the credentials",
            challenge.split_whitespace().next().unwrap_or("?")
        ));
    };
    let scheme = challenge.scheme.clone();
    // Who answered, so a rejection names the source and its fix.
    let source = Source {
        host: host.to_string(),
        answer: control
            .who_answers(&host, inventory.keychain.entries())
            .first()
            .cloned(),
        plaintext: plain.iter().map(|p| p.to_string()).collect(),
    };
    let login = Login {
        username: username.clone(),
        secret,
    };
    let url = format!("{base}/v2/");
    let denied = |status: u16, who: &str| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
        explain_denied(status, who, &username, &source)
    };
    match login_check::log_in(client, &url, challenge, &login) {
        Ok(Outcome::Accepted) => report.ok(&format!(
            "the credentials of {username} authenticate ({scheme} flow)"
        )),
        Ok(Outcome::TokenRefused(status)) => report.fail(&denied(status, "the token service")),
        Ok(Outcome::Refused(status)) => report.fail(&denied(status, "the registry")),
        Ok(Outcome::Unanswered(e)) => report.fail(&explain_transport(&base, &e)),
        Err(e) => report.fail(&e.to_string()),
    }
}

/// Asks the helper (found on PATH) the way OpenTofu does (`get`, stdin
/// `https://host`); falls back to the keychain when it is not on PATH.
fn credentials(
    host: &RegistryHost,
    keychain: &Keychain,
    helper: Option<&Path>,
    anonymous: bool,
    report: &mut Report,
) -> Result<Option<(String, SecretString)>> {
    // No credentials where none are needed is a pass, with a note.
    let none_found = |report: &mut Report, who: &str| {
        let add = format!(
            "`scalr-oci registry add {host} --username NAME`, or export a Scalr Docker registry integration for it"
        );
        if anonymous {
            report.ok(&format!(
                "{who} has no credentials for {host}; none are needed to pull from it (anonymous access). A private repository or a push needs them: {add}"
            ))
        } else {
            report.fail(&format!("{who} has no credentials for {host}: {add}"))
        }
    };
    let Some(helper) = helper else {
        return match keychain.get(host) {
            Ok(Some(c)) => {
                report.ok(&format!(
                    "the keychain holds credentials of {} for {host}",
                    c.username
                ))?;
                Ok(Some((c.username, c.secret)))
            }
            Ok(None) => {
                none_found(report, "the keychain")?;
                Ok(None)
            }
            Err(e) => {
                report.fail(&e.to_string())?;
                Ok(None)
            }
        };
    };
    let mut get = Command::new(helper);
    get.arg("get").stderr(Stdio::inherit());
    let answer = client::get(get, &format!("https://{}", host.authority()))
        .map_err(Error::io(helper, "run"))?;
    let (username, secret) = match answer {
        GetAnswer::Found {
            username, secret, ..
        } if !username.is_empty() => (username, secret),
        GetAnswer::Found { .. } => {
            report.fail("docker-credential-scalr answered without a username")?;
            return Ok(None);
        }
        GetAnswer::NotFound => {
            none_found(report, "docker-credential-scalr")?;
            return Ok(None);
        }
        GetAnswer::Failed { message, .. } => {
            report.fail(&format!("docker-credential-scalr get failed: {message}"))?;
            return Ok(None);
        }
        GetAnswer::Malformed { .. } => {
            report.fail("docker-credential-scalr answered without a username")?;
            return Ok(None);
        }
    };
    report.ok(&format!(
        "docker-credential-scalr answers for {host} (user {username})"
    ))?;
    Ok(Some((username, secret)))
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// Where the credentials doctor checked came from: the source that answered
/// (none when the helper on PATH is not ours to read), and the plain-text
/// places that also claim the host.
pub struct Source {
    pub host: String,
    pub answer: Option<Answer>,
    pub plaintext: Vec<String>,
}

/// What a 401 or 403 most likely means, in the words of the troubleshooting
/// guides this product was specified from, with the fix for the source that
/// answered.
pub fn explain_denied(status: StatusCode, who: &str, username: &str, source: &Source) -> String {
    let host = &source.host;
    let fix = match &source.answer {
        Some(answer) => answer.fix(host),
        None => format!(
            "store the right ones with `scalr-oci registry add {host} --username {username}`, or fix the Scalr integration that exports them"
        ),
    };
    let plain = match source.plaintext.as_slice() {
        [] => String::new(),
        places => format!(
            " Plain-text credentials for this host are also configured ({}), and a client may send those instead: `scalr-oci migrate`.",
            places.join("; ")
        ),
    };
    match status {
        StatusCode::UNAUTHORIZED => format!(
            "{who} rejects the credentials of {username} (401): the token or password was revoked, has expired, or is wrong; {fix}.{plain}"
        ),
        StatusCode::FORBIDDEN => {
            let scope = match &source.answer {
                Some(Answer::ControlPlane { name, id, .. }) => format!(
                    " or Export credentials is disabled on the Scalr integration {name} ({id})"
                ),
                _ => String::new(),
            };
            format!(
                "{who} accepts {username} but denies access (403): the token lacks the scope for this registry (read:packages on GHCR, read_registry on GitLab, pull access on Artifactory){scope}; {fix}.{plain}"
            )
        }
        other => format!("{who} answered {other} to {username}'s credentials; {fix}.{plain}"),
    }
}

/// A request that got no answer, explained by the helper's own
/// [`NetworkFailure`] (so the helper and doctor say the same thing), with
/// what to check next.
fn explain_transport(url: &str, error: &reqwest::Error) -> String {
    let failure = NetworkFailure::of(error);
    let next = match failure {
        NetworkFailure::UntrustedCertificate { .. } => "OpenTofu honours the same variable.",
        NetworkFailure::Timeout | NetworkFailure::Unreachable { .. } => {
            "Check the host name, the port and any proxy (HTTPS_PROXY, NO_PROXY). Registries must serve HTTPS, even on localhost."
        }
    };
    format!("{url} {failure}. {next}")
}

/// A Scalr host as OpenTofu uses it: service discovery answers with the
/// module registry, terraform-credentials-scalr (run as OpenTofu runs it)
/// has a token, and the host accepts it. The token is never printed.
fn check_scalr_host(client: &Client, env: &Env, host: &str, report: &mut Report) -> Result<()> {
    use crate::credentials_helper as ch;
    let discovery = format!("https://{host}/.well-known/terraform.json");
    let services: Value = match client.get(&discovery).send() {
        Ok(r) if r.status() == StatusCode::OK => {
            match read_bounded(
                r,
                MAX_DOCUMENT,
                "the discovery document",
                &discovery,
                &Budget::default(),
            )
            .map(|bytes| serde_json::from_slice(&bytes))
            {
                Ok(Ok(v)) => v,
                Ok(Err(_)) => return report.fail(&format!("{discovery} is not JSON")),
                Err(e) => return report.fail(&e.to_string()),
            }
        }
        Ok(r) => return report.fail(&format!("{discovery} answered {}", r.status())),
        Err(e) => return report.fail(&explain_transport(&discovery, &e)),
    };
    match services.get("modules.v1").and_then(Value::as_str) {
        Some(path) => report.ok(&format!(
            "service discovery: the module registry is at {path}"
        ))?,
        None => report.warn("service discovery names no module registry (modules.v1)")?,
    }
    let Ok(plugin) = ch::plugin_path(env) else {
        return report
            .fail("cannot find your home directory, so not OpenTofu's plugin directory either");
    };
    if !plugin.exists() {
        return report.fail(&format!(
            "{} is missing: OpenTofu finds no credentials helper (`scalr-oci configure tofu --credentials-helper`)",
            plugin.display()
        ));
    }
    let output = Command::new(&plugin)
        .args(["get", host])
        .stdin(Stdio::null())
        .output()
        .map_err(Error::io(&plugin, "run"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return report.fail(&format!("{} get {host} failed: {why}", ch::PLUGIN));
    }
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let Some(token) = answer
        .get("token")
        .and_then(Value::as_str)
        .map(SecretString::from)
    else {
        return report.fail(&format!(
            "{} has no token for {host}: `scalr-oci login --hostname {host}` (or `tofu login {host}`) stores one",
            ch::PLUGIN
        ));
    };
    report.ok(&format!("{} answers for {host}", ch::PLUGIN))?;
    let tfe = services
        .get("tfe.v2")
        .and_then(Value::as_str)
        .unwrap_or("/api/tfe/v2/");
    let Ok(account) = reqwest::Url::parse(&discovery)
        .and_then(|base| base.join(tfe))
        .and_then(|base| base.join("account/details"))
    else {
        return report.fail(&format!("service discovery's tfe.v2 ({tfe}) is not a URL"));
    };
    match client
        .get(account.clone())
        .bearer_auth(token.expose_secret())
        .header("Accept", "application/vnd.api+json")
        .send()
    {
        Ok(r) if r.status().is_success() => report.ok(&format!("{host} accepts the token")),
        Ok(r) if r.status() == StatusCode::UNAUTHORIZED => report.fail(&format!(
            "{host} refuses the token (401): it is wrong, expired or revoked; log in again"
        )),
        Ok(r) => report.fail(&format!("{account} answered {}", r.status())),
        Err(e) => report.fail(&explain_transport(account.as_str(), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::tests::{assert_has_lines, scanned_in};

    #[test]
    fn endpoints_keep_what_was_typed() {
        assert_eq!(endpoint_of("https://docker.io/").unwrap(), "docker.io");
        assert_eq!(endpoint_of("GHCR.io").unwrap(), "ghcr.io");
        assert_eq!(endpoint_of("localhost:5000").unwrap(), "localhost:5000");
        assert!(endpoint_of("https://user@evil").is_err());
    }

    #[test]
    fn an_unreachable_registry_is_explained_with_what_to_check() {
        // Port 1 on the loopback: nothing listens, the connection is refused.
        let error = docker_credential_scalr::https::builder()
            .unwrap()
            .build()
            .unwrap()
            .get("https://127.0.0.1:1/v2/")
            .send()
            .unwrap_err();
        let text = explain_transport("https://127.0.0.1:1", &error);
        assert!(
            text.starts_with("https://127.0.0.1:1 cannot be reached ("),
            "{text}"
        );
        assert!(text.contains("HTTPS_PROXY"), "{text}");
    }

    fn source(answer: Option<Answer>, plaintext: &[&str]) -> Source {
        Source {
            host: "ghcr.io".into(),
            answer,
            plaintext: plaintext.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn denials_are_explained() {
        let cp = Answer::ControlPlane {
            name: "ghcr-prod".into(),
            id: "dr-1".into(),
            user: "bot".into(),
        };
        let e = explain_denied(
            StatusCode::UNAUTHORIZED,
            "the registry",
            "bot",
            &source(Some(cp.clone()), &[]),
        );
        assert!(
            e.contains("revoked") && e.contains("Export credentials"),
            "{e}"
        );
        assert!(e.contains("the Scalr integration ghcr-prod (dr-1)"), "{e}");
        let e = explain_denied(
            StatusCode::FORBIDDEN,
            "the registry",
            "bot",
            &source(Some(cp), &[]),
        );
        assert!(
            e.contains("403") && e.contains("scope") && e.contains("ghcr-prod"),
            "{e}"
        );
    }

    /// The keychain's alice rejected with a 401, beside `plaintext` claims.
    fn keychain_rejected(plaintext: &[&str]) -> String {
        let kc = Answer::Keychain {
            user: "alice".into(),
        };
        explain_denied(
            StatusCode::UNAUTHORIZED,
            "the registry",
            "alice",
            &source(Some(kc), plaintext),
        )
    }

    /// A wrong password stored in the keychain: the fix is to store the
    /// right one, not to look at a Scalr integration that is not involved.
    #[test]
    fn a_rejected_keychain_credential_says_to_store_it_again() {
        let e = keychain_rejected(&[]);
        assert_eq!(
            e,
            "the registry rejects the credentials of alice (401): the token or password was revoked, has expired, or is wrong; they come from the OS keychain (user alice): store the right ones with `scalr-oci registry add ghcr.io --username alice`."
        );
        assert!(!e.contains("integration"), "{e}");
    }

    #[test]
    fn a_rejection_names_plain_text_claims_too() {
        let e = keychain_rejected(&["Docker auths (plain text) in /h/.docker/config.json"]);
        assert!(e.ends_with("(Docker auths (plain text) in /h/.docker/config.json), and a client may send those instead: `scalr-oci migrate`."), "{e}");
    }

    /// A doctor report from an Inventory built in-process: the helper on
    /// PATH and the provider mirror it names come from the scan of the
    /// machine's `Env`; a registry that cannot be reached is a failure.
    #[test]
    fn doctor_reports_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let tofurc = "provider_installation {\n  direct {}\n}\n";
        let (_, inventory) = scanned_in(dir.path(), tofurc);
        let helper = inventory.helper_binary.clone().unwrap();
        let mut out = Vec::new();
        // Port 1 on the loopback: nothing listens.
        let e = diagnose(&inventory, vec!["127.0.0.1:1".into()], &mut out).unwrap_err();
        assert!(matches!(e, Error::ProblemsFound { problems: 1 }), "{e}");
        let text = String::from_utf8(out).unwrap();
        let config = dir.path().join("home").join(".tofurc");
        assert_has_lines(
            &text,
            &[
                format!(
                    "info  provider_installation in {}: no oci_mirror (not written by scalr-oci)",
                    config.display()
                ),
                format!("ok    {HELPER_BINARY} is on PATH ({})", helper.display()),
                "ok    Scalr control plane: not asked (a unit test)".into(),
                "127.0.0.1:1:".into(),
            ],
        );
        assert!(
            text.contains("  FAIL  https://127.0.0.1:1 cannot be reached ("),
            "{text}"
        );
    }
}
