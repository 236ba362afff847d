//! Timing of strata-govern on a registry-sized data set (run by `bench/govern.sh`, release
//! build): 10,000 images in ~200 repositories, a lineage forest 4 levels deep (OS bases →
//! language runtimes → tools → team apps, the versions of an app sharing its dependency
//! layers, a few apps naming their base by the `base.digest` annotation), labels mixed.
//!
//! Prints one line per figure, tab-separated: `name  median_ms  target_ms` (target `-` when the
//! issue sets none), medians over `RUNS` runs (first argument, default 7).
//!
//! The baseline is the full scan a registry without an index does (zot's derived-image
//! search): to answer one `dependents` query, compare every image's layers with every other
//! image's to find each one's parent, then walk down from the queried image.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hint::black_box;
use std::time::Instant;

use strata_govern::lineage::{LineageIndex, Node};
use strata_govern::retention::RetentionPolicy;
use strata_govern::Image;
use strata_oci::Digest;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const TOTAL: usize = 10_000;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let data = Data::generate();
    let repos: BTreeSet<&str> = data.images.iter().map(|i| i.repository.as_str()).collect();
    eprintln!(
        "{} images in {} repositories, {} layers in all; {runs} runs per figure",
        data.images.len(),
        repos.len(),
        data.images.iter().map(|i| i.layers.len()).sum::<usize>(),
    );

    let nodes: Vec<Node> = data.images.iter().map(node).collect();
    let build = median(runs, || {
        let mut index = LineageIndex::default();
        for n in &nodes {
            index.insert(n.clone());
        }
        index
    });
    let index = build.1;
    let root = &data.root;
    let deps = index.dependents(root);
    eprintln!(
        "root base {} has {} dependents, {} rebuild waves",
        root.short(),
        deps.len(),
        index.rebuild_waves(root).len()
    );

    let mut index = index;
    let app = nodes.last().expect("apps").clone();
    let push_one = median(runs, || {
        index.remove(&app.digest);
        index.insert(app.clone())
    })
    .0;
    let root_node = index.node(root).expect("the root is indexed").clone();
    let push_base = median(runs, || {
        index.remove(root);
        index.insert(root_node.clone())
    })
    .0;
    assert_eq!(index.dependents(root).len(), deps.len());
    let dependents = median(runs, || index.dependents(root)).0;
    let waves = median(runs, || index.rebuild_waves(root)).0;
    let tree_root = median(runs, || index.tree(Some(root))).0;
    let forest = median(runs, || index.tree(None)).0;
    let lookups = median(runs, || {
        nodes
            .iter()
            .filter(|n| index.parent(&n.digest).is_some())
            .count()
    });
    let per_lookup = lookups.0 / nodes.len() as f64;
    let policy = RetentionPolicy::default();
    let retention = median(runs, || policy.evaluate(&data.images, &|_| None, NOW));
    let kept = retention.1.iter().filter(|d| d.keep).count();
    eprintln!("retention: keeps {kept} of {}", retention.1.len());
    let one_pass = median(runs, || zot_one_pass(&data.images, root)).0;
    let scan_runs = runs.clamp(1, 3);
    let scan = median(scan_runs, || full_scan_dependents(&data.images, root));
    assert_eq!(scan.1, deps.len(), "the scan and the index agree");

    println!("lineage index build (10k inserts)\t{:.3}\t-", build.0);
    println!("lineage push of one app (remove + insert)\t{push_one:.3}\t-");
    println!("lineage re-push of a root base (relinks all below)\t{push_base:.3}\t-");
    println!("lineage dependents of a root base\t{dependents:.3}\t50");
    println!("lineage rebuild waves of a root base\t{waves:.3}\t50");
    println!("lineage tree under a root base\t{tree_root:.3}\t50");
    println!("lineage tree of the whole forest\t{forest:.3}\t50");
    println!("lineage parent lookup (one image)\t{per_lookup:.6}\t50");
    println!(
        "retention evaluate, default policy\t{:.3}\t1000",
        retention.0
    );
    println!(
        "baseline: full scan for one dependents query\t{:.3}\t-",
        scan.0
    );
    println!("baseline: zot-style one pass (direct children only)\t{one_pass:.3}\t-");
}

