//! A real headless Chromium for tests of web pages, driven through `chromedriver` (Debian's
//! `chromium` and `chromium-driver`) over the W3C WebDriver protocol: plain HTTP with ureq
//! and serde_json, no WebDriver crate (a handful of endpoints is all a test needs).
//!
//! [`Browser::start`] runs chromedriver on a free `127.0.0.1` port and opens a session of
//! Chromium with `--headless=new --no-sandbox --disable-gpu` and a temp `--user-data-dir`;
//! dropping it closes the session (Chromium quits), kills chromedriver and removes the dir.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::registry::free_port;
use crate::require_tool;

/// The Chromium binary Debian installs.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The W3C key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A Chromium session behind its chromedriver.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Clone, Debug)]
pub struct Element {
    id: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; fails the test loudly when
    /// `chromedriver` or Chromium is missing.
    pub fn start() -> Browser {
        require_tool("chromedriver");
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "needs {CHROMIUM}: apt-get install chromium (CI installs it in .ci/run)"
        );
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let profile = tempfile::Builder::new()
            .prefix("strata-chromium-")
            .tempdir()
            .expect("a temp dir");
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        browser.wait_ready();
        browser.session = browser.new_session();
        browser
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .agent
                .get(&format!("{}/status", self.base))
                .call()
                .ok()
                .and_then(|r| serde_json::from_reader::<_, Value>(r.into_reader()).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited before it was ready: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver not ready in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn new_session(&self) -> String {
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", self._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let value = self.post("/session", caps);
        value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {value}"))
            .to_owned()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn answer(path: &str, r: Result<ureq::Response, ureq::Error>) -> Value {
        let response = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("WebDriver {path}: {e}"),
        };
        let status = response.status();
        let body: Value =
            serde_json::from_reader(response.into_reader()).expect("a WebDriver JSON answer");
        assert!(status < 300, "WebDriver {path}: {status} {body}");
        body["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            self.url(path)
        };
        let request = self
            .agent
            .post(&url)
            .set("Content-Type", "application/json");
        Browser::answer(path, request.send_string(&body.to_string()))
    }

    fn get(&self, path: &str) -> Value {
        Browser::answer(path, self.agent.get(&self.url(path)).call())
    }

    /// Loads `url` and waits for the page to finish loading.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    /// The current page's URL.
    pub fn current_url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.get("/title").as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Every element matching the CSS `selector`.
    pub fn find_all(&self, selector: &str) -> Vec<Element> {
        let found = self.post(
            "/elements",
            json!({"using": "css selector", "value": selector}),
        );
        found
            .as_array()
            .map(|a| a.iter().map(element).collect())
            .unwrap_or_default()
    }

    /// The one element matching `selector` (panics naming it when none or several match).
    pub fn find(&self, selector: &str) -> Element {
        let mut all = self.find_all(selector);
        assert_eq!(
            all.len(),
            1,
            "{} elements match {selector:?} on {}",
            all.len(),
            self.current_url()
        );
        all.remove(0)
    }

    /// The visible text of `element`.
    pub fn text(&self, element: &Element) -> String {
        let v = self.get(&format!("/element/{}/text", element.id));
        v.as_str().unwrap_or_default().to_owned()
    }

    /// An attribute of `element` (`href`, `class`…), `None` when absent.
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let v = self.get(&format!("/element/{}/attribute/{name}", element.id));
        v.as_str().map(str::to_owned)
    }

    /// Clicks `element` (a link: waits for the page it loads).
    pub fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.id), json!({}));
    }

    /// The text of the whole page's body.
    pub fn body_text(&self) -> String {
        self.text(&self.find("body"))
    }

    /// A PNG of the viewport (for a person to look at while developing).
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.get("/screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("base64 PNG")
    }
}

fn element(v: &Value) -> Element {
    let id = v[ELEMENT_KEY]
        .as_str()
        .unwrap_or_else(|| panic!("not an element reference: {v}"));
    Element { id: id.to_owned() }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(&self.url("")).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
