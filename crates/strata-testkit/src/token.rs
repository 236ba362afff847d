//! A docker token issuer for tests (distribution's `docs/spec/auth/token.md` and
//! `oauth.md`): the realm a registry started with [`TestRegistry::start_token`] sends its
//! clients to.
//!
//! It signs ES256 JWTs with a P-256 key pair made by `openssl` for each issuer. The header
//! carries the self-signed certificate as `x5c`; that certificate is the registry's
//! `rootcertbundle`, so distribution 2.8 (`registry/auth/token/token.go`,
//! `parseAndVerifyCertChain`) verifies the chain against it and then the signature.
//!
//! - `GET /token?service=&scope=…&account=` with basic auth (or none: anonymous);
//! - `POST /token` with a form: `grant_type=refresh_token` (an identity token) or
//!   `grant_type=password`, answering with a `refresh_token` too.
//!
//! Each user is granted the actions it asks for that it has (or fewer: a user with `pull`
//! only asking `pull,push` gets `pull`), for any repository. Every call is logged.
//!
//! [`TestRegistry::start_token`]: crate::registry::TestRegistry::start_token

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use crate::http::{form_pairs, respond, HttpRequest, HttpServer};
use crate::{require_tool, run_ok};

/// The registry's `service` (the tokens' audience).
pub const SERVICE: &str = "strata-test-registry";
/// The tokens' issuer (`iss`).
pub const ISSUER: &str = "strata-test-issuer";
/// distribution's leeway on `exp` and `nbf` (`token.Leeway`).
const REGISTRY_LEEWAY: i64 = 60;

/// One call the issuer answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCall {
    /// `GET` or `POST`.
    pub method: String,
    /// `basic`, `anonymous`, `refresh_token` or `password`.
    pub grant: String,
    /// The user the credential named (none when anonymous or refused).
    pub user: Option<String>,
    /// The scopes asked, as sent.
    pub scopes: Vec<String>,
    pub status: u16,
}

#[derive(Clone, Debug)]
struct User {
    password: String,
    actions: Vec<String>,
}

#[derive(Debug)]
struct Config {
    users: HashMap<String, User>,
    refresh_tokens: HashMap<String, String>,
    expires_in: u64,
    registry_lifetime: Option<u64>,
}

struct State {
    key: EcdsaKeyPair,
    certificate_b64: String,
    config: Mutex<Config>,
    calls: Mutex<Vec<TokenCall>>,
    next_id: AtomicU64,
}

/// A running token issuer; dropping it stops it.
pub struct TokenIssuer {
    server: HttpServer,
    state: Arc<State>,
    dir: tempfile::TempDir,
}

impl TokenIssuer {
    /// An issuer with no users (anonymous callers get tokens granting nothing), tokens of
    /// 300 s.
    pub fn start() -> TokenIssuer {
        let dir = tempfile::tempdir().expect("temp dir for the token issuer");
        let (key, certificate_b64) = make_key_pair(dir.path());
        let state = Arc::new(State {
            key,
            certificate_b64,
            config: Mutex::new(Config {
                users: HashMap::new(),
                refresh_tokens: HashMap::new(),
                expires_in: 300,
                registry_lifetime: None,
            }),
            calls: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        let handler_state = state.clone();
        let server = HttpServer::start(Arc::new(move |req: &HttpRequest, s: &mut TcpStream| {
            handle(&handler_state, req, s)
        }));
        TokenIssuer { server, state, dir }
    }

    /// Adds (or replaces) a user with a password and the actions it may be granted
    /// (`pull`, `push`, `delete`, or `*` for all).
    pub fn add_user(&self, name: &str, password: &str, actions: &[&str]) {
        let user = User {
            password: password.to_owned(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        };
        self.config().users.insert(name.to_owned(), user);
    }

    /// Makes `token` an OAuth2 refresh token (docker's identity token) of user `name`.
    pub fn add_refresh_token(&self, token: &str, name: &str) {
        self.config()
            .refresh_tokens
            .insert(token.to_owned(), name.to_owned());
    }

    /// The `expires_in` told to clients (seconds).
    pub fn set_expires_in(&self, seconds: u64) {
        self.config().expires_in = seconds;
    }

    /// How long the registry accepts the tokens issued from now on, whatever `expires_in`
    /// says (the `exp` claim is set so that distribution's 60 s leeway ends then); `None`:
    /// as long as `expires_in` says.
    pub fn set_registry_lifetime(&self, seconds: Option<u64>) {
        self.config().registry_lifetime = seconds;
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.host())
    }

    /// The PEM certificate whose key signs the tokens (the registry's `rootcertbundle`).
    pub fn root_certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<TokenCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The calls that were answered with a token.
    pub fn tokens_issued(&self) -> usize {
        self.calls().iter().filter(|c| c.status == 200).count()
    }

    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.state.config.lock().unwrap()
    }
}

/// A P-256 key (PKCS#8 DER for ring) and its self-signed certificate (`cert.pem` in `dir`;
/// returned as the base64 DER `x5c` wants). The certificate may sign (digitalSignature)
/// and is its own CA.
fn make_key_pair(dir: &Path) -> (EcdsaKeyPair, String) {
    require_tool("openssl");
    let openssl = |args: &[&str]| run_ok(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        &format!("/CN={ISSUER}"),
        "-addext",
        "keyUsage=critical,digitalSignature,keyCertSign",
    ]);
    openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
    ]);
    let der = std::fs::read(dir.join("key.der")).expect("reading key.der");
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
            .expect("openssl made a P-256 PKCS#8 key");
    let pem = std::fs::read_to_string(dir.join("cert.pem")).expect("reading cert.pem");
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    (key, b64)
}

