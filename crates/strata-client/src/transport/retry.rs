//! Backoff between attempts, honouring a bounded `Retry-After` (seconds or an HTTP-date).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use strata_distribution::headers::RETRY_AFTER;

/// How often and how patiently to retry connection errors, 429 and 5xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first delay; doubled on each retry.
    pub base_delay: Duration,
    /// The longest delay, also the bound on a registry's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0-based): `Retry-After` when the registry
    /// sent one, else exponential backoff; never more than `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX));
        retry_after.unwrap_or(backoff).min(self.max_delay)
    }
}

/// `Retry-After` in seconds or as an HTTP-date (one that does not parse: backoff applies).
pub(crate) fn retry_after(resp: &ureq::Response) -> Option<Duration> {
    parse_retry_after(resp.header(RETRY_AFTER)?)
}

fn parse_retry_after(value: &str) -> Option<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    strata_distribution::retry_after::parse_retry_after(value, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, None), Duration::from_millis(250));
        assert_eq!(p.delay(2, None), Duration::from_secs(1));
        assert_eq!(p.delay(40, None), Duration::from_secs(10));
    }

    #[test]
    fn retry_after_seconds_win_but_are_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, parse_retry_after("3")), Duration::from_secs(3));
        assert_eq!(
            p.delay(0, parse_retry_after("3600")),
            Duration::from_secs(10)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
