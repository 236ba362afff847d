//! Webhooks against a real server and a real HTTP receiver: pushes, pulls, mounts and
//! deletes arrive as distribution-format events, signed with the endpoint's secret, in
//! order, once, after the receiver's failures; a dead receiver never slows a push.

mod common;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{oci_manifest, TestServer};
use serde_json::{json, Value};
use strata_oci::Digest;
use strata_registry::events::{sign, EndpointConfig, IgnoreConfig, ENVELOPE_MEDIA_TYPE};
use strata_registry::Config;
use strata_testkit::http::{respond, HttpRequest, HttpServer};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SECRET: &str = "webhook-secret-1";

/// How the receiver answers one delivery.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// Closes the connection without answering.
    Close,
}

/// A webhook receiver: answers the queued failures first, then 200; records every attempt.
struct Receiver {
    server: HttpServer,
    attempts: Arc<Mutex<Vec<HttpRequest>>>,
    delivered: Arc<Mutex<Vec<HttpRequest>>>,
}

impl Receiver {
    fn start(failures: &[Answer]) -> Receiver {
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(
            failures.iter().copied().collect::<VecDeque<_>>(),
        ));
        let (a, d) = (attempts.clone(), delivered.clone());
        let server = HttpServer::start(Arc::new(move |req, stream| {
            a.lock().unwrap().push(req.clone());
            match queue.lock().unwrap().pop_front() {
                Some(Answer::Status(code)) => respond(stream, code, &[], b"no"),
                Some(Answer::Close) => {}
                None => {
                    d.lock().unwrap().push(req.clone());
                    respond(stream, 200, &[], b"");
                }
            }
        }));
        Receiver {
            server,
            attempts,
            delivered,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.server.host())
    }

    /// Waits until `n` deliveries arrived; returns them all.
    fn wait_for(&self, n: usize) -> Vec<HttpRequest> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.delivered.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} events arrived",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn endpoint(url: String) -> EndpointConfig {
    EndpointConfig {
        name: "test".into(),
        url,
        secret: Some(SECRET.into()),
        headers: [("Authorization".to_owned(), "Bearer receiver-token".into())].into(),
        disabled: false,
        timeout_ms: Some(2000),
        backoff_initial_ms: Some(20),
        backoff_max_ms: Some(100),
        max_attempts: None,
        max_age_secs: None,
        queue_size: None,
        ignore: IgnoreConfig::default(),
    }
}

fn server_with(endpoints: Vec<EndpointConfig>) -> TestServer {
    let mut config = Config::default();
    config.notifications.endpoints = endpoints;
    TestServer::start_with(config)
}

/// The single event of a delivery, after checking its envelope headers and signature.
fn event_of(req: &HttpRequest) -> Value {
    assert_eq!(req.method, "POST");
    assert_eq!(req.path(), "/hook");
    assert_eq!(req.header("content-type"), Some(ENVELOPE_MEDIA_TYPE));
    assert_eq!(req.header("authorization"), Some("Bearer receiver-token"));
    let signature = req.header("x-strata-signature-256").expect("signed");
    assert!(sign::verify(SECRET.as_bytes(), &req.body, signature));
    assert!(!sign::verify(b"another-secret", &req.body, signature));
    let envelope: Value = serde_json::from_slice(&req.body).unwrap();
    let events = envelope["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{envelope}");
    let event = events[0].clone();
    assert_eq!(req.header("x-strata-event-id"), event["id"].as_str());
    let ts: i64 = req.header("x-strata-timestamp").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 120, "timestamp {ts}");
    event
}

/// `action`, `target` and the request method of an event, for comparing.
fn summary(event: &Value) -> Value {
    json!({"action": event["action"], "target": event["target"], "method": event["request"]["method"]})
}

