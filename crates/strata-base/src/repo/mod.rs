//! The Debian archive client: signed `Release` files, `Packages` indices and a verified
//! download cache, for several sources (mirror × suite × components) at once.
//!
//! [`Repository::load`] fetches each source's `InRelease` (or `Release` + `Release.gpg`),
//! checks its OpenPGP signature against the keyring and its `Valid-Until`, then each
//! component's `Packages` index (from the cache when the Release names the same hash, else
//! downloaded as `.xz`, `.gz` or plain, checked by size and SHA256), and keeps every package
//! record. Among several versions of a name the highest wins (apt's default: every source
//! pinned 500). [`fetch_debs`] brings `.deb`s into the [`Cache`].

mod cache;
pub mod control;
mod http;
mod index;
pub mod release;
pub mod signature;
pub mod version;

use std::io::Read;
use std::path::PathBuf;

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

pub use cache::{fetch_debs, hash_file, Cache};
use http::Http;
use release::Release;
use signature::Keyring;
pub use version::Version;

/// Debian's archive keyring as the `debian-archive-keyring` package installs it.
pub const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One `deb` line: a mirror URL (e.g. `http://deb.debian.org/debian`, or a
/// `http://snapshot.debian.org/archive/debian/20240801T000000Z` snapshot), a suite and its
/// components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub mirror: String,
    pub suite: String,
    pub components: Vec<String>,
}

impl Source {
    /// A source from its parts (`components` defaults to `main` when empty).
    pub fn new(mirror: &str, suite: &str, components: &[&str]) -> Source {
        Source {
            mirror: mirror.trim_end_matches('/').to_owned(),
            suite: suite.to_owned(),
            components: if components.is_empty() {
                vec!["main".to_owned()]
            } else {
                components.iter().map(|c| (*c).to_owned()).collect()
            },
        }
    }

    /// `mirror suite`, how messages name the source.
    pub fn label(&self) -> String {
        format!("{} {}", self.mirror, self.suite)
    }
}

/// What [`Repository::load`] reads.
#[derive(Debug, Clone)]
pub struct RepoOptions {
    pub sources: Vec<Source>,
    /// Debian architecture name (`amd64`, `arm64`…); `Architecture: all` packages come along.
    pub arch: String,
    /// The trusted keys (binary or armored keyring file).
    pub keyring: PathBuf,
    pub cache: Cache,
    /// Check each Release's `Valid-Until` (apt's default). Turn off for old snapshots, whose
    /// security suites have long expired (apt's `Check-Valid-Until=no`).
    pub check_valid_until: bool,
}

impl RepoOptions {
    /// Options with the Debian keyring and `Valid-Until` checked.
    pub fn new(sources: Vec<Source>, arch: &str, cache: Cache) -> RepoOptions {
        RepoOptions {
            sources,
            arch: arch.to_owned(),
            keyring: PathBuf::from(DEFAULT_KEYRING),
            cache,
            check_valid_until: true,
        }
    }
}

/// One binary package as an index lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageRecord {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// Path of the `.deb` under the mirror (`pool/main/…`).
    pub filename: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// The mirror URL and suite it came from.
    pub mirror: String,
    pub suite: String,
    /// The index's full paragraph, `\n`-terminated. For a record rebuilt from a lock file alone
    /// (see `Lock::packages`) only the locked `Priority` and `Section`: the `.deb`'s own
    /// `control` file, with those two from the index, is what dpkg's status is made from.
    pub control: String,
}

impl PackageRecord {
    /// Where the `.deb` is downloaded from.
    pub fn url(&self) -> String {
        format!("{}/{}", self.mirror.trim_end_matches('/'), self.filename)
    }

