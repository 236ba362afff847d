//! Dependency resolution, as `apt-get install --no-install-recommends` decides it on an empty
//! system: every package's `Pre-Depends` and `Depends` (never `Recommends` nor `Suggests`),
//! alternatives (the first one that can be satisfied, unless another is already selected),
//! virtual packages through `Provides` (versioned provides included), version constraints and
//! architecture qualifiers; then `Conflicts`/`Breaks` are checked on the result.
//!
//! Each name's candidate is its highest version across all sources (apt's default pinning:
//! every source at 500), or the version the request pins with `name=version`. As apt does, a
//! dependency the candidate does not satisfy is an error, not a reason to look for an older
//! version.
//!
//! The `minbase` variant adds what `debootstrap --variant=minbase` installs: every package of
//! `Priority: required` and `apt`.

pub mod relation;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rustc_hash::FxHashMap;

use crate::repo::{Facts, PackageRecord, Repository, Version};
use relation::{Alternatives, Dep};

/// What the image should contain on top of the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// `Priority: required` + `apt`, as `debootstrap --variant=minbase`.
    Minbase,
    /// Only the requested packages and their dependencies (a distroless-style image).
    #[default]
    None,
}

/// A requested package, optionally pinned to an exact version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub name: String,
    pub version: Option<String>,
}

impl Wanted {
    /// `name` or `name=version`.
    pub fn parse(spec: &str) -> Wanted {
        match spec.split_once('=') {
            Some((name, version)) => Wanted {
                name: name.trim().to_owned(),
                version: Some(version.trim().to_owned()),
            },
            None => Wanted {
                name: spec.trim().to_owned(),
                version: None,
            },
        }
    }
}

/// The input of [`resolve`].
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub packages: Vec<Wanted>,
    pub variant: Variant,
}

impl Request {
    /// A request from `name` / `name=version` strings.
    pub fn new(specs: &[&str], variant: Variant) -> Request {
        Request {
            packages: specs.iter().map(|s| Wanted::parse(s)).collect(),
            variant,
        }
    }
}

/// The resolved set.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Every package to install, sorted by name.
    pub packages: Vec<PackageRecord>,
    /// Name → the names its `Pre-Depends` (`true`) and `Depends` (`false`) were satisfied by.
    edges: BTreeMap<String, Vec<(String, bool)>>,
}

/// Why a request cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("package {package} is not in any index{}", via(chain))]
    Missing { package: String, chain: Vec<String> },
    #[error("package {package} has no version {version} in any index (available: {available})")]
    MissingVersion {
        package: String,
        version: String,
        available: String,
    },
    #[error("unsatisfiable dependency: {} -> {dep} : {reason}", chain.join(" -> "))]
    Unsatisfiable {
        chain: Vec<String>,
        dep: String,
        reason: String,
    },
    #[error("{package} is a virtual package provided by {providers}: name one of them")]
    Ambiguous { package: String, providers: String },
    #[error("{a} conflicts with {b} ({field}: {relation})")]
    Conflict {
        a: String,
        b: String,
        field: &'static str,
        relation: String,
    },
    #[error("{package}: bad {field} field")]
    Field {
        package: String,
        field: &'static str,
        #[source]
        source: relation::RelationError,
    },
    #[error("{package}: bad version {version:?}")]
    Version { package: String, version: String },
}

fn via(chain: &[String]) -> String {
    if chain.is_empty() {
        String::new()
    } else {
        format!(" (wanted by {})", chain.join(" -> "))
    }
}

/// A candidate: the record apt would install for a name, with its facts.
struct Cand<'a> {
    rec: &'a PackageRecord,
    version: &'a Version,
    facts: &'a Facts,
}

/// The candidates and the providers of virtual names.
struct Universe<'a> {
    arch: &'a str,
    cands: FxHashMap<&'a str, Cand<'a>>,
    /// Virtual name → (provider name, the `Provides` item as written). Only the names are
    /// split out here; an item's version is parsed when its name is asked for (bookworm has
    /// ~100,000 provided names, mostly versioned `librust-*` ones no request ever reaches).
    providers: FxHashMap<&'a str, Vec<(&'a str, &'a str)>>,
}

