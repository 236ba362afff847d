//! Resolution against the real Debian mirror, compared with debootstrap's and apt's own
//! choices for the same suites (network; the comparisons run the real tools as root).

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use strata_base::repo::{Cache, RepoOptions, Repository, Source};
use strata_base::resolve::{resolve, Request, Variant};
use strata_testkit::{require_root, require_tool};

/// The troubleshooting tools of the `debug` image (issue 13).
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

fn load(sources: Vec<Source>) -> Repository {
    common::require_keyring();
    let cache = Cache::new(common::cache_dir()).unwrap();
    Repository::load(&RepoOptions::new(sources, "amd64", cache)).unwrap()
}

fn bookworm_all() -> Vec<Source> {
    vec![
        Source::new(common::MIRROR, "bookworm", &["main"]),
        Source::new(common::MIRROR, "bookworm-updates", &["main"]),
        Source::new(common::SECURITY, "bookworm-security", &["main"]),
    ]
}

#[test]
fn loads_bookworm_with_updates_and_security_highest_version_wins() {
    let repo = load(bookworm_all());
    assert_eq!(repo.suites().len(), 3);
    assert!(repo.suites().iter().all(|s| !s.date.is_empty()));
    let libc = repo.versions("libc6");
    assert!(!libc.is_empty());
    let res = resolve(&repo, &Request::new(&["libc6"], Variant::None)).unwrap();
    let chosen = &res
        .packages
        .iter()
        .find(|p| p.name == "libc6")
        .unwrap()
        .version;
    let best = libc
        .iter()
        .map(|r| strata_base::repo::Version::parse(&r.version).unwrap())
        .max()
        .unwrap();
    assert_eq!(chosen, best.as_str());
    // The full stanza is kept for dpkg's database.
    let rec = res.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert!(rec.control.starts_with("Package: libc6\n"));
    assert!(rec.field("Description").is_some());
}

#[test]
#[ignore = "needs root"]
fn minbase_equals_debootstrap_print_debs() {
    require_root();
    require_tool("debootstrap");
    let target = tempfile::tempdir().unwrap();
    let out = Command::new("debootstrap")
        .args(["--print-debs", "--variant=minbase", "bookworm"])
        .arg(target.path().join("t"))
        .arg(common::MIRROR)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "debootstrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(theirs.len() > 50, "{theirs:?}");

    let repo = load(vec![Source::new(common::MIRROR, "bookworm", &["main"])]);
    let res = resolve(&repo, &Request::new(&[], Variant::Minbase)).unwrap();
    let ours: BTreeSet<String> = res.packages.iter().map(|p| p.name.clone()).collect();
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only strata selects these"
    );
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "only debootstrap selects these"
    );
}

/// apt's own resolution on the host, in a private state directory: `apt-get install
/// --simulate --no-install-recommends` of `names` onto an empty system.
fn apt_simulate(names: &[String]) -> BTreeSet<(String, String)> {
    // A private state per call: tests run in parallel, and apt's lists are not shared safely.
    let state = tempfile::tempdir().unwrap();
    let dir = state.path();
    for sub in [
        "lists/partial",
        "cache/archives/partial",
        "etc/preferences.d",
        "etc/apt.conf.d",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("status"), "").unwrap();
    let keyring = common::KEYRING;
    std::fs::write(
        dir.join("etc/sources.list"),
        format!(
            "deb [signed-by={keyring}] {m} bookworm main\n\
             deb [signed-by={keyring}] {m} bookworm-updates main\n\
             deb [signed-by={keyring}] {s} bookworm-security main\n",
            m = common::MIRROR,
            s = common::SECURITY
        ),
    )
    .unwrap();
    let d = dir.display();
    let opts: Vec<String> = [
        format!("Dir::Etc::SourceList={d}/etc/sources.list"),
        "Dir::Etc::SourceParts=/nonexistent".to_owned(),
        format!("Dir::Etc::Preferences={d}/etc/preferences"),
        format!("Dir::Etc::PreferencesParts={d}/etc/preferences.d"),
        format!("Dir::Etc::Parts={d}/etc/apt.conf.d"),
        format!("Dir::State::Lists={d}/lists"),
        format!("Dir::State::status={d}/status"),
        format!("Dir::Cache={d}/cache"),
        "APT::Architecture=amd64".to_owned(),
        "APT::Architectures=amd64".to_owned(),
        "APT::Install-Recommends=false".to_owned(),
        "Debug::NoLocking=true".to_owned(),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_owned(), o])
    .collect();
    let update = Command::new("apt-get")
        .args(&opts)
        .args(["-qq", "update"])
        .output()
        .unwrap();
    assert!(
        update.status.success(),
        "apt-get update: {}",
        String::from_utf8_lossy(&update.stderr)
    );
    let sim = Command::new("apt-get")
        .args(&opts)
        .args(["--simulate", "--no-install-recommends", "install"])
        .args(names)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&sim.stdout);
    assert!(
        sim.status.success(),
        "apt-get install -s: {}\n{stdout}",
        String::from_utf8_lossy(&sim.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next().unwrap().to_owned();
            let version = words.next().unwrap().trim_start_matches('(').to_owned();
            (name, version)
        })
        .collect()
}

#[test]
fn debug_tools_on_minbase_equal_apt_get_install() {
    require_tool("apt-get");
    let repo = load(bookworm_all());
    let res = resolve(&repo, &Request::new(DEBUG_TOOLS, Variant::Minbase)).unwrap();
    let ours: BTreeSet<(String, String)> = res
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    // apt gets the minbase names (strata's, checked against debootstrap above) plus the tools.
    let minbase = resolve(&repo, &Request::new(&[], Variant::Minbase)).unwrap();
    let mut names: Vec<String> = minbase.packages.iter().map(|p| p.name.clone()).collect();
    names.extend(DEBUG_TOOLS.iter().map(|s| (*s).to_owned()));
    let theirs = apt_simulate(&names);
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "only strata selects these"
    );
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "only apt selects these"
    );
}

#[test]
fn a_distroless_set_without_variant_equals_apt_get_install() {
    require_tool("apt-get");
    let wanted = [
        "libc6",
        "ca-certificates",
        "tzdata",
        "python3",
        "python3-venv",
    ];
    let repo = load(bookworm_all());
    let res = resolve(&repo, &Request::new(&wanted, Variant::None)).unwrap();
    let ours: BTreeSet<(String, String)> = res
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    let names: Vec<String> = wanted.iter().map(|s| (*s).to_owned()).collect();
    let theirs = apt_simulate(&names);
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "only strata selects these"
    );
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "only apt selects these"
    );
}
