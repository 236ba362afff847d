//! One registry host over HTTP: the scheme, TLS (system roots plus `certs.d`, see [`tls`]),
//! authentication (basic, bearer tokens cached per
//! scope), retries with backoff, and typed errors for the statuses a registry answers.

mod auth;
mod retry;
mod tls;

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use strata_distribution::auth::Scope;
use strata_distribution::headers::CONTENT_TYPE;
use strata_distribution::media::essence;
use strata_distribution::{ErrorBody, Route};

use crate::config::certs::CertsDirs;
use crate::config::credentials::{Credential, CredentialStore};
use crate::config::registries::{is_loopback, Endpoint};
use crate::error::{ClientError, Result};

pub use retry::RetryPolicy;
pub use tls::TlsError;

/// Error bodies and token answers are read up to this size.
const SMALL_BODY_LIMIT: u64 = 1 << 20;

/// How to talk to one registry.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Sent when the registry asks (basic auth, or to the token realm).
    pub credential: Option<Credential>,
    /// Plain HTTP may be used (an `insecure` endpoint; loopback hosts always may).
    pub allow_http: bool,
    /// Where the host's extra CA roots and client certificate are read (default: nowhere;
    /// [`RegistryOptions::from_store`] uses [`CertsDirs::from_env`]).
    pub certs: CertsDirs,
    /// The server certificate is not verified: only for an endpoint marked `insecure` in
    /// registries.conf (containers/image's `InsecureSkipVerify`).
    pub insecure_tls: bool,
    pub retry: RetryPolicy,
    /// Blobs larger than this are pushed in `PATCH` chunks of this size (0: the default).
    pub chunk_size: u64,
}

impl RegistryOptions {
    /// Options with the credential `store` holds for `host` (anonymous when none).
    pub fn from_store(host: &str, store: &CredentialStore) -> Result<RegistryOptions> {
        let credential = store
            .lookup(host)
            .map_err(|source| ClientError::Credentials {
                registry: host.to_owned(),
                source: Box::new(source),
            })?;
        Ok(RegistryOptions {
            credential,
            certs: CertsDirs::from_env(),
            ..RegistryOptions::default()
        })
    }
}

/// A handle on one registry host; cheap to share between threads (`&Registry` is `Sync`).
pub struct Registry {
    host: String,
    base: String,
    agent: ureq::Agent,
    credential: Option<Credential>,
    auth: Mutex<auth::AuthState>,
    /// Held while a token is fetched (one fetch at a time).
    token_fetch: Mutex<()>,
    retry: RetryPolicy,
    pub(crate) chunk_size: u64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base)
            .finish()
    }
}

/// A request body that can be sent again on a retry.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
}

/// One request: what to send, and which scopes its authorization needs.
pub(crate) struct Request<'a> {
    pub method: &'static str,
    pub url: String,
    pub scopes: Vec<Scope>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body<'a>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'static str, url: String, scopes: Vec<Scope>) -> Request<'a> {
        Request {
            method,
            url,
            scopes,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request<'a> {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: &'a [u8]) -> Request<'a> {
        self.body = Body::Bytes(body);
        self
    }

    fn scope_text(&self) -> String {
        auth::scope_text(&self.scopes)
    }
}

