//! What `docker-credential-scalr --help` and `terraform-credentials-scalr
//! --help` say, and what their man pages say: one text per helper, kept as
//! data so that the `--help` output and the man page (rendered by
//! `scalr-oci man`) cannot drift apart.
//!
//! Every environment variable the helpers read is listed here; a test in
//! `helper/tests/help.rs` checks that against the source.

use std::fmt::Write as _;

/// One helper's manual: the `--help` text and the man page are made of it.
pub struct Help {
    pub name: &'static str,
    /// The man page's NAME line, after the dash.
    pub summary: &'static str,
    pub synopsis: &'static str,
    /// Paragraphs, separated by blank lines.
    pub description: &'static str,
    /// (verb, what it does).
    pub verbs: &'static [(&'static str, &'static str)],
    /// (variable, what it changes).
    pub environment: &'static [(&'static str, &'static str)],
    /// (file or setting, what it holds).
    pub files: &'static [(&'static str, &'static str)],
    /// (what it shows, the command).
    pub examples: &'static [(&'static str, &'static str)],
}

/// The variables both helpers share: where the control plane is and how it
/// is reached.
const CONTROL_PLANE_ENV: [(&str, &str); 5] = [
    (
        "SCALR_HOSTNAME",
        "The Scalr account's host (acme.scalr.io). A Scalr run sets it.",
    ),
    (
        "SCALR_TOKEN",
        "A Scalr API token for SCALR_HOSTNAME. A Scalr run sets it; used before the keychain.",
    ),
    (
        "SCALR_PROFILE",
        "The profile of scalr-cli's ~/.scalr/scalr.conf to read the token from (default: default).",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "PEM trust roots that replace the system's (a private CA).",
    ),
    (
        "HTTPS_PROXY, NO_PROXY",
        "The proxy for HTTPS requests, and the hosts that bypass it.",
    ),
];

pub const DOCKER_HELPER: Help = Help {
    name: "docker-credential-scalr",
    summary: "Docker credential helper answering from the OS keychain or the Scalr control plane",
    synopsis: "docker-credential-scalr get|store|erase|list|version",
    description: "Docker, OpenTofu (oci:// modules and providers), skopeo, podman and ORAS run it as \
their credential helper: the verb is the first argument, the request comes on stdin and the \
answer goes to stdout (Docker's credential-helper protocol). A failure is one line on stdout and \
exit status 1; diagnostics go to stderr.\n\n\
A get asks the sources in order: the OS keychain (what `scalr-oci registry add` stored), then the \
Scalr control plane, which exports the account's Docker registry integrations for a Scalr token. \
Answers are cached for a few minutes, encrypted, under the user's cache directory. Secrets never \
go to argv, files in plain text or logs.\n\n\
Set it up with `scalr-oci configure`, which points Docker, containers and OpenTofu at it.",
    verbs: &[
        (
            "get",
            "Reads a registry (host or URL) on stdin; writes {\"ServerURL\",\"Username\",\"Secret\"} as JSON, or \"credentials not found in native keychain\" and exit 1.",
        ),
        (
            "store",
            "Reads {\"ServerURL\",\"Username\",\"Secret\"} on stdin and keeps it in the OS keychain (docker login).",
        ),
        (
            "erase",
            "Reads a registry on stdin and removes its keychain entry (docker logout).",
        ),
        (
            "list",
            "Writes every registry in the keychain with its username, as JSON; never a secret.",
        ),
        ("version", "Prints the version (also --version, -v)."),
    ],
    environment: &[
        CONTROL_PLANE_ENV[0],
        CONTROL_PLANE_ENV[1],
        CONTROL_PLANE_ENV[2],
        (
            "SCALR_OCI_SOURCES",
            "The sources to ask, in order, comma-separated: keychain, control-plane (default: keychain,control-plane).",
        ),
        (
            "SCALR_OCI_TIMEOUT",
            "Seconds a whole get may take against the control plane, retries included (default 30, at most 600).",
        ),
        (
            "SCALR_OCI_CONNECT_TIMEOUT",
            "Seconds to connect to the control plane (default 5, at most 60).",
        ),
        (
            "SCALR_OCI_CACHE_TTL",
            "Seconds an answer stays cached (default 300, at most 3600; 0 turns the cache off).",
        ),
        (
            "SCALR_OCI_ALLOW_HTTP_LOOPBACK",
            "true lets the control plane be plain http on a loopback address (tests only).",
        ),
        (
            "SCALR_OCI_DEBUG",
            "true writes every step of a get to stderr (never a secret).",
        ),
        (
            "SCALR_OCI_CONFIG",
            "The settings file to read instead of the default one.",
        ),
        CONTROL_PLANE_ENV[3],
        CONTROL_PLANE_ENV[4],
    ],
    files: &[
        (
            "$XDG_CONFIG_HOME/scalr-oci/settings.toml",
            "Settings (~/.config/scalr-oci/settings.toml on Linux; the platform's config directory elsewhere): \
sources = [\"keychain\", \"control-plane\"]; [control_plane] hostname, timeout_secs, connect_timeout_secs, \
allow_http_loopback; [cache] ttl_secs, keychain; [registries.\"HOST\"] sources. The environment wins over the file.",
        ),
        (
            "OS keychain, service docker-credential-scalr",
            "One entry per registry (account: the host); the Scalr token of `scalr-oci login` is under service scalr-oci-token.",
        ),
        (
            "~/.scalr/scalr.conf, ~/.terraform.d/credentials.tfrc.json",
            "Read for a Scalr token when neither the environment nor the keychain has one.",
        ),
    ],
    examples: &[
        (
            "Ask for a registry's credentials as Docker does",
            "echo ghcr.io | docker-credential-scalr get",
        ),
        (
            "Use it for every registry in Docker's ~/.docker/config.json",
            "{ \"credsStore\": \"scalr\" }",
        ),
    ],
};