    /// A field of the index paragraph (multi-line values joined by `\n`).
    pub fn field(&self, name: &str) -> Option<String> {
        let mut lines = self.control.lines();
        while let Some(line) = lines.next() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if line.starts_with([' ', '\t']) || !k.eq_ignore_ascii_case(name) {
                continue;
            }
            let mut value = v.trim().to_owned();
            for cont in lines.by_ref() {
                if !cont.starts_with([' ', '\t']) {
                    break;
                }
                value.push('\n');
                value.push_str(cont.trim());
            }
            return Some(value);
        }
        None
    }

    /// `name=version`, how messages name a package.
    pub fn label(&self) -> String {
        format!("{}={}", self.name, self.version)
    }
}

/// A loaded, verified suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteInfo {
    pub mirror: String,
    pub suite: String,
    /// The Release's `Date:` as written.
    pub date: String,
}

/// What the resolver reads of every record, extracted once when the index is parsed (the
/// resolver would otherwise rescan 60,000 paragraphs for `Provides` and `Priority`).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The parsed version (`None`: not a Debian version; the resolver names it if it needs it).
    pub version: Option<Version>,
    pub provides: Option<String>,
    pub priority: Option<String>,
}

impl Facts {
    /// The facts of a record, read from its paragraph.
    pub fn of(rec: &PackageRecord) -> Facts {
        Facts {
            version: Version::parse(&rec.version).ok(),
            provides: rec.field("Provides"),
            priority: rec.field("Priority"),
        }
    }
}

/// Every package of every source, indexed by name.
#[derive(Debug, Default)]
pub struct Repository {
    arch: String,
    packages: Vec<PackageRecord>,
    facts: Vec<Facts>,
    by_name: FxHashMap<String, Vec<usize>>,
    suites: Vec<SuiteInfo>,
}

