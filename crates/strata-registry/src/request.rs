//! The HTTP request being served, as access logs and events describe it: its id, the peer
//! address, `Host`, method, `User-Agent` and (once authentication ran) its [`Actor`].
//!
//! The access-log middleware makes one [`RequestInfo`] per request and runs the rest of the
//! request inside [`scope`], so the services layer can describe the request in an event
//! ([`current`]) without every service call carrying HTTP details.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::actor::Actor;

/// The longest incoming `X-Request-Id` honoured.
const MAX_REQUEST_ID: usize = 128;

/// One request, as logs and events name it.
#[derive(Debug, Default)]
pub struct RequestInfo {
    /// The request id: a sane incoming `X-Request-Id`, else a fresh UUID.
    pub id: String,
    /// The peer's address (the TCP connection's, never a forwarded header's).
    pub addr: Option<SocketAddr>,
    /// The `Host` header.
    pub host: String,
    pub method: String,
    /// The `User-Agent` header.
    pub user_agent: String,
    actor: OnceLock<Actor>,
}

impl RequestInfo {
    /// A request not yet authenticated.
    pub fn new(
        id: String,
        addr: Option<SocketAddr>,
        host: String,
        method: String,
        user_agent: String,
    ) -> RequestInfo {
        RequestInfo {
            id,
            addr,
            host,
            method,
            user_agent,
            actor: OnceLock::new(),
        }
    }

    /// Records who made the request (the first call wins).
    pub fn set_actor(&self, actor: Actor) {
        let _ = self.actor.set(actor);
    }

    /// Who made the request, `None` for anonymous.
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.get()
    }
}

tokio::task_local! {
    static CURRENT: Arc<RequestInfo>;
}

/// Runs `future` as the handling of `info`'s request.
pub async fn scope<F: Future>(info: Arc<RequestInfo>, future: F) -> F::Output {
    CURRENT.scope(info, future).await
}

/// The request being handled, `None` outside one (unit tests, background tasks).
pub fn current() -> Option<Arc<RequestInfo>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// The incoming request id when it is sane (1 to 128 of `A-Za-z0-9._:-`), so a client or
/// proxy can correlate its own logs; anything else is replaced, never logged.
pub fn sane_request_id(incoming: &str) -> Option<&str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    (!incoming.is_empty() && incoming.len() <= MAX_REQUEST_ID && incoming.chars().all(ok))
        .then_some(incoming)
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        assert_eq!(sane_request_id("abc-123_x.y:z"), Some("abc-123_x.y:z"));
        assert_eq!(sane_request_id(""), None);
        assert_eq!(sane_request_id("a b"), None);
        assert_eq!(sane_request_id("x\ny"), None);
        assert_eq!(sane_request_id(&"a".repeat(129)), None);
    }

    #[test]
    fn uuids_are_version_4() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, new_uuid());
    }

    #[tokio::test]
    async fn current_is_the_scoped_request() {
        assert!(current().is_none());
        let info = Arc::new(RequestInfo {
            id: "r1".into(),
            ..RequestInfo::default()
        });
        let id = scope(info, async { current().map(|i| i.id.clone()) }).await;
        assert_eq!(id.as_deref(), Some("r1"));
    }
}

/// A connection's TCP peer, as axum's connect info for both listeners (plain TCP and TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}
