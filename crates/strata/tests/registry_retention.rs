//! Retention in the registry end to end: a real `strata registry serve`, images pushed into
//! it over HTTP and labelled through `/strata/v1`, then `strata registry retention` (dry run,
//! then for real) with the default policy `examples/govern/retention.toml`, checked by
//! digest through `/v2/`; and the scheduled run of `serve` (`[govern] retention-schedule`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::served::Served;
use serde_json::json;
use strata_oci::Digest;

/// Pushes `bytes` as a blob of `repo`; its digest.
fn push_blob(served: &Served, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::of(bytes);
    let url = format!(
        "http://{}/v2/{repo}/blobs/uploads/?digest={digest}",
        served.host()
    );
    assert_eq!(ureq::post(&url).send_bytes(bytes).unwrap().status(), 201);
    digest
}

/// One pushed image: its manifest digest and its own layer.
struct Pushed {
    digest: Digest,
    layer: Digest,
}

/// Pushes an image of `repo` tagged `tag`: a config and a layer of its own (named by `tag`)
/// over `shared`, the layer every image of the test has.
fn push_image(served: &Served, repo: &str, tag: &str, shared: &Digest) -> Pushed {
    let config =
        format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"{repo}:{tag}\"}}");
    let layer = format!("the layer of {repo}:{tag}");
    let config_digest = push_blob(served, repo, config.as_bytes());
    let layer_digest = push_blob(served, repo, layer.as_bytes());
    let desc = |media: &str, d: &Digest, size: usize| json!({"mediaType": media, "digest": d.to_string(), "size": size});
    let layer_media = "application/vnd.oci.image.layer.v1.tar";
    let manifest = json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", &config_digest, config.len()),
        "layers": [desc(layer_media, shared, SHARED.len()), desc(layer_media, &layer_digest, layer.len())]});
    let body = serde_json::to_vec(&manifest).unwrap();
    let url = format!("http://{}/v2/{repo}/manifests/{tag}", served.host());
    let r = ureq::put(&url)
        .set("content-type", "application/vnd.oci.image.manifest.v1+json")
        .send_bytes(&body)
        .unwrap();
    assert_eq!(r.status(), 201);
    Pushed {
        digest: Digest::of(&body),
        layer: layer_digest,
    }
}

const SHARED: &[u8] = b"the layer every image shares";

fn label(served: &Served, repo: &str, digest: &Digest, label: &str) {
    let url = format!(
        "http://{}/strata/v1/repositories/{repo}/-/images/{digest}/labels/{label}",
        served.host()
    );
    let r = ureq::put(&url).call().unwrap();
    assert_eq!(r.status(), 200, "labelling {repo}@{digest} {label}");
}

/// Whether `HEAD /v2/<repo>/manifests/<digest>` finds it.
fn exists(served: &Served, repo: &str, digest: &Digest) -> bool {
    let url = format!("http://{}/v2/{repo}/manifests/{digest}", served.host());
    match ureq::head(&url)
        .set("accept", "application/vnd.oci.image.manifest.v1+json")
        .call()
    {
        Ok(r) => r.status() == 200,
        Err(ureq::Error::Status(404, _)) => false,
        Err(e) => panic!("HEAD {url}: {e}"),
    }
}

