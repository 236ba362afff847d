//! `[[notifications.endpoints]]`: where events go, how they are signed, retried and
//! filtered. Read as written (every field but `name` and `url` optional), then checked
//! once at start ([`EndpointConfig::settings`]): a bad endpoint stops the server with an
//! error naming it, never a silently dead webhook.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use thiserror::Error;

use super::envelope::Action;

/// Default time one delivery attempt may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default wait before the first retry (doubled after each failure).
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Default longest wait between retries.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Default age after which an undelivered event is given up.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Default number of events an endpoint's queue holds.
pub const DEFAULT_QUEUE_SIZE: usize = 1000;

/// The methods a request causing an event can have.
const METHODS: &[&str] = &["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];

/// Headers strata sets itself, which an endpoint's `headers` may not replace.
const RESERVED_HEADERS: &[&str] = &["content-type", "content-length", "host", "user-agent"];

/// A value never shown in logs or `Debug` output (a signing secret, a header value).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for signing or sending.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `[notifications]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// The webhook endpoints, each with its own queue and sender.
    #[serde(default)]
    pub endpoints: Vec<EndpointConfig>,
}

/// Events an endpoint does not want.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IgnoreConfig {
    /// Actions not sent (`push`, `pull`, `mount`, `delete`).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Target media types not sent (`application/octet-stream`: every blob event).
    #[serde(default)]
    pub media_types: Vec<String>,
    /// Request methods whose events are not sent (`HEAD`: existence checks).
    #[serde(default)]
    pub methods: Vec<String>,
}

/// One `[[notifications.endpoints]]` entry, as written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// A name for logs and errors, unique among endpoints.
    pub name: String,
    /// Where events are POSTed (`http://` or `https://`).
    pub url: String,
    /// The HMAC-SHA256 key of `X-Strata-Signature-256`; unsigned without one.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Extra headers on every delivery (`Authorization`, …).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Keeps the entry but sends nothing.
    #[serde(default)]
    pub disabled: bool,
    /// Milliseconds one attempt may take, connecting included (default 5000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Milliseconds before the first retry, doubled each time (default 1000).
    #[serde(default)]
    pub backoff_initial_ms: Option<u64>,
    /// The longest wait between retries in milliseconds (default 60000).
    #[serde(default)]
    pub backoff_max_ms: Option<u64>,
    /// Attempts per event before it is given up (default: no limit but `max_age_secs`).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Seconds after which an undelivered event is given up (default 3600).
    #[serde(default)]
    pub max_age_secs: Option<u64>,
    /// Events held for this endpoint; when full the oldest is dropped (default 1000).
    #[serde(default)]
    pub queue_size: Option<usize>,
    #[serde(default)]
    pub ignore: IgnoreConfig,
}

/// Why an endpoint's configuration cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("notifications endpoint {index}: the name is empty")]
    EmptyName { index: usize },
    #[error("notifications endpoint {name:?} is configured twice")]
    Duplicate { name: String },
    #[error("notifications endpoint {name:?}: url {reason}")]
    Url { name: String, reason: String },
    #[error("notifications endpoint {name:?}: {field} must be more than 0")]
    Zero { name: String, field: &'static str },
    #[error("notifications endpoint {name:?}: backoff_initial_ms is above backoff_max_ms")]
    Backoff { name: String },
    #[error("notifications endpoint {name:?}: ignore.methods: {method:?} is not one of GET, HEAD, PUT, POST, PATCH, DELETE")]
    Method { name: String, method: String },
    #[error("notifications endpoint {name:?}: header {header:?} {reason}")]
    Header {
        name: String,
        header: String,
        reason: &'static str,
    },
}

/// An endpoint's checked settings, defaults applied.
#[derive(Clone, Debug)]
pub struct EndpointSettings {
    pub name: String,
    pub url: String,
    pub secret: Option<Secret>,
    pub headers: Vec<(String, Secret)>,
    pub timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub max_attempts: Option<u32>,
    pub max_age: Duration,
    pub queue_size: usize,
    pub ignore: IgnoreConfig,
}

impl NotificationsConfig {
    /// The enabled endpoints' settings; the first bad entry is the error.
    pub fn settings(&self) -> Result<Vec<EndpointSettings>, EndpointError> {
        let mut names = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            if endpoint.name.trim().is_empty() {
                return Err(EndpointError::EmptyName { index });
            }
            if !names.insert(endpoint.name.as_str()) {
                return Err(EndpointError::Duplicate {
                    name: endpoint.name.clone(),
                });
            }
            let settings = endpoint.settings()?;
            if !endpoint.disabled {
                out.push(settings);
            }
        }
        Ok(out)
    }
}