/// The median wall time in milliseconds of `runs` calls, and the last call's result.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = black_box(f());
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last.expect("at least one run"))
}

fn node(image: &Image) -> Node {
    let names = match image.tags.first() {
        Some(t) => vec![format!("{}:{t}", image.repository)],
        None => vec![format!("{}@{}", image.repository, image.digest)],
    };
    Node {
        digest: image.digest.clone(),
        names,
        layers: image.layers.clone(),
        base_digest: image
            .annotations
            .get(strata_govern::annotations::BASE_DIGEST)
            .and_then(|d| d.parse().ok()),
    }
}

/// The synthetic registry.
struct Data {
    images: Vec<Image>,
    /// The OS base with the most dependents.
    root: Digest,
}

/// A small deterministic generator (xorshift), so every run times the same data.
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

fn layer(name: &str) -> Digest {
    Digest::of(name.as_bytes())
}

impl Data {
    fn generate() -> Data {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut images = Vec::with_capacity(TOTAL);
        // Level 1: 4 OS families × 5 releases, 1–2 layers each.
        let mut bases = Vec::new();
        for os in ["debian", "ubuntu", "alpine", "rocky"] {
            for v in 0..5 {
                let layers: Vec<Digest> = (0..1 + v % 2)
                    .map(|l| layer(&format!("{os}-{v}-{l}")))
                    .collect();
                bases.push(push(
                    &mut images,
                    &mut rng,
                    &format!("base/{os}"),
                    &format!("{v}"),
                    layers,
                    None,
                ));
            }
        }
        // Level 2: 5 runtimes × 3 versions on 8 of the bases: 120 images, 2 layers each.
        let mut runtimes = Vec::new();
        for (b, base) in bases.iter().enumerate().filter(|(b, _)| b % 5 >= 3) {
            for lang in ["python", "node", "go", "java", "ruby"] {
                for v in 0..3 {
                    let mut layers = images[*base].layers.clone();
                    layers.push(layer(&format!("{lang}-{v}-on-{b}")));
                    layers.push(layer(&format!("{lang}-{v}-on-{b}-pkgs")));
                    let tag = format!("{v}-{}", images[*base].repository.replace('/', "-"));
                    runtimes.push(push(
                        &mut images,
                        &mut rng,
                        &format!("runtime/{lang}"),
                        &tag,
                        layers,
                        None,
                    ));
                }
            }
        }
        // Level 3: 10 tool repositories × 40 images on random runtimes.
        let mut tools = Vec::new();
        for t in 0..10 {
            for v in 0..40 {
                let parent = runtimes[rng.below(runtimes.len())];
                let mut layers = images[parent].layers.clone();
                layers.push(layer(&format!("tool{t}-{v}")));
                tools.push(push(
                    &mut images,
                    &mut rng,
                    &format!("tools/tool{t}"),
                    &format!("v{v}"),
                    layers,
                    None,
                ));
            }
        }
        // Level 4: the rest are apps: 170 repositories of ~55 versions, each app on one tool
        // or runtime image, its versions sharing the dependency layer (rebuilt now and then).
        let mut base_of_app = HashMap::new();
        let apps = TOTAL - images.len();
        for a in 0..apps {
            let repo = a % 170;
            let version = a / 170;
            let parent = *base_of_app.entry(repo).or_insert_with(|| {
                if rng.below(3) == 0 {
                    runtimes[rng.below(runtimes.len())]
                } else {
                    tools[rng.below(tools.len())]
                }
            });
            let mut layers = images[parent].layers.clone();
            layers.push(layer(&format!("app{repo}-deps-{}", version / 10)));
            layers.push(layer(&format!("app{repo}-code-{version}")));
            // One app in 20 is squashed and names its base by annotation instead.
            let annotated = repo % 20 == 0;
            if annotated {
                layers = vec![layer(&format!("app{repo}-squashed-{version}"))];
            }
            let base = annotated.then(|| images[parent].digest.clone());
            let tag = format!("v1.{version}.0");
            push(
                &mut images,
                &mut rng,
                &format!("team{}/app{repo}", repo % 40),
                &tag,
                layers,
                base,
            );
        }
        let root = images[bases[3]].digest.clone();
        Data { images, root }
    }
}