/// Who is asking and for what: `(grant, user)`, or the status refusing it.
type Caller = Result<(String, Option<String>), u16>;

fn handle(state: &State, req: &HttpRequest, stream: &mut TcpStream) {
    if req.path() != "/token" {
        return respond(stream, 404, &[], b"not found");
    }
    let (caller, scopes) = match req.method.as_str() {
        "GET" => (
            basic_caller(state, req),
            scopes_of(&form_pairs(req.query())),
        ),
        "POST" => {
            let form = form_pairs(&String::from_utf8_lossy(&req.body));
            (form_caller(state, &form), scopes_of(&form))
        }
        _ => return respond(stream, 405, &[], b"method not allowed"),
    };
    let status = caller.as_ref().map_or_else(|s| *s, |_| 200);
    state.calls.lock().unwrap().push(TokenCall {
        method: req.method.clone(),
        grant: caller.as_ref().map_or(String::new(), |(g, _)| g.clone()),
        user: caller.as_ref().ok().and_then(|(_, u)| u.clone()),
        scopes: scopes.clone(),
        status,
    });
    let user = match caller {
        Ok((_, user)) => user,
        Err(status) => {
            let body =
                json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]});
            return respond(stream, status, &json_type(), body.to_string().as_bytes());
        }
    };
    let body = issue(state, user.as_deref(), &scopes, req.method == "POST");
    respond(stream, 200, &json_type(), body.to_string().as_bytes());
}

fn json_type() -> Vec<(&'static str, String)> {
    vec![("Content-Type", "application/json".to_owned())]
}

fn scopes_of(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
        .collect()
}

fn basic_caller(state: &State, req: &HttpRequest) -> Caller {
    let Some(value) = req.header("authorization") else {
        return Ok(("anonymous".into(), None));
    };
    let decoded = value
        .strip_prefix("Basic ")
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(400u16)?;
    let (name, password) = decoded.split_once(':').ok_or(400u16)?;
    check_password(state, name, password).map(|u| ("basic".into(), Some(u)))
}

fn form_caller(state: &State, form: &[(String, String)]) -> Caller {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("refresh_token") => {
            let token = get("refresh_token").unwrap_or("");
            let config = state.config.lock().unwrap();
            match config.refresh_tokens.get(token) {
                Some(user) => Ok(("refresh_token".into(), Some(user.clone()))),
                None => Err(401),
            }
        }
        Some("password") => {
            let (name, password) = (get("username").unwrap_or(""), get("password").unwrap_or(""));
            check_password(state, name, password).map(|u| ("password".into(), Some(u)))
        }
        _ => Err(400),
    }
}

fn check_password(state: &State, name: &str, password: &str) -> Result<String, u16> {
    let config = state.config.lock().unwrap();
    match config.users.get(name) {
        Some(u) if u.password == password => Ok(name.to_owned()),
        _ => Err(401),
    }
}

/// The token response for `user` (anonymous: nothing granted) asking `scopes`.
fn issue(state: &State, user: Option<&str>, scopes: &[String], oauth: bool) -> serde_json::Value {
    let (actions, expires_in, registry_lifetime) = {
        let config = state.config.lock().unwrap();
        let actions = user
            .and_then(|u| config.users.get(u))
            .map(|u| u.actions.clone())
            .unwrap_or_default();
        (actions, config.expires_in, config.registry_lifetime)
    };
    let access: Vec<serde_json::Value> = scopes.iter().filter_map(|s| grant(s, &actions)).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = match registry_lifetime {
        Some(l) => now + l as i64 - REGISTRY_LEEWAY,
        None => now + expires_in as i64,
    };
    let claims = json!({
        "iss": ISSUER,
        "sub": user.unwrap_or(""),
        "aud": SERVICE,
        "exp": exp,
        "nbf": now - 1,
        "iat": now,
        "jti": state.next_id.fetch_add(1, Ordering::SeqCst).to_string(),
        "access": access,
    });
    let token = sign(state, &claims);
    let mut body = json!({"token": token, "access_token": token, "expires_in": expires_in});
    if oauth {
        body["refresh_token"] = json!(format!("refresh-{}", user.unwrap_or("")));
    }
    body
}

/// `type:name:a,b` with the actions the user has; `None` when none is left.
fn grant(scope: &str, allowed: &[String]) -> Option<serde_json::Value> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let all = allowed.iter().any(|a| a == "*");
    let granted: Vec<&str> = actions
        .split(',')
        .filter(|a| all || allowed.iter().any(|x| x == a))
        .collect();
    (!granted.is_empty()).then(|| json!({"type": kind, "name": name, "actions": granted}))
}

/// `header.claims.signature`, ES256, the certificate in `x5c`.
fn sign(state: &State, claims: &serde_json::Value) -> String {
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [state.certificate_b64]});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = state
        .key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .expect("ECDSA signing");
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_what_was_asked_and_allowed() {
        let pull = vec!["pull".to_owned()];
        assert_eq!(
            grant("repository:127.0.0.1:5000/a:pull,push", &pull),
            Some(json!({"type": "repository", "name": "127.0.0.1:5000/a", "actions": ["pull"]}))
        );
        assert_eq!(grant("repository:a:push", &pull), None);
        assert_eq!(
            grant("repository:a:pull,push", &["*".to_owned()]).unwrap()["actions"],
            json!(["pull", "push"])
        );
    }
}
