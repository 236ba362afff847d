//! The access log: one record per request, written when its response body is finished (or
//! dropped, when the client went away), so bytes out and duration are what happened.
//!
//! Fields: `request_id` (a sane incoming `X-Request-Id`, else a fresh UUID; echoed in the
//! response), `remote_addr` (the TCP peer), `user` (the [`Actor`], absent: anonymous),
//! `method`, `path` (never the query), `route` (the kind of endpoint: `manifest`, `blob`,
//! `upload`, …), `status`, `bytes_in`, `bytes_out`, `duration_ms`, `user_agent`. No other
//! header is read, so `Authorization` and tokens never reach the log.
//!
//! By default a `tracing` event (target `strata_registry::access`, the binary's text or
//! `--log-format json` lines on stderr); with `[log] access = "/path"` JSON lines appended
//! to that file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use serde::Serialize;
use strata_distribution::Route;
use tracing::Instrument;

use crate::actor::Actor;
use crate::config::AccessLogTarget;
use crate::request::Peer;
use crate::request::{new_uuid, sane_request_id, scope, RequestInfo};

/// The request id header, read and echoed.
pub const REQUEST_ID: &str = "x-request-id";

/// Where access records go.
pub struct AccessLog {
    file: Option<(PathBuf, Mutex<File>)>,
}

impl AccessLog {
    /// Opens the log `target` names (a file is created or appended to).
    pub fn open(target: &AccessLogTarget) -> std::io::Result<AccessLog> {
        let file = match target {
            AccessLogTarget::Stderr => None,
            AccessLogTarget::File(path) => {
                let file = File::options().create(true).append(true).open(path)?;
                Some((path.clone(), Mutex::new(file)))
            }
        };
        Ok(AccessLog { file })
    }

    fn write(&self, record: &Record) {
        match &self.file {
            None => trace(record),
            Some((path, file)) => append(path, file, record),
        }
    }
}

/// One request, as logged.
#[derive(Debug, Serialize)]
struct Record {
    time: String,
    request_id: String,
    remote_addr: Option<String>,
    user: Option<String>,
    method: String,
    path: String,
    route: &'static str,
    status: u16,
    bytes_in: u64,
    bytes_out: u64,
    duration_ms: f64,
    user_agent: Option<String>,
}

fn trace(r: &Record) {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    tracing::info!(
        target: "strata_registry::access",
        request_id = %r.request_id,
        remote_addr = %dash(&r.remote_addr),
        user = %dash(&r.user),
        method = %r.method,
        path = %r.path,
        route = %r.route,
        status = r.status,
        bytes_in = r.bytes_in,
        bytes_out = r.bytes_out,
        duration_ms = r.duration_ms,
        user_agent = %dash(&r.user_agent),
        "request"
    );
}

fn append(path: &Path, file: &Mutex<File>, record: &Record) {
    let mut line = serde_json::to_vec(record).expect("an access record serialises");
    line.push(b'\n');
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(error) = file.write_all(&line) {
        tracing::warn!(path = %path.display(), %error, "cannot write the access log");
    }
}

/// The middleware: names the request, serves it inside its [`scope`] and a `request{id=…}`
/// tracing span, echoes its id and logs it once the response body is done. Keep it the outermost layer, so every
/// response (auth refusals included) is logged.
pub async fn middleware(
    State(log): State<Arc<AccessLog>>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let info = Arc::new(request_info(&request));
    let path = request.uri().path().to_owned();
    let route = route_kind(&path, request.uri().query());
    let bytes_in = Arc::new(AtomicU64::new(0));
    request.extensions_mut().insert(info.clone());
    let request = request.map(|body| {
        Body::new(Counted {
            inner: body,
            count: bytes_in.clone(),
            _done: None,
        })
    });
    // Every log line of the request carries its id.
    let span = tracing::info_span!("request", id = %info.id);
    let mut response = scope(info.clone(), next.run(request))
        .instrument(span)
        .await;
    if let Ok(id) = HeaderValue::from_str(&info.id) {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    if let Some(actor) = response.extensions().get::<Actor>() {
        info.set_actor(actor.clone());
    }
    let done = Done {
        log,
        info,
        start,
        path,
        route,
        status: response.status().as_u16(),
        bytes_in,
        bytes_out: Arc::new(AtomicU64::new(0)),
    };
    response.map(|body| {
        Body::new(Counted {
            inner: body,
            count: done.bytes_out.clone(),
            _done: Some(done),
        })
    })
}

fn request_info(request: &Request) -> RequestInfo {
    let headers = request.headers();
    let text =
        |h: &HeaderMap, name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let id = text(headers, REQUEST_ID)
        .filter(|id| sane_request_id(id).is_some())
        .unwrap_or_else(new_uuid);
    RequestInfo::new(
        id,
        request
            .extensions()
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0 .0),
        text(headers, "host").unwrap_or_default(),
        request.method().to_string(),
        text(headers, "user-agent").unwrap_or_default(),
    )
}

