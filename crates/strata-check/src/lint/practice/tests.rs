//! One finds / does-not-find pair per practice rule.

use crate::lint::{check, BuildContext, Options, RuleSets};
use strata_dockerfile::DockerIgnore;

const PRACTICE: RuleSets = RuleSets {
    hadolint: false,
    buildkit: false,
    practice: true,
};

fn lines_with(src: &str, code: &str, context: Option<BuildContext>) -> Vec<usize> {
    let opts = Options {
        rules: PRACTICE,
        context,
        ..Options::default()
    };
    check(src, "Dockerfile", &opts)
        .unwrap()
        .findings
        .into_iter()
        .filter(|f| f.code == code)
        .map(|f| f.line)
        .collect()
}

fn lines(src: &str, code: &str) -> Vec<usize> {
    lines_with(src, code, None)
}

fn ctx(ignore: Option<&str>, entries: &[&str]) -> Option<BuildContext> {
    Some(BuildContext {
        dockerignore: ignore.map(|i| DockerIgnore::parse(i).unwrap()),
        root_entries: entries.iter().map(|e| e.to_string()).collect(),
    })
}

#[test]
fn dependency_manifest_after_sources() {
    let bad = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n";
    assert_eq!(lines(bad, "DependencyManifestAfterSources"), [3]);
    let good = "FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n";
    assert_eq!(
        lines(good, "DependencyManifestAfterSources"),
        [] as [usize; 0]
    );
    let flags = "FROM node:20\nCOPY . .\nRUN npm install --omit=dev\nRUN npm install left-pad@1\n";
    assert_eq!(lines(flags, "DependencyManifestAfterSources"), [2]);
    let py = "FROM python:3.12\nCOPY . /src\nRUN pip install -r /src/requirements.txt\n";
    assert_eq!(lines(py, "DependencyManifestAfterSources"), [2]);
}

#[test]
fn compiler_in_final_stage() {
    let bad = "FROM golang:1.22 AS build\nRUN go build -o /app\nFROM debian:12\nRUN apt-get install -y gcc make\nCOPY --from=build /app /app\n";
    assert_eq!(lines(bad, "CompilerInFinalStage"), [4]);
    let base = "FROM debian:12 AS build\nRUN true\nFROM golang:1.22\n";
    assert_eq!(lines(base, "CompilerInFinalStage"), [3]);
    let good = "FROM golang:1.22 AS build\nRUN apt-get install -y make\nFROM debian:12\nRUN apt-get install -y curl\n";
    assert_eq!(lines(good, "CompilerInFinalStage"), [] as [usize; 0]);
    // A single stage may be a build image on purpose.
    assert_eq!(
        lines("FROM golang:1.22\n", "CompilerInFinalStage"),
        [] as [usize; 0]
    );
}

#[test]
fn dockerignore_rules_need_the_context() {
    let src = "FROM debian:12\nCOPY . /app\n";
    assert_eq!(
        lines(src, "DockerignoreMissing"),
        [] as [usize; 0],
        "no context, no finding"
    );
    assert_eq!(lines_with(src, "DockerignoreMissing", ctx(None, &[])), [1]);
    assert_eq!(
        lines_with(src, "DockerignoreMissing", ctx(Some(".git\n"), &[])),
        [] as [usize; 0]
    );
    assert_eq!(
        lines_with(src, "DockerignoreKeepsGit", ctx(Some("*.log\n"), &[".git"])),
        [1]
    );
    assert_eq!(
        lines_with(src, "DockerignoreKeepsGit", ctx(Some(".git\n"), &[".git"])),
        [] as [usize; 0]
    );
    assert_eq!(
        lines_with(src, "DockerignoreKeepsGit", ctx(Some("*.log\n"), &[])),
        [] as [usize; 0]
    );
    let node = ctx(Some(".git\n"), &["package.json"]);
    assert_eq!(lines_with(src, "DockerignoreKeepsNodeModules", node), [1]);
    let node = ctx(Some("node_modules\n"), &["package.json"]);
    assert_eq!(
        lines_with(src, "DockerignoreKeepsNodeModules", node),
        [] as [usize; 0]
    );
    let no_node = ctx(Some(".git\n"), &["go.mod"]);
    assert_eq!(
        lines_with(src, "DockerignoreKeepsNodeModules", no_node),
        [] as [usize; 0]
    );
}

#[test]
fn unpinned_base_image() {
    let src = "ARG BASE=debian\nARG PINNED=debian:12\nFROM $BASE AS a\nFROM $PINNED\nFROM ubuntu:latest\nFROM alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000\nFROM a\nFROM scratch\n";
    assert_eq!(lines(src, "UnpinnedBaseImage"), [3, 5]);
    let msg = check(
        src,
        "Dockerfile",
        &Options {
            rules: PRACTICE,
            ..Options::default()
        },
    )
    .unwrap()
    .findings[0]
        .message
        .clone();
    assert!(msg.contains("debian (from $BASE) has no tag"), "{msg}");
}

#[test]
fn deleted_in_later_layer() {
    let bad = "FROM debian:12\nCOPY big.tar /tmp/big.tar\nRUN tar xf /tmp/big.tar -C /opt\nRUN rm /tmp/big.tar\n";
    assert_eq!(lines(bad, "DeletedInLaterLayer"), [4]);
    let run = "FROM debian:12\nRUN curl -o /tmp/x.deb https://example.org/x.deb\nRUN dpkg -i /tmp/x.deb && rm -f /tmp/x.deb\n";
    assert_eq!(lines(run, "DeletedInLaterLayer"), [3]);
    let dir = "FROM debian:12\nCOPY src/ /build/\nRUN make -C /build && rm -rf /build\n";
    assert_eq!(lines(dir, "DeletedInLaterLayer"), [3]);
    let good = "FROM debian:12\nRUN curl -o /tmp/x.deb https://example.org/x.deb && dpkg -i /tmp/x.deb && rm /tmp/x.deb\nCOPY . /\nRUN rm -rf /var/lib/apt/lists/*\n";
    assert_eq!(lines(good, "DeletedInLaterLayer"), [] as [usize; 0]);
}

#[test]
fn check_skip_applies_to_practice_and_hadolint_ids() {
    let src = "# check=skip=UnpinnedBaseImage,DL3006\nFROM debian\n";
    let opts = Options {
        rules: crate::lint::RuleSets::ALL,
        ..Options::default()
    };
    let codes: Vec<&str> = check(src, "Dockerfile", &opts)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.code)
        .collect();
    assert!(!codes.contains(&"UnpinnedBaseImage"), "{codes:?}");
    assert!(!codes.contains(&"DL3006"), "{codes:?}");
}

#[test]
fn every_practice_rule_has_a_docs_page_naming_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for rule in super::RULES {
        let page = root.join(format!("docs/rules/{}.md", rule.id));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(
            text.starts_with(&format!("# {} (", rule.id)),
            "{}",
            page.display()
        );
        assert!(text.contains(rule.description), "{}", page.display());
        let listed = std::fs::read_to_string(root.join("docs/LINT.md")).unwrap();
        assert!(listed.contains(&format!("[{}](rules/{}.md)", rule.id, rule.id)));
    }
}
