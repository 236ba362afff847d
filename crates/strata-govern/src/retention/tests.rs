use std::collections::{BTreeMap, BTreeSet};

use strata_oci::Digest;

use super::*;

const DAY: i64 = 86_400;
const NOW: i64 = 1_800_000_000;

fn img(repo: &str, n: usize, pushed: i64, labels: &[&str], tags: &[&str]) -> Image {
    Image {
        repository: repo.to_owned(),
        digest: Digest::of(format!("{repo} {n}").as_bytes()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        pushed,
        last_pulled: None,
        size: 1000,
        layers: Vec::new(),
        annotations: BTreeMap::new(),
    }
}

fn unprotected(_: &Image) -> Option<String> {
    None
}

fn policy(text: &str) -> RetentionPolicy {
    RetentionPolicy::parse(text, false).unwrap()
}

fn kept(decisions: &[Decision]) -> BTreeSet<Digest> {
    decisions
        .iter()
        .filter(|d| d.keep)
        .map(|d| d.digest.clone())
        .collect()
}

fn decision<'a>(decisions: &'a [Decision], image: &Image) -> &'a Decision {
    decisions
        .iter()
        .find(|d| d.digest == image.digest && d.repository == image.repository)
        .unwrap_or_else(|| panic!("no decision for {}", image.digest))
}

#[test]
fn shipped_default_example_is_the_default_policy() {
    let text = include_str!("../../../../examples/govern/retention.toml");
    assert_eq!(policy(text), RetentionPolicy::default());
    assert_eq!(RetentionPolicy::default().check().ok(), Some(()));
}

