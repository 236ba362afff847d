//! The resolver on small literal indices.

use super::*;
use crate::repo::PackageRecord;

/// A record from `Package: name` / `Version: v` / extra field lines.
fn pkg(name: &str, version: &str, extra: &str) -> PackageRecord {
    let mut control = format!("Package: {name}\nVersion: {version}\nArchitecture: amd64\n");
    for line in extra.lines().map(str::trim).filter(|l| !l.is_empty()) {
        control.push_str(line);
        control.push('\n');
    }
    PackageRecord {
        name: name.to_owned(),
        version: version.to_owned(),
        arch: "amd64".to_owned(),
        filename: format!("pool/{name}_{version}_amd64.deb"),
        sha256: "00".repeat(32),
        size: 1,
        mirror: "http://m/debian".to_owned(),
        suite: "s".to_owned(),
        control,
    }
}

fn repo(recs: Vec<PackageRecord>) -> Repository {
    Repository::from_records("amd64", recs)
}

fn names(res: &Resolution) -> Vec<String> {
    res.packages
        .iter()
        .map(|p| format!("{}={}", p.name, p.version))
        .collect()
}

fn run(recs: Vec<PackageRecord>, specs: &[&str]) -> Result<Resolution, ResolveError> {
    resolve(&repo(recs), &Request::new(specs, Variant::None))
}

#[test]
fn depends_and_pre_depends_transitively_sorted_highest_version() {
    let res = run(
        vec![
            pkg("app", "1", "Depends: libb (>= 1), liba\nRecommends: extra"),
            pkg("liba", "1", "Pre-Depends: libc"),
            pkg("libb", "1", ""),
            pkg("libb", "2", ""),
            pkg("libc", "1", ""),
            pkg("extra", "1", ""),
        ],
        &["app"],
    )
    .unwrap();
    assert_eq!(names(&res), ["app=1", "liba=1", "libb=2", "libc=1"]);
}

#[test]
fn pinned_version_is_used() {
    let res = run(vec![pkg("a", "1", ""), pkg("a", "2", "")], &["a=1"]).unwrap();
    assert_eq!(names(&res), ["a=1"]);
    let err = run(vec![pkg("a", "1", "")], &["a=3"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a has no version 3") && err.contains("available: 1"),
        "{err}"
    );
}

#[test]
fn alternatives_first_satisfiable_unless_another_is_selected() {
    let recs = || {
        vec![
            pkg("x", "1", "Depends: missing | second | third"),
            pkg("second", "1", ""),
            pkg("third", "1", ""),
        ]
    };
    assert_eq!(names(&run(recs(), &["x"]).unwrap()), ["second=1", "x=1"]);
    assert_eq!(
        names(&run(recs(), &["third", "x"]).unwrap()),
        ["third=1", "x=1"],
        "an alternative already selected is preferred"
    );
}

#[test]
fn virtual_packages_through_provides_versioned_or_not() {
    let recs = vec![
        pkg("x", "1", "Depends: mail-transport-agent, libfoo-abi (>= 2)"),
        pkg(
            "exim",
            "1",
            "Provides: mail-transport-agent\nPriority: optional",
        ),
        pkg(
            "postfix",
            "1",
            "Provides: mail-transport-agent\nPriority: important",
        ),
        pkg("old", "1", "Provides: libfoo-abi (= 1)"),
        pkg("new", "1", "Provides: libfoo-abi (= 2)"),
        pkg("unversioned", "1", "Provides: libfoo-abi"),
    ];
    let res = run(recs, &["x"]).unwrap();
    assert_eq!(names(&res), ["new=1", "postfix=1", "x=1"]);
}

#[test]
fn a_provides_field_is_parsed_when_its_names_are_asked_for() {
    // Several names in one field, spaces and versions; only the asked-for name matches.
    let recs = vec![
        pkg("x", "1", "Depends: libbar-abi (= 3), v2"),
        pkg("p", "1", "Provides: v1,libbar-abi  (= 3) , v2 (= 1:2)"),
        pkg("q", "1", "Provides: libbar-abi-extra (= 3)"),
    ];
    assert_eq!(names(&run(recs, &["x"]).unwrap()), ["p=1", "x=1"]);
    // A bad item is an error naming its package once a dependency reaches it, and
    // not a reason to fail resolutions that never look at that name.
    let recs = vec![
        pkg("x", "1", "Depends: v"),
        pkg("y", "1", ""),
        pkg("p", "1", "Provides: v (>= 1"),
    ];
    assert_eq!(names(&run(recs.clone(), &["y"]).unwrap()), ["y=1"]);
    let err = run(recs, &["x"]).unwrap_err();
    assert!(
        matches!(&err, ResolveError::Field { package, field: "Provides", .. } if package == "p=1"),
        "{err}"
    );
}

#[test]
fn a_virtual_name_requested_needs_a_single_provider() {
    let recs = vec![
        pkg("a", "1", "Provides: v"),
        pkg("b", "1", "Provides: v"),
        pkg("c", "1", "Provides: w"),
    ];
    assert_eq!(names(&run(recs.clone(), &["w"]).unwrap()), ["c=1"]);
    let err = run(recs, &["v"]).unwrap_err().to_string();
    assert!(
        err.contains("v is a virtual package provided by a, b"),
        "{err}"
    );
}

#[test]
fn unsatisfiable_constraint_names_the_chain() {
    let err = run(
        vec![
            pkg("a", "1", "Depends: b"),
            pkg("b", "1", "Depends: c (>= 2)"),
            pkg("c", "1.0", ""),
        ],
        &["a"],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "unsatisfiable dependency: a -> b -> c (>= 2) : only 1.0 available"
    );
}

#[test]
fn missing_packages_are_named() {
    let err = run(vec![pkg("a", "1", "")], &["nope"])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "package nope is not in any index");
    let err = run(vec![pkg("a", "1", "Depends: gone")], &["a"])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "unsatisfiable dependency: a -> gone : not in any index"
    );
}

