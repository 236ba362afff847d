//! Garbage collection policy on the embedded default: what is garbage, what is kept.

use std::time::Duration;

use bytes::Bytes;
use strata_distribution::ManifestRef;
use strata_oci::Digest;

use super::tests::{body, manifest_over, name, registry};
use super::*;

fn now_policy(untagged: bool) -> GcPolicy {
    GcPolicy {
        untagged,
        grace: Duration::ZERO,
        link_grace: None,
        protected: None,
    }
}

/// Makes every repository→blob link `secs` older, straight in the database.
fn age_links(dir: &std::path::Path, secs: i64) {
    let conn = rusqlite::Connection::open(dir.join("registry.db")).unwrap();
    conn.execute("UPDATE repo_blobs SET linked = linked - ?1", [secs])
        .unwrap();
}

fn stored(dir: &std::path::Path, d: &Digest) -> bool {
    dir.join("blobs/sha256").join(d.hex()).exists()
}

async fn push(reg: &Registry, repo: &str, bytes: &'static [u8]) -> Digest {
    let d = Digest::of(bytes);
    reg.push_blob(&name(repo), &d, None, body(&[bytes]))
        .await
        .unwrap();
    d
}

async fn put(reg: &Registry, repo: &str, reference: &str, json: Vec<u8>) -> Digest {
    let r: ManifestRef = reference.parse().unwrap();
    let repo = name(repo);
    let out = reg.put_manifest(&repo, &r, None, Bytes::from(json));
    out.await.unwrap().digest
}

fn index_of(children: &[(&Digest, usize)]) -> Vec<u8> {
    let manifests: Vec<_> = children
        .iter()
        .map(|(d, size)| serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d.to_string(), "size": size}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))
    .unwrap()
}

#[tokio::test]
async fn unlinked_unreferenced_blobs_are_removed_and_used_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let kept = push(&reg, "a", b"{}").await;
    put(&reg, "a", "v1", manifest_over(b"{}")).await;
    let gone = push(&reg, "a", b"gone!").await;
    let shared = push(&reg, "a", b"{}").await;
    push(&reg, "b", b"{}").await;
    put(&reg, "b", "v1", manifest_over(b"{}")).await;
    reg.delete_blob(&name("a"), &gone).await.unwrap();
    let report = reg
        .collect_garbage(&now_policy(false), false)
        .await
        .unwrap();
    assert_eq!(report.blobs, vec![gone.clone()]);
    assert!(report.links.is_empty(), "{report:?}");
    assert_eq!(report.bytes, 5);
    assert!(!stored(dir.path(), &gone));
    assert!(stored(dir.path(), &kept) && shared == kept);
    assert_eq!(reg.blob_size(&name("b"), &shared).await.unwrap(), 2);
}

#[tokio::test]
async fn a_link_no_manifest_uses_is_dropped_after_the_grace_period_then_its_blob() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let unused = push(&reg, "a", b"pushed, never used").await;
    let elsewhere = push(&reg, "a", b"{}").await;
    push(&reg, "b", b"{}").await;
    put(&reg, "b", "v1", manifest_over(b"{}")).await;
    // Young links stay under the default grace period.
    let report = reg.collect_garbage(&GcPolicy::default(), false).await;
    let report = report.unwrap();
    assert!(
        report.links.is_empty() && report.blobs.is_empty(),
        "{report:?}"
    );
    let dry = reg.collect_garbage(&now_policy(false), true).await.unwrap();
    assert_eq!(dry.links.len(), 2, "{dry:?}");
    assert!(
        reg.blob_size(&name("a"), &unused).await.is_ok(),
        "dry run unlinked"
    );
    let report = reg
        .collect_garbage(&now_policy(false), false)
        .await
        .unwrap();
    let mut links = report.links.clone();
    links.sort();
    let mut expected = vec![(name("a"), elsewhere.clone()), (name("a"), unused.clone())];
    expected.sort();
    assert_eq!(links, expected);
    // The blob only `a` held is gone; the one a manifest of `b` uses stays there.
    assert_eq!(report.blobs, vec![unused.clone()]);
    assert!(!stored(dir.path(), &unused) && stored(dir.path(), &elsewhere));
    assert!(reg.blob_size(&name("a"), &unused).await.is_err());
    assert!(reg.blob_size(&name("a"), &elsewhere).await.is_err());
    assert_eq!(reg.blob_size(&name("b"), &elsewhere).await.unwrap(), 2);
}

#[tokio::test]
async fn a_link_pushed_again_is_young_again_and_a_pinned_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let d = push(&reg, "a", b"layer").await;
    let pin = reg.meta.pin_blob(&d).await.unwrap();
    let report = reg
        .collect_garbage(&now_policy(false), false)
        .await
        .unwrap();
    assert!(
        report.links.is_empty() && report.blobs.is_empty(),
        "{report:?}"
    );
    reg.meta.unpin_blob(&pin).await.unwrap();
    // Linked two hours ago: stale under a one-minute grace period (dry run)...
    age_links(dir.path(), 7200);
    let policy = GcPolicy {
        grace: Duration::from_secs(60),
        ..now_policy(false)
    };
    let dry = reg.collect_garbage(&policy, true).await.unwrap();
    assert_eq!(dry.links, vec![(name("a"), d.clone())]);
    // ...until it is pushed again: the grace period counts from the last push.
    push(&reg, "a", b"layer").await;
    let report = reg.collect_garbage(&policy, false).await.unwrap();
    assert!(report.links.is_empty(), "{report:?}");
    assert_eq!(reg.blob_size(&name("a"), &d).await.unwrap(), 5);
}