#[test]
fn push_pull_mount_and_delete_arrive_signed_in_order() {
    let receiver = Receiver::start(&[]);
    let s = server_with(vec![endpoint(receiver.url())]);
    let host = s.addr.to_string();
    let (config, layer) = (b"{\"os\":\"linux\"}".as_slice(), b"layer bytes".as_slice());
    let config_digest = s.push_blob("team/app", config);
    let layer_digest = s.push_blob("team/app", layer);
    let manifest = oci_manifest(config, &[layer], json!({}));
    let digest = Digest::of(&manifest);
    let pushed = s.push_manifest("team/app", "v1", OCI_MANIFEST, &manifest);
    pushed.expect_status(201);
    s.send("HEAD", "/v2/team/app/manifests/v1")
        .call()
        .expect_status(200);
    let pulled = s.send("GET", "/v2/team/app/manifests/v1").call();
    pulled.expect_status(200);
    s.send("HEAD", &format!("/v2/team/app/blobs/{layer_digest}"))
        .call()
        .expect_status(200);
    s.send("GET", &format!("/v2/team/app/blobs/{layer_digest}"))
        .call()
        .expect_status(200);
    let mount = format!("/v2/other/blobs/uploads/?mount={layer_digest}&from=team/app");
    s.send("POST", &mount).call().expect_status(201);
    s.send("DELETE", "/v2/team/app/manifests/v1")
        .call()
        .expect_status(202);
    s.send("DELETE", &format!("/v2/team/app/manifests/{digest}"))
        .call()
        .expect_status(202);
    s.send("DELETE", &format!("/v2/other/blobs/{layer_digest}"))
        .call()
        .expect_status(202);

    let events: Vec<Value> = receiver.wait_for(11).iter().map(event_of).collect();
    let blob = |action: &str, repo: &str, d: &Digest, size: usize, method: &str| {
        json!({"action": action, "method": method, "target": {
            "mediaType": "application/octet-stream", "size": size, "digest": d.to_string(),
            "length": size, "repository": repo, "url": format!("http://{host}/v2/{repo}/blobs/{d}"),
        }})
    };
    let manifest_target = |tag: &str| {
        json!({
            "mediaType": OCI_MANIFEST, "size": manifest.len(), "digest": digest.to_string(),
            "length": manifest.len(), "repository": "team/app", "tag": tag,
            "url": format!("http://{host}/v2/team/app/manifests/{digest}"),
        })
    };
    let mut mounted = blob("mount", "other", &layer_digest, layer.len(), "POST");
    mounted["target"]["fromRepository"] = json!("team/app");
    let expected = vec![
        blob("push", "team/app", &config_digest, config.len(), "POST"),
        blob("push", "team/app", &layer_digest, layer.len(), "POST"),
        json!({"action": "push", "method": "PUT", "target": manifest_target("v1")}),
        json!({"action": "pull", "method": "HEAD", "target": manifest_target("v1")}),
        json!({"action": "pull", "method": "GET", "target": manifest_target("v1")}),
        blob("pull", "team/app", &layer_digest, layer.len(), "HEAD"),
        blob("pull", "team/app", &layer_digest, layer.len(), "GET"),
        mounted,
        json!({"action": "delete", "method": "DELETE", "target": {"repository": "team/app", "tag": "v1"}}),
        json!({"action": "delete", "method": "DELETE", "target": {"repository": "team/app", "digest": digest.to_string()}}),
        json!({"action": "delete", "method": "DELETE", "target": {"repository": "other", "digest": layer_digest.to_string()}}),
    ];
    let got: Vec<Value> = events.iter().map(summary).collect();
    assert_eq!(got, expected, "{got:#?}");
    // Nothing arrives twice.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.delivered.lock().unwrap().len(), 11);

    let push = &events[2];
    assert_eq!(
        push["request"]["id"].as_str(),
        pushed.header("x-request-id")
    );
    assert_eq!(
        events[4]["request"]["id"].as_str(),
        pulled.header("x-request-id")
    );
    assert!(push["request"]["addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert_eq!(push["request"]["host"], json!(host));
    assert!(push["request"]["useragent"]
        .as_str()
        .unwrap()
        .starts_with("ureq"));
    assert_eq!(push["actor"], json!({}), "anonymous");
    let source = push["source"]["addr"].as_str().unwrap();
    assert!(source.ends_with(&format!(":{}", s.addr.port())), "{source}");
    assert!(!push["source"]["instanceID"].as_str().unwrap().is_empty());
    let ts = push["timestamp"].as_str().unwrap();
    assert!(ts.contains('T') && ts.ends_with('Z'), "{ts}");
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11, "event ids are unique");
}

#[test]
fn a_failing_receiver_gets_each_event_once_in_order_after_retries() {
    let failures = [Answer::Status(500), Answer::Close, Answer::Status(503)];
    let receiver = Receiver::start(&failures);
    let s = server_with(vec![endpoint(receiver.url())]);
    let digests: Vec<Digest> = (0..3)
        .map(|i| s.push_blob("app", format!("retried {i}").as_bytes()))
        .collect();
    let delivered = receiver.wait_for(3);
    let got: Vec<Value> = delivered
        .iter()
        .map(|d| event_of(d)["target"]["digest"].clone())
        .collect();
    let want: Vec<Value> = digests.iter().map(|d| json!(d.to_string())).collect();
    assert_eq!(got, want, "in push order");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.delivered.lock().unwrap().len(),
        3,
        "each delivered once"
    );
    let attempts = receiver.attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 6, "three failures, then three deliveries");
    for attempt in &attempts[..4] {
        assert_eq!(
            attempt.body, delivered[0].body,
            "the first event is retried alone"
        );
    }
}