impl Registry {
    /// Connects to `host` (`host[:port]`): HTTPS, or plain HTTP when HTTPS does not answer
    /// and the options (or a loopback host) allow it. The `/v2/` ping also learns how the
    /// registry wants to be authenticated. A server that speaks TLS but whose certificate
    /// is refused is an error, never a reason to try plain HTTP.
    pub fn connect(host: &str, options: RegistryOptions) -> Result<Registry> {
        let tls =
            tls::client_config(host, &options.certs, options.insecure_tls).map_err(|source| {
                ClientError::Tls {
                    registry: host.to_owned(),
                    source: Box::new(source),
                }
            })?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls)
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(60))
            .redirects(5)
            .build();
        let mut registry = Registry {
            host: host.to_owned(),
            base: format!("https://{host}"),
            agent,
            credential: options.credential,
            auth: Mutex::new(auth::AuthState::default()),
            token_fetch: Mutex::new(()),
            retry: options.retry,
            chunk_size: match options.chunk_size {
                0 => 16 << 20,
                n => n,
            },
        };
        let ping = Route::Base.url(&registry.base);
        if options.allow_http || is_loopback(host) {
            match registry.agent.get(&ping).call() {
                Err(ureq::Error::Transport(t)) if tls::certificate_error(&t).is_none() => {
                    tracing::debug!(host, error = %t, "https does not answer; using plain http");
                    registry.base = format!("http://{host}");
                }
                _ => {}
            }
        }
        let ping = Request::new("GET", Route::Base.url(&registry.base), Vec::new());
        let resp = registry.send(&ping)?;
        registry.check(resp, &ping, "/v2/")?;
        Ok(registry)
    }

    /// Connects to the endpoint registries.conf chose, with the credential `store` has.
    pub fn for_endpoint(endpoint: &Endpoint, store: &CredentialStore) -> Result<Registry> {
        let options = RegistryOptions {
            allow_http: endpoint.allows_http(),
            insecure_tls: endpoint.insecure,
            ..RegistryOptions::from_store(&endpoint.host, store)?
        };
        Registry::connect(&endpoint.host, options)
    }

    /// `host[:port]`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `https://host[:port]` or `http://…`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn url(&self, route: &Route) -> String {
        route.url(&self.base)
    }

    /// An upload `Location`, absolute or relative to the registry.
    pub(crate) fn resolve_location(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}/{}", self.base, location.trim_start_matches('/'))
        }
    }

    /// Sends `req` (authenticating and retrying as needed) and returns any HTTP answer.
    pub(crate) fn send(&self, req: &Request) -> Result<ureq::Response> {
        let mut attempt = 0;
        let mut authenticated = false;
        loop {
            let authorization = self.authorization(&req.scopes)?;
            let resp = match self.send_once(req, authorization.as_deref()) {
                Ok(resp) => resp,
                Err(t) => {
                    // A refused certificate stays refused: no retry.
                    if let Some(source) = tls::certificate_error(&t) {
                        return Err(ClientError::Certificate {
                            registry: self.host.clone(),
                            source: Box::new(source.clone()),
                        });
                    }
                    // A name that does not resolve will not resolve a second later
                    // (containers/image does not retry "no such host" either).
                    let retryable = t.kind() != ureq::ErrorKind::Dns;
                    if retryable && attempt + 1 < self.retry.attempts {
                        tracing::debug!(url = %req.url, error = %t, attempt, "retrying");
                        std::thread::sleep(self.retry.delay(attempt, None));
                        attempt += 1;
                        continue;
                    }
                    return Err(ClientError::Connect {
                        registry: self.host.clone(),
                        method: req.method,
                        target: req.url.clone(),
                        source: t,
                    });
                }
            };
            let status = resp.status();
            if status == 401 && auth::insufficient_scope(&resp) {
                // The token is good but grants too little: asking again gives the same.
                return Ok(resp);
            }
            if status == 401 && !authenticated {
                authenticated = true;
                if self.authenticate(&resp, req)? {
                    continue;
                }
            } else if (status == 429 || status >= 500) && attempt + 1 < self.retry.attempts {
                let after = retry::retry_after(&resp);
                tracing::debug!(url = %req.url, status, attempt, "retrying");
                std::thread::sleep(self.retry.delay(attempt, after));
                attempt += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    fn send_once(
        &self,
        req: &Request,
        authorization: Option<&str>,
    ) -> Result<ureq::Response, Box<ureq::Transport>> {
        let mut r = self.agent.request(req.method, &req.url);
        for (name, value) in &req.headers {
            r = r.set(name, value);
        }
        if let Some(a) = authorization {
            r = r.set("authorization", a);
        }
        let result = match (req.body, req.method) {
            (Body::Bytes(b), _) => r.send_bytes(b),
            (Body::Empty, "GET" | "HEAD" | "DELETE") => r.call(),
            (Body::Empty, _) => r.send_bytes(&[]),
        };
        match result {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => Ok(resp),
            Err(ureq::Error::Transport(t)) => Err(Box::new(t)),
        }
    }

    /// Sends `req` and turns a non-2xx answer into a typed error about `reference`.
    pub(crate) fn send_checked(&self, req: &Request, reference: &str) -> Result<ureq::Response> {
        let resp = self.send(req)?;
        self.check(resp, req, reference)
    }

    /// `resp` if it is a success, else the error its status and body say.
    pub(crate) fn check(
        &self,
        resp: ureq::Response,
        req: &Request,
        reference: &str,
    ) -> Result<ureq::Response> {
        let status = resp.status();
        if (200..300).contains(&status) {
            return self.not_html(resp, req);
        }
        let registry = self.host.clone();
        let insufficient_scope = status == 401 && auth::insufficient_scope(&resp);
        let detail = error_detail(resp);
        Err(match status {
            401 if insufficient_scope => ClientError::Forbidden {
                registry,
                scope: req.scope_text(),
                detail: self.insufficient_scope_detail(&detail),
            },
            401 => ClientError::Unauthorized {
                registry,
                scope: req.scope_text(),
                detail,
            },
            403 => ClientError::Forbidden {
                registry,
                scope: req.scope_text(),
                detail,
            },
            404 => ClientError::NotFound {
                registry,
                reference: reference.to_owned(),
                detail,
            },
            _ => ClientError::Status {
                registry,
                method: req.method,
                target: req.url.clone(),
                status,
                detail,
            },
        })
    }

    /// `resp`, unless it is an HTML page: what a captive portal or a proxy's error page
    /// answers, never the registry API (whose answers are JSON, blobs, or empty).
    fn not_html(&self, resp: ureq::Response, req: &Request) -> Result<ureq::Response> {
        let content_type = resp.header(CONTENT_TYPE).unwrap_or("");
        if !essence(content_type).eq_ignore_ascii_case("text/html") {
            return Ok(resp);
        }
        Err(ClientError::Html {
            registry: self.host.clone(),
            method: req.method,
            target: req.url.clone(),
        })
    }

    fn insufficient_scope_detail(&self, detail: &str) -> String {
        let who = match &self.credential {
            None => format!("; no credential is stored for {} (strata login)", self.host),
            Some(_) => String::new(),
        };
        format!("the token grants less than that (insufficient_scope){who}: {detail}")
    }

    /// Reads a small body (error, token) whole, up to [`SMALL_BODY_LIMIT`].
    pub(crate) fn read_limited(
        &self,
        resp: ureq::Response,
        limit: u64,
        target: &str,
    ) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| ClientError::Read {
                registry: self.host.clone(),
                target: target.to_owned(),
                source,
            })?;
        if bytes.len() as u64 > limit {
            return Err(ClientError::TooLarge {
                registry: self.host.clone(),
                reference: target.to_owned(),
                limit,
            });
        }
        Ok(bytes)
    }
}

/// The registry's `{"errors":[…]}` as text, or what else the body was.
pub(super) fn error_detail(resp: ureq::Response) -> String {
    let status_text = resp.status_text().to_owned();
    let mut body = Vec::new();
    if resp
        .into_reader()
        .take(SMALL_BODY_LIMIT)
        .read_to_end(&mut body)
        .is_err()
        || body.is_empty()
    {
        return status_text;
    }
    match ErrorBody::parse(&body) {
        Ok(parsed) => parsed.to_string(),
        Err(_) => format!(
            "{status_text}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
        ),
    }
}