pub const HOST_TOKEN_HELPER: Help = Help {
    name: "terraform-credentials-scalr",
    summary: "OpenTofu credentials helper for the Scalr host token",
    synopsis: "terraform-credentials-scalr get|store|forget HOST",
    description: "OpenTofu runs it for the token of a service host (the Scalr module and provider \
registry, the remote backend, `tofu login`), through a `credentials_helper \"scalr\" {}` block in \
its CLI configuration; `scalr-oci configure` writes that block and links the helper where OpenTofu \
looks for it (~/.terraform.d/plugins/).\n\n\
A get answers first from SCALR_TOKEN when HOST is SCALR_HOSTNAME (a Scalr run, a CI job), then \
from the OS keychain entry `scalr-oci login` or `tofu login` wrote. With nothing for HOST it \
answers {} so that OpenTofu goes on without a token. A failure is exit 1 and one line on stderr.",
    verbs: &[
        (
            "get HOST",
            "Writes {\"token\":\"…\"} for HOST to stdout, or {} when there is none.",
        ),
        (
            "store HOST",
            "Reads {\"token\":\"…\"} on stdin (tofu login) and keeps it in the OS keychain.",
        ),
        (
            "forget HOST",
            "Removes HOST's token from the keychain (tofu logout); nothing to remove is success.",
        ),
        ("version", "Prints the version (also --version, -v)."),
    ],
    environment: &[CONTROL_PLANE_ENV[0], CONTROL_PLANE_ENV[1]],
    files: &[
        (
            "OS keychain, service scalr-oci-token",
            "One entry per Scalr host (account: the host), written by `scalr-oci login` or `tofu login`.",
        ),
        (
            "credentials_helper \"scalr\" {} in ~/.tofurc",
            "The CLI configuration block that makes OpenTofu run this helper (TF_CLI_CONFIG_FILE names another file).",
        ),
    ],
    examples: &[
        (
            "The token OpenTofu gets for a Scalr host",
            "terraform-credentials-scalr get acme.scalr.io",
        ),
        (
            "Keep a token as tofu login does",
            "tofu login acme.scalr.io",
        ),
    ],
};

