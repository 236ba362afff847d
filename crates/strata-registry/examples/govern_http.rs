//! The registry-level part of `bench/govern.sh`: issue 11's governance targets measured over
//! HTTP against a running `strata registry serve`.
//!
//! - `govern_http populate URL [THREADS]`: pushes 10,000 image manifests through the real
//!   `/v2/` API (threads, one keep-alive `ureq` agent each, one repository at a time per
//!   thread), shaped as `crates/strata-govern/examples/govern_timing.rs` builds its data: ~190
//!   repositories, a lineage forest 4 levels deep (OS bases → runtimes → tools → apps), tiny
//!   distinct layer blobs uploaded once per repository that uses them, a small config blob per
//!   image, `org.opencontainers.image.base.*` annotations on the squashed apps, 1 image in 8
//!   pushed by digest only, and labels (`prod`, `maybe_prod`) put through
//!   `/strata/v1/…/labels/…` on 3 images in 10.
//! - `govern_http query URL [RUNS]`: the median of RUNS (≥ 15) keep-alive requests for each
//!   lineage query and one image's facts.
//! - `govern_http first URL T0_NS`: polls `dependents` of the root base until it answers and
//!   prints the time since `T0_NS` (Unix nanoseconds, taken by the caller before it started
//!   the server): the start, the index rebuild and the first answer.
//!
//! Figures go to stdout as `name<TAB>ms<TAB>target_ms` (`-` without a target), notes to
//! stderr. Not a test: a timing tool, the data deterministic so runs compare.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use strata_oci::Digest;

const TOTAL: usize = 10_000;
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match (arg(0), arg(1)) {
        (Some("populate"), Some(url)) => populate(url, arg(2).map_or(Ok(8), str::parse)?),
        (Some("query"), Some(url)) => query(url, arg(2).map_or(Ok(15), str::parse)?),
        (Some("first"), Some(url)) => first(url, arg(2).ok_or("first needs T0_NS")?.parse()?),
        _ => Err(
            "usage: govern_http populate URL [THREADS] | query URL [RUNS] | first URL T0_NS".into(),
        ),
    }
}

/// One image to push.
struct Image {
    repository: String,
    /// `None`: pushed by digest only.
    tag: Option<String>,
    /// Layer blob contents (each blob's digest is the sha256 of its name, as govern_timing's).
    layers: Vec<String>,
    /// The parent's index, named by `base.digest`/`base.name` annotations (squashed apps).
    annotated_base: Option<usize>,
    labels: &'static [&'static str],
    config: Vec<u8>,
    manifest: Vec<u8>,
    digest: Digest,
}

impl Image {
    fn reference(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{t}", self.repository),
            None => format!("{}@{}", self.repository, self.digest),
        }
    }
}

/// The deterministic data set: the images in push order (parents first), the root base queried
/// and a runtime whose tree is queried.
struct Data {
    images: Vec<Image>,
    root: usize,
    runtime: usize,
}

/// xorshift, as govern_timing.rs, so every run pushes the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Data {
    fn generate() -> Data {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut images: Vec<Image> = Vec::with_capacity(TOTAL);
        let mut bases = Vec::new();
        for os in ["debian", "ubuntu", "alpine", "rocky"] {
            for v in 0..5 {
                let layers = (0..1 + v % 2).map(|l| format!("{os}-{v}-{l}")).collect();
                let repo = format!("base/{os}");
                bases.push(add(
                    &mut images,
                    &mut rng,
                    &repo,
                    &v.to_string(),
                    layers,
                    None,
                ));
            }
        }
        let mut runtimes = Vec::new();
        for (b, &base) in bases.iter().enumerate().filter(|(b, _)| b % 5 >= 3) {
            for lang in ["python", "node", "go", "java", "ruby"] {
                for v in 0..3 {
                    let mut layers = images[base].layers.clone();
                    layers.push(format!("{lang}-{v}-on-{b}"));
                    layers.push(format!("{lang}-{v}-on-{b}-pkgs"));
                    let tag = format!("{v}-{}", images[base].repository.replace('/', "-"));
                    let repo = format!("runtime/{lang}");
                    runtimes.push(add(&mut images, &mut rng, &repo, &tag, layers, None));
                }
            }
        }
        let mut tools = Vec::new();
        for t in 0..10 {
            for v in 0..40 {
                let parent = runtimes[rng.below(runtimes.len())];
                let mut layers = images[parent].layers.clone();
                layers.push(format!("tool{t}-{v}"));
                let repo = format!("tools/tool{t}");
                tools.push(add(
                    &mut images,
                    &mut rng,
                    &repo,
                    &format!("v{v}"),
                    layers,
                    None,
                ));
            }
        }
        let mut base_of_app = std::collections::HashMap::new();
        for a in 0..TOTAL - images.len() {
            let (repo, version) = (a % 170, a / 170);
            let parent = *base_of_app.entry(repo).or_insert_with(|| {
                if rng.below(3) == 0 {
                    runtimes[rng.below(runtimes.len())]
                } else {
                    tools[rng.below(tools.len())]
                }
            });
            let mut layers = images[parent].layers.clone();
            layers.push(format!("app{repo}-deps-{}", version / 10));
            layers.push(format!("app{repo}-code-{version}"));
            let annotated = repo % 20 == 0;
            if annotated {
                layers = vec![format!("app{repo}-squashed-{version}")];
            }
            let name = format!("team{}/app{repo}", repo % 40);
            let tag = format!("v1.{version}.0");
            add(
                &mut images,
                &mut rng,
                &name,
                &tag,
                layers,
                annotated.then_some(parent),
            );
        }
        Data {
            root: bases[3],
            runtime: runtimes[0],
            images,
        }
    }
}

