//! The layer in front of every `/v2/` route: what the route needs (scopes), who is asking
//! (anonymous, Basic credentials, a bearer token), and whether to let it through, answer
//! 401 with the challenge that tells the client where to get a token, or 403.
//!
//! | route | needs |
//! |---|---|
//! | `GET /v2/` | any authenticated caller (a token, even anonymous, or Basic) |
//! | `GET /v2/_catalog` | `registry:catalog:*` |
//! | `GET`/`HEAD` manifests, blobs; tags, referrers | `repository:NAME:pull` |
//! | `PUT` manifests; `POST /blobs/uploads/`; anything on an upload | `repository:NAME:pull,push` |
//! | `DELETE` manifests, blobs | `repository:NAME:delete` |
//!
//! | `GET /strata/v1/repositories` | `registry:catalog:*` (lists only pullable ones) |
//! | `GET /strata/v1/repositories/NAME/-/…` | `repository:NAME:pull` |
//! | `PUT`/`DELETE`/`POST /strata/v1/repositories/NAME/-/…` | `repository:NAME:push` |
//! | `GET /strata/v1/lineage/…?root=` / `?image=` | `repository:NAME:pull` of that image |
//! | `GET /strata/v1/lineage/tree` (no root) | any authenticated caller |
//!
//! Governance routes also get a [`Readable`]: which repositories the caller's account may
//! pull, so listings and lineage name no other.
//!
//! A cross-repository mount (`?mount=&from=`) also needs `pull` on `from`; without it (or
//! without `from`) the request goes on as a plain upload start (202 and a session, as the
//! spec lets a registry answer any mount), so nothing is linked from a repository the caller
//! cannot read.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use strata_distribution::auth::scope::{ALL, DELETE, PULL, PUSH};
use strata_distribution::govern::GovRoute;
use strata_distribution::headers::{AUTHORIZATION, WWW_AUTHENTICATE};
use strata_distribution::{
    Challenge, ErrorBody, ErrorCode, ErrorInfo, Route, Scope, TokenClaims, UploadStart,
};

use super::{Auth, Identity, Refusal};
use crate::actor::Actor;

/// What a request needs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Needs {
    scopes: Vec<Scope>,
    /// Any authenticated caller (`/v2/`).
    login: bool,
    /// A mount: `pull` on its source (`None` inside: no source named).
    mount_from: Option<Option<Scope>>,
}

fn repo(name: &strata_distribution::RepositoryName, actions: &[&str]) -> Vec<Scope> {
    vec![Scope::repository(name, actions.iter().copied())]
}

/// The scopes `method` on `route` needs.
fn needs(route: &Route, method: &Method) -> Needs {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let scopes = match route {
        Route::Base => {
            return Needs {
                login: true,
                ..Needs::default()
            }
        }
        Route::Catalog { .. } => vec![Scope::catalog()],
        Route::Tags { name, .. } | Route::Referrers { name, .. } => repo(name, &[PULL]),
        Route::Manifest { name, .. } | Route::Blob { name, .. } if read => repo(name, &[PULL]),
        Route::Manifest { name, .. } | Route::Blob { name, .. } if method == Method::DELETE => {
            repo(name, &[DELETE])
        }
        Route::Manifest { name, .. } if method == Method::PUT => repo(name, &[PULL, PUSH]),
        Route::UploadStart { name, start } => {
            let mount_from = match start {
                UploadStart::Mount { from, .. } => {
                    Some(from.as_ref().map(|f| Scope::repository(f, [PULL])))
                }
                _ => None,
            };
            return Needs {
                scopes: repo(name, &[PULL, PUSH]),
                login: false,
                mount_from,
            };
        }
        Route::Upload { name, .. } => repo(name, &[PULL, PUSH]),
        // Methods the endpoint lacks: the handler answers 405.
        Route::Manifest { .. } | Route::Blob { .. } => Vec::new(),
    };
    Needs {
        scopes,
        ..Needs::default()
    }
}

/// The scopes `method` on a governance route needs.
fn govern_needs(route: &GovRoute, method: &Method) -> Needs {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let scopes = match route {
        GovRoute::Repositories => vec![Scope::catalog()],
        GovRoute::LineageTree { root: None } => {
            return Needs {
                login: true,
                ..Needs::default()
            }
        }
        GovRoute::LineageTree { root: Some(image) } | GovRoute::LineageDependents { image } => {
            repo(&image.name, &[PULL])
        }
        other => match other.name() {
            Some(name) if read => repo(name, &[PULL]),
            Some(name) => repo(name, &[PUSH]),
            None => Vec::new(),
        },
    };
    Needs {
        scopes,
        ..Needs::default()
    }
}