/// The kind of endpoint a path names, without its variable parts.
fn route_kind(path: &str, query: Option<&str>) -> &'static str {
    if super::ui::is_ui(path) {
        return "ui";
    }
    match Route::parse_parts(path, query) {
        Ok(Route::Base) => "base",
        Ok(Route::Catalog { .. }) => "catalog",
        Ok(Route::Tags { .. }) => "tags",
        Ok(Route::Referrers { .. }) => "referrers",
        Ok(Route::Manifest { .. }) => "manifest",
        Ok(Route::Blob { .. }) => "blob",
        Ok(Route::UploadStart { .. }) => "upload_start",
        Ok(Route::Upload { .. }) => "upload",
        Err(_) => "invalid",
    }
}

/// What is known when the response leaves the handler; written when its body is done.
struct Done {
    log: Arc<AccessLog>,
    info: Arc<RequestInfo>,
    start: Instant,
    path: String,
    route: &'static str,
    status: u16,
    bytes_in: Arc<AtomicU64>,
    bytes_out: Arc<AtomicU64>,
}

impl Drop for Done {
    fn drop(&mut self) {
        let info = &self.info;
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let record = Record {
            time: crate::events::now_rfc3339(),
            request_id: info.id.clone(),
            remote_addr: info.addr.map(|a| a.to_string()),
            user: info.actor().map(|a| a.name.clone()),
            method: info.method.clone(),
            path: std::mem::take(&mut self.path),
            route: self.route,
            status: self.status,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            duration_ms: self.start.elapsed().as_secs_f64() * 1000.0,
            user_agent: some(&info.user_agent),
        };
        self.log.write(&record);
    }
}

/// A body counting the data bytes that pass through it; `_done` is logged when it drops.
struct Counted {
    inner: Body,
    count: Arc<AtomicU64>,
    _done: Option<Done>,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.count.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EndpointConfig, Events, IgnoreConfig, NotificationsConfig};
    use crate::meta::SqliteMeta;
    use crate::services::{Limits, Registry};
    use crate::storage::FsBlobs;
    use axum::middleware::from_fn;
    use std::time::Duration;
    use strata_testkit::http::{respond, HttpRequest, HttpServer};

    fn events_to(url: String) -> Events {
        let endpoint = EndpointConfig {
            name: "t".into(),
            url,
            secret: None,
            headers: Default::default(),
            disabled: false,
            timeout_ms: None,
            backoff_initial_ms: Some(10),
            backoff_max_ms: Some(10),
            max_attempts: None,
            max_age_secs: None,
            queue_size: None,
            ignore: IgnoreConfig::default(),
        };
        let config = NotificationsConfig {
            endpoints: vec![endpoint],
        };
        Events::start(&config, "h:1".into()).unwrap()
    }

    /// What an auth layer does: the account it established, as a request extension.
    async fn as_alice(mut request: Request, next: Next) -> Response {
        request.extensions_mut().insert(Actor {
            name: "alice".into(),
        });
        next.run(request).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_actor_an_auth_layer_sets_is_the_user_in_logs_and_events() {
        let got = Arc::new(Mutex::new(Vec::<HttpRequest>::new()));
        let sink = got.clone();
        let receiver = HttpServer::start(Arc::new(move |req, stream| {
            sink.lock().unwrap().push(req.clone());
            respond(stream, 204, &[], b"");
        }));
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let meta = SqliteMeta::open(&dir.path().join("registry.db")).unwrap();
        let registry = Registry::new(Arc::new(blobs), Arc::new(meta), Limits::default())
            .with_events(events_to(format!("http://{}/", receiver.host())));
        let log = dir.path().join("access.log");
        let access = AccessLog::open(&AccessLogTarget::File(log.clone())).unwrap();
        let app = super::super::router(Arc::new(registry), None, Arc::new(access))
            .layer(from_fn(as_alice));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/v2/app/blobs/uploads/?digest={}",
            listener.local_addr().unwrap(),
            strata_oci::Digest::of(b"x")
        );
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<crate::request::Peer>();
            axum::serve(listener, app).await
        });
        let status = tokio::task::spawn_blocking(move || {
            ureq::post(&url).send_bytes(b"x").unwrap().status()
        })
        .await
        .unwrap();
        assert_eq!(status, 201);
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.lock().unwrap().is_empty()
            || !std::fs::read_to_string(&log).unwrap().contains('\n')
        {
            assert!(Instant::now() < deadline, "no event or no log line");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let event: serde_json::Value =
            serde_json::from_slice(&got.lock().unwrap()[0].body).unwrap();
        assert_eq!(event["events"][0]["actor"]["name"], "alice");
        let line: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(&log)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(line["user"], "alice");
        server.abort();
    }

    #[test]
    fn route_kinds_carry_no_names_or_digests() {
        assert_eq!(route_kind("/v2/", None), "base");
        assert_eq!(route_kind("/v2/a/b/manifests/v1", None), "manifest");
        let blob = format!("/v2/a/blobs/sha256:{}", "0".repeat(64));
        assert_eq!(route_kind(&blob, None), "blob");
        assert_eq!(route_kind("/v2/a/blobs/uploads/", None), "upload_start");
        assert_eq!(route_kind("/v2/a/tags/list", Some("n=1")), "tags");
        assert_eq!(route_kind("/nope", None), "invalid");
        assert_eq!(route_kind("/ui/repositories/a", None), "ui");
    }
}