/// Adds an image with mixed labels, push and pull times; returns its index.
fn push(
    images: &mut Vec<Image>,
    rng: &mut Rng,
    repo: &str,
    tag: &str,
    layers: Vec<Digest>,
    base: Option<Digest>,
) -> usize {
    let n = images.len();
    let labels: BTreeSet<String> = match rng.below(10) {
        0 => ["maybe_prod", "prod"].map(String::from).into(),
        1 | 2 => ["maybe_prod".to_owned()].into(),
        _ => BTreeSet::new(),
    };
    let pushed = NOW - (TOTAL - n) as i64 * 600 - rng.below(3600) as i64;
    let last_pulled = (rng.below(2) == 0).then(|| NOW - rng.below(60) as i64 * DAY);
    let mut annotations = BTreeMap::new();
    if let Some(b) = base {
        annotations.insert(
            strata_govern::annotations::BASE_DIGEST.to_owned(),
            b.to_string(),
        );
    }
    images.push(Image {
        repository: repo.to_owned(),
        digest: Digest::of(format!("manifest {repo}:{tag} {n}").as_bytes()),
        tags: if rng.below(8) == 0 {
            Vec::new()
        } else {
            vec![tag.to_owned()]
        },
        labels,
        pushed,
        last_pulled,
        size: 50_000_000 + rng.below(500_000_000) as u64,
        layers,
        annotations,
    });
    n
}

/// zot's derived-image search: one pass over every image, keeping those whose layers start
/// with the queried image's (direct and indirect alike, without parents).
fn zot_one_pass(images: &[Image], root: &Digest) -> usize {
    let Some(q) = images.iter().find(|i| &i.digest == root) else {
        return 0;
    };
    images
        .iter()
        .filter(|i| i.layers.len() > q.layers.len() && i.layers.starts_with(&q.layers))
        .count()
}

/// Without an index: every image's parent found by comparing its layers with every other
/// image's (the longest proper prefix, or the `base.digest` annotation), then a walk down
/// from `root`. Returns the number of dependents.
fn full_scan_dependents(images: &[Image], root: &Digest) -> usize {
    let key = strata_govern::annotations::BASE_DIGEST;
    let mut children: HashMap<&Digest, Vec<&Digest>> = HashMap::new();
    for image in images {
        let annotated = image.annotations.get(key).and_then(|d| {
            images
                .iter()
                .find(|o| o.digest.to_string() == *d)
                .map(|o| &o.digest)
        });
        let parent = annotated.or_else(|| {
            images
                .iter()
                .filter(|o| {
                    o.layers.len() < image.layers.len() && image.layers.starts_with(&o.layers)
                })
                .filter(|o| !o.layers.is_empty())
                .max_by(|a, b| {
                    a.layers
                        .len()
                        .cmp(&b.layers.len())
                        .then(b.digest.cmp(&a.digest))
                })
                .map(|o| &o.digest)
        });
        if let Some(p) = parent {
            children.entry(p).or_default().push(&image.digest);
        }
    }
    let mut count = 0;
    let mut queue = vec![root];
    while let Some(d) = queue.pop() {
        for c in children.get(d).into_iter().flatten() {
            count += 1;
            queue.push(c);
        }
    }
    count
}