/// Which repositories the caller's account may pull (set on governance requests).
#[derive(Clone)]
pub struct Readable(pub Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl Readable {
    async fn of(auth: &Arc<Auth>, caller: &Caller) -> Readable {
        let who = match caller {
            Caller::Identity(identity) => identity.clone(),
            Caller::Token(claims) => auth.subject(&claims.sub).await,
        };
        let auth = auth.clone();
        Readable(Arc::new(move |repository: &str| {
            let scope = Scope::new("repository", repository, [PULL]);
            auth.rules.allows(&who, &scope)
        }))
    }
}

/// Who sent the request.
enum Caller {
    /// Anonymous, or Basic credentials checked against the accounts.
    Identity(Identity),
    /// A verified bearer token.
    Token(TokenClaims),
}

impl Caller {
    fn account(&self) -> Option<String> {
        match self {
            Caller::Identity(identity) => identity.name(),
            Caller::Token(claims) if claims.sub.is_empty() => None,
            Caller::Token(claims) => Some(claims.sub.clone()),
        }
    }
}

/// `user:password` of a Basic header value (after `Basic `).
pub(super) fn basic_credentials(encoded: &str) -> Result<(String, String), Refusal> {
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| Refusal::MalformedBasic)?;
    let text = String::from_utf8(decoded).map_err(|_| Refusal::MalformedBasic)?;
    let (user, password) = text.split_once(':').ok_or(Refusal::MalformedBasic)?;
    Ok((user.to_owned(), password.to_owned()))
}

/// The `(scheme, rest)` of an `Authorization` header, scheme lowercased.
fn authorization(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    Some((scheme.to_ascii_lowercase(), rest.trim().to_owned()))
}

impl Auth {
    /// The caller of a `/v2/` request.
    async fn identify(&self, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let Some((scheme, rest)) = authorization(headers) else {
            return Ok(Caller::Identity(Identity::Anonymous));
        };
        match scheme.as_str() {
            "bearer" => Ok(Caller::Token(self.verify(&rest)?)),
            "basic" if !self.basic => Err(Refusal::BasicOff),
            "basic" => {
                let (user, password) = basic_credentials(&rest)?;
                Ok(Caller::Identity(self.login(&user, &password).await?))
            }
            _ => Err(Refusal::Scheme),
        }
    }

    /// Whether `caller` may do `scope` (a token: what it grants, or what anyone may do).
    fn permits(&self, caller: &Caller, scope: &Scope) -> bool {
        match caller {
            Caller::Identity(identity) => self.rules.allows(identity, scope),
            Caller::Token(claims) => {
                claims.allows(scope) || self.rules.allows(&Identity::Anonymous, scope)
            }
        }
    }
}

/// Who is looking at a web view page (`/ui`): an account, logged in with Basic
/// credentials (what a browser sends, accepted there even with `basic = false`, which is
/// about `/v2/`) or a bearer token of this registry.
pub struct UiCaller(Caller);

impl UiCaller {
    /// The account name (`alice`, `robot$ci`).
    pub fn account(&self) -> Option<String> {
        self.0.account()
    }
}

impl Auth {
    /// The caller of a web view request; `None` when anonymous (the page asks to log in).
    pub(crate) async fn ui_caller(&self, headers: &HeaderMap) -> Result<Option<UiCaller>, Refusal> {
        let caller = match authorization(headers) {
            None => return Ok(None),
            Some((scheme, rest)) if scheme == "basic" => {
                let (user, password) = basic_credentials(&rest)?;
                Caller::Identity(self.login(&user, &password).await?)
            }
            Some((scheme, rest)) if scheme == "bearer" => Caller::Token(self.verify(&rest)?),
            Some(_) => return Err(Refusal::Scheme),
        };
        Ok(caller.account().is_some().then_some(UiCaller(caller)))
    }

    /// Whether `caller` may pull from `repository` (what the API's reads need).
    pub(crate) fn may_pull(&self, caller: &UiCaller, repository: &str) -> bool {
        let Ok(name) = repository.parse() else {
            return false;
        };
        self.permits(&caller.0, &Scope::repository(&name, [PULL]))
    }
}