#[tokio::test]
async fn blobs_referenced_by_a_manifest_stay_after_their_link_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let config = push(&reg, "a", b"{}").await;
    let m = put(&reg, "a", "v1", manifest_over(b"{}")).await;
    reg.delete_blob(&name("a"), &config).await.unwrap();
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert!(
        report.blobs.is_empty() && report.manifests.is_empty(),
        "{report:?}"
    );
    assert!(stored(dir.path(), &config) && stored(dir.path(), &m));
}

#[tokio::test]
async fn the_grace_period_keeps_young_blobs_and_dry_run_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let young = push(&reg, "a", b"young").await;
    reg.delete_blob(&name("a"), &young).await.unwrap();
    let report = reg.collect_garbage(&GcPolicy::default(), false).await;
    assert!(report.unwrap().blobs.is_empty());
    let dry = reg.collect_garbage(&now_policy(false), true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!((dry.blobs, dry.bytes), (vec![young.clone()], 5));
    assert!(stored(dir.path(), &young));
    let real = reg
        .collect_garbage(&now_policy(false), false)
        .await
        .unwrap();
    assert_eq!(real.blobs, vec![young.clone()]);
    assert!(!stored(dir.path(), &young));
}

#[tokio::test]
async fn uploads_in_progress_survive_and_finish() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let repo = name("a");
    let id = reg.start_upload(&repo).await.unwrap();
    let chunk = ChunkRange {
        range: None,
        length: None,
    };
    reg.append_chunk(&repo, &id, chunk, body(&[b"half"]))
        .await
        .unwrap();
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert!(report.blobs.is_empty());
    assert_eq!(reg.upload_state(&repo, &id).await.unwrap().size, 4);
    let d = Digest::of(b"half+rest");
    reg.finish_upload(&repo, &id, &d, None, body(&[b"+rest"]))
        .await
        .unwrap();
    assert!(stored(dir.path(), &d));
}

#[tokio::test]
async fn index_children_stay_while_the_index_is_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    push(&reg, "a", b"{}").await;
    let json = manifest_over(b"{}");
    let size = json.len();
    let child = put(&reg, "a", &Digest::of(&json).to_string(), json).await;
    let index = put(&reg, "a", "multi", index_of(&[(&child, size)])).await;
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert!(report.manifests.is_empty(), "{report:?}");
    assert!(stored(dir.path(), &child));
    let tag: ManifestRef = "multi".parse().unwrap();
    reg.delete_manifest(&name("a"), &tag).await.unwrap();
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    let removed: Vec<_> = report.manifests.iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(removed, vec![index.clone(), child.clone()]);
    assert!(report.blobs.contains(&index) && report.blobs.contains(&child));
    assert!(!stored(dir.path(), &index) && !stored(dir.path(), &child));
}

#[tokio::test]
async fn untagged_manifests_stay_unless_configured_or_protected() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    push(&reg, "a", b"{}").await;
    let json = manifest_over(b"{}");
    let m = put(&reg, "a", &Digest::of(&json).to_string(), json).await;
    let report = reg
        .collect_garbage(&now_policy(false), false)
        .await
        .unwrap();
    assert!(report.manifests.is_empty() && stored(dir.path(), &m));
    let protect = m.clone();
    let policy = GcPolicy {
        protected: Some(std::sync::Arc::new(move |_, d| d == &protect)),
        ..now_policy(true)
    };
    let report = reg.collect_garbage(&policy, false).await.unwrap();
    assert!(report.manifests.is_empty() && stored(dir.path(), &m));
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert_eq!(report.manifests, vec![(name("a"), m.clone())]);
    assert!(!stored(dir.path(), &m));
    let r: ManifestRef = m.to_string().parse().unwrap();
    assert!(reg.get_manifest(&name("a"), &r, false).await.is_err());
}

#[tokio::test]
async fn a_referrer_lives_as_long_as_its_subject() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    push(&reg, "a", b"{}").await;
    let subject_json = manifest_over(b"{}");
    let subject = put(&reg, "a", "v1", subject_json.clone()).await;
    let mut referrer: serde_json::Value = serde_json::from_slice(&manifest_over(b"{}")).unwrap();
    referrer["subject"] = serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": subject.to_string(), "size": subject_json.len()});
    let referrer = serde_json::to_vec(&referrer).unwrap();
    let sig = put(&reg, "a", &Digest::of(&referrer).to_string(), referrer).await;
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert!(report.manifests.is_empty(), "{report:?}");
    let by_digest: ManifestRef = subject.to_string().parse().unwrap();
    reg.delete_manifest(&name("a"), &by_digest).await.unwrap();
    let report = reg.collect_garbage(&now_policy(true), false).await.unwrap();
    assert_eq!(report.manifests, vec![(name("a"), sig.clone())]);
    assert!(!stored(dir.path(), &sig) && !stored(dir.path(), &subject));
}
