//! The access log against a real server: one JSON line per request in the configured file,
//! with the request id (an incoming sane `X-Request-Id` kept, else made) echoed in the
//! response, the peer, bytes in and out, the route kind, and never a credential or query.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::Value;
use strata_registry::config::AccessLogTarget;
use strata_registry::events::EndpointConfig;
use strata_registry::{Config, ServeError, Server};

/// The log's records once it holds `n`.
fn records(path: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} records: {text}",
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn json_lines_with_request_ids_bytes_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut config = Config::default();
    config.log.access = AccessLogTarget::File(log.clone());
    let s = TestServer::start_with(config);

    let base = s
        .send("GET", "/v2/")
        .header("X-Request-Id", "client-id-42")
        .header("Authorization", "Bearer supersecret-token")
        .call();
    base.expect_status(200);
    assert_eq!(base.header("x-request-id"), Some("client-id-42"));
    let blob = b"twelve bytes";
    let digest = s.push_blob("team/app", blob);
    let pulled = s
        .send("GET", &format!("/v2/team/app/blobs/{digest}"))
        .header("X-Request-Id", "bad id; with spaces")
        .call();
    pulled.expect_status(200);
    let made = pulled.header("x-request-id").unwrap().to_owned();
    assert_eq!(made.len(), 36, "a fresh UUID replaces an unsafe id: {made}");
    let missing = s.send("GET", "/v2/team/app/manifests/nope").call();
    missing.expect_status(404);

    let lines = records(&log, 4);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    // Written as each response ends: found by id or method, not by position.
    let by_id = |id: &str| {
        lines
            .iter()
            .find(|l| l["request_id"] == id)
            .unwrap_or_else(|| panic!("no record {id}: {lines:#?}"))
    };
    let first = by_id("client-id-42");
    let push = lines.iter().find(|l| l["method"] == "POST").unwrap();
    let pull = by_id(&made);
    let miss = by_id(missing.header("x-request-id").unwrap());
    assert_eq!(first["request_id"], "client-id-42");
    assert_eq!(first["route"], "base");
    assert_eq!(first["status"], 200);
    assert!(first["user"].is_null(), "anonymous");
    assert!(first["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(first["user_agent"].as_str().unwrap().starts_with("ureq"));
    assert!(first["time"].as_str().unwrap().contains('T'));
    assert!(first["duration_ms"].as_f64().unwrap() >= 0.0);

    assert_eq!(push["method"], "POST");
    assert_eq!(push["path"], "/v2/team/app/blobs/uploads/", "no query");
    assert_eq!(push["route"], "upload_start");
    assert_eq!(push["status"], 201);
    assert_eq!(push["bytes_in"], blob.len());
    assert_eq!(push["bytes_out"], 0);

    assert_eq!(pull["route"], "blob");
    assert_eq!(pull["bytes_out"], blob.len());
    assert_eq!(pull["bytes_in"], 0);

    assert_eq!(miss["status"], 404);
    assert_eq!(miss["route"], "manifest");
    assert_eq!(miss["bytes_out"], missing.body.len());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("supersecret"), "{text}");
    assert!(!text.contains("Bearer"), "{text}");
    assert!(!text.contains("digest="), "{text}");
}

fn bind_error(config: Config) -> ServeError {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = config;
    config.addr = Some("127.0.0.1:0".parse().unwrap());
    match runtime.block_on(Server::bind(&config, dir.path())) {
        Ok(_) => panic!("the server started"),
        Err(e) => e,
    }
}

#[test]
fn an_unwritable_log_or_a_bad_endpoint_stops_the_start() {
    let mut config = Config::default();
    config.log.access = AccessLogTarget::File("/nonexistent-dir/strata/access.log".into());
    let err = bind_error(config);
    assert!(matches!(err, ServeError::AccessLog { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("/nonexistent-dir/strata/access.log"));

    let mut config = Config::default();
    config.notifications.endpoints = vec![EndpointConfig {
        name: "ci".into(),
        url: "ftp://user:pw-token@hooks.example/x".into(),
        secret: None,
        headers: Default::default(),
        disabled: false,
        timeout_ms: None,
        backoff_initial_ms: None,
        backoff_max_ms: None,
        max_attempts: None,
        max_age_secs: None,
        queue_size: None,
        ignore: Default::default(),
    }];
    let err = bind_error(config).to_string();
    assert!(err.contains("\"ci\"") && err.contains("http"), "{err}");
    assert!(!err.contains("pw-token"), "{err}");
}