#[test]
fn architecture_qualifiers() {
    let recs = vec![
        pkg("x", "1", "Depends: python3:any, tool:native"),
        pkg("python3", "3", "Multi-Arch: allowed"),
        pkg("tool", "1", ""),
        pkg("y", "1", "Depends: tool:any"),
    ];
    assert_eq!(
        names(&run(recs.clone(), &["x"]).unwrap()),
        ["python3=3", "tool=1", "x=1"]
    );
    let err = run(recs, &["y"]).unwrap_err().to_string();
    assert!(
        err.contains("y -> tool:any") && err.contains("Multi-Arch no"),
        "{err}"
    );
}

#[test]
fn conflicts_and_breaks_name_both_packages() {
    let err = run(
        vec![pkg("a", "1", "Conflicts: b"), pkg("b", "1", "")],
        &["a", "b"],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "a=1 conflicts with b=1 (Conflicts: b)");
    let err = run(
        vec![pkg("a", "1", "Breaks: b (<< 2)"), pkg("b", "1", "")],
        &["b", "a"],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "a=1 conflicts with b=1 (Breaks: b (<< 2))");
    // A versioned Breaks the selected version does not match, and a package that conflicts
    // with a virtual name it provides itself, are fine.
    run(
        vec![
            pkg("a", "1", "Breaks: b (<< 1)\nProvides: v\nConflicts: v"),
            pkg("b", "1", ""),
        ],
        &["a", "b"],
    )
    .unwrap();
}

#[test]
fn cycles_resolve_and_order_pre_depends_first() {
    let res = run(
        vec![
            pkg("a", "1", "Depends: b"),
            pkg("b", "1", "Depends: a\nPre-Depends: c"),
            pkg("c", "1", "Depends: d"),
            pkg("d", "1", ""),
        ],
        &["a"],
    )
    .unwrap();
    assert_eq!(names(&res), ["a=1", "b=1", "c=1", "d=1"]);
    let order: Vec<&str> = res
        .install_order()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(order, ["d", "c", "b", "a"]);
    let pos = |n| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("c") < pos("b"), "Pre-Depends before the package");
}

#[test]
fn minbase_is_priority_required_plus_apt() {
    let res = resolve(
        &repo(vec![
            pkg("base-files", "1", "Priority: required\nEssential: yes"),
            pkg("dpkg", "1", "Priority: required\nDepends: tar"),
            pkg("tar", "1", "Priority: required"),
            pkg("apt", "1", "Priority: important\nDepends: libapt"),
            pkg("libapt", "1", "Priority: optional"),
            pkg("vim", "1", "Priority: optional"),
            pkg("less", "1", "Priority: important"),
        ]),
        &Request::new(&[], Variant::Minbase),
    )
    .unwrap();
    assert_eq!(
        names(&res),
        ["apt=1", "base-files=1", "dpkg=1", "libapt=1", "tar=1"]
    );
}

#[test]
fn usrmerge_is_never_the_chosen_alternative() {
    let recs = vec![
        pkg(
            "init-system-helpers",
            "1",
            "Depends: usrmerge | usr-is-merged",
        ),
        pkg("usrmerge", "1", "Depends: perl"),
        pkg("perl", "1", ""),
        pkg("usr-is-merged", "1", ""),
    ];
    assert_eq!(
        names(&run(recs, &["init-system-helpers"]).unwrap()),
        ["init-system-helpers=1", "usr-is-merged=1"]
    );
}

#[test]
fn a_decided_set_gets_its_order_and_is_checked() {
    let set = vec![
        pkg("b", "1", "Pre-Depends: c"),
        pkg("a", "1", "Depends: b | x"),
        pkg("c", "1", ""),
    ];
    let res = Resolution::of_set("amd64", set.clone()).unwrap();
    let order: Vec<&str> = res
        .install_order()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(order, ["c", "b", "a"]);
    let err = Resolution::of_set("amd64", set[..2].to_vec())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unsatisfiable dependency: b -> c : not in any index");
}