/// The issue's case: 30 images of one repository in mixed states under the default policy;
/// exactly 22 survive (the newest 2 unlabelled, 10 maybe_prod, 10 prod), checked by digest.
#[test]
fn default_policy_keeps_exactly_22_of_30_mixed_images() {
    let mut images = Vec::new();
    let mut expected = BTreeSet::new();
    for i in 0..30 {
        let pushed = NOW - DAY * 40 + i as i64 * 3600;
        let (labels, tags): (&[&str], Vec<String>) = match i % 5 {
            // Unlabelled, the newest also labelled `qa` (not a promotion label: still none).
            0 if i == 25 => (&["qa"], vec![format!("sha-{i}")]),
            0 => (&[], vec![format!("sha-{i}")]),
            1 | 3 => (&["maybe_prod"], vec![format!("v1.{i}.0")]),
            // Promoted to prod: labels accumulate, it counts once, in prod.
            2 => (&["maybe_prod", "prod"], vec![format!("v1.{i}.0")]),
            _ => (&["prod"], Vec::new()),
        };
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let mut image = img("team/app", i, pushed, labels, &tags);
        image.last_pulled = (i % 3 == 0).then_some(NOW - 60);
        let deleted = [0, 5, 10, 15, 1, 3, 2, 4];
        if !deleted.contains(&i) {
            expected.insert(image.digest.clone());
        }
        images.push(image);
    }
    let mut input = images.clone();
    input.reverse(); // input order does not matter
    let decisions = RetentionPolicy::default().evaluate(&input, &unprotected, NOW);
    assert_eq!(decisions.len(), 30);
    assert_eq!(kept(&decisions).len(), 22);
    assert_eq!(kept(&decisions), expected);

    let by_n = |n: usize| decision(&decisions, &images[n]);
    assert_eq!(by_n(25).bucket, None);
    assert_eq!(by_n(25).reason, "rule 1 (bucket none, newest 2 pushed): #1");
    assert_eq!(by_n(20).reason, "rule 1 (bucket none, newest 2 pushed): #2");
    assert_eq!(
        by_n(15).reason,
        "no rule keeps it: rule 1 (bucket none, newest 2 pushed): #3"
    );
    assert_eq!(by_n(27).bucket.as_deref(), Some("prod"));
    assert_eq!(
        by_n(29).reason,
        "rule 3 (bucket prod, newest 10 pushed): #1"
    );
    assert_eq!(
        by_n(27).reason,
        "rule 3 (bucket prod, newest 10 pushed): #2"
    );
    assert_eq!(by_n(28).bucket.as_deref(), Some("maybe_prod"));
    // Sorted newest push first.
    let pushed: Vec<i64> = decisions
        .iter()
        .map(|d| images.iter().find(|i| i.digest == d.digest).unwrap().pushed)
        .collect();
    assert!(pushed.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn ties_in_push_time_are_broken_by_digest_whatever_the_input_order() {
    let p = policy("[[rule]]\nkeep = { newest-pushed = 1 }\n");
    let a = img("r", 1, NOW, &[], &["a"]);
    let b = img("r", 2, NOW, &[], &["b"]);
    let winner = a.digest.clone().min(b.digest.clone());
    for images in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
        let d = p.evaluate(&images, &unprotected, NOW);
        assert_eq!(kept(&d), BTreeSet::from([winner.clone()]));
        assert_eq!(d[0].digest, winner, "the tie's winner is listed first");
    }
}

#[test]
fn tag_selector_looks_at_matching_tags_only_and_never_at_untagged_images() {
    let p = policy(
        r#"
[[rule]]
tags = "v*"
keep = { always = true }

[[rule]]
tags = "sha-*"
keep = { newest-pushed = 1 }
"#,
    );
    let release = img("app", 1, NOW - 30 * DAY, &[], &["v1.0.0", "sha-1"]);
    let old_sha = img("app", 2, NOW - 20 * DAY, &[], &["sha-2"]);
    let new_sha = img("app", 3, NOW - 10 * DAY, &[], &["sha-3"]);
    let untagged = img("app", 4, NOW, &[], &[]);
    let images = [
        release.clone(),
        old_sha.clone(),
        new_sha.clone(),
        untagged.clone(),
    ];
    let d = p.evaluate(&images, &unprotected, NOW);
    assert_eq!(
        kept(&d),
        BTreeSet::from([release.digest.clone(), new_sha.digest.clone()])
    );
    assert_eq!(
        decision(&d, &release).reason,
        "rule 1 (tags v*, always): always"
    );
    assert_eq!(decision(&d, &untagged).reason, "no rule selects it");
    assert_eq!(
        decision(&d, &old_sha).reason,
        "no rule keeps it: rule 2 (tags sha-*, newest 1 pushed): #2"
    );
}

#[test]
fn label_selector_takes_every_image_carrying_the_label_whatever_its_bucket() {
    let p = policy("[[rule]]\nlabel = \"maybe_prod\"\nkeep = { newest-pushed = 2 }\n");
    let staged = img("app", 1, NOW - 3 * DAY, &["maybe_prod"], &["v1"]);
    let promoted = img("app", 2, NOW - 2 * DAY, &["maybe_prod", "prod"], &["v2"]);
    let newest = img("app", 3, NOW - DAY, &["maybe_prod"], &["v3"]);
    let plain = img("app", 4, NOW, &[], &["v4"]);
    let images = [
        staged.clone(),
        promoted.clone(),
        newest.clone(),
        plain.clone(),
    ];
    let d = p.evaluate(&images, &unprotected, NOW);
    assert_eq!(
        kept(&d),
        BTreeSet::from([promoted.digest.clone(), newest.digest.clone()])
    );
    assert_eq!(decision(&d, &promoted).bucket.as_deref(), Some("prod"));
    assert_eq!(decision(&d, &plain).reason, "no rule selects it");
}

#[test]
fn days_rules_keep_what_was_pushed_or_pulled_recently() {
    let p = policy(
        "[[rule]]\nkeep = { pushed-within-days = 7 }\n\n[[rule]]\nkeep = { pulled-within-days = 3 }\n",
    );
    let fresh = img("app", 1, NOW - 6 * DAY, &[], &["a"]);
    let mut pulled = img("app", 2, NOW - 90 * DAY, &[], &["b"]);
    pulled.last_pulled = Some(NOW - 2 * DAY);
    let mut stale = img("app", 3, NOW - 90 * DAY, &[], &["c"]);
    stale.last_pulled = Some(NOW - 4 * DAY);
    let never = img("app", 4, NOW - 8 * DAY, &[], &["d"]);
    let images = [fresh.clone(), pulled.clone(), stale.clone(), never.clone()];
    let d = p.evaluate(&images, &unprotected, NOW);
    assert_eq!(
        kept(&d),
        BTreeSet::from([fresh.digest.clone(), pulled.digest.clone()])
    );
    assert_eq!(
        decision(&d, &fresh).reason,
        "rule 1 (pushed within 7 days): pushed 6 days ago"
    );
    assert_eq!(
        decision(&d, &pulled).reason,
        "rule 2 (pulled within 3 days): pulled 2 days ago"
    );
    assert_eq!(
        decision(&d, &never).reason,
        "no rule keeps it: rule 1 (pushed within 7 days): pushed 8 days ago; \
         rule 2 (pulled within 3 days): never pulled"
    );
}

#[test]
fn newest_pulled_puts_never_pulled_images_after_every_pulled_one() {
    let p = policy("[[rule]]\nkeep = { newest-pulled = 2 }\n");
    let mut old_pulled = img("app", 1, NOW - 100 * DAY, &[], &["a"]);
    old_pulled.last_pulled = Some(NOW - 50 * DAY);
    let mut recent_pulled = img("app", 2, NOW - 90 * DAY, &[], &["b"]);
    recent_pulled.last_pulled = Some(NOW - DAY);
    let never_but_new = img("app", 3, NOW, &[], &["c"]);
    let images = [
        old_pulled.clone(),
        recent_pulled.clone(),
        never_but_new.clone(),
    ];
    let d = p.evaluate(&images, &unprotected, NOW);
    assert_eq!(
        kept(&d),
        BTreeSet::from([old_pulled.digest.clone(), recent_pulled.digest.clone()])
    );
    assert_eq!(
        decision(&d, &recent_pulled).reason,
        "rule 1 (newest 2 pulled): #1"
    );
    assert_eq!(
        decision(&d, &never_but_new).reason,
        "no rule keeps it: rule 1 (newest 2 pulled): #3"
    );
}

#[test]
fn protected_images_are_kept_with_the_protection_as_reason() {
    let p = RetentionPolicy::default();
    let images: Vec<Image> = (0..4)
        .map(|i| img("app", i, NOW - i as i64 * DAY, &[], &[&format!("v{i}")]))
        .collect();
    let protect =
        |i: &Image| (i.tags == ["v3"]).then(|| "immutable tag v3 (rule release)".to_owned());
    let d = p.evaluate(&images, &protect, NOW);
    assert_eq!(
        kept(&d),
        BTreeSet::from([
            images[0].digest.clone(),
            images[1].digest.clone(),
            images[3].digest.clone()
        ])
    );
    assert_eq!(
        decision(&d, &images[3]).reason,
        "protected: immutable tag v3 (rule release)"
    );
    // Protection wins over a rule that keeps it too.
    let protect_all = |_: &Image| Some("allow-list".to_owned());
    let d = p.evaluate(&images, &protect_all, NOW);
    assert!(d
        .iter()
        .all(|d| d.keep && d.reason == "protected: allow-list"));
}

#[test]
fn each_repository_is_counted_on_its_own_and_unselected_ones_are_untouched() {
    let p = policy("[[rule]]\nrepositories = \"team/*\"\nkeep = { newest-pushed = 1 }\n");
    let images = vec![
        img("team/a", 1, NOW - DAY, &[], &["1"]),
        img("team/a", 2, NOW, &[], &["2"]),
        img("team/b", 3, NOW - 5 * DAY, &[], &["1"]),
        img("team/b", 4, NOW - 9 * DAY, &[], &["2"]),
        img("team/b/nested", 5, NOW, &[], &["1"]),
        img("other", 6, NOW, &[], &["1"]),
    ];
    let d = p.evaluate(&images, &unprotected, NOW);
    let repos: Vec<&str> = d.iter().map(|d| d.repository.as_str()).collect();
    assert_eq!(repos, ["team/a", "team/a", "team/b", "team/b"]);
    assert_eq!(
        kept(&d),
        BTreeSet::from([images[1].digest.clone(), images[2].digest.clone()])
    );
    let p = policy("[[rule]]\nrepositories = \"team/**\"\nkeep = { newest-pushed = 1 }\n");
    let d = p.evaluate(&images, &unprotected, NOW);
    assert_eq!(d.len(), 5, "** crosses path components");
}

#[test]
fn yaml_policies_parse_like_toml() {
    let yaml = r#"
label-order: [prod, maybe_prod]
rule:
  - bucket: none
    keep: { newest-pushed: 2 }
  - bucket: maybe_prod
    keep: { newest-pushed: 10 }
  - bucket: prod
    keep: { newest-pushed: 10 }
"#;
    assert_eq!(
        RetentionPolicy::parse(yaml, true).unwrap(),
        RetentionPolicy::default()
    );
}

fn error(text: &str) -> String {
    RetentionPolicy::parse(text, false).unwrap_err().to_string()
}

#[test]
fn bad_policies_are_refused_with_what_is_wrong() {
    let e = error("[[rule]]\nkeep = { newest-pushed = 2 }\nbuckets = \"none\"\n");
    assert!(e.contains("unknown field `buckets`"), "{e}");
    let e = error("[[rule]]\nkeep = { newest-pushed = 2, always = true }\n");
    assert!(e.starts_with("retention policy: "), "{e}");
    assert!(e.contains("keep needs exactly one of newest-pushed, newest-pulled, pushed-within-days, pulled-within-days, always (found several)"), "{e}");
    let e = error("[[rule]]\nkeep = {}\n");
    assert!(e.contains("(found none)"), "{e}");
    let e = error("[[rule]]\nkeep = { newest = 2 }\n");
    assert!(e.contains("unknown field `newest`"), "{e}");
    let e = error("[[rule]]\nbucket = \"none\"\n");
    assert!(e.contains("missing field `keep`"), "{e}");
    let e = error("[[rule]]\nkeep = { always = true }\n\n[[rule]]\nbucket = \"staging\"\nkeep = { always = true }\n");
    assert_eq!(
        e,
        "retention rule 2: bucket \"staging\" is neither \"none\" nor a label of label-order (prod, maybe_prod)"
    );
    let e = error("[[rule]]\nrepositories = \"team/[a\"\nkeep = { always = true }\n");
    assert!(
        e.starts_with("retention rule 1: repositories \"team/[a\": "),
        "{e}"
    );
    let e = error("[[rule]]\ntags = \"{v1\"\nkeep = { always = true }\n");
    assert!(e.starts_with("retention rule 1: tags \"{v1\": "), "{e}");
    let e = error("[[rule]]\nkeep = { always = false }\n");
    assert_eq!(
        e,
        "retention rule 1: keep: always = false keeps nothing; remove the rule instead"
    );
    let e = error("[[rule]]\nlabel = \"Prod\"\nkeep = { always = true }\n");
    assert!(
        e.starts_with("retention rule 1: label \"Prod\" is not a label"),
        "{e}"
    );
    let e = error("label-order = [\"prod\", \"prod\"]\n");
    assert_eq!(e, "retention policy: label-order: \"prod\" is listed twice");
    let e = error("label-order = [\"none\"]\n");
    assert!(e.contains("\"none\" names the bucket"), "{e}");
    let e = RetentionPolicy::parse("rule: [{keep: {newest-pushed: -1}}]", true)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("retention policy: "), "{e}");
}

#[test]
fn a_policy_made_in_code_is_checked_like_a_parsed_one() {
    let mut p = RetentionPolicy::default();
    p.rules[0].bucket = Some("qa".to_owned());
    assert_eq!(
        p.check().unwrap_err().to_string(),
        "retention rule 1: bucket \"qa\" is neither \"none\" nor a label of label-order (prod, maybe_prod)"
    );
}