/// What becomes of a request.
enum Decision {
    Allow,
    /// A mount whose source the caller may not read: a plain upload start instead.
    UploadInstead,
    /// 401: log in (or get a token for these scopes).
    Challenge {
        insufficient: bool,
    },
    /// 403: authenticated, not allowed.
    Deny,
}

async fn decide(auth: &Auth, caller: &Caller, needs: &Needs) -> Decision {
    let anonymous = caller.account().is_none();
    if needs.login && anonymous && matches!(caller, Caller::Identity(_)) {
        return Decision::Challenge {
            insufficient: false,
        };
    }
    if needs.scopes.iter().all(|s| auth.permits(caller, s)) {
        return match &needs.mount_from {
            Some(Some(from)) if auth.permits(caller, from) => Decision::Allow,
            Some(_) => Decision::UploadInstead,
            None => Decision::Allow,
        };
    }
    match caller {
        _ if anonymous => Decision::Challenge {
            insufficient: false,
        },
        Caller::Token(claims) => {
            let subject = auth.subject(&claims.sub).await;
            match needs.scopes.iter().all(|s| auth.rules.allows(&subject, s)) {
                true => Decision::Challenge { insufficient: true },
                false if matches!(subject, Identity::Anonymous) => Decision::Challenge {
                    insufficient: false,
                },
                false => Decision::Deny,
            }
        }
        Caller::Identity(_) => Decision::Deny,
    }
}

/// The `auth` layer: lets a request through with its [`Actor`], or answers 401/403.
pub async fn layer(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let (path, query) = (request.uri().path(), request.uri().query());
    let (route, needs) = match Route::parse_parts(path, query) {
        Ok(route) => {
            let needs = needs(&route, request.method());
            (Some(route), needs)
        }
        Err(_) => match GovRoute::parse_parts(path, query) {
            Ok(gov) => (None, govern_needs(&gov, request.method())),
            // Not an API route (or a malformed one): nothing to protect, the router answers.
            Err(_) => return next.run(request).await,
        },
    };
    let host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let challenge = |error: Option<&str>| {
        let scopes = Scope::merge(needs.scopes.iter().cloned());
        let mut c = Challenge::bearer(&auth.realm(host.as_deref()), Some(&auth.service), &scopes);
        if let Some(error) = error {
            c = c.with_param("error", error);
        }
        c.to_string()
    };
    let caller = match auth.identify(request.headers()).await {
        Ok(caller) => caller,
        Err(refusal) => {
            let error = matches!(refusal, Refusal::Token(_)).then_some("invalid_token");
            return unauthorized(&refusal.to_string(), &challenge(error), &needs.scopes);
        }
    };
    match decide(&auth, &caller, &needs).await {
        Decision::Allow => {}
        Decision::UploadInstead => {
            if let Some(route) = &route {
                without_mount(&mut request, route)
            }
        }
        Decision::Challenge { insufficient } => {
            let (message, error) = match insufficient {
                true => (
                    "the token does not grant this: get a token for the scope",
                    Some("insufficient_scope"),
                ),
                false => ("authentication required", None),
            };
            return unauthorized(message, &challenge(error), &needs.scopes);
        }
        Decision::Deny => {
            let account = caller.account().unwrap_or_default();
            return denied(&account, &needs.scopes);
        }
    }
    if route.is_none() {
        let readable = Readable::of(&auth, &caller).await;
        request.extensions_mut().insert(readable);
    }
    let actor = caller.account().map(|name| Actor { name });
    if let Some(actor) = &actor {
        request.extensions_mut().insert(actor.clone());
    }
    let mut response = next.run(request).await;
    if let Some(actor) = actor {
        response.extensions_mut().insert(actor);
    }
    response
}

/// Turns a mount request into a plain upload start (`POST /v2/<name>/blobs/uploads/`).
fn without_mount(request: &mut Request, route: &Route) {
    let Route::UploadStart { name, .. } = route else {
        return;
    };
    let plain = Route::UploadStart {
        name: name.clone(),
        start: UploadStart::Session,
    };
    if let Ok(uri) = plain.path().parse::<Uri>() {
        tracing::info!(name = %name, "mount source not readable by the caller: upload session instead");
        *request.uri_mut() = uri;
    }
}

