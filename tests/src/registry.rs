//! A real OCI registry for one test: Debian's `docker-registry` (distribution
//! 2.8) on `127.0.0.1` and a free port, TLS from a fresh [`TestCa`], htpasswd
//! (bcrypt) authentication for one user, storage in a temporary directory.
//! Killed on `Drop`.
//!
//! [`Registry::start_token`] runs it with `auth: token` instead: a
//! [`TokenServer`] (HTTPS, same test CA) issues the Bearer tokens, the way
//! ghcr.io, Docker Hub and GitLab work.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::peers::{self, Found, Output, Peer};
use crate::storage_front::StorageFront;
use crate::tls::TestCa;
use crate::token_server::{self, TokenServer, User};

const STARTUP: Duration = Duration::from_secs(20);

pub struct Registry {
    child: Child,
    port: u16,
    ca: TestCa,
    username: String,
    log: Arc<Mutex<Vec<String>>>,
    token: Option<TokenServer>,
    dir: TempDir,
}

/// How the registry authenticates clients.
enum Auth {
    /// Not at all: anonymous pulls and pushes.
    Anonymous,
    Htpasswd(PathBuf),
    /// The token service, and the realm the registry announces (the
    /// service's own unless a test overrides it).
    Token(TokenServer, String),
}

impl Registry {
    /// The peers [`Registry::start`] needs; pass them to [`peers::require`].
    pub const PEERS: &'static [Peer] = peers::REGISTRY;

    /// Starts a registry that accepts `username` with `password`, and waits
    /// until it listens. Panics when it cannot start within a bounded time.
    pub fn start(found: &Found, username: &str, password: &str) -> Registry {
        let dir = registry_dir();
        let ca = TestCa::create(&dir.path().join("tls"));
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, bcrypt_line(found, username, password))
            .expect("write the htpasswd file");
        Self::launch_with(found, dir, ca, username, Auth::Htpasswd(htpasswd))
    }

    /// A registry without authentication (anonymous pulls, as public
    /// registries allow them).
    pub fn start_anonymous(found: &Found) -> Registry {
        let dir = registry_dir();
        let ca = TestCa::create(&dir.path().join("tls"));
        Self::launch_with(found, dir, ca, "", Auth::Anonymous)
    }

    /// Like [`Registry::start`], with distribution's `redirect` storage
    /// middleware: blob GETs answer 307 to a [`StorageFront`] on an origin
    /// of its own, which serves the registry's storage.
    pub fn start_redirecting(
        found: &Found,
        username: &str,
        password: &str,
    ) -> (Registry, StorageFront) {
        let dir = registry_dir();
        let ca = TestCa::create(&dir.path().join("tls"));
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, bcrypt_line(found, username, password))
            .expect("write the htpasswd file");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("create the registry storage");
        let front = StorageFront::start(&storage, &ca.server_cert_pem, &ca.server_key_pem);
        let middleware = format!(
            "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: \"{}\"\n",
            front.base_url()
        );
        let registry = Self::launch_full(
            found,
            dir,
            ca,
            username,
            Auth::Htpasswd(htpasswd),
            &middleware,
        );
        (registry, front)
    }

    /// Starts a registry with `auth: token`: clients get Bearer tokens from
    /// a [`TokenServer`] that knows `users` (the first is [`Registry::username`]).
    pub fn start_token(found: &Found, users: Vec<User>) -> Registry {
        Self::start_token_with_realm(found, users, None)
    }

    /// Like [`Registry::start_token`], announcing `realm` instead of the
    /// token server's (attack tests: a realm that is not HTTPS).
    pub fn start_token_with_realm(
        found: &Found,
        users: Vec<User>,
        realm: Option<String>,
    ) -> Registry {
        let dir = registry_dir();
        let ca = TestCa::create(&dir.path().join("tls"));
        let username = users.first().map(|u| u.name.clone()).unwrap_or_default();
        let server = TokenServer::start(dir.path(), &ca, users);
        let realm = realm.unwrap_or_else(|| server.realm());
        Self::launch_with(found, dir, ca, &username, Auth::Token(server, realm))
    }

    fn launch_with(
        found: &Found,
        dir: TempDir,
        ca: TestCa,
        username: &str,
        auth: Auth,
    ) -> Registry {
        Self::launch_full(found, dir, ca, username, auth, "")
    }

    /// `extra` is more top-level YAML (e.g. `middleware:`).
    fn launch_full(
        found: &Found,
        dir: TempDir,
        ca: TestCa,
        username: &str,
        auth: Auth,
        extra: &str,
    ) -> Registry {
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("create the registry storage");
        let auth_yaml = match &auth {
            Auth::Anonymous => String::new(),
            Auth::Htpasswd(htpasswd) => format!(
                "  htpasswd:\n    realm: scalr-e2e\n    path: \"{}\"\n",
                htpasswd.display()
            ),
            Auth::Token(server, realm) => format!(
                "  token:\n    realm: \"{realm}\"\n    service: \"{}\"\n    issuer: \"{}\"\n    rootcertbundle: \"{}\"\n",
                token_server::SERVICE,
                token_server::ISSUER,
                server.root_bundle().display()
            ),
        };
        let token = match auth {
            Auth::Anonymous | Auth::Htpasswd(_) => None,
            Auth::Token(server, _) => Some(server),
        };

        // A free port can be taken by someone else between our probe and the
        // registry's bind (tests run in parallel): then it exits at once, and
        // we try another.
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            let yaml = format!("{}{extra}", config_yaml(port, &ca, &auth_yaml, &storage));
            std::fs::write(&config, yaml).expect("write the registry configuration");
            match launch(found, &config, port) {
                Ok((child, log)) => {
                    return Registry {
                        child,
                        port,
                        ca,
                        username: username.to_string(),
                        log,
                        token,
                        dir,
                    };
                }
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "docker-registry did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    /// The token service of a registry started with [`Registry::start_token`].
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, the name clients log in to and key credentials by.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The CA that signed the registry's certificate (PEM): `SSL_CERT_FILE`.
    pub fn ca_cert(&self) -> &Path {
        &self.ca.ca_cert
    }

    /// A directory holding only `ca.crt`, the layout containers tools
    /// (`skopeo --cert-dir`) and Docker's certs.d want.
    pub fn cert_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("certs.d");
        std::fs::create_dir_all(&dir).expect("create the cert dir");
        std::fs::write(dir.join("ca.crt"), &self.ca.ca_pem).expect("write ca.crt");
        dir
    }

    /// Asserts that a client call against this registry succeeded; the
    /// failure message carries the registry's side of the story too.
    pub fn assert_success(&self, out: &Output, what: &str) {
        assert_eq!(
            out.code(),
            Some(0),
            "{what}: {}\nregistry log:\n{}",
            out.show(),
            self.log()
        );
    }

    /// What the registry logged so far, for failure messages.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        peers::kill(&mut self.child);
    }
}