/// Everything that can go wrong talking to the archive.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Transport>,
    },
    #[error("reading {url}")]
    Read {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Signature(#[from] signature::SignatureError),
    #[error(transparent)]
    Release(#[from] release::ReleaseError),
    #[error("{source_label}: no InRelease nor Release at {url} (is the suite name right?)")]
    NoRelease { source_label: String, url: String },
    #[error("{source_label}: Release.gpg missing at {url}: an unsigned Release is refused")]
    NoSignature { source_label: String, url: String },
    #[error("{source_label}: the Release lists no Packages index for {component}/binary-{arch}")]
    NoIndex {
        source_label: String,
        component: String,
        arch: String,
    },
    #[error("{url}: {detail}")]
    IndexMismatch { url: String, detail: String },
    #[error("{what}, paragraph at line {line}: {message}")]
    Index {
        what: String,
        line: usize,
        message: String,
    },
    #[error("{what}: bad version of package {package}")]
    BadVersion {
        what: String,
        package: String,
        #[source]
        source: version::VersionError,
    },
    #[error("{package}={version}: {url} is not on the mirror (404)")]
    DebNotFound {
        package: String,
        version: String,
        url: String,
    },
    #[error("{package}: {url} does not match the index ({detail}): not stored")]
    DebMismatch {
        /// `name=version`.
        package: String,
        url: String,
        detail: String,
    },
}

impl Repository {
    /// Fetches, verifies and parses every source's indices (sources in parallel).
    pub fn load(opts: &RepoOptions) -> Result<Repository, RepoError> {
        let keyring = Keyring::open(&opts.keyring)?;
        let http = Http::default();
        let loaded: Vec<Result<LoadedSource, RepoError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = opts
                .sources
                .iter()
                .map(|src| scope.spawn(|| load_source(opts, &keyring, &http, src)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("index loader panicked"))
                .collect()
        });
        let mut repo = Repository {
            arch: opts.arch.clone(),
            ..Repository::default()
        };
        for result in loaded {
            let (info, records) = result?;
            repo.packages.reserve(records.len());
            repo.facts.reserve(records.len());
            repo.by_name.reserve(records.len());
            repo.suites.push(info);
            for (rec, facts) in records {
                repo.add(rec, facts);
            }
        }
        Ok(repo)
    }

    /// A repository from records already at hand (tests, tools): the first record of a
    /// name/version/arch wins, as in [`Repository::load`]'s source order.
    pub fn from_records(arch: &str, records: Vec<PackageRecord>) -> Repository {
        let mut repo = Repository {
            arch: arch.to_owned(),
            ..Repository::default()
        };
        for rec in records {
            let facts = Facts::of(&rec);
            repo.add(rec, facts);
        }
        repo
    }

    fn add(&mut self, rec: PackageRecord, facts: Facts) {
        if rec.arch != self.arch && rec.arch != "all" {
            return;
        }
        let slot = self.by_name.entry(rec.name.clone()).or_default();
        let dup = slot.iter().any(|&i| {
            let other = &self.packages[i];
            other.version == rec.version && other.arch == rec.arch
        });
        if !dup {
            slot.push(self.packages.len());
            self.packages.push(rec);
            self.facts.push(facts);
        }
    }

    /// The native architecture.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The suites loaded, in source order, with their Release dates.
    pub fn suites(&self) -> &[SuiteInfo] {
        &self.suites
    }

    /// Every record of `name` (all versions, all sources).
    pub fn versions(&self, name: &str) -> Vec<&PackageRecord> {
        self.by_name
            .get(name)
            .map(|ids| ids.iter().map(|&i| &self.packages[i]).collect())
            .unwrap_or_default()
    }

    /// Every record, in load order.
    pub fn packages(&self) -> &[PackageRecord] {
        &self.packages
    }

    /// Every record with its [`Facts`], in load order.
    pub fn entries(&self) -> impl Iterator<Item = (&PackageRecord, &Facts)> {
        self.packages.iter().zip(&self.facts)
    }

    /// The record of `name` at exactly `version` with its facts, if any source has it.
    pub fn find_entry(&self, name: &str, version: &str) -> Option<(&PackageRecord, &Facts)> {
        let ids = self.by_name.get(name)?;
        ids.iter()
            .map(|&i| (&self.packages[i], &self.facts[i]))
            .find(|(r, _)| r.version == version)
    }

    /// The record of `name` at exactly `version`, if any source has it.
    pub fn find(&self, name: &str, version: &str) -> Option<&PackageRecord> {
        self.versions(name)
            .into_iter()
            .find(|r| r.version == version)
    }
}

/// A source's verified suite and its records.
type LoadedSource = (SuiteInfo, Vec<(PackageRecord, Facts)>);

/// One source: verified Release, then each component's index.
fn load_source(
    opts: &RepoOptions,
    keyring: &Keyring,
    http: &Http,
    src: &Source,
) -> Result<LoadedSource, RepoError> {
    let label = src.label();
    let base = format!("{}/dists/{}", src.mirror.trim_end_matches('/'), src.suite);
    let release_text = fetch_release(keyring, http, &base, &label)?;
    let release = Release::parse(&label, &release_text)?;
    if opts.check_valid_until {
        release.check_valid(&label, time::OffsetDateTime::now_utc())?;
    }
    tracing::info!(source = %label, date = %release.date, "release verified");
    let mut records = Vec::new();
    for component in &src.components {
        let text = fetch_index(opts, http, &base, &label, &release, component)?;
        let what = format!("{base}/{component}/binary-{}/Packages", opts.arch);
        records.extend(index::parse_packages(
            &text,
            &src.mirror,
            &src.suite,
            &what,
        )?);
    }
    let info = SuiteInfo {
        mirror: src.mirror.clone(),
        suite: src.suite.clone(),
        date: release.date.clone(),
    };
    Ok((info, records))
}

/// The verified Release text: `InRelease`, else `Release` + `Release.gpg`.
fn fetch_release(
    keyring: &Keyring,
    http: &Http,
    base: &str,
    label: &str,
) -> Result<String, RepoError> {
    let url = format!("{base}/InRelease");
    if let Some(bytes) = http.get_bytes(&url)? {
        let text = String::from_utf8_lossy(&bytes);
        return Ok(keyring.verify_inrelease(label, &text)?);
    }
    let url = format!("{base}/Release");
    let Some(release) = http.get_bytes(&url)? else {
        return Err(RepoError::NoRelease {
            source_label: label.to_owned(),
            url,
        });
    };
    let sig_url = format!("{base}/Release.gpg");
    let Some(sig) = http.get_bytes(&sig_url)? else {
        return Err(RepoError::NoSignature {
            source_label: label.to_owned(),
            url: sig_url,
        });
    };
    keyring.verify_detached(label, &release, &sig)?;
    Ok(String::from_utf8_lossy(&release).into_owned())
}

/// A component's uncompressed Packages text, from the cache when the Release's hash of it is
/// already there, else downloaded (xz, gz, plain: the first the Release lists) and checked.
fn fetch_index(
    opts: &RepoOptions,
    http: &Http,
    base: &str,
    label: &str,
    release: &Release,
    component: &str,
) -> Result<String, RepoError> {
    let stem = format!("{component}/binary-{}/Packages", opts.arch);
    let plain = release.files.get(&stem);
    if let Some(entry) = plain {
        let cached = opts.cache.index_path(&entry.sha256);
        if let Ok(bytes) = std::fs::read(&cached) {
            if bytes.len() as u64 == entry.size && sha256_hex(&bytes) == entry.sha256 {
                tracing::debug!(index = %stem, "index from cache");
                return into_text(bytes, &cached.display().to_string());
            }
        }
    }
    let candidates: [(&str, Decoder); 3] = [
        (".xz", Decoder::Xz),
        (".gz", Decoder::Gz),
        ("", Decoder::Plain),
    ];
    for (ext, decoder) in candidates {
        let path = format!("{stem}{ext}");
        let Some(listed) = release.files.get(&path) else {
            continue;
        };
        let url = format!("{base}/{path}");
        let Some(compressed) = http.get_bytes(&url)? else {
            continue;
        };
        check(&url, &compressed, &listed.sha256, listed.size)?;
        let bytes = decoder
            .decode(&compressed)
            .map_err(|source| RepoError::Read {
                url: url.clone(),
                source,
            })?;
        let key = match plain {
            Some(entry) => {
                check(
                    &format!("{url} (uncompressed)"),
                    &bytes,
                    &entry.sha256,
                    entry.size,
                )?;
                entry.sha256.clone()
            }
            None => sha256_hex(&bytes),
        };
        opts.cache.store_index(&key, &bytes)?;
        return into_text(bytes, &url);
    }
    Err(RepoError::NoIndex {
        source_label: label.to_owned(),
        component: component.to_owned(),
        arch: opts.arch.clone(),
    })
}

fn into_text(bytes: Vec<u8>, what: &str) -> Result<String, RepoError> {
    String::from_utf8(bytes).map_err(|e| RepoError::Index {
        what: what.to_owned(),
        line: 0,
        message: format!("not UTF-8: {e}"),
    })
}

fn check(url: &str, bytes: &[u8], sha256: &str, size: u64) -> Result<(), RepoError> {
    let got = sha256_hex(bytes);
    if bytes.len() as u64 != size || got != sha256 {
        return Err(RepoError::IndexMismatch {
            url: url.to_owned(),
            detail: format!(
                "does not match its Release (want sha256 {sha256}, {size} bytes; got {got}, {} bytes)",
                bytes.len()
            ),
        });
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Clone, Copy)]
enum Decoder {
    Xz,
    Gz,
    Plain,
}

impl Decoder {
    fn decode(self, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len() * 5);
        match self {
            Decoder::Xz => {
                xz2::read::XzDecoder::new(bytes).read_to_end(&mut out)?;
            }
            Decoder::Gz => {
                flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
            }
            Decoder::Plain => out.extend_from_slice(bytes),
        }
        Ok(out)
    }
}
