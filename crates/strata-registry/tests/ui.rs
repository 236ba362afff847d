//! The web view (`/ui`) in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, through WebDriver): a real server with images pushed through the API
//! (synthetic manifests with git annotations and a build record, a base → runtime → two
//! apps lineage, owners, labels and promotions), pages loaded, links followed and what they
//! show checked in the DOM. With `[auth]`: 401 with a Basic challenge, and each user sees
//! only the repositories it may pull.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{htpasswd, oci_manifest, rule, TestServer, OCI_MANIFEST};
use serde_json::{json, Value};
use strata_oci::Digest;
use strata_registry::auth::{robots, AuthConfig};
use strata_registry::meta::SqliteMeta;
use strata_registry::Config;
use strata_testkit::chromium::Browser;

/// The images of the fixture, by name.
struct Images {
    base: Digest,
    runtime: Digest,
    app_a: Digest,
    app_a_old: Digest,
    app_b: Digest,
}

/// Credentials the fixture's requests carry (`None`: an open registry).
type Login<'a> = Option<(&'a str, &'a str)>;

fn with_login(call: common::Call, login: Login) -> common::Call {
    use base64::Engine as _;
    match login {
        None => call,
        Some((user, password)) => {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            call.header("Authorization", &format!("Basic {token}"))
        }
    }
}

fn blob(server: &TestServer, login: Login, repo: &str, bytes: &[u8]) {
    let digest = Digest::of(bytes);
    let path = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
    with_login(server.send("POST", &path), login)
        .body(bytes)
        .expect_status(201);
}

/// Pushes an image of `layers` to `repo:tag` with `annotations`; its digest.
fn push(
    server: &TestServer,
    login: Login,
    name: &str,
    layers: &[&[u8]],
    annotations: Value,
) -> Digest {
    let (repo, tag) = name.split_once(':').unwrap();
    let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{name}\"}}");
    blob(server, login, repo, config.as_bytes());
    for layer in layers {
        blob(server, login, repo, layer);
    }
    let manifest = oci_manifest(
        config.as_bytes(),
        layers,
        json!({ "annotations": annotations }),
    );
    let path = format!("/v2/{repo}/manifests/{tag}");
    let r = with_login(server.send("PUT", &path), login)
        .header("Content-Type", OCI_MANIFEST)
        .body(&manifest);
    r.expect_status(201);
    Digest::of(&manifest)
}

fn govern(server: &TestServer, login: Login, method: &str, path: &str, body: Value) {
    let r = with_login(server.send(method, &format!("/strata/v1/{path}")), login)
        .header("Content-Type", "application/json")
        .body(body.to_string().as_bytes());
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text());
}

/// base:1 → runtime:1 → app-a (team-a/app:1.0, promoted maybe_prod then prod; :0.9 older)
/// and app-b (team-b/app:2.0), with owners.
fn fixture(server: &TestServer, login: Login) -> Images {
    let (os, rt) = (b"os layer".as_slice(), b"runtime layer".as_slice());
    let base = push(server, login, "base/debian:12", &[os], json!({}));
    let runtime = push(
        server,
        login,
        "platform/runtime:1",
        &[os, rt],
        json!({
            "org.opencontainers.image.base.name": format!("{}/base/debian:12", server.addr),
            "org.opencontainers.image.base.digest": base.to_string(),
        }),
    );
    let app_a_old = push(
        server,
        login,
        "team-a/app:0.9",
        &[os, rt, b"app a 0.9"],
        json!({}),
    );
    let build = json!({"source": "https://git.example/team-a/app.git", "commit": "0123456789abcdef0123456789abcdef01234567", "context": ".", "dockerfile": "Dockerfile"});
    let app_a = push(
        server,
        login,
        "team-a/app:1.0",
        &[os, rt, b"app a 1.0"],
        json!({
            "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
            "org.strata.git.branch": "main",
            "org.opencontainers.image.version": "1.0",
            "org.opencontainers.image.authors": "Ada Lovelace <ada@example.com>",
            "org.opencontainers.image.source": "https://git.example/team-a/app.git",
            "org.opencontainers.image.base.name": format!("{}/platform/runtime:1", server.addr),
            "org.opencontainers.image.base.digest": runtime.to_string(),
            "org.strata.build": build.to_string(),
            "com.example.note": "<b>not bold</b>",
        }),
    );
    let app_b = push(
        server,
        login,
        "team-b/app:2.0",
        &[os, rt, b"app b 2.0"],
        json!({}),
    );
    for (repo, owner) in [
        ("base/debian", "platform"),
        ("platform/runtime", "platform"),
        ("team-a/app", "team-a"),
        ("team-b/app", "team-b"),
    ] {
        let path = format!("repositories/{repo}/-/owner");
        govern(server, login, "PUT", &path, json!({ "owner": owner }));
    }
    for env in ["maybe_prod", "prod"] {
        let path = "repositories/team-a/app/-/images/1.0/promote";
        govern(server, login, "POST", path, json!({ "env": env }));
    }
    Images {
        base,
        runtime,
        app_a,
        app_a_old,
        app_b,
    }
}

