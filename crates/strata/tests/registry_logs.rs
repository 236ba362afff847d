//! `strata --log-format json registry serve` with a config file naming a webhook: the access
//! log is JSON lines on stderr (request id, peer, bytes, route; no credentials) and a push
//! reaches a real receiver as a signed event.

use std::fs;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use strata_registry::events::sign;
use strata_testkit::http::{respond, HttpRequest, HttpServer};
use strata_testkit::registry::free_port;

#[test]
fn json_access_log_and_a_signed_webhook_from_the_binary() {
    let got = Arc::new(Mutex::new(Vec::<HttpRequest>::new()));
    let sink = got.clone();
    let receiver = HttpServer::start(Arc::new(move |req, stream| {
        sink.lock().unwrap().push(req.clone());
        respond(stream, 200, &[], b"");
    }));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.toml");
    let hook = format!("http://{}/hook", receiver.host());
    let toml = format!(
        "[[notifications.endpoints]]\nname = \"hook\"\nurl = \"{hook}\"\nsecret = \"cli-secret\"\nbackoff_initial_ms = 50\n"
    );
    fs::write(&config, toml).unwrap();
    let port = free_port();
    let log_path = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--log-format", "json", "registry", "serve", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || fs::read_to_string(&log_path).unwrap_or_default();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("{base}/v2/")).call().is_err() {
        assert!(Instant::now() < deadline, "never answered: {}", log());
        std::thread::sleep(Duration::from_millis(50));
    }

    let blob = b"pushed through the binary";
    let digest = strata_oci::Digest::of(blob);
    let pushed = ureq::post(&format!("{base}/v2/cli/app/blobs/uploads/?digest={digest}"))
        .set("X-Request-Id", "cli-req-1")
        .set("Authorization", "Bearer cli-token-xyz")
        .send_bytes(blob)
        .unwrap();
    assert_eq!(pushed.status(), 201);
    assert_eq!(pushed.header("x-request-id"), Some("cli-req-1"));

    let deadline = Instant::now() + Duration::from_secs(20);
    while got.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no event: {}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let delivery = got.lock().unwrap()[0].clone();
    let signature = delivery.header("x-strata-signature-256").unwrap();
    assert!(sign::verify(b"cli-secret", &delivery.body, signature));
    let envelope: Value = serde_json::from_slice(&delivery.body).unwrap();
    let event = &envelope["events"][0];
    assert_eq!(event["action"], "push");
    assert_eq!(event["target"]["digest"], digest.to_string());
    assert_eq!(event["target"]["repository"], "cli/app");
    assert_eq!(event["request"]["id"], "cli-req-1");

    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::Term).unwrap();
    assert!(child.wait().unwrap().success(), "{}", log());
    let text = log();
    let access: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "strata_registry::access")
        .collect();
    let push = access
        .iter()
        .find(|v| v["fields"]["request_id"] == "cli-req-1")
        .unwrap_or_else(|| panic!("no access line for the push: {text}"));
    let fields = &push["fields"];
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["path"], "/v2/cli/app/blobs/uploads/");
    assert_eq!(fields["route"], "upload_start");
    assert_eq!(fields["status"], 201);
    assert_eq!(fields["bytes_in"], blob.len());
    assert_eq!(fields["user"], "-");
    assert!(fields["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(fields["duration_ms"].as_f64().is_some());
    assert!(!text.contains("cli-token-xyz"), "{text}");
    assert!(!text.contains("cli-secret"), "{text}");
}