impl<'a> Universe<'a> {
    fn new(repo: &'a Repository, pins: &[Wanted]) -> Result<Universe<'a>, ResolveError> {
        let mut cands: FxHashMap<&str, Cand> = FxHashMap::default();
        cands.reserve(repo.packages().len());
        for (rec, facts) in repo.entries() {
            let version = facts
                .version
                .as_ref()
                .ok_or_else(|| ResolveError::Version {
                    package: rec.name.clone(),
                    version: rec.version.clone(),
                })?;
            match cands.get(rec.name.as_str()) {
                Some(c) if c.version >= version => {}
                _ => {
                    cands.insert(
                        &rec.name,
                        Cand {
                            rec,
                            version,
                            facts,
                        },
                    );
                }
            }
        }
        for pin in pins {
            let Some(want) = &pin.version else { continue };
            let Some((rec, facts)) = repo.find_entry(&pin.name, want) else {
                if repo.versions(&pin.name).is_empty() {
                    return Err(ResolveError::Missing {
                        package: pin.name.clone(),
                        chain: Vec::new(),
                    });
                }
                let mut available: Vec<&str> = repo
                    .versions(&pin.name)
                    .iter()
                    .map(|r| r.version.as_str())
                    .collect();
                available.sort();
                return Err(ResolveError::MissingVersion {
                    package: pin.name.clone(),
                    version: want.clone(),
                    available: available.join(", "),
                });
            };
            let version = facts
                .version
                .as_ref()
                .expect("every version was parsed above");
            cands.insert(
                &rec.name,
                Cand {
                    rec,
                    version,
                    facts,
                },
            );
        }
        let mut providers: FxHashMap<&str, Vec<(&str, &str)>> = FxHashMap::default();
        for (name, cand) in &cands {
            let Some(field) = &cand.facts.provides else {
                continue;
            };
            for item in field.split([',', '|']).map(str::trim) {
                let end = item.find([' ', '\t', '(', ':']).unwrap_or(item.len());
                if end > 0 {
                    providers
                        .entry(&item[..end])
                        .or_default()
                        .push((name, item));
                }
            }
        }
        for list in providers.values_mut() {
            list.sort_unstable();
        }
        Ok(Universe {
            arch: repo.arch(),
            cands,
            providers,
        })
    }

    /// Whether the candidate `name` is of an architecture `dep` accepts.
    fn arch_ok(&self, dep: &Dep, rec: &PackageRecord) -> bool {
        match dep.arch.as_deref() {
            None => true,
            // `pkg:any` is satisfied by a package that declares `Multi-Arch: allowed`.
            Some("any") => rec.field("Multi-Arch").as_deref() == Some("allowed"),
            Some("native") => rec.arch == self.arch || rec.arch == "all",
            Some(other) => rec.arch == other,
        }
    }

    /// The names that satisfy `dep`: the real package first, then providers.
    fn satisfiers(&self, dep: &Dep) -> Result<Vec<&'a str>, ResolveError> {
        let mut out = Vec::new();
        if let Some(c) = self.cands.get(dep.name.as_str()) {
            if dep.accepts(c.version) && self.arch_ok(dep, c.rec) {
                out.push(c.rec.name.as_str());
            }
        }
        if dep
            .arch
            .as_deref()
            .is_some_and(|a| a != "native" && a != self.arch)
        {
            // Providers never satisfy `:any` (dpkg: a virtual package is not Multi-Arch).
            return Ok(out);
        }
        for (provider, version) in self.provided(&dep.name)? {
            let ok = match (&dep.constraint, &version) {
                (None, _) => true,
                (Some((op, want)), Some(have)) => op.holds(have, want),
                (Some(_), None) => false,
            };
            if ok && !out.contains(&provider) {
                out.push(provider);
            }
        }
        Ok(out)
    }

    /// The providers of the virtual name `name` (by provider name), each with the version it
    /// provides when versioned, parsed from its `Provides` item now.
    fn provided(&self, name: &str) -> Result<Vec<(&'a str, Option<Version>)>, ResolveError> {
        let mut out = Vec::new();
        for &(provider, item) in self.providers.get(name).into_iter().flatten() {
            let rec = self.cands[provider].rec;
            for dep in relations(rec, "Provides", item)?.into_iter().flatten() {
                if dep.name == name {
                    out.push((provider, dep.constraint.map(|(_, v)| v)));
                }
            }
        }
        Ok(out)
    }

