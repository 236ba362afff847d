//! A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a
//! free `127.0.0.1` port, storage in a temp dir, stopped (killed and reaped) on drop.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::token::{TokenIssuer, ISSUER, SERVICE};
use crate::{require_tool, run_ok};

/// The registry program (`apt-get install docker-registry`).
pub const DOCKER_REGISTRY: &str = "docker-registry";

/// The server side of a TLS registry: its certificate chain and key, and the CA its
/// clients' certificates must chain to (`http.tls.clientcas`), if it asks for one.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// How clients authenticate.
enum Auth {
    /// One `user:hash` line of an htpasswd file.
    Htpasswd(String),
    /// The `auth:` section as it is.
    Yaml(String),
}

/// One line of the registry's access log (combined log format): `"HEAD /v2/… HTTP/1.1" 200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    pub method: String,
    /// The request target, query included.
    pub path: String,
    pub status: u16,
}

impl AccessLine {
    fn parse(line: &str) -> Option<AccessLine> {
        let (_, rest) = line.split_once('"')?;
        let (request, rest) = rest.split_once('"')?;
        let mut parts = request.split(' ');
        let method = parts.next()?.to_owned();
        let path = parts.next()?.to_owned();
        let status = rest.split_whitespace().next()?.parse().ok()?;
        Some(AccessLine {
            method,
            path,
            status,
        })
    }
}

/// A running `docker-registry`; dropping it stops the server and removes its storage.
pub struct TestRegistry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// An anonymous registry (anyone may pull and push).
    pub fn start() -> TestRegistry {
        TestRegistry::start_with(None, None)
    }

    /// An anonymous registry serving HTTPS with `tls` (PEM files the caller generated).
    pub fn start_tls(tls: &TlsFiles) -> TestRegistry {
        TestRegistry::start_with(None, Some(tls))
    }

    /// A registry that takes HTTP basic auth from an htpasswd file with one user.
    pub fn start_htpasswd(user: &str, password: &str) -> TestRegistry {
        require_tool("htpasswd");
        let out = run_ok(Command::new("htpasswd").args(["-Bbn", user, password]));
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        TestRegistry::start_with(Some(Auth::Htpasswd(line)), None)
    }

    /// A registry behind token auth: it sends clients to `issuer`'s realm and accepts the
    /// JWTs it signs (`auth: token:` with the issuer's certificate as `rootcertbundle`).
    pub fn start_token(issuer: &TokenIssuer) -> TestRegistry {
        let auth = format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
             rootcertbundle: {}\n",
            issuer.realm(),
            issuer.root_certificate().display()
        );
        TestRegistry::start_with(Some(Auth::Yaml(auth)), None)
    }

    fn start_with(auth: Option<Auth>, tls: Option<&TlsFiles>) -> TestRegistry {
        require_tool(DOCKER_REGISTRY);
        let dir = tempfile::tempdir().expect("temp dir for the registry");
        let port = free_port();
        let auth = match auth {
            Some(Auth::Htpasswd(line)) => {
                let path = dir.path().join("htpasswd");
                fs::write(&path, format!("{line}\n")).expect("writing htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: strata-test\n    path: {}\n",
                    path.display()
                )
            }
            Some(Auth::Yaml(yaml)) => yaml,
            None => String::new(),
        };
        let tls = match tls {
            None => String::new(),
            Some(t) => {
                let mut yaml = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    t.certificate.display(),
                    t.key.display()
                );
                if let Some(ca) = &t.client_ca {
                    yaml.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
                }
                yaml
            }
        };
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: strata-test-secret\n{tls}{auth}",
                storage.display()
            ),
        )
        .expect("writing the registry config");
        let child = spawn(&config, &dir.path().join("registry.log"));
        let mut reg = TestRegistry { child, port, dir };
        reg.wait_ready();
        reg
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, the registry's host as image references name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The directory holding its config, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The requests it answered so far, in order, read from its access log.
    pub fn requests(&self) -> Vec<AccessLine> {
        self.log().lines().filter_map(AccessLine::parse).collect()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not listen in 15 s:\n{}", self.log());
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(config: &Path, log: &PathBuf) -> Child {
    let log = fs::File::create(log).expect("creating the registry log");
    Command::new(DOCKER_REGISTRY)
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("cloning the log file"))
        .stderr(log)
        .spawn()
        .expect("starting docker-registry")
}

/// A port free on 127.0.0.1 right now (the OS picks it; the listener is closed again).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}