/// Adds an image (its config and manifest bytes made here); returns its index.
fn add(
    images: &mut Vec<Image>,
    rng: &mut Rng,
    repo: &str,
    tag: &str,
    layers: Vec<String>,
    base: Option<usize>,
) -> usize {
    let n = images.len();
    let labels: &'static [&'static str] = match rng.below(10) {
        0 => &["maybe_prod", "prod"],
        1 | 2 => &["maybe_prod"],
        _ => &[],
    };
    let tagged = rng.below(8) != 0;
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| Digest::of(l.as_bytes()).to_string())
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"bench.image": format!("{repo}:{tag} {n}")}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("JSON");
    let mut annotations = serde_json::Map::new();
    if let Some(b) = base {
        let parent = &images[b];
        annotations.insert(
            "org.opencontainers.image.base.digest".into(),
            parent.digest.to_string().into(),
        );
        annotations.insert(
            "org.opencontainers.image.base.name".into(),
            parent.reference().into(),
        );
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": Digest::of(&config).to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": LAYER_TYPE, "digest": Digest::of(l.as_bytes()).to_string(), "size": l.len(),
        })).collect::<Vec<_>>(),
        "annotations": annotations,
    }))
    .expect("JSON");
    images.push(Image {
        repository: repo.to_owned(),
        tag: tagged.then(|| tag.to_owned()),
        layers,
        annotated_base: base,
        labels,
        digest: Digest::of(&manifest),
        config,
        manifest,
    });
    n
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .max_idle_connections_per_host(4)
        .build()
}

/// Pushes every image, repositories spread over `threads` threads; each repository's images in
/// order, so the newest pushed is the last generated, as in govern_timing.rs.
fn populate(url: &str, threads: usize) -> Result<()> {
    let data = Data::generate();
    let repos: Vec<String> = data
        .images
        .iter()
        .map(|i| i.repository.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let layer_refs: usize = data.images.iter().map(|i| i.layers.len()).sum();
    let annotated = data
        .images
        .iter()
        .filter(|i| i.annotated_base.is_some())
        .count();
    eprintln!(
        "populating {url}: {} images in {} repositories ({layer_refs} layer references, {annotated} with base.* annotations), {threads} threads",
        data.images.len(),
        repos.len()
    );
    // Parents before children across repositories is not needed: the lineage index links
    // whatever order images arrive in. Repositories go from a shared counter.
    let next = AtomicUsize::new(0);
    let counts = Mutex::new((0usize, 0usize, 0usize));
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let agent = agent();
                    loop {
                        let r = next.fetch_add(1, Ordering::Relaxed);
                        let Some(repo) = repos.get(r) else {
                            return Ok(());
                        };
                        let c = push_repository(&agent, url, &data, repo)?;
                        let mut t = counts.lock().expect("counts");
                        (t.0, t.1, t.2) = (t.0 + c.0, t.1 + c.1, t.2 + c.2);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a push thread panicked")?;
        }
        Ok(())
    })?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let (blobs, manifests, labels) = *counts.lock().expect("counts");
    eprintln!("pushed {blobs} blobs, {manifests} manifests, {labels} labels in {ms:.0} ms");
    println!(
        "populate: {manifests} images, {blobs} blobs, {labels} labels over HTTP ({threads} threads)\t{ms:.0}\t-"
    );
    Ok(())
}

