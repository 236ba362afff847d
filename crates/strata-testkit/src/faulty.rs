//! A misbehaving registry for tests: one repository's manifests and blobs served from
//! memory over the std-TCP server of [`crate::http`], with faults queued per request.
//!
//! It answers `GET /v2/`, `GET`/`HEAD` of `/v2/<repo>/manifests/<tag or digest>` and of
//! `/v2/<repo>/blobs/<digest>` (honouring `Range: bytes=N-` with a 206), and nothing else.
//! Each [`Fault`] queued with [`FaultyRegistry::fault`] spoils the next request its
//! [`Target`] matches, once, in queue order. Every request is recorded (bodies dropped), so
//! a test can assert what the client asked, e.g. the `Range` of a resumed download.

use std::collections::{HashMap, VecDeque};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::http::{respond, write_head, HttpRequest, HttpServer};

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `GET /v2/`.
    Ping,
    /// A manifest request.
    Manifest,
    /// A blob request.
    Blob,
    /// Any request.
    Any,
}

/// How a request is answered wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A complete answer with only the first `n` bytes of the body (and that length).
    Truncate(usize),
    /// The body with one byte flipped (in the middle).
    Corrupt,
    /// A `Docker-Content-Digest` that is not the body's.
    WrongDigest,
    /// A `200 OK` captive-portal page (`text/html`) instead of the answer.
    Html,
    /// The full length announced, `n` bytes sent, then the connection closed.
    CutAfter(usize),
    /// This status (with a `Retry-After` value when given) and an error body.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// The answer with this `Content-Type`.
    ContentType(String),
    /// This body instead (its digest in `Docker-Content-Digest`, as a registry would).
    Body(Vec<u8>),
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[derive(Default)]
struct State {
    repository: String,
    manifests: Mutex<HashMap<String, (String, Vec<u8>)>>,
    blobs: Mutex<HashMap<String, Vec<u8>>>,
    faults: Mutex<VecDeque<(Target, Fault)>>,
    requests: Mutex<Vec<HttpRequest>>,
}

/// A running misbehaving registry; dropping it stops it.
pub struct FaultyRegistry {
    server: HttpServer,
    state: Arc<State>,
}

impl FaultyRegistry {
    /// Serves repository `repository` (nothing in it yet).
    pub fn start(repository: &str) -> FaultyRegistry {
        let state = Arc::new(State {
            repository: repository.to_owned(),
            ..State::default()
        });
        let handler_state = state.clone();
        let server = HttpServer::start(Arc::new(move |req: &HttpRequest, s: &mut TcpStream| {
            handle(&handler_state, req, s)
        }));
        FaultyRegistry { server, state }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Adds a blob; returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        self.state
            .blobs
            .lock()
            .unwrap()
            .insert(digest.clone(), bytes.to_vec());
        digest
    }

    /// Adds a manifest under `tag` and its digest; returns the digest.
    pub fn put_manifest(&self, tag: &str, media_type: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let entry = (media_type.to_owned(), bytes.to_vec());
        let mut manifests = self.state.manifests.lock().unwrap();
        manifests.insert(tag.to_owned(), entry.clone());
        manifests.insert(digest.clone(), entry);
        digest
    }

    /// Queues `fault` for the next request `target` matches.
    pub fn fault(&self, target: Target, fault: Fault) {
        self.state.faults.lock().unwrap().push_back((target, fault));
    }

    /// The faults not used yet.
    pub fn pending_faults(&self) -> usize {
        self.state.faults.lock().unwrap().len()
    }

