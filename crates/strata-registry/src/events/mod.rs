//! Events: webhooks on push, pull, mount and delete, in CNCF distribution's notification
//! format (so its consumers work), signed like GitHub's webhooks.
//!
//! - The services call [`Events`] where something happened (a manifest pushed, an upload
//!   finished, a `GET` served, a delete done); it builds the [`Event`] with the request
//!   being served ([`crate::request::current`]: id, peer, host, method, user agent, actor)
//!   and pushes it on each interested endpoint's bounded queue (`queue.rs`). Nothing
//!   waits: a full queue drops its oldest event (a warning and the `dropped` counter).
//! - Each endpoint has a sender thread (`sender.rs`) delivering its events in order,
//!   retried with exponential backoff until a 2xx, `max_attempts` or `max_age`.
//! - [`config`]: `[[notifications.endpoints]]`, checked at start.
//! - [`envelope`]: the JSON; [`sign`]: `X-Strata-Signature-256`.
//!
//! Events live in memory: at a stop the senders get [`SHUTDOWN_GRACE`] to try what is
//! queued once; what is left is lost (distribution loses it all); receivers that must not
//! miss one reconcile with the catalog.

pub mod config;
pub mod envelope;
mod queue;
mod sender;
pub mod sign;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use strata_distribution::{ManifestRef, RepositoryName, Route, Tag};
use strata_oci::Digest;

pub use config::{EndpointConfig, EndpointError, IgnoreConfig, NotificationsConfig, Secret};
pub use envelope::{Action, Envelope, Event, Target, BLOB_MEDIA_TYPE, ENVELOPE_MEDIA_TYPE};
pub use sender::{EVENT_ID_HEADER, TIMESTAMP_HEADER};
pub use sign::SIGNATURE_HEADER;

use envelope::{ActorRecord, RequestRecord, SourceRecord};
use sender::{Endpoint, Pending};

/// How long a stopping server lets its senders try the events still queued.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What an endpoint's events came to so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    pub name: String,
    pub delivered: u64,
    /// Dropped from a full queue.
    pub dropped: u64,
    /// Given up after `max_attempts` or `max_age`.
    pub failed: u64,
    /// Failed attempts.
    pub retries: u64,
    /// Waiting in the queue.
    pub queued: u64,
}

/// The registry's event emitter: no endpoints (the default) makes every call a no-op.
#[derive(Default)]
pub struct Events {
    endpoints: Vec<Arc<Endpoint>>,
    source: SourceRecord,
    senders: Mutex<Vec<JoinHandle<()>>>,
}

impl Events {
    /// Starts a sender thread per enabled endpoint of `config`; `addr` is this server's
    /// `host:port` for the events' `source`.
    pub fn start(config: &NotificationsConfig, addr: String) -> Result<Events, EndpointError> {
        let (mut endpoints, mut senders) = (Vec::new(), Vec::new());
        for settings in config.settings()? {
            let endpoint = Arc::new(Endpoint {
                queue: queue::Queue::new(settings.queue_size),
                settings,
                counters: sender::Counters::default(),
            });
            let thread = endpoint.clone();
            let sender = std::thread::Builder::new()
                .name(format!("events-{}", endpoint.settings.name))
                .spawn(move || sender::run(thread))
                .expect("spawning an event sender thread");
            senders.push(sender);
            tracing::info!(endpoint = %endpoint.settings.name, "event notifications on");
            endpoints.push(endpoint);
        }
        Ok(Events {
            endpoints,
            source: SourceRecord {
                addr,
                instance_id: crate::request::new_uuid(),
            },
            senders: Mutex::new(senders),
        })
    }

    /// Stops the senders once they have tried what is queued (one attempt per event, no
    /// retry waits), waiting at most `grace`; what is left then is dropped (logged).
    pub fn shutdown(&self, grace: Duration) {
        for endpoint in &self.endpoints {
            endpoint.queue.drain();
        }
        let deadline = Instant::now() + grace;
        let senders = std::mem::take(&mut *self.senders.lock().unwrap_or_else(|e| e.into_inner()));
        while Instant::now() < deadline && !senders.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.close();
    }

    /// Closes every queue, logging the events still in them.
    fn close(&self) {
        for endpoint in &self.endpoints {
            let left = endpoint.queue.close();
            if left > 0 {
                tracing::warn!(endpoint = %endpoint.settings.name, left, "stopping with undelivered events");
            }
        }
    }

