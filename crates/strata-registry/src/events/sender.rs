//! An endpoint's sender: a thread that takes events from the endpoint's queue in order and
//! POSTs each until a 2xx answers, waiting `backoff_initial`, then twice as long each time
//! up to `backoff_max`, until `max_attempts` or `max_age` gives it up. One event at a time,
//! so the receiver sees them in the order they happened. A thread (not a tokio task) since
//! deliveries use the blocking `ureq` client the workspace already has, with rustls and the
//! webpki root bundle for `https://` endpoints; the registry's runtime never waits on a
//! receiver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::config::EndpointSettings;
use super::envelope::{Envelope, Event, ENVELOPE_MEDIA_TYPE};
use super::queue::Queue;
use super::sign::{signature, SIGNATURE_HEADER};

/// The header carrying the event id (the same as in the signed body).
pub const EVENT_ID_HEADER: &str = "X-Strata-Event-Id";
/// The header carrying the event's time in Unix seconds (the same as in the signed body).
pub const TIMESTAMP_HEADER: &str = "X-Strata-Timestamp";

/// An event waiting for delivery.
pub struct Pending {
    pub event: Event,
    /// When it was made, in Unix seconds (for [`TIMESTAMP_HEADER`]).
    pub unix: u64,
    /// When it was made, for `max_age`.
    pub made: Instant,
}

impl Pending {
    /// `event`, made now.
    pub fn new(event: Event) -> Pending {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Pending {
            event,
            unix,
            made: Instant::now(),
        }
    }
}

/// What happened to an endpoint's events so far.
#[derive(Debug, Default)]
pub struct Counters {
    /// Delivered (a 2xx answered).
    pub delivered: AtomicU64,
    /// Dropped from a full queue before any attempt.
    pub dropped: AtomicU64,
    /// Given up after `max_attempts` or `max_age`.
    pub failed: AtomicU64,
    /// Failed attempts (each retry counts).
    pub retries: AtomicU64,
}

/// One endpoint: its settings, queue and counters.
pub struct Endpoint {
    pub settings: EndpointSettings,
    pub queue: Queue<Pending>,
    pub counters: Counters,
}

/// Delivers `endpoint`'s events until its queue closes.
pub fn run(endpoint: Arc<Endpoint>) {
    let agent = ureq::AgentBuilder::new()
        .timeout(endpoint.settings.timeout)
        .redirects(0)
        .user_agent(concat!("strata-registry/", env!("CARGO_PKG_VERSION")))
        .build();
    while let Some(pending) = endpoint.queue.pop() {
        deliver(&agent, &endpoint, &pending);
    }
}

/// Delivers one event, retrying; returns when delivered, given up or closed.
fn deliver(agent: &ureq::Agent, endpoint: &Endpoint, pending: &Pending) {
    let settings = &endpoint.settings;
    let body = serde_json::to_vec(&Envelope {
        events: vec![pending.event.clone()],
    })
    .expect("an event serialises");
    let mut backoff = settings.backoff_initial;
    for attempt in 1u32.. {
        let error = match post(agent, settings, &body, pending) {
            Ok(()) => {
                endpoint.counters.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(error) => error,
        };
        endpoint.counters.retries.fetch_add(1, Ordering::Relaxed);
        if give_up(settings, attempt, pending.made.elapsed() + backoff) {
            endpoint.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                endpoint = %settings.name, event = %pending.event.id, attempt, %error,
                "event delivery failed; giving the event up"
            );
            return;
        }
        tracing::warn!(
            endpoint = %settings.name, event = %pending.event.id, attempt, %error,
            retry_in_ms = backoff.as_millis() as u64,
            "event delivery failed; retrying"
        );
        if endpoint.queue.sleep(backoff) {
            endpoint.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(endpoint = %settings.name, event = %pending.event.id, "stopping: event not delivered");
            return;
        }
        backoff = (backoff * 2).min(settings.backoff_max);
    }
}

/// Whether to stop after `attempt` failed, the next try being `age` after the event.
fn give_up(settings: &EndpointSettings, attempt: u32, age: Duration) -> bool {
    settings.max_attempts.is_some_and(|max| attempt >= max) || age > settings.max_age
}

/// One attempt: `Ok` on a 2xx; otherwise why, without the URL (it may hold a token).
fn post(
    agent: &ureq::Agent,
    settings: &EndpointSettings,
    body: &[u8],
    pending: &Pending,
) -> Result<(), String> {
    let mut request = agent
        .post(&settings.url)
        .set("Content-Type", ENVELOPE_MEDIA_TYPE)
        .set(EVENT_ID_HEADER, &pending.event.id)
        .set(TIMESTAMP_HEADER, &pending.unix.to_string());
    for (name, value) in &settings.headers {
        request = request.set(name, value.expose());
    }
    if let Some(secret) = &settings.secret {
        request = request.set(
            SIGNATURE_HEADER,
            &signature(secret.expose().as_bytes(), body),
        );
    }
    match request.send_bytes(body) {
        Ok(response) if (200..300).contains(&response.status()) => Ok(()),
        Ok(response) => Err(format!("status {}", response.status())),
        Err(ureq::Error::Status(code, _)) => Err(format!("status {code}")),
        Err(ureq::Error::Transport(t)) => Err(transport_error(&t)),
    }
}

/// A transport failure's kind and cause (ureq's `Display` would include the URL).
fn transport_error(t: &ureq::Transport) -> String {
    let mut text = t.kind().to_string();
    if let Some(message) = t.message() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(source) = std::error::Error::source(t) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    text
}