    /// Why no alternative of `group` can be satisfied, for the error message.
    fn why_not(&self, group: &Alternatives) -> String {
        let dep = &group[0];
        match self.cands.get(dep.name.as_str()) {
            Some(c) if !dep.accepts(c.version) => format!("only {} available", c.version),
            Some(c) if !self.arch_ok(dep, c.rec) => format!(
                "{} {} is Architecture {} / Multi-Arch {}",
                c.rec.name,
                c.version,
                c.rec.arch,
                c.rec.field("Multi-Arch").unwrap_or_else(|| "no".into())
            ),
            _ if self.providers.contains_key(dep.name.as_str()) => {
                "no provider of this virtual package matches".to_owned()
            }
            _ => "not in any index".to_owned(),
        }
    }
}

fn relations(
    rec: &PackageRecord,
    field: &'static str,
    text: &str,
) -> Result<Vec<Alternatives>, ResolveError> {
    relation::parse(text).map_err(|source| ResolveError::Field {
        package: rec.label(),
        field,
        source,
    })
}

/// The priority order apt breaks ties among providers with.
fn priority_rank(facts: &Facts) -> u8 {
    match facts.priority.as_deref() {
        Some("required") => 0,
        Some("important") => 1,
        Some("standard") => 2,
        Some("optional") => 3,
        _ => 4,
    }
}

/// Resolves `request` against `repo`: the full install set, sorted by name.
pub fn resolve(repo: &Repository, request: &Request) -> Result<Resolution, ResolveError> {
    let universe = Universe::new(repo, &request.packages)?;
    // Name → the chain of packages that pulled it in (empty for what was asked for).
    let mut chains: HashMap<&str, Vec<String>> = HashMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for wanted in &request.packages {
        let name = requested_name(&universe, &wanted.name)?;
        if chains.insert(name, Vec::new()).is_none() {
            queue.push_back(name);
        }
    }
    if request.variant == Variant::Minbase {
        let mut roots: Vec<&str> = universe
            .cands
            .iter()
            .filter(|(_, c)| c.facts.priority.as_deref() == Some("required"))
            .map(|(name, _)| *name)
            .collect();
        roots.push(requested_name(&universe, "apt")?);
        roots.sort_unstable();
        for name in roots {
            if chains.insert(name, Vec::new()).is_none() {
                queue.push_back(name);
            }
        }
    }
    let mut edges: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    while let Some(name) = queue.pop_front() {
        let rec = universe.cands[name].rec;
        let mut chain = chains[name].clone();
        chain.push(name.to_owned());
        let mut mine = Vec::new();
        for (field, pre) in [("Pre-Depends", true), ("Depends", false)] {
            let Some(text) = rec.field(field) else {
                continue;
            };
            for group in relations(rec, field, &text)? {
                let chosen = choose(&universe, &chains, &group)?.ok_or_else(|| {
                    ResolveError::Unsatisfiable {
                        chain: chain.clone(),
                        dep: group
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" | "),
                        reason: universe.why_not(&group),
                    }
                })?;
                if !chains.contains_key(chosen) {
                    chains.insert(chosen, chain.clone());
                    queue.push_back(chosen);
                }
                mine.push((chosen.to_owned(), pre));
            }
        }
        edges.insert(name.to_owned(), mine);
    }
    let mut names: Vec<&str> = chains.keys().copied().collect();
    names.sort_unstable();
    check_conflicts(&universe, &names)?;
    Ok(Resolution {
        packages: names
            .iter()
            .map(|n| universe.cands[n].rec.clone())
            .collect(),
        edges,
    })
}

/// The real package asked for, or the only provider of a virtual name (apt refuses to pick
/// among several providers of a name the user typed).
fn requested_name<'a>(universe: &Universe<'a>, name: &str) -> Result<&'a str, ResolveError> {
    if let Some((real, _)) = universe.cands.get_key_value(name) {
        return Ok(real);
    }
    match universe.providers.get(name).map(Vec::as_slice) {
        Some([(only, _)]) => Ok(only),
        Some(list) if !list.is_empty() => Err(ResolveError::Ambiguous {
            package: name.to_owned(),
            providers: list.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        }),
        _ => Err(ResolveError::Missing {
            package: name.to_owned(),
            chain: Vec::new(),
        }),
    }
}

/// Alternatives never chosen when another one of the group can be: strata's images have a
/// merged `/usr` from the start (as debootstrap makes them), so the live-migration package
/// `usrmerge` (and the perl it pulls in) is not wanted; `usr-is-merged` says the transition is
/// done. debootstrap does the same (`EXCLUDE_DEPENDENCY usrmerge` and `usr-is-merged` added
/// for bookworm, in `scripts/debian-common`).
const MERGED_USR_ONLY: &[&str] = &["usrmerge"];