/// One `user:$2y$…` line. The password goes to htpasswd on stdin (`-i`),
/// never in its argv.
fn bcrypt_line(found: &Found, username: &str, password: &str) -> Vec<u8> {
    let out = peers::run(
        Command::new(found.path(Peer::Htpasswd))
            .args(["-n", "-i", "-B"])
            .arg(username),
        password.as_bytes(),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success() && out.stdout.starts_with(format!("{username}:$2").as_bytes()),
        "htpasswd -niB failed: {}",
        out.stderr_lossy()
    );
    out.stdout
}

fn registry_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("scalr-e2e-registry-")
        .tempdir()
        .expect("create the registry directory")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

fn config_yaml(port: u16, ca: &TestCa, auth: &str, storage: &Path) -> String {
    // Paths come from tempfile and contain no quotes or backslashes, so
    // double-quoted YAML strings hold them verbatim.
    format!(
        r#"version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "{storage}"
  delete:
    enabled: true
http:
  addr: "127.0.0.1:{port}"
  secret: "scalr-e2e-not-a-secret"
  tls:
    certificate: "{cert}"
    key: "{key}"
{auth}"#,
        // No `auth:` section at all for an anonymous registry.
        auth = if auth.is_empty() {
            String::new()
        } else {
            format!("auth:\n{auth}")
        },
        storage = storage.display(),
        cert = ca.server_cert.display(),
        key = ca.server_key.display(),
    )
}

type Log = Arc<Mutex<Vec<String>>>;

/// Starts the registry and waits for its "listening on 127.0.0.1:PORT" line
/// (it logs that once the socket is bound), then confirms with a TCP
/// connection. `Err` carries the log when it exits or stays silent.
fn launch(found: &Found, config: &Path, port: u16) -> Result<(Child, Log), String> {
    let mut child = Command::new(found.path(Peer::DockerRegistry))
        .arg("serve")
        .arg(config)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start docker-registry: {e}"))?;
    let log: Log = Arc::default();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = log.clone();
    let needle = format!("listening on 127.0.0.1:{port}");
    // Keeps draining after readiness so that the registry never blocks on a
    // full pipe; the log stays in memory only.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains(&needle) {
                let _ = tx.send(());
            }
            if let Ok(mut log) = sink.lock() {
                log.push(line);
            }
        }
    });
    let deadline = Instant::now() + STARTUP;
    let announced = loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(()) => break true,
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline || matches!(child.try_wait(), Ok(Some(_))) {
                    break false;
                }
            }
        }
    };
    let connects = announced
        && std::net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], port).into(),
            Duration::from_secs(5),
        )
        .is_ok();
    if connects {
        return Ok((child, log));
    }
    peers::kill(&mut child);
    Err(log.lock().map(|l| l.join("\n")).unwrap_or_default())
}