fn texts(browser: &Browser, selector: &str) -> Vec<String> {
    browser
        .find_all(selector)
        .iter()
        .map(|e| browser.text(e))
        .collect()
}

fn attrs(browser: &Browser, selector: &str, name: &str) -> BTreeSet<String> {
    browser
        .find_all(selector)
        .iter()
        .filter_map(|e| browser.attribute(e, name))
        .collect()
}

/// The lineage picture's edges, as (parent, child) digests.
fn edges(browser: &Browser) -> BTreeSet<(String, String)> {
    browser
        .find_all("svg#lineage path.edge")
        .iter()
        .map(|e| {
            let from = browser.attribute(e, "data-from").unwrap();
            (from, browser.attribute(e, "data-to").unwrap())
        })
        .collect()
}

#[test]
fn a_browser_follows_repositories_images_and_lineage() {
    let server = TestServer::start();
    let images = fixture(&server, None);
    let browser = Browser::start();

    // The index: every repository with its owner and counts.
    browser.goto(&server.url("/ui"));
    assert_eq!(browser.title(), "Repositories · strata registry");
    let row = "#repositories tr[data-repository='team-a/app']";
    assert_eq!(texts(&browser, &format!("{row} td.owner")), ["team-a"]);
    assert_eq!(texts(&browser, &format!("{row} td.images")), ["2"]);
    assert_eq!(
        texts(&browser, "#repositories a.repository"),
        [
            "base/debian",
            "platform/runtime",
            "team-a/app",
            "team-b/app"
        ]
    );

    // Its link: the repository, with labels as badges and the promotion history.
    browser.click(&browser.find(&format!("{row} a.repository")));
    assert!(
        browser
            .current_url()
            .ends_with("/ui/repositories/team-a/app"),
        "{}",
        browser.current_url()
    );
    assert_eq!(texts(&browser, "#owner strong"), ["team-a"]);
    let a = format!("#images tr[data-digest='{}']", images.app_a);
    assert_eq!(
        attrs(&browser, &format!("{a} .badge"), "class"),
        BTreeSet::from(["badge maybe_prod".to_owned(), "badge prod".to_owned()])
    );
    assert_eq!(texts(&browser, &format!("{a} td.tags")), ["1.0"]);
    let old = format!("#images tr[data-digest='{}']", images.app_a_old);
    assert!(browser.find_all(&format!("{old} .badge")).is_empty());
    assert_eq!(
        attrs(&browser, "#promotions tr.promotion", "data-env"),
        BTreeSet::from(["maybe_prod".to_owned(), "prod".to_owned()])
    );
    // Newest push first.
    let rows = attrs(&browser, "#images tr.image", "data-digest");
    assert_eq!(rows.len(), 2);

    // The image: where it came from, its base linked, its annotations escaped.
    browser.click(&browser.find(&format!("{a} a.image")));
    assert!(browser.current_url().ends_with(&format!(
        "/ui/repositories/team-a/app/-/images/{}",
        images.app_a
    )));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(texts(&browser, "#commit"), [commit]);
    assert_eq!(texts(&browser, "#branch"), ["main"]);
    assert_eq!(texts(&browser, "#version"), ["1.0"]);
    assert_eq!(
        texts(&browser, "#authors"),
        ["Ada Lovelace <ada@example.com>"]
    );
    assert_eq!(
        texts(&browser, "#base-name"),
        [format!("{}/platform/runtime:1", server.addr)]
    );
    assert_eq!(
        texts(&browser, "#labels .badge"),
        ["maybe_prod".to_owned(), "prod".to_owned()]
    );
    assert!(browser
        .body_text()
        .contains("https://git.example/team-a/app.git"));
    let note = "#annotations tr[data-key='com.example.note'] td:nth-child(2)";
    assert_eq!(texts(&browser, note), ["<b>not bold</b>"]);
    assert!(browser.find_all("#annotations b").is_empty());
    assert_eq!(
        attrs(&browser, "#parent a", "data-digest"),
        BTreeSet::from([images.runtime.to_string()])
    );
    assert_eq!(browser.find_all("#layers tbody tr").len(), 3);

    // Its base: the runtime, whose children are both apps.
    browser.click(&browser.find("#base-link"));
    assert!(browser.current_url().ends_with(&format!(
        "/ui/repositories/platform/runtime/-/images/{}",
        images.runtime
    )));
    assert_eq!(
        attrs(&browser, "#children a", "data-digest"),
        BTreeSet::from([
            images.app_a.to_string(),
            images.app_a_old.to_string(),
            images.app_b.to_string()
        ])
    );
    assert_eq!(
        attrs(&browser, "#parent a", "data-digest"),
        BTreeSet::from([images.base.to_string()])
    );

    // The lineage picture: one box per image, an edge per parent → child, boxes link.
    browser.goto(&server.url("/ui/lineage"));
    let nodes = attrs(&browser, "svg#lineage g.node", "data-digest");
    let all: BTreeSet<String> = [
        &images.base,
        &images.runtime,
        &images.app_a,
        &images.app_a_old,
        &images.app_b,
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    assert_eq!(nodes, all);
    let edges = edges(&browser);
    let edge = |a: &Digest, b: &Digest| (a.to_string(), b.to_string());
    assert_eq!(
        edges,
        BTreeSet::from([
            edge(&images.base, &images.runtime),
            edge(&images.runtime, &images.app_a),
            edge(&images.runtime, &images.app_a_old),
            edge(&images.runtime, &images.app_b),
        ])
    );
    let b_node = format!("svg#lineage g.node[data-digest='{}']", images.app_b);
    assert_eq!(
        browser
            .attribute(&browser.find(&b_node), "data-name")
            .as_deref(),
        Some("team-b/app:2.0")
    );
    browser.click(&browser.find(&b_node));
    assert!(browser.current_url().ends_with(&format!(
        "/ui/repositories/team-b/app/-/images/{}",
        images.app_b
    )));

    // A subtree: rooted at the runtime, the base is not in it.
    let root = format!("platform/runtime@{}", images.runtime);
    browser.goto(&server.url(&format!("/ui/lineage?root={root}")));
    let nodes = attrs(&browser, "svg#lineage g.node", "data-digest");
    assert_eq!(nodes.len(), 4);
    assert!(!nodes.contains(&images.base.to_string()));
}

#[test]
fn pages_of_unknown_things_are_404_and_only_get_is_served() {
    let server = TestServer::start();
    let images = fixture(&server, None);
    let d = Digest::of(b"nothing");
    for path in [
        "/ui/repositories/nope/app".to_owned(),
        format!("/ui/repositories/team-a/app/-/images/{d}"),
        "/ui/repositories/team-a/app/-/images/9.9".to_owned(),
        format!("/ui/repositories/team-b/app/-/images/{}", images.app_a),
        "/ui/elsewhere".to_owned(),
    ] {
        let r = server.send("GET", &path).call();
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
    let r = server.send("POST", "/ui/").body(b"");
    assert_eq!(r.status, 405);
    // A lineage root that is not an image reference is a bad request; an unknown one 404.
    let r = server.send("GET", "/ui/lineage?root=Not%20A%20Name").call();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Not A Name"));
    let r = server.send("GET", "/ui/lineage?root=nope/app:1").call();
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn looking_at_an_image_is_not_pulling_it() {
    let server = TestServer::start();
    let images = fixture(&server, None);
    let page = format!("/ui/repositories/team-a/app/-/images/{}", images.app_a);
    let r = server.send("GET", &page).call();
    r.expect_status(200);
    assert!(r.text().contains("Ada Lovelace &lt;ada@example.com&gt;"));
    let api = "/strata/v1/repositories/team-a/app/-/images/1.0";
    let image = server.send("GET", api).call().json();
    assert_eq!(image["lastPulled"], Value::Null, "{image}");
    let page = server
        .send("GET", "/ui/repositories/team-a/app")
        .call()
        .text();
    assert_eq!(
        page.matches("<span class=\"muted\">never</span>").count(),
        2
    );
    // A real pull shows on the repository page.
    server
        .send("GET", "/v2/team-a/app/manifests/1.0")
        .call()
        .expect_status(200);
    let image = server.send("GET", api).call().json();
    let pulled = image["lastPulled"]
        .as_str()
        .expect("a pull time")
        .to_owned();
    let page = server
        .send("GET", "/ui/repositories/team-a/app")
        .call()
        .text();
    assert_eq!(
        page.matches("<span class=\"muted\">never</span>").count(),
        1
    );
    assert!(
        page.contains(&format!("<td class=\"pulled\">{pulled}</td>")),
        "{page}"
    );
    // A tag's page is its digest's.
    let r = server
        .send("GET", "/ui/repositories/team-a/app/-/images/1.0")
        .call();
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some(format!("/ui/repositories/team-a/app/-/images/{}", images.app_a).as_str())
    );
    // A HEAD of a page answers as its GET, without a body.
    let r = server.send("HEAD", "/ui/").call();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

/// Creates a pull-only robot on `repo` in the server's metadata store (as `strata registry
/// robot create`); its secret.
fn create_robot(server: &TestServer, name: &str, repo: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let meta = SqliteMeta::open(&server.data().join("registry.db")).unwrap();
        let actions = ["pull".to_owned()];
        robots::create(&meta, name, &[repo.to_owned()], &actions, None, 0)
            .await
            .unwrap()
            .secret
    })
}

const ADMIN: Login = Some(("admin", "admin-pw"));

/// A server where admin may do anything, alice may pull team-a/** and base/**, bob
/// team-b/**, and anonymous nothing.
fn auth_server(dir: &Path) -> TestServer {
    let htpasswd = htpasswd(
        dir,
        &[
            ("admin", "admin-pw"),
            ("alice", "alice-pw"),
            ("bob", "bob-pw"),
        ],
    );
    let mut admin = rule("admin", "**", &["*"]);
    admin.catalog = true;
    let auth = AuthConfig {
        htpasswd: Some(htpasswd),
        access: vec![
            admin,
            rule("alice", "team-a/**", &["pull"]),
            rule("alice", "base/**", &["pull"]),
            rule("bob", "team-b/**", &["pull"]),
        ],
        ..AuthConfig::default()
    };
    TestServer::start_with(Config {
        auth: Some(auth),
        ..Config::default()
    })
}

#[test]
fn with_auth_a_browser_logs_in_and_sees_only_what_it_may_pull() {
    let dir = tempfile::tempdir().unwrap();
    let server = auth_server(dir.path());
    let images = fixture(&server, ADMIN);

    // Without credentials, or with wrong ones: 401 and a Basic challenge.
    for login in [None, Some(("alice", "wrong"))] {
        for path in ["/ui", "/ui/repositories/team-a/app", "/ui/lineage"] {
            let r = with_login(server.send("GET", path), login).call();
            assert_eq!(r.status, 401, "{path}");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"strata\", charset=\"UTF-8\"")
            );
        }
    }
    // A repository alice may not pull is not found, whether it exists or not.
    let alice = Some(("alice", "alice-pw"));
    for path in [
        "/ui/repositories/team-b/app".to_owned(),
        format!("/ui/repositories/team-b/app/-/images/{}", images.app_b),
        "/ui/repositories/team-c/app".to_owned(),
    ] {
        let r = with_login(server.send("GET", &path), alice).call();
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("team-b/app:2.0"));
    }

    // Chromium honours credentials in the URL, and keeps them for the links it follows.
    let browser = Browser::start();
    let base = format!("http://alice:alice-pw@{}", server.addr);
    browser.goto(&format!("{base}/ui"));
    assert_eq!(
        texts(&browser, "#repositories a.repository"),
        ["base/debian", "team-a/app"]
    );
    browser.click(&browser.find("#repositories tr[data-repository='team-a/app'] a.repository"));
    assert_eq!(texts(&browser, "#owner strong"), ["team-a"]);
    // The runtime (platform/**) is not alice's: its link is not offered, nor are its
    // names, and the lineage hides it.
    browser.goto(&format!(
        "{base}/ui/repositories/team-a/app/-/images/{}",
        images.app_a
    ));
    assert!(browser.find_all("#base-link").is_empty());
    assert!(browser.find_all("#parent a").is_empty());
    browser.goto(&format!("{base}/ui/lineage"));
    let nodes = attrs(&browser, "svg#lineage g.node", "data-digest");
    let expected: BTreeSet<String> = [&images.base, &images.app_a, &images.app_a_old]
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(nodes, expected);
    // The hidden runtime's children take its place under the base.
    let edges = edges(&browser);
    let under_base: BTreeSet<(String, String)> = [&images.app_a, &images.app_a_old]
        .iter()
        .map(|d| (images.base.to_string(), d.to_string()))
        .collect();
    assert_eq!(edges, under_base);
    assert!(!browser.body_text().contains("platform/runtime"));
    assert!(!browser.body_text().contains("team-b"));

    // A bearer token of this registry opens the pages too (scripts), with alice's view.
    let token = with_login(
        server.send(
            "GET",
            "/token?service=strata-registry&scope=repository:team-a/app:pull",
        ),
        alice,
    )
    .call()
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = server
        .send("GET", "/ui/")
        .header("Authorization", &format!("Bearer {token}"))
        .call();
    r.expect_status(200);
    assert!(r.text().contains("team-a/app") && !r.text().contains("team-b/app"));
    // Neither the lineage under an image alice may not pull.
    let root = format!("/ui/lineage?root=team-b/app@{}", images.app_b);
    let r = with_login(server.send("GET", &root), alice).call();
    assert_eq!(r.status, 404);

    // A robot account logs in like a user, with its own grant.
    let secret = create_robot(&server, "viewer", "team-b/**");
    let robot = Some(("robot$viewer", secret.as_str()));
    let r = with_login(server.send("GET", "/ui/"), robot).call();
    r.expect_status(200);
    assert!(r.text().contains("team-b/app") && !r.text().contains("team-a/app"));

    // bob sees team-b only.
    let browser = Browser::start();
    browser.goto(&format!("http://bob:bob-pw@{}/ui", server.addr));
    assert_eq!(
        texts(&browser, "#repositories a.repository"),
        ["team-b/app"]
    );
}
