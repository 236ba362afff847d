//! `strata registry serve` killed with SIGKILL while 8 clients push images (monolithic,
//! chunked and single-PUT blobs), then started again on the same data directory: every image
//! whose manifest PUT was answered 201 pulls intact, no blob is ever served with bytes that
//! do not match its digest, nothing partial sits under `blobs/`, the files of the
//! interrupted writes are removed by the upload expiry, and pushes work again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use strata_oci::Digest;
use strata_testkit::registry::free_port;

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";
const PUSHERS: usize = 8;

/// `strata registry serve` on `data`, killed (SIGKILL) on drop if still running.
struct Served {
    child: Child,
    host: String,
    log: PathBuf,
}

impl Served {
    fn start(dir: &Path) -> Served {
        let config = dir.join("registry.toml");
        // No periodic GC (links stay put); uploads expire after 2 s so the test sees the
        // interrupted ones removed.
        let toml = "[gc]\ninterval_secs = 0\n[limits]\nupload_expiry_secs = 2\n";
        fs::write(&config, toml).unwrap();
        let host = format!("127.0.0.1:{}", free_port());
        let log = dir.join(format!("serve-{}.log", host.replace(':', "-")));
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["registry", "serve", "--addr", &host, "--config"])
            .arg(&config)
            .arg("--data")
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let served = Served { child, host, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&served.url("/v2/")).call().is_err() {
            let log = fs::read_to_string(&served.log).unwrap_or_default();
            assert!(Instant::now() < deadline, "serve never answered: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        served
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// A request's error (boxed: ureq's is large).
type HttpResult<T> = Result<T, Box<ureq::Error>>;

/// An image a pusher pushed: its repository, tag, manifest bytes and blobs.
#[derive(Clone)]
struct Image {
    repo: String,
    tag: String,
    manifest: Vec<u8>,
    blobs: Vec<Vec<u8>>,
}

/// Distinct, incompressible-looking bytes for layer `k` of image `i` of pusher `t`.
fn layer_bytes(t: usize, i: usize, k: usize) -> Vec<u8> {
    let len = (192 << 10) + t * 4099 + i * 97 + k * 7;
    let mut x = ((t as u64) << 40 | (i as u64) << 8 | k as u64) ^ 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// The upload URL of a 202's `Location`, with `query` added.
fn upload_url(host: &str, response: &ureq::Response, query: &str) -> String {
    let location = response.header("location").expect("a Location header");
    if query.is_empty() {
        return format!("http://{host}{location}");
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("http://{host}{location}{sep}{query}")
}

/// Pushes `bytes` as blob `k % 3`'s way: one monolithic POST, chunks then an empty PUT, or
/// a session then one PUT with the whole body.
fn push_blob(
    agent: &ureq::Agent,
    host: &str,
    repo: &str,
    k: usize,
    bytes: &[u8],
) -> HttpResult<()> {
    let d = Digest::of(bytes);
    let start = format!("http://{host}/v2/{repo}/blobs/uploads/");
    match k % 3 {
        0 => {
            agent
                .post(&format!("{start}?digest={d}"))
                .send_bytes(bytes)?;
        }
        1 => {
            let mut r = agent.post(&start).call()?;
            for (n, chunk) in bytes.chunks(64 << 10).enumerate() {
                let from = n * (64 << 10);
                let range = format!("{from}-{}", from + chunk.len() - 1);
                r = agent
                    .request("PATCH", &upload_url(host, &r, ""))
                    .set("content-range", &range)
                    .set("content-type", "application/octet-stream")
                    .send_bytes(chunk)?;
            }
            agent
                .put(&upload_url(host, &r, &format!("digest={d}")))
                .send_bytes(&[])?;
        }
        _ => {
            let r = agent.post(&start).call()?;
            agent
                .put(&upload_url(host, &r, &format!("digest={d}")))
                .send_bytes(bytes)?;
        }
    }
    Ok(())
}

/// Pushes image `i` of pusher `t`: three layers (one per blob push style), a config, the
/// manifest by tag. Every blob is noted in `attempted` before it is sent.
fn push_image(
    host: &str,
    t: usize,
    i: usize,
    attempted: &Mutex<Vec<(String, Digest)>>,
) -> HttpResult<Image> {
    let agent = agent();
    let repo = format!("crash/t{t}");
    let config = serde_json::to_vec(&json!({"pusher": t, "image": i})).unwrap();
    let mut blobs = vec![config];
    blobs.extend((0..3).map(|k| layer_bytes(t, i, k)));
    for (k, blob) in blobs.iter().enumerate() {
        attempted
            .lock()
            .unwrap()
            .push((repo.clone(), Digest::of(blob)));
        push_blob(&agent, host, &repo, k, blob)?;
    }
    let desc = |media: &str, b: &[u8]| json!({"mediaType": media, "digest": Digest::of(b).to_string(), "size": b.len()});
    let layers: Vec<_> = blobs[1..]
        .iter()
        .map(|b| desc("application/vnd.oci.image.layer.v1.tar", b))
        .collect();
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI,
        "config": desc("application/vnd.oci.image.config.v1+json", &blobs[0]),
        "layers": layers}))
    .unwrap();
    let tag = format!("i{i}");
    let r = agent
        .put(&format!("http://{host}/v2/{repo}/manifests/{tag}"))
        .set("content-type", OCI)
        .send_bytes(&manifest)?;
    assert_eq!(r.status(), 201);
    Ok(Image {
        repo,
        tag,
        manifest,
        blobs,
    })
}

/// Pushes images until the server goes away; returns the ones answered 201.
fn pusher(
    host: String,
    t: usize,
    attempted: Arc<Mutex<Vec<(String, Digest)>>>,
    done: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
) -> Vec<Image> {
    let mut pushed = Vec::new();
    for i in 0.. {
        match push_image(&host, t, i, &attempted) {
            Ok(image) => {
                pushed.push(image);
                done.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) if matches!(*e, ureq::Error::Transport(_)) && killed.load(Ordering::SeqCst) => {
                return pushed
            }
            Err(e) => panic!("pusher {t}, image {i}, before the kill: {e}"),
        }
    }
    unreachable!()
}

fn get(url: &str) -> Option<Vec<u8>> {
    match agent().get(url).set("accept", OCI).call() {
        Ok(r) => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
            Some(body)
        }
        Err(ureq::Error::Status(404, _)) => None,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// Pulls `image` and checks the manifest and every blob against their digests.
fn pull_intact(served: &Served, image: &Image) {
    let (repo, tag) = (&image.repo, &image.tag);
    let manifest = get(&served.url(&format!("/v2/{repo}/manifests/{tag}")));
    assert_eq!(
        manifest.as_deref(),
        Some(&image.manifest[..]),
        "{repo}:{tag} answered 201 but is lost"
    );
    for blob in &image.blobs {
        let d = Digest::of(blob);
        let got = get(&served.url(&format!("/v2/{repo}/blobs/{d}")));
        let got = got.unwrap_or_else(|| panic!("{repo}:{tag} lost blob {d}"));
        assert_eq!(Digest::of(&got), d, "{repo}:{tag} blob {d} corrupted");
    }
}

/// Every file under `blobs/` holds the bytes its name says.
fn no_partial_blob(data: &Path) -> usize {
    let dir = data.join("blobs/sha256");
    let mut n = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let actual = Digest::of(&fs::read(&path).unwrap());
        assert_eq!(
            actual.hex(),
            name,
            "{} is partial or corrupted",
            path.display()
        );
        n += 1;
    }
    n
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn kill_9_during_8_pushes_loses_no_answered_image_and_shows_no_partial_blob() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut served = Served::start(dir.path());
    let attempted = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|t| {
            let (host, attempted) = (served.host.clone(), attempted.clone());
            let (done, killed) = (done.clone(), killed.clone());
            std::thread::spawn(move || pusher(host, t, attempted, done, killed))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < 3 * PUSHERS {
        assert!(Instant::now() < deadline, "the pushers made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    killed.store(true, Ordering::SeqCst);
    served.kill();
    let images: Vec<Image> = pushers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    let interrupted = entries(&data.join("uploads")).len() + entries(&data.join("tmp")).len();
    eprintln!(
        "killed after {} images answered; {interrupted} interrupted writes on disk",
        images.len()
    );
    let stored = no_partial_blob(&data);

    let served = Served::start(dir.path());
    for image in &images {
        pull_intact(&served, image);
    }
    // Any blob a pusher sent, answered or not, is either unknown or exactly its bytes.
    for (repo, d) in attempted.lock().unwrap().iter() {
        if let Some(got) = get(&served.url(&format!("/v2/{repo}/blobs/{d}"))) {
            assert_eq!(&Digest::of(&got), d, "{repo} serves {d} with other bytes");
        }
    }
    // Pushes work again, into a repository pushed to when the server died too.
    let fresh = push_image(&served.host, 0, 1_000_000, &Mutex::new(Vec::new())).unwrap();
    pull_intact(&served, &fresh);
    assert!(no_partial_blob(&data) >= stored);
    // The interrupted uploads and temp files go with the (2 s) expiry.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = [entries(&data.join("uploads")), entries(&data.join("tmp"))].concat();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never removed: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    for image in images.iter().chain([&fresh]) {
        pull_intact(&served, image);
    }
}