/// The tags list of `repo`, sorted.
fn tags(served: &Served, repo: &str) -> Vec<String> {
    let url = format!("http://{}/v2/{repo}/tags/list", served.host());
    let body = ureq::get(&url).call().unwrap().into_string().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut tags: Vec<String> = v["tags"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    tags.sort();
    tags
}

fn blob_file(served: &Served, d: &Digest) -> PathBuf {
    served.path("data/blobs/sha256").join(d.hex())
}

/// The shipped default policy with its rules limited to `team/**` (so a repository outside
/// is matched by no rule).
fn team_policy(dir: &Path) -> PathBuf {
    let default = strata_testkit::workspace_root().join("examples/govern/retention.toml");
    let text = fs::read_to_string(default).unwrap();
    assert_eq!(text.matches("repositories = \"**\"").count(), 3, "{text}");
    let path = dir.join("retention.toml");
    fs::write(
        &path,
        text.replace("repositories = \"**\"", "repositories = \"team/**\""),
    )
    .unwrap();
    path
}

/// `strata registry retention` on the served data directory; (stdout, stderr).
fn retention(served: &Served, config: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "retention", "--config"])
        .arg(config)
        .arg("--data")
        .arg(served.path("data"))
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "strata registry retention: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The config `serve` and the CLI share: immutable `v*` tags in team/app, no GC grace.
fn write_config(served_dir: &Path, policy: &Path, schedule: Option<&str>) -> PathBuf {
    let mut text = format!(
        "[gc]\ngrace_secs = 0\n\n[[immutable_tags]]\nrepository = \"team/app\"\ntag = \"v*\"\n\n[govern]\nretention = \"{}\"\n",
        policy.display()
    );
    if let Some(s) = schedule {
        text.push_str(&format!("retention-schedule = \"{s}\"\n"));
    }
    let path = served_dir.join("registry.toml");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_default_policy_keeps_exactly_the_right_22_and_gc_frees_the_rest() {
    let conf = tempfile::tempdir().unwrap();
    let policy = team_policy(conf.path());
    let config = write_config(conf.path(), &policy, None);
    let served = Served::start_with(&["--config", config.to_str().unwrap()]);
    let shared = push_blob(&served, "team/app", SHARED);

    // The oldest image has an immutable tag: protected beyond its bucket's 2.
    let immutable = push_image(&served, "team/app", "v1.0", &shared);
    std::thread::sleep(Duration::from_millis(1100));
    // 12 rounds a second apart, so each bucket's images have distinct push times:
    // 6 without a label, 12 maybe_prod, 12 prod (6 of them maybe_prod too) = 30.
    let (mut none, mut maybe, mut prod) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..12 {
        let p = push_image(&served, "team/app", &format!("prod-{round}"), &shared);
        label(&served, "team/app", &p.digest, "prod");
        if round % 2 == 0 {
            label(&served, "team/app", &p.digest, "maybe_prod");
        }
        prod.push(p);
        let m = push_image(&served, "team/app", &format!("maybe-{round}"), &shared);
        label(&served, "team/app", &m.digest, "maybe_prod");
        maybe.push(m);
        if round < 6 {
            none.push(push_image(
                &served,
                "team/app",
                &format!("none-{round}"),
                &shared,
            ));
        }
        std::thread::sleep(Duration::from_millis(1100));
    }
    push_blob(&served, "other/lib", SHARED);
    let other: Vec<Pushed> = (0..3)
        .map(|n| push_image(&served, "other/lib", &format!("{n}"), &shared))
        .collect();
    // Newest kept: none 2 of 6, maybe_prod 10 of 12, prod 10 of 12.
    let doomed: Vec<&Pushed> = none[..4]
        .iter()
        .chain(&maybe[..2])
        .chain(&prod[..2])
        .collect();
    let kept: Vec<&Pushed> = none[4..]
        .iter()
        .chain(&maybe[2..])
        .chain(&prod[2..])
        .chain(std::iter::once(&immutable))
        .collect();
    assert_eq!((doomed.len(), kept.len()), (8, 23));

    let (dry, summary) = retention(&served, &config, &["--dry-run"]);
    assert_eq!(
        dry.lines().filter(|l| l.contains(" DELETE ")).count(),
        8,
        "{dry}"
    );
    assert_eq!(
        dry.lines().filter(|l| l.contains(" KEEP ")).count(),
        23,
        "{dry}"
    );
    assert!(
        !dry.contains("other/lib"),
        "a repository no rule matches: {dry}"
    );
    let v1 = dry.lines().find(|l| l.contains("v1.0")).unwrap();
    assert!(
        v1.contains(" KEEP ") && v1.contains("immutable tag v1.0"),
        "{v1}"
    );
    assert!(summary.contains("23 kept, 8 to delete"), "{summary}");
    for p in doomed.iter().chain(&kept) {
        assert!(
            exists(&served, "team/app", &p.digest),
            "a dry run deleted {}",
            p.digest
        );
    }

    let (json, _) = retention(&served, &config, &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let deleted: Vec<&str> = json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "delete")
        .map(|d| d["digest"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = doomed.iter().map(|p| p.digest.to_string()).collect();
    expected.sort();
    let mut deleted: Vec<String> = deleted.into_iter().map(str::to_owned).collect();
    deleted.sort();
    assert_eq!(deleted, expected);

    for p in &doomed {
        assert!(
            !exists(&served, "team/app", &p.digest),
            "{} survived",
            p.digest
        );
        assert!(
            !blob_file(&served, &p.layer).exists(),
            "GC left {}",
            p.layer
        );
    }
    for p in &kept {
        assert!(
            exists(&served, "team/app", &p.digest),
            "{} was deleted",
            p.digest
        );
        assert!(blob_file(&served, &p.layer).exists());
    }
    assert!(
        blob_file(&served, &shared).exists(),
        "a layer kept images use"
    );
    let mut survivors: Vec<String> = ["none-4", "none-5", "v1.0"].map(String::from).to_vec();
    survivors.extend((2..12).map(|n| format!("maybe-{n}")));
    survivors.extend((2..12).map(|n| format!("prod-{n}")));
    survivors.sort();
    assert_eq!(tags(&served, "team/app"), survivors);
    for p in &other {
        assert!(exists(&served, "other/lib", &p.digest));
    }
    assert_eq!(tags(&served, "other/lib"), ["0", "1", "2"]);
}

#[test]
fn serve_applies_the_policy_on_its_schedule_and_keeps_the_gate_allow_list() {
    let conf = tempfile::tempdir().unwrap();
    let policy = team_policy(conf.path());
    let config = write_config(conf.path(), &policy, Some("1s"));
    let gates = conf.path().join("gates.toml");
    fs::write(&gates, "allow = [\"team/app:build-0\"]\n").unwrap();
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str(&format!("gates = \"{}\"\n", gates.display()));
    fs::write(&config, text).unwrap();
    let served = Served::start_with(&["--config", config.to_str().unwrap()]);
    let shared = push_blob(&served, "team/app", SHARED);
    // build-0 is the oldest, but the gate policy's allow list names it.
    push_image(&served, "team/app", "build-0", &shared);
    std::thread::sleep(Duration::from_millis(1100));
    for n in 1..4 {
        push_image(&served, "team/app", &format!("build-{n}"), &shared);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while tags(&served, "team/app").len() > 3 {
        assert!(
            Instant::now() < deadline,
            "no scheduled run deleted anything: {:?}\n{}",
            tags(&served, "team/app"),
            served.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500)); // another run or two: nothing more goes
    let left = tags(&served, "team/app");
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&"build-0".to_owned()), "{left:?}");
    assert!(
        served.log().contains("retention run done"),
        "{}",
        served.log()
    );
}

#[test]
fn a_bad_policy_stops_serve_and_the_cli_naming_file_and_rule() {
    let conf = tempfile::tempdir().unwrap();
    let policy = conf.path().join("bad.toml");
    fs::write(
        &policy,
        "[[rule]]\nbucket = \"staging\"\nkeep = { newest-pushed = 2 }\n",
    )
    .unwrap();
    let config = write_config(conf.path(), &policy, Some("24h"));
    let data = conf.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "serve", "--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("retention rule 1"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["registry", "retention", "--dry-run", "--data"])
        .arg(&data)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("retention rule 1"),
        "{stderr}"
    );
}

/// PUTs manifest `body` of `media` as `reference` of `repo`; its digest.
fn put_manifest(
    served: &Served,
    repo: &str,
    reference: &str,
    media: &str,
    body: &serde_json::Value,
) -> Digest {
    let bytes = serde_json::to_vec(body).unwrap();
    let digest = Digest::of(&bytes);
    let reference = if reference.is_empty() {
        digest.to_string()
    } else {
        reference.to_owned()
    };
    let url = format!("http://{}/v2/{repo}/manifests/{reference}", served.host());
    let r = ureq::put(&url)
        .set("content-type", media)
        .send_bytes(&bytes)
        .unwrap();
    assert_eq!(r.status(), 201);
    digest
}

#[test]
fn index_children_go_with_their_index_and_images_with_referrers_are_skipped() {
    let conf = tempfile::tempdir().unwrap();
    let policy = team_policy(conf.path());
    let config = write_config(conf.path(), &policy, None);
    let served = Served::start_with(&["--config", config.to_str().unwrap()]);
    let repo = "team/multi";
    let shared = push_blob(&served, repo, SHARED);
    let manifest_media = "application/vnd.oci.image.manifest.v1+json";

    // The oldest: an image with a signature-like referrer.
    let signed = push_image(&served, repo, "signed", &shared);
    let empty = push_blob(&served, repo, b"{}");
    let referrer = json!({"schemaVersion": 2, "mediaType": manifest_media,
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2}],
        "subject": {"mediaType": manifest_media, "digest": signed.digest.to_string(), "size": 1}});
    let referrer = put_manifest(&served, repo, "", manifest_media, &referrer);
    std::thread::sleep(Duration::from_millis(1100));
    // Then an index of two images pushed by digest (untagged).
    let children: Vec<Pushed> = (0..2)
        .map(|n| push_image(&served, repo, &format!("child-{n}"), &shared))
        .collect();
    let size_of = |d: &Digest| {
        let url = format!("http://{}/v2/{repo}/manifests/{d}", served.host());
        ureq::head(&url)
            .set("accept", manifest_media)
            .call()
            .unwrap()
            .header("content-length")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children.iter().map(|c| json!({"mediaType": manifest_media,
            "digest": c.digest.to_string(), "size": size_of(&c.digest)})).collect::<Vec<_>>()});
    let index = put_manifest(
        &served,
        repo,
        "multi",
        "application/vnd.oci.image.index.v1+json",
        &index,
    );
    for n in 0..2 {
        let url = format!("http://{}/v2/{repo}/manifests/child-{n}", served.host());
        assert_eq!(
            ureq::delete(&url).call().unwrap().status(),
            202,
            "untag child-{n}"
        );
    }
    std::thread::sleep(Duration::from_millis(1100));
    let newer: Vec<Pushed> = (0..2)
        .map(|n| push_image(&served, repo, &format!("new-{n}"), &shared))
        .collect();

    let (dry, _) = retention(&served, &config, &["--dry-run"]);
    let rows: Vec<&str> = dry.lines().filter(|l| l.starts_with(repo)).collect();
    assert_eq!(
        rows.len(),
        4,
        "signed, the index, 2 new (children not judged alone): {dry}"
    );
    let row = |needle: &str| {
        *rows
            .iter()
            .find(|l| l.split_whitespace().nth(2) == Some(needle))
            .unwrap_or_else(|| panic!("{needle}: {dry}"))
    };
    assert!(row("multi").contains(" DELETE "), "{dry}");
    assert!(
        row("signed").contains(" SKIP ") && row("signed").contains(&referrer.to_string()),
        "{dry}"
    );

    retention(&served, &config, &[]);
    assert!(!exists(&served, repo, &index));
    for c in &children {
        assert!(
            !exists(&served, repo, &c.digest),
            "a child outlived its index"
        );
        assert!(!blob_file(&served, &c.layer).exists());
    }
    assert!(exists(&served, repo, &signed.digest) && exists(&served, repo, &referrer));
    for p in &newer {
        assert!(exists(&served, repo, &p.digest));
    }
}