/// Pushes one repository's blobs (each once), manifests and labels; returns the counts.
fn push_repository(
    agent: &ureq::Agent,
    url: &str,
    data: &Data,
    repo: &str,
) -> Result<(usize, usize, usize)> {
    let mut seen = BTreeSet::new();
    let (mut blobs, mut manifests, mut labels) = (0, 0, 0);
    for image in data.images.iter().filter(|i| i.repository == repo) {
        let contents = image
            .layers
            .iter()
            .map(|l| l.as_bytes())
            .chain([image.config.as_slice()]);
        for blob in contents {
            let digest = Digest::of(blob);
            if seen.insert(digest.clone()) {
                upload(agent, url, repo, &digest, blob)?;
                blobs += 1;
            }
        }
        let reference = image
            .tag
            .clone()
            .unwrap_or_else(|| image.digest.to_string());
        agent
            .put(&format!("{url}/v2/{repo}/manifests/{reference}"))
            .set("Content-Type", MANIFEST_TYPE)
            .send_bytes(&image.manifest)
            .map_err(|e| format!("PUT manifest {repo}:{reference}: {e}"))?;
        manifests += 1;
        for label in image.labels {
            agent
                .put(&format!(
                    "{url}/strata/v1/repositories/{repo}/-/images/{}/labels/{label}",
                    image.digest
                ))
                .call()
                .map_err(|e| format!("PUT label {label} on {repo}@{}: {e}", image.digest))?;
            labels += 1;
        }
    }
    Ok((blobs, manifests, labels))
}

/// A monolithic upload: `POST /v2/<name>/blobs/uploads/?digest=` with the bytes.
fn upload(agent: &ureq::Agent, url: &str, repo: &str, digest: &Digest, blob: &[u8]) -> Result<()> {
    agent
        .post(&format!("{url}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .set("Content-Type", "application/octet-stream")
        .send_bytes(blob)
        .map_err(|e| format!("upload {digest} to {repo}: {e}"))?;
    Ok(())
}

/// `name@digest` for a query string.
fn image_param(image: &Image) -> String {
    format!(
        "{}%40{}",
        image.repository,
        image.digest.to_string().replace(':', "%3A")
    )
}

/// GETs `path` and reads the whole body; returns its length.
fn get(agent: &ureq::Agent, url: &str, path: &str) -> Result<usize> {
    let body = agent
        .get(&format!("{url}{path}"))
        .call()
        .map_err(|e| format!("GET {path}: {e}"))?
        .into_string()?;
    Ok(body.len())
}

/// The median in ms of `runs` GETs of `path` on one keep-alive agent, and the body's size.
fn timed(agent: &ureq::Agent, url: &str, path: &str, runs: usize) -> Result<(f64, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        size = get(agent, url, path)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], size))
}

fn query(url: &str, runs: usize) -> Result<()> {
    let data = Data::generate();
    let agent = agent();
    let root = &data.images[data.root];
    let runtime = &data.images[data.runtime];
    let dependents = format!("/strata/v1/lineage/dependents?image={}", image_param(root));
    // The first lineage query after the population (the index built or brought up to date).
    let start = Instant::now();
    get(&agent, url, &dependents)?;
    let first = start.elapsed().as_secs_f64() * 1000.0;
    let body: serde_json::Value = serde_json::from_reader(
        agent
            .get(&format!("{url}{dependents}"))
            .call()?
            .into_reader(),
    )?;
    let count = body["dependents"].as_array().map_or(0, Vec::len);
    eprintln!(
        "root base {} has {count} dependents; {runs} requests per figure",
        root.reference()
    );
    let app = data.images.last().expect("apps");
    let figures = [
        (
            format!("HTTP dependents of a root base ({count} images)"),
            dependents.clone(),
        ),
        (
            format!("HTTP tree under a runtime ({})", runtime.reference()),
            format!("/strata/v1/lineage/tree?root={}", image_param(runtime)),
        ),
        (
            "HTTP tree of the whole forest".to_owned(),
            "/strata/v1/lineage/tree".to_owned(),
        ),
        (
            "HTTP one image (GET .../-/images/<digest>)".to_owned(),
            format!(
                "/strata/v1/repositories/{}/-/images/{}",
                app.repository, app.digest
            ),
        ),
    ];
    println!("HTTP first lineage query after the pushes\t{first:.3}\t50");
    for (name, path) in figures {
        let (ms, size) = timed(&agent, url, &path, runs)?;
        eprintln!("{path}: {size} bytes");
        println!("{name}\t{ms:.3}\t50");
    }
    Ok(())
}

/// Polls `dependents` of the root base every 2 ms until it answers 200.
fn first(url: &str, t0_ns: u128) -> Result<()> {
    let data = Data::generate();
    let path = format!(
        "/strata/v1/lineage/dependents?image={}",
        image_param(&data.images[data.root])
    );
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_millis(200))
        .build();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if get(&agent, url, &path).is_ok() {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
            let ms = (now - t0_ns) as f64 / 1e6;
            println!("HTTP restart: server start to first dependents answer\t{ms:.0}\t-");
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{url} did not answer {path} within 120 s").into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
