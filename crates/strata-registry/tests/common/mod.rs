//! A real server on a free loopback port (in-process, on its own runtime thread), started
//! and stopped by the test, and a small HTTP helper around ureq.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use strata_oci::Digest;
use strata_registry::{Config, Server};

pub struct TestServer {
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(Config::default())
    }

    pub fn start_with(mut config: Config) -> TestServer {
        config.addr = Some("127.0.0.1:0".parse().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = Server::bind(&config, &data).await.unwrap();
                addr_tx.send(server.local_addr()).unwrap();
                server
                    .run(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().expect("the server starts");
        TestServer {
            addr,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The blob files stored (by hex digest).
    pub fn stored_blobs(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.data().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn uploads_dir_is_empty(&self) -> bool {
        std::fs::read_dir(self.data().join("uploads"))
            .unwrap()
            .next()
            .is_none()
    }

    pub fn send(&self, method: &str, path: &str) -> Call {
        Call {
            req: ureq::AgentBuilder::new()
                .redirects(0)
                .build()
                .request(method, &self.url(path)),
        }
    }

    /// Pushes `bytes` monolithically into `repo`; returns the digest.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::of(bytes);
        let r = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
            )
            .body(bytes);
        assert_eq!(r.status, 201, "{}", r.text());
        digest
    }

    /// Pushes a manifest; returns the response.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        self.send("PUT", &format!("/v2/{repo}/manifests/{reference}"))
            .header("Content-Type", media_type)
            .body(body)
    }

    /// A raw request line (paths ureq would normalise, like `..`).
    pub fn raw(&self, method: &str, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let status = text[9..12].parse().unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (status, body)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Call {
    req: ureq::Request,
}

impl Call {
    pub fn header(self, name: &str, value: &str) -> Call {
        Call {
            req: self.req.set(name, value),
        }
    }

    pub fn body(self, bytes: &[u8]) -> Resp {
        Resp::from(self.req.send_bytes(bytes))
    }

    pub fn call(self) -> Resp {
        Resp::from(self.req.call())
    }
}

/// A response, whatever its status.
pub struct Resp {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl From<Result<ureq::Response, ureq::Error>> for Resp {
    fn from(r: Result<ureq::Response, ureq::Error>) -> Resp {
        let response = match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        };
        let headers = response
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = response.header(&n).unwrap_or("").to_owned();
                (n.to_lowercase(), v)
            })
            .collect();
        let status = response.status();
        let mut body = Vec::new();
        response.into_reader().read_to_end(&mut body).unwrap();
        Resp {
            status,
            headers,
            body,
        }
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    /// The first error code of a spec error body.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text()))
            .to_owned()
    }

    /// Asserts the status of a success.
    pub fn expect_status(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.text());
    }

    /// Asserts the status and the spec error code.
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.code(), code, "{}", self.text());
    }
}

/// An OCI image manifest over a config and layers (each `(bytes, digest)`).
pub fn oci_manifest(config: &[u8], layers: &[&[u8]], extra: serde_json::Value) -> Vec<u8> {
    let desc = |media: &str, b: &[u8]| serde_json::json!({"mediaType": media, "digest": Digest::of(b).to_string(), "size": b.len()});
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": layers.iter().map(|l| desc("application/vnd.oci.image.layer.v1.tar+gzip", l)).collect::<Vec<_>>(),
    });
    if let serde_json::Value::Object(extra) = extra {
        m.as_object_mut().unwrap().extend(extra);
    }
    serde_json::to_vec_pretty(&m).unwrap()
}

pub fn file_exists(root: &Path, digest: &Digest) -> bool {
    root.join("blobs/sha256").join(digest.hex()).exists()
}

/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Pushes image `j` of worker `w`: a shared layer pushed or mounted, a fresh layer, a config.
pub fn push_image(server: &TestServer, w: usize, j: usize) -> (String, Vec<Vec<u8>>) {
    let repo = format!("w{w}");
    let shared = format!("shared-{}", j % 3).into_bytes();
    if j.is_multiple_of(2) {
        server.push_blob(&repo, &shared);
    } else {
        let d = Digest::of(&shared);
        let path = format!("/v2/{repo}/blobs/uploads/?mount={d}");
        let r = server.send("POST", &path).body(b"");
        if r.status == 202 {
            server.push_blob(&repo, &shared);
        } else {
            assert_eq!(r.status, 201, "{}", r.text());
        }
    }
    let fresh = format!("fresh-{w}-{j}").into_bytes();
    let config = format!("{{\"w\":{w},\"j\":{j}}}").into_bytes();
    server.push_blob(&repo, &fresh);
    server.push_blob(&repo, &config);
    let manifest = oci_manifest(&config, &[&shared, &fresh], serde_json::json!({}));
    let r = server.push_manifest(&repo, &format!("t{j}"), OCI_MANIFEST, &manifest);
    assert_eq!(r.status, 201, "{}", r.text());
    (repo, vec![manifest, config, shared, fresh])
}

/// Pulls `t<j>` of `repo` and every blob it names, checking each digest.
pub fn pull_and_verify(server: &TestServer, repo: &str, j: usize, parts: &[Vec<u8>]) {
    let r = server
        .send("GET", &format!("/v2/{repo}/manifests/t{j}"))
        .call();
    assert_eq!(r.status, 200, "{repo}:t{j}: {}", r.text());
    assert_eq!(r.body, parts[0]);
    for blob in &parts[1..] {
        let d = Digest::of(blob);
        let r = server.send("GET", &format!("/v2/{repo}/blobs/{d}")).call();
        assert_eq!(r.status, 200, "{repo}:t{j} lost blob {d}: {}", r.text());
        assert_eq!(Digest::of(&r.body), d, "{repo}:t{j} blob {d} corrupted");
    }
}

/// An htpasswd file made by `htpasswd -Bbn` with these users.
pub fn htpasswd(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
    strata_testkit::require_tool("htpasswd");
    let mut text = String::new();
    for (user, password) in users {
        let out = strata_testkit::run_ok(
            std::process::Command::new("htpasswd").args(["-Bbn", user, password]),
        );
        text.push_str(String::from_utf8(out.stdout).unwrap().trim());
        text.push('\n');
    }
    let path = dir.join("htpasswd");
    std::fs::write(&path, text).unwrap();
    path
}

/// An `[[auth.access]]` rule granting `actions` on `repository` to `account`.
pub fn rule(
    account: &str,
    repository: &str,
    actions: &[&str],
) -> strata_registry::auth::rules::AccessRuleConfig {
    strata_registry::auth::rules::AccessRuleConfig {
        account: account.into(),
        repository: Some(repository.into()),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        catalog: false,
    }
}
