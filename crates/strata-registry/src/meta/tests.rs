//! One behaviour, two stores: the same calls and expectations run on [`SqliteMeta`] (a temp
//! file) and [`PostgresMeta`] (a throwaway cluster; the test fails loudly when
//! PostgreSQL's binaries are missing), so the shared store means what the embedded one does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use strata_distribution::{ManifestRef, Page, RepositoryName, Tag};
use strata_oci::Digest;
use strata_testkit::postgres::TestPostgres;

use super::*;

fn name(s: &str) -> RepositoryName {
    s.parse().unwrap()
}

fn tag(s: &str) -> Tag {
    s.parse().unwrap()
}

fn d(s: &str) -> Digest {
    Digest::of(s.as_bytes())
}

fn manifest(repo: &str, digest: &Digest, blobs: &[&Digest]) -> NewManifest {
    NewManifest {
        name: name(repo),
        digest: digest.clone(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 10,
        subject: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
        blobs: blobs.iter().map(|b| (*b).clone()).collect(),
        children: Vec::new(),
        tag: None,
        immutable_rule: None,
        facts: None,
    }
}

fn page(n: Option<u32>, last: Option<&str>) -> Page {
    Page {
        n,
        last: last.map(str::to_owned),
    }
}

/// A sweep's removal that records whether it ran.
fn removal(ran: &Arc<AtomicBool>) -> SweepBlob {
    let ran = ran.clone();
    Arc::new(move |_: &Digest| {
        let ran = ran.clone();
        Box::pin(async move {
            ran.store(true, Ordering::SeqCst);
            Ok(Some(7))
        })
    })
}

async fn links_manifests_and_references(meta: &dyn Meta) {
    let (app, config, layer) = (name("app"), d("config"), d("layer"));
    assert!(!meta.repository_exists(&app).await.unwrap());
    meta.link_blob(&app, &config, 6).await.unwrap();
    assert!(meta.repository_exists(&app).await.unwrap());
    assert_eq!(meta.blob(&app, &config).await.unwrap(), Some(6));
    let m = d("m1");
    let err = meta
        .put_manifest(manifest("app", &m, &[&config, &layer]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MetaError::MissingReference { kind: "blob", digest, .. } if *digest == layer),
        "{err:?}"
    );
    assert_eq!(
        meta.manifest(&app, &ManifestRef::Digest(m.clone()))
            .await
            .unwrap(),
        None
    );
    meta.link_blob(&app, &layer, 5).await.unwrap();
    let mut tagged = manifest("app", &m, &[&config, &layer]);
    tagged.tag = Some(tag("v1"));
    meta.put_manifest(tagged).await.unwrap();
    let by_tag = meta
        .manifest(&app, &ManifestRef::Tag(tag("v1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((by_tag.digest, by_tag.size), (m.clone(), 10));
    // An index needs its children in the same repository.
    let mut index = manifest("app", &d("index"), &[]);
    index.children = vec![d("absent")];
    let err = meta.put_manifest(index).await.unwrap_err();
    assert!(
        matches!(
            err,
            MetaError::MissingReference {
                kind: "manifest",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(meta.unlink_blob(&app, &layer).await.unwrap());
    assert!(!meta.unlink_blob(&app, &layer).await.unwrap());
}

async fn tags_and_catalog_page_in_bytewise_order(meta: &dyn Meta) {
    let repo = name("list");
    let m = d("listed");
    meta.put_manifest(manifest("list", &m, &[])).await.unwrap();
    // Bytewise: upper case before lower, '-' before '.', a prefix first.
    for t in ["v1.0", "v1-rc", "latest", "V1", "v1"] {
        let mut tagged = manifest("list", &m, &[]);
        tagged.tag = Some(tag(t));
        meta.put_manifest(tagged).await.unwrap();
    }
    let all = meta.tags(&repo, &page(None, None)).await.unwrap();
    assert_eq!(all.entries, ["V1", "latest", "v1", "v1-rc", "v1.0"]);
    assert!(!all.more);
    let first = meta.tags(&repo, &page(Some(2), None)).await.unwrap();
    assert_eq!(first.entries, ["V1", "latest"]);
    assert!(first.more);
    let rest = meta
        .tags(&repo, &page(Some(3), Some("latest")))
        .await
        .unwrap();
    assert_eq!(rest.entries, ["v1", "v1-rc", "v1.0"]);
    assert!(!rest.more);
    for r in ["a-b", "a/b", "a.b", "ab"] {
        meta.link_blob(&name(r), &d("x"), 1).await.unwrap();
    }
    let repos = meta.repositories(&page(None, Some("a"))).await.unwrap();
    assert_eq!(repos.entries, ["a-b", "a.b", "a/b", "ab", "app", "list"]);
    let one = meta
        .repositories(&page(Some(1), Some("a.b")))
        .await
        .unwrap();
    assert_eq!(one.entries, ["a/b"]);
    assert!(one.more);
    assert!(meta.delete_tag(&repo, &tag("v1")).await.unwrap());
    assert!(!meta.delete_tag(&repo, &tag("v1")).await.unwrap());
}

async fn immutable_tags_hold_in_the_writing_transaction(meta: &dyn Meta) {
    let repo = name("team/app");
    let (first, second) = (d("first"), d("second"));
    let pushed = |digest: &Digest| {
        let mut m = manifest("team/app", digest, &[]);
        m.tag = Some(tag("v1"));
        m.immutable_rule = Some("team/*:v*".into());
        m
    };
    meta.put_manifest(pushed(&first)).await.unwrap();
    meta.put_manifest(pushed(&first)).await.unwrap();
    let err = meta.put_manifest(pushed(&second)).await.unwrap_err();
    assert!(
        matches!(&err, MetaError::TagImmutable { current, .. } if *current == first),
        "{err:?}"
    );
    let guard: TagGuard = Arc::new(|t: &str| t.starts_with('v').then(|| "team/*:v*".to_owned()));
    let err = meta
        .delete_manifest(&repo, &first, guard)
        .await
        .unwrap_err();
    assert!(matches!(err, MetaError::TagImmutable { .. }), "{err:?}");
    let none: TagGuard = Arc::new(|_: &str| None);
    assert!(meta
        .delete_manifest(&repo, &first, none.clone())
        .await
        .unwrap());
    assert!(!meta.delete_manifest(&repo, &first, none).await.unwrap());
    assert_eq!(
        meta.manifest(&repo, &ManifestRef::Tag(tag("v1")))
            .await
            .unwrap(),
        None
    );
}

async fn referrers_carry_type_and_annotations(meta: &dyn Meta) {
    let repo = name("refs");
    let subject = d("subject");
    let mut digests = vec![d("sig"), d("sbom")];
    for (i, r) in digests.iter().enumerate() {
        let mut m = manifest("refs", r, &[]);
        m.subject = Some(subject.clone());
        m.artifact_type = Some(format!("application/x-{i}"));
        m.annotations = BTreeMap::from([("k".to_owned(), format!("v{i}"))]);
        meta.put_manifest(m).await.unwrap();
    }
    let found = meta.referrers(&repo, &subject).await.unwrap();
    digests.sort();
    let listed: Vec<_> = found.iter().map(|r| r.digest.clone()).collect();
    assert_eq!(listed, digests);
    let sig = found.iter().find(|r| r.digest == d("sig")).unwrap();
    assert_eq!(sig.artifact_type.as_deref(), Some("application/x-0"));
    assert_eq!(sig.annotations["k"], "v0");
    assert!(meta.referrers(&repo, &d("other")).await.unwrap().is_empty());
}

async fn uploads_expire(meta: &dyn Meta) {
    let record = UploadRecord {
        id: "u1".into(),
        name: name("up"),
        updated: 100,
    };
    meta.create_upload(record.clone()).await.unwrap();
    assert_eq!(meta.upload("u1").await.unwrap(), Some(record));
    assert_eq!(meta.stale_uploads(101).await.unwrap(), ["u1"]);
    meta.touch_upload("u1", 200).await.unwrap();
    assert!(meta.stale_uploads(101).await.unwrap().is_empty());
    meta.remove_upload("u1").await.unwrap();
    assert_eq!(meta.upload("u1").await.unwrap(), None);
}

async fn gc_marks_pins_and_sweeps(meta: &dyn Meta) {
    let (repo, loose) = (name("gc"), d("loose"));
    let referenced = meta.gc_referenced(0).await.unwrap();
    assert!(referenced.contains(&d("config")) && !referenced.contains(&loose));
    // A pinned digest is kept and its removal never runs; unpinned, it is swept.
    let pin = meta.pin_blob(&loose).await.unwrap();
    assert!(meta.gc_referenced(0).await.unwrap().contains(&loose));
    let ran = Arc::new(AtomicBool::new(false));
    let one = [loose.clone()];
    assert_eq!(
        meta.gc_sweep_blobs(&one, removal(&ran)).await.unwrap(),
        [None]
    );
    assert!(!ran.load(Ordering::SeqCst));
    meta.unpin_blob(&pin).await.unwrap();
    assert_eq!(
        meta.gc_sweep_blobs(&one, removal(&ran)).await.unwrap(),
        [Some(7)]
    );
    assert!(ran.load(Ordering::SeqCst));
    // Pins older than the cut-off are dropped by the mark.
    meta.pin_blob(&loose).await.unwrap();
    let later = crate::services::now() + 10;
    assert!(!meta.gc_referenced(later).await.unwrap().contains(&loose));
    // Untagged manifests: the child of an index and a referrer of a live subject stay.
    let child = d("child");
    meta.put_manifest(manifest("gc", &child, &[]))
        .await
        .unwrap();
    let mut index = manifest("gc", &d("gc-index"), &[]);
    index.children = vec![child.clone()];
    index.tag = Some(tag("latest"));
    meta.put_manifest(index).await.unwrap();
    let mut referrer = manifest("gc", &d("gc-ref"), &[]);
    referrer.subject = Some(child.clone());
    meta.put_manifest(referrer).await.unwrap();
    let untagged_one = d("untagged");
    meta.put_manifest(manifest("gc", &untagged_one, &[]))
        .await
        .unwrap();
    let found = meta.gc_untagged(later).await.unwrap();
    let here: Vec<_> = found.iter().filter(|(n, _)| *n == repo).collect();
    assert_eq!(here, [&(repo.clone(), untagged_one.clone())]);
    assert!(
        meta.gc_untagged(0).await.unwrap().is_empty(),
        "younger than the cut-off"
    );
    let batch = [
        (repo.clone(), child.clone()),
        (repo.clone(), untagged_one.clone()),
    ];
    let deleted = meta.gc_delete_untagged(&batch, later).await.unwrap();
    assert_eq!(deleted, [(repo.clone(), untagged_one.clone())]);
    assert!(meta
        .gc_delete_untagged(&batch, later)
        .await
        .unwrap()
        .is_empty());
}

async fn gc_drops_links_no_manifest_uses(meta: &dyn Meta) {
    let repo = name("links");
    let (used, unused, pinned) = (d("link-used"), d("link-unused"), d("link-pinned"));
    for blob in [&used, &unused, &pinned] {
        meta.link_blob(&repo, blob, 3).await.unwrap();
    }
    meta.put_manifest(manifest("links", &d("link-m"), &[&used]))
        .await
        .unwrap();
    let pin = meta.pin_blob(&pinned).await.unwrap();
    let later = crate::services::now() + 10;
    assert!(
        meta.gc_stale_links(crate::services::now() - 10)
            .await
            .unwrap()
            .iter()
            .all(|(n, _)| *n != repo),
        "links younger than the cut-off stay"
    );
    let stale: Vec<_> = meta
        .gc_stale_links(later)
        .await
        .unwrap()
        .into_iter()
        .filter(|(n, _)| *n == repo)
        .collect();
    assert_eq!(stale, [(repo.clone(), unused.clone())]);
    // The sweep re-checks each link: a used or pinned one named in the batch stays.
    let batch = [
        (repo.clone(), used.clone()),
        (repo.clone(), unused.clone()),
        (repo.clone(), pinned.clone()),
    ];
    let removed = meta.gc_unlink_stale(&batch, later).await.unwrap();
    assert_eq!(removed, [(repo.clone(), unused.clone())]);
    assert_eq!(meta.blob(&repo, &unused).await.unwrap(), None);
    assert_eq!(meta.blob(&repo, &used).await.unwrap(), Some(3));
    meta.unpin_blob(&pin).await.unwrap();
    assert_eq!(
        meta.gc_unlink_stale(&batch, later).await.unwrap(),
        [(repo.clone(), pinned.clone())]
    );
}

async fn robots_are_kept_by_name(meta: &dyn Meta) {
    let robot = |name: &str| RobotRecord {
        name: name.into(),
        secret_sha256: "ab".repeat(32),
        repositories: vec!["team/**".into(), "ci/*".into()],
        actions: vec!["pull".into(), "push".into()],
        created: 100,
        expires: (name == "ci").then_some(200),
    };
    assert!(meta.create_robot(robot("ci")).await.unwrap());
    assert!(meta.create_robot(robot("Build")).await.unwrap());
    assert!(
        !meta.create_robot(robot("ci")).await.unwrap(),
        "the name is taken"
    );
    assert_eq!(meta.robot("ci").await.unwrap(), Some(robot("ci")));
    assert_eq!(meta.robot("none").await.unwrap(), None);
    let names: Vec<_> = meta
        .robots()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Build", "ci"]);
    assert!(meta.delete_robot("ci").await.unwrap());
    assert!(!meta.delete_robot("ci").await.unwrap());
}

fn image_manifest(repo: &str, digest: &Digest, config: &Digest, layers: &[&Digest]) -> NewManifest {
    let mut blobs = vec![config];
    blobs.extend_from_slice(layers);
    let mut m = manifest(repo, digest, &blobs);
    m.facts = Some(ImageFacts {
        config: Some(config.clone()),
        layers: layers.iter().map(|l| (*l).clone()).collect(),
        size: 100,
    });
    m
}

/// Image facts, labels, promotions, owners and tag history: written with the manifest,
/// facts and labels gone with it, history kept.
async fn governance_records_follow_manifests(meta: &dyn Meta) {
    let (app, config, l1, l2) = (name("gov/app"), d("gov-config"), d("gov-l1"), d("gov-l2"));
    for b in [&config, &l1, &l2] {
        meta.link_blob(&app, b, 3).await.unwrap();
    }
    let generation = meta.lineage_generation().await.unwrap();
    let (m1, m2) = (d("gov-m1"), d("gov-m2"));
    let mut first = image_manifest("gov/app", &m1, &config, &[&l1]);
    first.tag = Some(tag("v1"));
    first.annotations.insert(
        "org.opencontainers.image.source".into(),
        "https://git.example/app".into(),
    );
    meta.put_manifest(first).await.unwrap();
    assert!(meta.lineage_generation().await.unwrap() > generation);
    let images = meta.images(Some(&app)).await.unwrap();
    assert_eq!(images.len(), 1);
    let image = &images[0].image;
    assert_eq!(
        (&image.digest, &image.tags, &image.layers),
        (&m1, &vec!["v1".to_owned()], &vec![l1.clone()])
    );
    assert_eq!((image.size, image.last_pulled), (100, None));
    assert_eq!(
        image.annotations["org.opencontainers.image.source"],
        "https://git.example/app"
    );
    assert_eq!(images[0].config, Some(config.clone()));
    // The tag moves to m2: both writes are in its history.
    let mut second = image_manifest("gov/app", &m2, &config, &[&l1, &l2]);
    second.tag = Some(tag("v1"));
    meta.put_manifest(second).await.unwrap();
    let history = meta.tag_history(&app, &tag("v1")).await.unwrap();
    let targets: Vec<_> = history.iter().map(|h| h.digest.clone()).collect();
    assert_eq!(targets, [Some(m1.clone()), Some(m2.clone())]);
    assert_eq!(history[0].by, "registry");
    // Labels accumulate; promotion adds one and records it.
    assert!(meta.add_label(&app, &m2, "maybe_prod").await.unwrap());
    assert!(
        meta.add_label(&app, &m2, "maybe_prod").await.unwrap(),
        "idempotent"
    );
    let promotion = PromotionRecord {
        repository: app.clone(),
        digest: m2.clone(),
        tags: vec!["v1".into()],
        env: "prod".into(),
        by: "alice".into(),
        at: 1000,
    };
    assert!(meta.promote(promotion.clone()).await.unwrap());
    let labels = meta.image(&app, &m2).await.unwrap().unwrap().image.labels;
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        ["maybe_prod", "prod"]
    );
    assert_eq!(
        meta.promotions(&app).await.unwrap(),
        std::slice::from_ref(&promotion)
    );
    assert!(!meta.add_label(&app, &d("gov-none"), "prod").await.unwrap());
    assert!(!meta.remove_label(&app, &m1, "prod").await.unwrap());
    // Owners, counts, last pull.
    assert!(meta.set_owner(&app, Some("team-x")).await.unwrap());
    assert!(!meta.set_owner(&name("gov/none"), Some("x")).await.unwrap());
    assert_eq!(meta.owner(&app).await.unwrap().as_deref(), Some("team-x"));
    let summary = meta
        .repository_summaries()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == app)
        .unwrap();
    assert_eq!(
        (summary.owner.as_deref(), summary.images, summary.tags),
        (Some("team-x"), 2, 1)
    );
    meta.record_pull(&app, &m1, 4242).await.unwrap();
    assert_eq!(
        meta.image(&app, &m1)
            .await
            .unwrap()
            .unwrap()
            .image
            .last_pulled,
        Some(4242)
    );
    // Newest push first (same second: by digest after that).
    let all = meta.images(None).await.unwrap();
    assert!(all.iter().any(|i| i.image.digest == m1) && all.iter().any(|i| i.image.digest == m2));
    // Deleting m2 removes its facts and labels and records the tag's deletion; the
    // promotion stays.
    let before = meta.lineage_generation().await.unwrap();
    let guard: TagGuard = Arc::new(|_: &str| None);
    assert!(meta.delete_manifest(&app, &m2, guard).await.unwrap());
    assert!(meta.lineage_generation().await.unwrap() > before);
    assert_eq!(meta.image(&app, &m2).await.unwrap(), None);
    assert!(!meta.add_label(&app, &m2, "prod").await.unwrap());
    let history = meta.tag_history(&app, &tag("v1")).await.unwrap();
    assert_eq!(history.last().unwrap().digest, None);
    assert_eq!(meta.promotions(&app).await.unwrap(), [promotion]);
    // A tag delete is history too.
    let mut again = image_manifest("gov/app", &m1, &config, &[&l1]);
    again.tag = Some(tag("v2"));
    meta.put_manifest(again).await.unwrap();
    assert!(meta.delete_tag(&app, &tag("v2")).await.unwrap());
    let v2: Vec<_> = meta
        .tag_history(&app, &tag("v2"))
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.digest)
        .collect();
    assert_eq!(v2, [Some(m1.clone()), None]);
    // A manifest without facts (an artifact) is no image.
    meta.put_manifest(manifest("gov/app", &d("gov-artifact"), &[]))
        .await
        .unwrap();
    assert_eq!(meta.image(&app, &d("gov-artifact")).await.unwrap(), None);
}

async fn exercise(meta: &dyn Meta) {
    robots_are_kept_by_name(meta).await;
    links_manifests_and_references(meta).await;
    tags_and_catalog_page_in_bytewise_order(meta).await;
    immutable_tags_hold_in_the_writing_transaction(meta).await;
    referrers_carry_type_and_annotations(meta).await;
    uploads_expire(meta).await;
    gc_marks_pins_and_sweeps(meta).await;
    gc_drops_links_no_manifest_uses(meta).await;
    // Last: it adds a repository the catalog test would list.
    governance_records_follow_manifests(meta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_behaves_as_specified() {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMeta::open(&dir.path().join("registry.db")).unwrap();
    exercise(&meta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_behaves_as_sqlite_does() {
    let postgres = TestPostgres::start_required();
    let meta = PostgresMeta::connect(&postgres.url()).await.unwrap();
    // A second connect (another replica starting) finds the schema in place.
    PostgresMeta::connect(&postgres.url()).await.unwrap();
    exercise(&meta).await;
    // A schema from a later version is refused, not used.
    let (client, connection) = tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute("INSERT INTO strata_schema (version) VALUES (99)", &[])
        .await
        .unwrap();
    let Err(err) = PostgresMeta::connect(&postgres.url()).await else {
        panic!("a newer schema was accepted");
    };
    assert!(
        matches!(err, MetaError::PostgresSchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
}