impl Help {
    /// The `--help` text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} - {}\n", self.name, self.summary);
        let _ = writeln!(out, "Usage: {}\n", self.synopsis);
        for paragraph in self.description.split("\n\n") {
            let _ = writeln!(out, "{paragraph}\n");
        }
        section(&mut out, "Verbs", self.verbs);
        section(&mut out, "Environment", self.environment);
        section(&mut out, "Settings and files", self.files);
        let _ = writeln!(out, "Examples:");
        for (what, command) in self.examples {
            let _ = writeln!(out, "  # {what}\n  {command}");
        }
        let _ = write!(out, "\nSee also: scalr-oci(1), and `man {}`.", self.name);
        out
    }

    /// The man page, in roff (`man -l` reads it).
    pub fn man_page(&self, version: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            ".TH {} 1 \"\" \"{} {}\" \"User Commands\"",
            roff(&self.name.to_uppercase()),
            roff(self.name),
            roff(version)
        );
        let _ = writeln!(
            out,
            ".SH NAME\n{} \\- {}",
            roff(self.name),
            roff(self.summary)
        );
        let _ = writeln!(out, ".SH SYNOPSIS\n.B {}", roff(self.synopsis));
        let _ = writeln!(out, ".SH DESCRIPTION");
        for (i, paragraph) in self.description.split("\n\n").enumerate() {
            if i > 0 {
                let _ = writeln!(out, ".PP");
            }
            let _ = writeln!(out, "{}", roff(paragraph));
        }
        man_section(&mut out, "VERBS", self.verbs);
        man_section(&mut out, "ENVIRONMENT", self.environment);
        man_section(&mut out, "FILES", self.files);
        let _ = writeln!(out, ".SH EXAMPLES");
        for (what, command) in self.examples {
            let _ = writeln!(
                out,
                ".PP\n{}:\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE",
                roff(what),
                roff(command)
            );
        }
        let _ = writeln!(out, ".SH SEE ALSO\n.BR scalr-oci (1)");
        out
    }
}

fn section(out: &mut String, title: &str, rows: &[(&str, &str)]) {
    let _ = writeln!(out, "{title}:");
    for (name, what) in rows {
        let _ = writeln!(out, "  {name}\n      {what}");
    }
    out.push('\n');
}

fn man_section(out: &mut String, title: &str, rows: &[(&str, &str)]) {
    let _ = writeln!(out, ".SH {title}");
    for (name, what) in rows {
        let _ = writeln!(out, ".TP\n.B {}\n{}", roff(name), roff(what));
    }
}

/// Text made safe for roff: backslashes and dashes escaped, and a line that
/// would start with `.` or `'` (a request) protected.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_requests_dashes_and_backslashes() {
        assert_eq!(roff("a-b"), "a\\-b");
        assert_eq!(roff(".x\n'y"), "\\&.x\n\\&'y");
        assert_eq!(roff("C:\\x"), "C:\\ex");
    }

    #[test]
    fn the_man_page_has_every_section_and_verb() {
        for help in [&DOCKER_HELPER, &HOST_TOKEN_HELPER] {
            let page = help.man_page("0.1.0");
            assert!(page.starts_with(".TH "), "{page}");
            for section in [
                ".SH NAME",
                ".SH SYNOPSIS",
                ".SH DESCRIPTION",
                ".SH VERBS",
                ".SH ENVIRONMENT",
                ".SH FILES",
                ".SH EXAMPLES",
            ] {
                assert!(page.contains(section), "{} lacks {section}", help.name);
            }
            for (verb, _) in help.verbs {
                assert!(page.contains(&format!(".B {}", roff(verb))), "{verb}");
            }
        }
    }
}
