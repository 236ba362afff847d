use super::*;

fn policy(text: &str) -> GatePolicy {
    GatePolicy::parse(text, false).unwrap()
}

fn subject(repository: &str, tags: &[&str], base: Option<&str>) -> Subject {
    Subject {
        repository: repository.to_owned(),
        digest: Some(format!("sha256:{}", "ab".repeat(32))),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        base_name: base.map(str::to_owned),
        size: 1000,
        annotations: BTreeMap::new(),
        secrets: Some(0),
    }
}

fn rules(v: &[Violation]) -> Vec<&str> {
    v.iter().map(|v| v.rule.as_str()).collect()
}

fn promote(env: &str) -> Stage {
    Stage::Promote(env.to_owned())
}

#[test]
fn shipped_example_parses_and_checks() {
    let p = policy(include_str!("../../../../examples/govern/gates.toml"));
    assert_eq!(p.max_size_bytes(), Some(1 << 30));
    assert!(p.no_secrets);
    let mut good = subject(
        "registry.example.com/team/app",
        &["v1.2.0"],
        Some("registry.example.com/base/python:3.12"),
    );
    good.annotations = [
        ("org.opencontainers.image.source", "https://git.example/app"),
        ("org.opencontainers.image.revision", "abc"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    assert_eq!(p.check(&promote("prod"), &good), []);
    let mut bad = good.clone();
    bad.base_name = Some("docker.io/library/ubuntu:24.04".to_owned());
    bad.tags = vec!["v1.2.0-rc1".to_owned()];
    assert_eq!(
        rules(&p.check(&promote("prod"), &bad)),
        ["allowed-bases", "forbidden-tags"]
    );
}

#[test]
fn sizes_take_decimal_and_binary_units() {
    let cases = [
        ("12345", 12_345),
        ("500MB", 500_000_000),
        ("500 mb", 500_000_000),
        ("1GiB", 1 << 30),
        ("1gib", 1 << 30),
        ("512m", 512 << 20),
        ("2g", 2 << 30),
        ("1.5GB", 1_500_000_000),
        ("10kB", 10_000),
        ("10KiB", 10_240),
        ("7B", 7),
    ];
    for (text, bytes) in cases {
        assert_eq!(parse_size(text), Ok(bytes), "{text}");
    }
    for bad in ["", "MB", "12XB", "-1GB", "1..5GB", ".5GB", "99999999999TB"] {
        let e = parse_size(bad).unwrap_err();
        assert_eq!(e.value, bad);
        assert!(e
            .to_string()
            .starts_with(&format!("invalid size {bad:?}: ")));
    }
    let bytes = |text: &str, yaml| GatePolicy::parse(text, yaml).unwrap().max_size_bytes();
    assert_eq!(bytes("max-size = 12345", false), Some(12_345));
    assert_eq!(bytes("max-size: 12345", true), Some(12_345));
    assert_eq!(bytes("max-size: 1GiB", true), Some(1 << 30));
    assert_eq!(bytes("", false), None);
    let e = GatePolicy::parse("max-size = true", false).unwrap_err();
    assert!(matches!(e, GateError::Toml(_)), "{e}");
    assert!(
        e.to_string()
            .contains("a size such as \"500MB\", \"1GiB\" or a number of bytes"),
        "{e}"
    );
    let e = GatePolicy::parse("max-size = \"5 parsecs\"", false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "gate policy max-size: invalid size \"5 parsecs\": unknown unit; use B, kB/MB/GB/TB \
         (powers of 1000), KiB/MiB/GiB/TiB or k/m/g/t (powers of 1024)"
    );
}

#[test]
fn bad_policies_are_refused_naming_the_key() {
    let e = GatePolicy::parse("allowed-base = []", false).unwrap_err();
    assert!(
        e.to_string().contains("unknown field `allowed-base`"),
        "{e}"
    );
    let e = GatePolicy::parse("allowed-bases = [\"reg.example/[x\"]", false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("gate policy allowed-bases: \"reg.example/[x\": "),
        "{e}"
    );
    let e = GatePolicy::parse("[forbidden-tags]\nProd = [\"x\"]", false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("gate policy forbidden-tags: \"Prod\""),
        "{e}"
    );
    let e = GatePolicy::parse("[forbidden-tags]\nprod = [\"{x\"]", false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("gate policy forbidden-tags: prod: \"{x\""),
        "{e}"
    );
    let e = GatePolicy::parse("allow = [\"a/[b\"]", false).unwrap_err();
    assert!(e.to_string().starts_with("gate policy allow: "), "{e}");
    let e = GatePolicy::parse("roots = [\"[\"]", false).unwrap_err();
    assert!(e.to_string().starts_with("gate policy roots: "), "{e}");
    let e = GatePolicy::parse("required-annotations = [\"\"]", false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "gate policy required-annotations: an empty key"
    );
    let e = GatePolicy::parse("no-secrets: maybe", true).unwrap_err();
    assert!(matches!(e, GateError::Yaml(_)), "{e}");
}

#[test]
fn yaml_policies_parse_like_toml() {
    let yaml = "allowed-bases: [registry.example.com]\nmax-size: 500MB\nforbidden-tags:\n  prod: ['*-rc*']\n";
    let toml = "allowed-bases = [\"registry.example.com\"]\nmax-size = \"500MB\"\n[forbidden-tags]\nprod = [\"*-rc*\"]\n";
    assert_eq!(GatePolicy::parse(yaml, true).unwrap(), policy(toml));
}

#[test]
fn allowed_bases_by_host_by_glob_and_by_docker_hub_short_name() {
    let p = policy(
        r#"allowed-bases = ["registry.example.com", "mirror.example/base/**", "debian:12*", "localhost:5000/base:v*"]
roots = ["base/*"]"#,
    );
    let ok = |base: &str| p.check(&Stage::Push, &subject("team/app", &["v1"], Some(base)));
    assert_eq!(ok("registry.example.com/anything/at/all:1"), []);
    assert_eq!(ok("mirror.example/base/debian/slim:12"), []);
    assert_eq!(ok("debian:12-slim"), []);
    assert_eq!(ok("docker.io/library/debian:12"), []);
    assert_eq!(ok("localhost:5000/base:v2"), []);
    for bad in [
        "registry.example.com.evil.io/x:1",
        "mirror.example/team/base:1",
        "debian:11",
        "debian",
        "docker.io/someone/debian:12",
        "localhost:5000/base:latest",
    ] {
        let v = ok(bad);
        assert_eq!(rules(&v), ["allowed-bases"], "{bad}");
        assert!(v[0]
            .message
            .starts_with(&format!("base {bad} is not an allowed base (")));
    }
    let v = ok("NOT A REF");
    assert_eq!(v[0].message, "base \"NOT A REF\" is not an image reference");
}

#[test]
fn an_image_without_a_base_passes_only_in_a_root_repository() {
    let p = policy("allowed-bases = [\"registry.example.com\"]\nroots = [\"base/*\"]");
    assert_eq!(
        p.check(&Stage::Build, &subject("base/debian", &["12"], None)),
        []
    );
    assert_eq!(
        p.check(
            &Stage::Push,
            &subject("registry.example.com/base/debian", &["12"], None)
        ),
        [],
        "a root glob matches without the registry host"
    );
    let v = p.check(&Stage::Push, &subject("team/app", &["1"], None));
    assert_eq!(
        v,
        [Violation {
            rule: "roots".to_owned(),
            message: "team/app has no base image and is not one of the roots (base/*)".to_owned()
        }]
    );
    // Neither key: any base, and no base, passes.
    let open = policy("max-size = \"1GB\"");
    assert_eq!(
        open.check(&Stage::Push, &subject("team/app", &["1"], None)),
        []
    );
    // Only roots: any base passes, but only the roots may have none.
    let only_roots = policy("roots = [\"base/*\"]");
    let from_anything = subject("team/app", &["1"], Some("quay.io/x/y:1"));
    assert_eq!(only_roots.check(&Stage::Push, &from_anything), []);
    let v = only_roots.check(&Stage::Push, &subject("team/app", &["1"], None));
    assert_eq!(rules(&v), ["roots"]);
    // allowed-bases without roots: no image may lack a base.
    let no_roots = policy("allowed-bases = [\"quay.io\"]");
    let v = no_roots.check(&Stage::Push, &subject("base/debian", &["1"], None));
    assert_eq!(
        v[0].message,
        "base/debian has no base image and roots is empty: no repository may have none"
    );
}

#[test]
fn forbidden_tags_apply_at_promotion_to_their_environment_only() {
    let p = policy("[forbidden-tags]\nprod = [\"*-rc*\", \"dev-*\"]\n");
    let rc = subject("app", &["v2.0.0-rc1", "dev-abc"], None);
    let v = p.check(&promote("prod"), &rc);
    assert_eq!(rules(&v), ["forbidden-tags"]);
    assert_eq!(
        v[0].message,
        "tag v2.0.0-rc1, dev-abc may not be promoted to prod"
    );
    let mixed = subject("app", &["v2.0.0", "dev-abc"], None);
    assert_eq!(
        rules(&p.check(&promote("prod"), &mixed)),
        ["forbidden-tags"]
    );
    assert_eq!(p.check(&promote("maybe_prod"), &rc), []);
    assert_eq!(p.check(&Stage::Push, &rc), []);
    assert_eq!(
        p.check(&promote("prod"), &subject("app", &["v2.0.0"], None)),
        []
    );
}

#[test]
fn latest_alone_is_never_promoted_unless_allowed() {
    let p = GatePolicy::default();
    let latest = subject("app", &["latest"], None);
    let v = p.check(&promote("prod"), &latest);
    assert_eq!(rules(&v), ["allow-latest-promotion"]);
    assert_eq!(
        v[0].message,
        "an image tagged only latest is never promoted to prod: tag it with a version"
    );
    let untagged = subject("app", &[], None);
    assert_eq!(
        p.check(&promote("prod"), &untagged)[0].message,
        "an untagged image is never promoted to prod: tag it with a version"
    );
    assert_eq!(
        p.check(&promote("prod"), &subject("app", &["latest", "v1"], None)),
        []
    );
    assert_eq!(p.check(&Stage::Push, &latest), [], "pushing latest is fine");
    let allowing = policy("allow-latest-promotion = true");
    assert_eq!(allowing.check(&promote("prod"), &latest), []);
}

#[test]
fn max_size_is_checked_at_every_stage() {
    let p = policy("max-size = \"500MB\"");
    let mut s = subject("app", &["v1"], None);
    s.size = 500_000_000;
    assert_eq!(p.check(&Stage::Build, &s), []);
    s.size = 612_345_678;
    for stage in [Stage::Build, Stage::Push, promote("prod")] {
        let v = p.check(&stage, &s);
        assert_eq!(rules(&v), ["max-size"]);
        assert_eq!(
            v[0].message,
            "the image is 612.3 MB (612345678 bytes), over the limit of 500MB (500000000 bytes)"
        );
    }
}

#[test]
fn no_secrets_fails_on_findings_and_on_a_missing_scan() {
    let p = policy("no-secrets = true");
    let mut s = subject("app", &["v1"], None);
    assert_eq!(p.check(&Stage::Push, &s), []);
    s.secrets = Some(2);
    assert_eq!(
        p.check(&Stage::Push, &s)[0].message,
        "the secret scan found 2 secrets"
    );
    s.secrets = None;
    let v = p.check(&promote("prod"), &s);
    assert_eq!(rules(&v), ["no-secrets"]);
    assert!(v[0].message.contains("not scanned"));
    assert_eq!(GatePolicy::default().check(&Stage::Push, &s), []);
}

#[test]
fn required_annotations_must_be_present_and_non_empty() {
    let p = policy("required-annotations = [\"org.opencontainers.image.source\", \"org.opencontainers.image.revision\"]");
    let mut s = subject("app", &["v1"], None);
    s.annotations.insert(
        "org.opencontainers.image.source".to_owned(),
        "https://git.example/app".to_owned(),
    );
    s.annotations.insert(
        "org.opencontainers.image.revision".to_owned(),
        " ".to_owned(),
    );
    let v = p.check(&Stage::Push, &s);
    assert_eq!(rules(&v), ["required-annotations"]);
    assert_eq!(
        v[0].message,
        "missing annotation org.opencontainers.image.revision"
    );
    s.annotations.insert(
        "org.opencontainers.image.revision".to_owned(),
        "abc".to_owned(),
    );
    assert_eq!(p.check(&Stage::Push, &s), []);
}

#[test]
fn the_allow_list_exempts_images_from_every_gate() {
    let p = policy(
        r#"allowed-bases = ["registry.example.com"]
max-size = "1MB"
no-secrets = true
allow = ["legacy/*:v0.*", "vendor/tool@sha256:abab*", "thirdparty/**"]"#,
    );
    let mut s = subject("legacy/app", &["v0.9"], Some("docker.io/library/centos:7"));
    s.size = 10_000_000;
    s.secrets = None;
    assert_eq!(p.check(&promote("prod"), &s), []);
    s.tags = vec!["v1.0".to_owned()];
    assert_eq!(
        rules(&p.check(&promote("prod"), &s)),
        ["allowed-bases", "max-size", "no-secrets"]
    );

    let digest = format!("sha256:{}", "ab".repeat(32));
    assert!(p.allows("vendor/tool", &[], &digest));
    assert!(!p.allows("vendor/tool", &[], &format!("sha256:{}", "cd".repeat(32))));
    assert!(p.allows(
        "registry.example.com/legacy/app",
        &["v0.1".to_owned()],
        &digest
    ));
    assert!(!p.allows("legacy/app/sub", &["v0.1".to_owned()], &digest));
    assert!(p.allows("thirdparty/a/b", &[], &digest));
    assert!(!p.allows("team/app", &["v0.1".to_owned()], &digest));

    // Compiled once, for retention over many images.
    let list = p.allow_list();
    let image = crate::Image {
        repository: "legacy/app".to_owned(),
        digest: digest.parse().unwrap(),
        tags: vec!["v0.3".to_owned()],
        labels: Default::default(),
        pushed: 0,
        last_pulled: None,
        size: 0,
        layers: Vec::new(),
        annotations: BTreeMap::new(),
    };
    assert!(list.allows_image(&image));
    let protected = |i: &crate::Image| list.allows_image(i).then(|| "allow-list".to_owned());
    let d = crate::retention::RetentionPolicy::default().evaluate(&[image], &protected, 0);
    assert_eq!(d[0].reason, "protected: allow-list");
    assert!(GatePolicy::default().allow_list().is_empty());
}

#[test]
fn violations_serialise_with_the_rule_key() {
    let v = Violation {
        rule: "max-size".to_owned(),
        message: "too big".to_owned(),
    };
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"rule":"max-size","message":"too big"}"#
    );
}