/// The access a request lacked, as distribution's error detail lists it.
fn access_detail(scopes: &[Scope]) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = scopes
        .iter()
        .flat_map(|s| {
            s.actions.iter().filter(|a| *a != ALL || s.resource_type == "registry").map(move |a| {
                serde_json::json!({"Type": s.resource_type, "Name": s.name, "Action": a})
            })
        })
        .collect();
    serde_json::Value::Array(entries)
}

fn error_response(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    scopes: &[Scope],
) -> Response {
    let mut info = ErrorInfo::new(code).with_message(message);
    if !scopes.is_empty() {
        info = info.with_detail(access_detail(scopes));
    }
    let body = ErrorBody { errors: vec![info] };
    let mut response = Response::new(Body::from(body.to_json()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// 401 `UNAUTHORIZED` with the challenge.
fn unauthorized(message: &str, challenge: &str, scopes: &[Scope]) -> Response {
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        message,
        scopes,
    );
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// 403 `DENIED`.
fn denied(account: &str, scopes: &[Scope]) -> Response {
    let wanted: Vec<String> = scopes.iter().map(Scope::to_string).collect();
    let message = format!(
        "requested access to the resource is denied: {account} may not {}",
        wanted.join(" ")
    );
    tracing::info!(account, wanted = ?wanted, "access denied");
    error_response(StatusCode::FORBIDDEN, ErrorCode::Denied, &message, scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_of(method: Method, path: &str) -> Vec<String> {
        let (path, query) = path
            .split_once('?')
            .map_or((path, None), |(p, q)| (p, Some(q)));
        let route = Route::parse_parts(path, query).unwrap();
        let n = needs(&route, &method);
        let mut out: Vec<String> = n.scopes.iter().map(Scope::to_string).collect();
        if n.login {
            out.push("login".into());
        }
        if let Some(from) = n.mount_from {
            out.push(format!(
                "from {}",
                from.map_or("-".into(), |s| s.to_string())
            ));
        }
        out
    }

    #[test]
    fn every_route_maps_to_what_it_needs() {
        let d = "sha256:".to_owned() + &"a".repeat(64);
        let cases: Vec<(Method, String, Vec<&str>)> = vec![
            (Method::GET, "/v2/".into(), vec!["login"]),
            (
                Method::GET,
                "/v2/_catalog".into(),
                vec!["registry:catalog:*"],
            ),
            (
                Method::GET,
                "/v2/a/b/tags/list".into(),
                vec!["repository:a/b:pull"],
            ),
            (
                Method::GET,
                format!("/v2/a/referrers/{d}"),
                vec!["repository:a:pull"],
            ),
            (
                Method::HEAD,
                "/v2/a/manifests/1".into(),
                vec!["repository:a:pull"],
            ),
            (
                Method::GET,
                format!("/v2/a/blobs/{d}"),
                vec!["repository:a:pull"],
            ),
            (
                Method::PUT,
                "/v2/a/manifests/1".into(),
                vec!["repository:a:pull,push"],
            ),
            (
                Method::DELETE,
                format!("/v2/a/manifests/{d}"),
                vec!["repository:a:delete"],
            ),
            (
                Method::DELETE,
                format!("/v2/a/blobs/{d}"),
                vec!["repository:a:delete"],
            ),
            (
                Method::POST,
                "/v2/a/blobs/uploads/".into(),
                vec!["repository:a:pull,push"],
            ),
            (
                Method::PATCH,
                "/v2/a/blobs/uploads/x1".into(),
                vec!["repository:a:pull,push"],
            ),
            (
                Method::PUT,
                format!("/v2/a/blobs/uploads/x1?digest={d}"),
                vec!["repository:a:pull,push"],
            ),
            (
                Method::POST,
                format!("/v2/a/blobs/uploads/?mount={d}&from=b/c"),
                vec!["repository:a:pull,push", "from repository:b/c:pull"],
            ),
            (
                Method::POST,
                format!("/v2/a/blobs/uploads/?mount={d}"),
                vec!["repository:a:pull,push", "from -"],
            ),
            (Method::POST, "/v2/a/manifests/1".into(), vec![]),
        ];
        for (method, path, want) in cases {
            assert_eq!(needs_of(method.clone(), &path), want, "{method} {path}");
        }
    }

    #[test]
    fn every_governance_route_maps_to_what_it_needs() {
        let cases: Vec<(Method, &str, Vec<&str>)> = vec![
            (
                Method::GET,
                "/strata/v1/repositories",
                vec!["registry:catalog:*"],
            ),
            (
                Method::GET,
                "/strata/v1/repositories/a/b/-/images",
                vec!["repository:a/b:pull"],
            ),
            (
                Method::GET,
                "/strata/v1/repositories/a/-/owner",
                vec!["repository:a:pull"],
            ),
            (
                Method::PUT,
                "/strata/v1/repositories/a/-/owner",
                vec!["repository:a:push"],
            ),
            (
                Method::PUT,
                "/strata/v1/repositories/a/-/images/v1/labels/prod",
                vec!["repository:a:push"],
            ),
            (
                Method::DELETE,
                "/strata/v1/repositories/a/-/images/v1/labels/prod",
                vec!["repository:a:push"],
            ),
            (
                Method::POST,
                "/strata/v1/repositories/a/-/images/v1/promote",
                vec!["repository:a:push"],
            ),
            (
                Method::GET,
                "/strata/v1/repositories/a/-/tags/v1/history",
                vec!["repository:a:pull"],
            ),
            (Method::GET, "/strata/v1/lineage/tree", vec!["login"]),
            (
                Method::GET,
                "/strata/v1/lineage/tree?root=b%2Fc%3Av1",
                vec!["repository:b/c:pull"],
            ),
            (
                Method::GET,
                "/strata/v1/lineage/dependents?image=b:v1",
                vec!["repository:b:pull"],
            ),
        ];
        for (method, path, want) in cases {
            let route = GovRoute::parse(path).unwrap();
            let n = govern_needs(&route, &method);
            let mut got: Vec<String> = n.scopes.iter().map(Scope::to_string).collect();
            if n.login {
                got.push("login".into());
            }
            assert_eq!(got, want, "{method} {path}");
        }
    }

    /// A real server of the layer over a handler that answers the request's [`Actor`].
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_actor_of_an_authenticated_request_reaches_the_handler_and_the_response() {
        use axum::extract::Extension;
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let hash = bcrypt::hash("pw", 4).unwrap();
        std::fs::write(&htpasswd, format!("alice:{hash}\n")).unwrap();
        let config = super::super::AuthConfig {
            htpasswd: Some(htpasswd),
            access: vec![super::super::AccessRuleConfig {
                account: "anonymous".into(),
                repository: Some("**".into()),
                actions: vec!["pull".into()],
                catalog: false,
            }],
            ..Default::default()
        };
        let meta = Arc::new(crate::meta::SqliteMeta::open(&dir.path().join("r.db")).unwrap());
        let auth = Arc::new(Auth::open(&config, dir.path(), meta).unwrap());
        let seen = |actor: Option<Extension<Actor>>| async move {
            actor.map_or("anonymous".to_owned(), |a| a.0.name.clone())
        };
        let echo_response = |request: Request, next: Next| async move {
            let response = next.run(request).await;
            let actor = response.extensions().get::<Actor>().cloned();
            let mut response = response;
            if let Some(actor) = actor {
                let value = HeaderValue::from_str(&actor.name).unwrap();
                response.headers_mut().insert("x-actor", value);
            }
            response
        };
        let app = axum::Router::new()
            .fallback(seen)
            .layer(axum::middleware::from_fn_with_state(auth, layer))
            .layer(axum::middleware::from_fn(echo_response));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let calls = tokio::task::spawn_blocking(move || {
            let url = format!("http://{addr}/v2/a/tags/list");
            let call = |auth: Option<String>| {
                let mut r = ureq::get(&url);
                if let Some(a) = auth {
                    r = r.set("authorization", &a);
                }
                let r = r.call().unwrap();
                (
                    r.header("x-actor").map(str::to_owned),
                    r.into_string().unwrap(),
                )
            };
            (
                call(Some(format!("Basic {}", STANDARD.encode("alice:pw")))),
                call(None),
            )
        })
        .await
        .unwrap();
        server.abort();
        assert_eq!(calls.0, (Some("alice".into()), "alice".into()));
        assert_eq!(calls.1, (None, "anonymous".into()));
    }

    #[test]
    fn basic_credentials_decode() {
        let encoded = STANDARD.encode("robot$ci:pa:ss");
        assert_eq!(
            basic_credentials(&encoded).unwrap(),
            ("robot$ci".into(), "pa:ss".into())
        );
        assert_eq!(basic_credentials("!!"), Err(Refusal::MalformedBasic));
        assert_eq!(
            basic_credentials(&STANDARD.encode("nocolon")),
            Err(Refusal::MalformedBasic)
        );
    }
}