    /// Every request so far (without bodies), in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// What a request asks for.
enum Asked {
    Ping,
    Manifest(String),
    Blob(String),
    Other,
}

fn classify(state: &State, path: &str) -> Asked {
    if path == "/v2/" || path == "/v2" {
        return Asked::Ping;
    }
    let Some(rest) = path
        .strip_prefix("/v2/")
        .and_then(|r| r.strip_prefix(state.repository.as_str()))
    else {
        return Asked::Other;
    };
    if let Some(r) = rest.strip_prefix("/manifests/") {
        Asked::Manifest(r.to_owned())
    } else if let Some(d) = rest.strip_prefix("/blobs/") {
        Asked::Blob(d.to_owned())
    } else {
        Asked::Other
    }
}

fn take_fault(state: &State, asked: &Asked) -> Option<Fault> {
    let mut faults = state.faults.lock().unwrap();
    let i = faults.iter().position(|(t, _)| {
        matches!(
            (t, asked),
            (Target::Any, _)
                | (Target::Ping, Asked::Ping)
                | (Target::Manifest, Asked::Manifest(_))
                | (Target::Blob, Asked::Blob(_))
        )
    })?;
    faults.remove(i).map(|(_, f)| f)
}

fn handle(state: &State, req: &HttpRequest, stream: &mut TcpStream) {
    let mut logged = req.clone();
    logged.body.clear();
    state.requests.lock().unwrap().push(logged);
    let asked = classify(state, req.path());
    let fault = take_fault(state, &asked);
    let found = match &asked {
        Asked::Ping => Some(("application/json".to_owned(), b"{}".to_vec())),
        Asked::Manifest(r) => state.manifests.lock().unwrap().get(r).cloned(),
        Asked::Blob(d) => state
            .blobs
            .lock()
            .unwrap()
            .get(d)
            .map(|b| ("application/octet-stream".to_owned(), b.clone())),
        Asked::Other => None,
    };
    let Some((content_type, body)) = found else {
        let body = br#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#;
        return respond(
            stream,
            404,
            &[("Content-Type", "application/json".into())],
            body,
        );
    };
    let mut answer = Answer {
        status: 200,
        content_type,
        digest: (!matches!(asked, Asked::Ping)).then(|| sha256_digest(&body)),
        body,
        extra: Vec::new(),
    };
    if matches!(asked, Asked::Blob(_)) {
        answer.apply_range(req.header("range"));
    }
    answer.send(stream, fault, req.method == "HEAD");
}

/// An answer before a fault spoils it.
struct Answer {
    status: u16,
    content_type: String,
    digest: Option<String>,
    body: Vec<u8>,
    extra: Vec<(&'static str, String)>,
}

impl Answer {
    /// `Range: bytes=N-` → 206 with the rest and its `Content-Range`.
    fn apply_range(&mut self, range: Option<&str>) {
        let start = range
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok());
        let Some(start) = start.filter(|s| *s < self.body.len()) else {
            return;
        };
        let total = self.body.len();
        self.body.drain(..start);
        self.status = 206;
        let value = format!("bytes {start}-{}/{total}", total - 1);
        self.extra.push(("Content-Range", value));
    }

    fn send(mut self, stream: &mut TcpStream, fault: Option<Fault>, head_only: bool) {
        let mut cut = None;
        match fault {
            None => {}
            Some(Fault::Truncate(n)) => self.body.truncate(n),
            Some(Fault::Corrupt) => {
                let mid = self.body.len() / 2;
                if let Some(b) = self.body.get_mut(mid) {
                    *b ^= 0xff;
                }
            }
            Some(Fault::WrongDigest) => self.digest = Some(sha256_digest(b"not this body")),
            Some(Fault::Html) => {
                self.status = 200;
                self.content_type = "text/html; charset=utf-8".into();
                self.digest = None;
                self.body = b"<!DOCTYPE html><html><body><h1>Sign in to the guest Wi-Fi</h1>\
                    </body></html>"
                    .to_vec();
            }
            Some(Fault::CutAfter(n)) => cut = Some(n),
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                self.status = status;
                self.content_type = "application/json".into();
                self.digest = None;
                self.body =
                    br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#.to_vec();
                self.extra.clear();
                if let Some(v) = retry_after {
                    self.extra.push(("Retry-After", v));
                }
            }
            Some(Fault::ContentType(ct)) => self.content_type = ct,
            Some(Fault::Body(b)) => {
                self.digest = self.digest.map(|_| sha256_digest(&b));
                self.body = b;
            }
        }
        self.write(stream, cut, head_only);
    }

    fn write(self, stream: &mut TcpStream, cut: Option<usize>, head_only: bool) {
        use std::io::Write;
        let mut headers = self.extra;
        headers.push(("Content-Type", self.content_type));
        if let Some(d) = self.digest {
            headers.push(("Docker-Content-Digest", d));
        }
        let _ = write_head(stream, self.status, &headers, self.body.len() as u64);
        if head_only {
            return;
        }
        let end = cut.unwrap_or(self.body.len()).min(self.body.len());
        let _ = stream.write_all(&self.body[..end]);
    }
}