#[test]
fn ignored_actions_and_methods_are_not_sent() {
    let (no_pulls, no_heads) = (Receiver::start(&[]), Receiver::start(&[]));
    let mut a = endpoint(no_pulls.url());
    a.ignore.actions = vec![strata_registry::events::Action::Pull];
    let mut b = endpoint(no_heads.url());
    b.name = "no-heads".into();
    b.ignore.methods = vec!["HEAD".into()];
    let s = server_with(vec![a, b]);
    let digest = s.push_blob("app", b"ignored pulls");
    let blob = format!("/v2/app/blobs/{digest}");
    s.send("HEAD", &blob).call().expect_status(200);
    s.send("GET", &blob).call().expect_status(200);
    s.send("DELETE", &blob).call().expect_status(202);
    let seen = |r: &Receiver, n| -> Vec<String> {
        r.wait_for(n)
            .iter()
            .map(event_of)
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap(),
                    e["request"]["method"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(seen(&no_pulls, 2), ["push POST", "delete DELETE"]);
    assert_eq!(
        seen(&no_heads, 3),
        ["push POST", "pull GET", "delete DELETE"]
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(no_pulls.delivered.lock().unwrap().len(), 2);
    assert_eq!(no_heads.delivered.lock().unwrap().len(), 3);
}

#[test]
fn a_stopping_server_delivers_what_is_queued() {
    let got = Arc::new(Mutex::new(Vec::<HttpRequest>::new()));
    let sink = got.clone();
    let slow = HttpServer::start(Arc::new(move |req, stream| {
        std::thread::sleep(Duration::from_millis(150));
        sink.lock().unwrap().push(req.clone());
        respond(stream, 200, &[], b"");
    }));
    let s = server_with(vec![endpoint(format!("http://{}/hook", slow.host()))]);
    let digests: Vec<Digest> = (0..4)
        .map(|i| s.push_blob("app", format!("queued {i}").as_bytes()))
        .collect();
    drop(s);
    let got: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .map(|r| event_of(r)["target"]["digest"].clone())
        .collect();
    let want: Vec<Value> = digests.iter().map(|d| json!(d.to_string())).collect();
    assert_eq!(
        got, want,
        "every queued event delivered before the stop finished"
    );
}

#[test]
fn a_dead_receiver_does_not_slow_pushes() {
    // Accepts connections (the kernel does) but never answers: each delivery waits for
    // its whole timeout.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut e = endpoint(format!("http://{}/hook", dead.local_addr().unwrap()));
    e.timeout_ms = Some(30_000);
    e.queue_size = Some(4);
    let s = server_with(vec![e]);
    let start = Instant::now();
    for i in 0..40 {
        s.push_blob("app", format!("blob {i}").as_bytes());
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "40 pushes took {elapsed:?} with a dead receiver"
    );
}