impl EndpointConfig {
    /// Checks this entry and applies the defaults.
    pub fn settings(&self) -> Result<EndpointSettings, EndpointError> {
        self.check_url()?;
        let ms = |v: Option<u64>, default: Duration, field| match v {
            Some(0) => Err(self.zero(field)),
            Some(ms) => Ok(Duration::from_millis(ms)),
            None => Ok(default),
        };
        let timeout = ms(self.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?;
        let backoff_initial = ms(
            self.backoff_initial_ms,
            DEFAULT_BACKOFF_INITIAL,
            "backoff_initial_ms",
        )?;
        let backoff_max = ms(self.backoff_max_ms, DEFAULT_BACKOFF_MAX, "backoff_max_ms")?;
        if backoff_initial > backoff_max {
            return Err(EndpointError::Backoff {
                name: self.name.clone(),
            });
        }
        if self.max_attempts == Some(0) {
            return Err(self.zero("max_attempts"));
        }
        let max_age = match self.max_age_secs {
            Some(0) => return Err(self.zero("max_age_secs")),
            Some(s) => Duration::from_secs(s),
            None => DEFAULT_MAX_AGE,
        };
        let queue_size = match self.queue_size {
            Some(0) => return Err(self.zero("queue_size")),
            Some(n) => n,
            None => DEFAULT_QUEUE_SIZE,
        };
        if let Some(method) = self
            .ignore
            .methods
            .iter()
            .find(|m| !METHODS.contains(&m.as_str()))
        {
            return Err(EndpointError::Method {
                name: self.name.clone(),
                method: method.clone(),
            });
        }
        Ok(EndpointSettings {
            name: self.name.clone(),
            url: self.url.clone(),
            secret: self.secret.clone(),
            headers: self.checked_headers()?,
            timeout,
            backoff_initial,
            backoff_max,
            max_attempts: self.max_attempts,
            max_age,
            queue_size,
            ignore: self.ignore.clone(),
        })
    }

    fn zero(&self, field: &'static str) -> EndpointError {
        EndpointError::Zero {
            name: self.name.clone(),
            field,
        }
    }

    /// `http(s)://host…`; the URL itself is never echoed (it may hold a token).
    fn check_url(&self) -> Result<(), EndpointError> {
        let bad = |reason: &str| EndpointError::Url {
            name: self.name.clone(),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(&self.url).map_err(|e| bad(&format!("does not parse: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(&format!(
                "must be http:// or https://, not {}://",
                url.scheme()
            )));
        }
        match url.host_str() {
            Some(host) if !host.is_empty() => {}
            _ => return Err(bad("has no host")),
        }
        Ok(())
    }

    fn checked_headers(&self) -> Result<Vec<(String, Secret)>, EndpointError> {
        let bad = |header: &str, reason| EndpointError::Header {
            name: self.name.clone(),
            header: header.to_owned(),
            reason,
        };
        let mut out = Vec::new();
        for (header, value) in &self.headers {
            let parsed = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| bad(header, "is not a valid header name"))?;
            if RESERVED_HEADERS.contains(&parsed.as_str())
                || parsed.as_str().starts_with("x-strata-")
            {
                return Err(bad(header, "is set by strata and cannot be configured"));
            }
            HeaderValue::from_str(value.expose())
                .map_err(|_| bad(header, "has a value that is not a valid header value"))?;
            out.push((header.clone(), value.clone()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> EndpointConfig {
        EndpointConfig {
            name: "ci".into(),
            url: url.into(),
            secret: Some("s3cr3t".into()),
            headers: BTreeMap::new(),
            disabled: false,
            timeout_ms: None,
            backoff_initial_ms: None,
            backoff_max_ms: None,
            max_attempts: None,
            max_age_secs: None,
            queue_size: None,
            ignore: IgnoreConfig::default(),
        }
    }

    #[test]
    fn defaults_apply() {
        let s = endpoint("https://hooks.example/r").settings().unwrap();
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.backoff_initial, DEFAULT_BACKOFF_INITIAL);
        assert_eq!(s.backoff_max, DEFAULT_BACKOFF_MAX);
        assert_eq!(s.max_age, DEFAULT_MAX_AGE);
        assert_eq!(s.queue_size, DEFAULT_QUEUE_SIZE);
        assert_eq!(s.max_attempts, None);
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_are_not_echoed() {
        for url in ["ftp://x/y", "file:///tmp/x", "not a url", "http://"] {
            let err = endpoint(url).settings().unwrap_err();
            assert!(matches!(err, EndpointError::Url { .. }), "{url}: {err}");
        }
        let err = endpoint("gopher://u:token123@x/")
            .settings()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("token123"), "{err}");
        assert!(endpoint("http://127.0.0.1:9/hook").settings().is_ok());
    }

    #[test]
    fn zero_values_bad_backoff_and_reserved_headers_are_refused() {
        let mut e = endpoint("http://x/");
        e.queue_size = Some(0);
        assert!(matches!(
            e.settings(),
            Err(EndpointError::Zero {
                field: "queue_size",
                ..
            })
        ));
        let mut e = endpoint("http://x/");
        e.backoff_initial_ms = Some(5000);
        e.backoff_max_ms = Some(10);
        assert!(matches!(e.settings(), Err(EndpointError::Backoff { .. })));
        let mut e = endpoint("http://x/");
        e.headers
            .insert("X-Strata-Signature-256".into(), "x".into());
        assert!(matches!(e.settings(), Err(EndpointError::Header { .. })));
        let mut e = endpoint("http://x/");
        e.headers
            .insert("Authorization".into(), "Bearer t\n".into());
        assert!(matches!(e.settings(), Err(EndpointError::Header { .. })));
        let mut e = endpoint("http://x/");
        e.ignore.methods = vec!["head".into()];
        assert!(matches!(e.settings(), Err(EndpointError::Method { .. })));
        e.ignore.methods = vec!["HEAD".into()];
        assert!(e.settings().is_ok());
    }

    #[test]
    fn names_are_unique_and_disabled_endpoints_send_nothing() {
        let mut twice = NotificationsConfig {
            endpoints: vec![endpoint("http://a/"), endpoint("http://b/")],
        };
        assert!(matches!(
            twice.settings(),
            Err(EndpointError::Duplicate { .. })
        ));
        twice.endpoints[1].name = "other".into();
        twice.endpoints[1].disabled = true;
        let settings = twice.settings().unwrap();
        assert_eq!(settings.len(), 1);
        assert_eq!(settings[0].name, "ci");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut e = endpoint("http://x/");
        e.headers
            .insert("Authorization".into(), "Bearer hdr-token".into());
        let shown = format!("{e:?} {:?}", e.settings().unwrap());
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hdr-token"),
            "{shown}"
        );
    }
}
