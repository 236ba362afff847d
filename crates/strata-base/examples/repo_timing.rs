//! Times a warm `Repository::load` of bookworm + bookworm-updates + bookworm-security and the
//! resolution of the `debug` image's set (issue 13), printing the median of several runs:
//!
//! ```text
//! cargo run --release -p strata-base --example repo_timing -- [CACHE_DIR] [RUNS]
//! ```
//!
//! The first run fills the cache (network); the median is of the runs after it.

use std::time::{Duration, Instant};

use strata_base::repo::{Cache, RepoOptions, Repository, Source};
use strata_base::resolve::{resolve, Request, Variant};

const MIRROR: &str = "http://deb.debian.org/debian";
const SECURITY: &str = "http://deb.debian.org/debian-security";
const DEBUG_TOOLS: &[&str] = &[
    "procps",
    "iproute2",
    "net-tools",
    "dnsutils",
    "tcpdump",
    "ngrep",
    "netcat-openbsd",
    "vim",
    "nano",
    "rsync",
    "curl",
    "mariadb-client",
    "lrzsz",
    "linux-perf",
    "sysstat",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "target/fixtures/strata-base/base-cache".to_owned());
    let runs: usize = args
        .next()
        .map_or(7, |n| n.parse().expect("RUNS: a number"));
    let cache = Cache::new(&dir).expect("cache");
    let sources = vec![
        Source::new(MIRROR, "bookworm", &["main"]),
        Source::new(MIRROR, "bookworm-updates", &["main"]),
        Source::new(SECURITY, "bookworm-security", &["main"]),
    ];
    let opts = RepoOptions::new(sources, "amd64", cache);
    let request = Request::new(DEBUG_TOOLS, Variant::Minbase);
    let mut loads = Vec::new();
    let mut resolves = Vec::new();
    for run in 0..=runs {
        let t = Instant::now();
        let repo = Repository::load(&opts).expect("load");
        let load = t.elapsed();
        let t = Instant::now();
        let res = resolve(&repo, &request).expect("resolve");
        let resolved = t.elapsed();
        eprintln!(
            "run {run}: load {load:?} ({} records), resolve {resolved:?} ({} packages)",
            repo.packages().len(),
            res.packages.len()
        );
        if run > 0 {
            loads.push(load);
            resolves.push(resolved);
        }
    }
    println!(
        "median of {runs} warm runs: load {:?}, resolve {:?}",
        median(loads),
        median(resolves)
    );
}