/// The package that satisfies `group`: one already selected if any alternative is, else the
/// first alternative that can be satisfied (its real package, else its best provider: already
/// selected, then by `Priority`, then by name).
fn choose<'a>(
    universe: &Universe<'a>,
    chains: &HashMap<&str, Vec<String>>,
    group: &Alternatives,
) -> Result<Option<&'a str>, ResolveError> {
    let sats: Vec<Vec<&'a str>> = group
        .iter()
        .map(|d| {
            if group.len() > 1 && MERGED_USR_ONLY.contains(&d.name.as_str()) {
                Ok(Vec::new())
            } else {
                universe.satisfiers(d)
            }
        })
        .collect::<Result<_, _>>()?;
    if let Some(done) = sats.iter().flatten().find(|n| chains.contains_key(*n)) {
        return Ok(Some(done));
    }
    let Some((dep, names)) = group.iter().zip(&sats).find(|(_, s)| !s.is_empty()) else {
        return Ok(None);
    };
    if names[0] == dep.name {
        return Ok(Some(names[0]));
    }
    Ok(names
        .iter()
        .min_by_key(|n| (priority_rank(universe.cands[**n].facts), **n))
        .copied())
}

/// `Conflicts` and `Breaks` of every selected package against the others.
fn check_conflicts(universe: &Universe<'_>, names: &[&str]) -> Result<(), ResolveError> {
    let selected: BTreeSet<&str> = names.iter().copied().collect();
    for &name in names {
        let rec = universe.cands[name].rec;
        for field in ["Conflicts", "Breaks"] {
            let Some(text) = rec.field(field) else {
                continue;
            };
            for dep in relations(rec, field, &text)?.into_iter().flatten() {
                let hit = universe
                    .satisfiers(&dep)?
                    .into_iter()
                    .find(|other| *other != name && selected.contains(other));
                if let Some(other) = hit {
                    return Err(ResolveError::Conflict {
                        a: rec.label(),
                        b: universe.cands[other].rec.label(),
                        field,
                        relation: dep.to_string(),
                    });
                }
            }
        }
    }
    Ok(())
}

impl Resolution {
    /// The resolution of a set already decided (a lock file's packages, with `control` filled
    /// from each `.deb`'s own control file), for [`Resolution::install_order`]: every package
    /// is pinned, and a dependency the set does not satisfy is an error, as in [`resolve`].
    pub fn of_set(arch: &str, records: Vec<PackageRecord>) -> Result<Resolution, ResolveError> {
        let request = Request {
            packages: records
                .iter()
                .map(|r| Wanted {
                    name: r.name.clone(),
                    version: Some(r.version.clone()),
                })
                .collect(),
            variant: Variant::None,
        };
        resolve(&Repository::from_records(arch, records), &request)
    }

    /// The packages in dependency order: every package after what it (pre-)depends on,
    /// `Pre-Depends` followed first; cycles (which Debian has, among `Depends`) broken at the
    /// edge that closes them. Roots in name order: deterministic.
    pub fn install_order(&self) -> Vec<&PackageRecord> {
        let by_name: HashMap<&str, &PackageRecord> =
            self.packages.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut state: HashMap<&str, bool> = HashMap::new(); // false: in progress, true: done
        let mut out = Vec::with_capacity(self.packages.len());
        for pkg in &self.packages {
            self.visit(&pkg.name, &by_name, &mut state, &mut out);
        }
        out
    }

    fn visit<'a>(
        &'a self,
        name: &'a str,
        by_name: &HashMap<&str, &'a PackageRecord>,
        state: &mut HashMap<&'a str, bool>,
        out: &mut Vec<&'a PackageRecord>,
    ) {
        if state.contains_key(name) {
            return;
        }
        state.insert(name, false);
        let edges = self.edges.get(name).map(Vec::as_slice).unwrap_or_default();
        for pre in [true, false] {
            for (dep, _) in edges.iter().filter(|(_, p)| *p == pre) {
                self.visit(dep, by_name, state, out);
            }
        }
        state.insert(name, true);
        if let Some(rec) = by_name.get(name) {
            out.push(rec);
        }
    }

    /// The names a package's `Pre-Depends` (`true`) and `Depends` (`false`) resolved to.
    pub fn dependencies(&self, name: &str) -> &[(String, bool)] {
        self.edges.get(name).map(Vec::as_slice).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