    /// Each endpoint's counters.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.endpoints
            .iter()
            .map(|e| EndpointStats {
                name: e.settings.name.clone(),
                delivered: e.counters.delivered.load(Ordering::Relaxed),
                dropped: e.counters.dropped.load(Ordering::Relaxed),
                failed: e.counters.failed.load(Ordering::Relaxed),
                retries: e.counters.retries.load(Ordering::Relaxed),
                queued: e.queue.waiting() as u64,
            })
            .collect()
    }

    /// A manifest pushed or pulled (`tag`: the tag it was pushed or pulled by).
    pub(crate) fn manifest(
        &self,
        action: Action,
        name: &RepositoryName,
        reference: &ManifestRef,
        digest: &Digest,
        media_type: &str,
        size: u64,
    ) {
        if self.endpoints.is_empty() {
            return;
        }
        let path = Route::Manifest {
            name: name.clone(),
            reference: ManifestRef::Digest(digest.clone()),
        }
        .path();
        let target = Target {
            media_type: Some(media_type.to_owned()),
            size: Some(size),
            digest: Some(digest.to_string()),
            length: Some(size),
            repository: name.to_string(),
            tag: reference.tag().map(Tag::to_string),
            ..Target::default()
        };
        self.emit(action, target, Some(path));
    }

    /// A blob pushed, pulled or mounted (`from`: a mount's source repository).
    pub(crate) fn blob(
        &self,
        action: Action,
        name: &RepositoryName,
        digest: &Digest,
        size: u64,
        from: Option<&RepositoryName>,
    ) {
        if self.endpoints.is_empty() {
            return;
        }
        let path = Route::Blob {
            name: name.clone(),
            digest: digest.clone(),
        }
        .path();
        let target = Target {
            media_type: Some(BLOB_MEDIA_TYPE.to_owned()),
            size: Some(size),
            digest: Some(digest.to_string()),
            length: Some(size),
            repository: name.to_string(),
            from_repository: from.map(RepositoryName::to_string),
            ..Target::default()
        };
        self.emit(action, target, Some(path));
    }

    /// A manifest deleted by digest, a tag deleted, or a blob unlinked (distribution's
    /// delete events: the repository and the digest or the tag, nothing more).
    pub(crate) fn deleted(
        &self,
        name: &RepositoryName,
        digest: Option<&Digest>,
        tag: Option<&Tag>,
    ) {
        if self.endpoints.is_empty() {
            return;
        }
        let target = Target {
            digest: digest.map(Digest::to_string),
            tag: tag.map(Tag::to_string),
            repository: name.to_string(),
            ..Target::default()
        };
        self.emit(Action::Delete, target, None);
    }

    /// Queues the event on every endpoint that wants it.
    fn emit(&self, action: Action, mut target: Target, path: Option<String>) {
        let request = crate::request::current();
        if let (Some(path), Some(r)) = (path, &request) {
            target.url = (!r.host.is_empty()).then(|| format!("http://{}{path}", r.host));
        }
        let event = Event {
            id: crate::request::new_uuid(),
            timestamp: now_rfc3339(),
            action,
            target,
            request: request.as_deref().map(request_record).unwrap_or_default(),
            actor: ActorRecord {
                name: request
                    .as_ref()
                    .and_then(|r| r.actor())
                    .map(|a| a.name.clone()),
            },
            source: self.source.clone(),
        };
        for endpoint in &self.endpoints {
            if !wants(&endpoint.settings.ignore, &event) {
                continue;
            }
            if let Some(old) = endpoint.queue.push(Pending::new(event.clone())) {
                let dropped = endpoint.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    endpoint = %endpoint.settings.name, event = %old.event.id, dropped,
                    "event queue full; dropped its oldest event"
                );
            }
        }
    }
}

impl Drop for Events {
    /// Stops the senders; events still queued are lost (logged).
    fn drop(&mut self) {
        self.close();
    }
}

/// Whether an endpoint ignoring `ignore` wants `event`.
fn wants(ignore: &config::IgnoreConfig, event: &Event) -> bool {
    !ignore.actions.contains(&event.action)
        && !ignore.methods.contains(&event.request.method)
        && !event
            .target
            .media_type
            .as_ref()
            .is_some_and(|m| ignore.media_types.contains(m))
}

fn request_record(r: &crate::request::RequestInfo) -> RequestRecord {
    RequestRecord {
        id: r.id.clone(),
        addr: r.addr.map(|a| a.to_string()).unwrap_or_default(),
        host: r.host.clone(),
        method: r.method.clone(),
        useragent: r.user_agent.clone(),
    }
}

/// Now as RFC 3339 UTC with nanoseconds.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    fn config(url: String, queue_size: usize, max_attempts: Option<u32>) -> NotificationsConfig {
        NotificationsConfig {
            endpoints: vec![EndpointConfig {
                name: "e".into(),
                url,
                secret: None,
                headers: Default::default(),
                disabled: false,
                timeout_ms: Some(20_000),
                backoff_initial_ms: Some(10),
                backoff_max_ms: Some(20),
                max_attempts,
                max_age_secs: None,
                queue_size: Some(queue_size),
                ignore: IgnoreConfig::default(),
            }],
        }
    }

    fn push(events: &Events, n: u8) {
        let name: RepositoryName = "app".parse().unwrap();
        for i in 0..n {
            events.blob(Action::Push, &name, &Digest::of(&[i]), 1, None);
        }
    }

    fn wait(events: &Events, done: impl Fn(&EndpointStats) -> bool) -> EndpointStats {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stats = events.stats().remove(0);
            if done(&stats) || Instant::now() > deadline {
                return stats;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_full_queue_drops_its_oldest_events_and_counts_them() {
        // Never accepts: the first delivery hangs, the rest wait in a queue of 2.
        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", dead.local_addr().unwrap());
        let events = Events::start(&config(url, 2, None), "h:1".into()).unwrap();
        push(&events, 6);
        let stats = events.stats().remove(0);
        // One in flight (or about to be taken), at most two waiting, the rest dropped.
        assert!(stats.dropped >= 3 && stats.queued <= 2, "{stats:?}");
        assert!(stats.dropped + stats.queued >= 5, "{stats:?}");
        assert_eq!(stats.delivered, 0);
    }

    #[test]
    fn an_event_is_given_up_after_max_attempts() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let events = Events::start(&config(url, 10, Some(3)), "h:1".into()).unwrap();
        push(&events, 2);
        let stats = wait(&events, |s| s.failed == 2);
        assert_eq!(
            (stats.failed, stats.retries, stats.delivered),
            (2, 6, 0),
            "{stats:?}"
        );
    }

    #[test]
    fn no_endpoints_is_a_no_op() {
        let events = Events::default();
        push(&events, 3);
        assert!(events.stats().is_empty());
    }
}
