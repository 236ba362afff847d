//! HEALTHCHECK with docker's semantics (moby `daemon/health.go`).
//!
//! - The test: `["CMD", args…]` runs args, `["CMD-SHELL", cmd]` runs the image's shell
//!   (`/bin/sh -c`) with cmd, `["NONE"]` (or no healthcheck) disables it ([`HealthTest`]).
//! - Timing ([`HealthSettings`], nanoseconds in the image, 0 = default): a probe every
//!   `interval` (30 s), `start_interval` (5 s) instead while the status is `starting` within
//!   `start_period` (0); a probe running past `timeout` (30 s) fails with exit code -1.
//! - Status ([`Health`], docker's `.State.Health`): `starting` until the first success;
//!   exit 0 → `healthy` and the failing streak resets; any other result increments the
//!   streak — except while `starting` within the start period — and at `retries` (3) the
//!   status becomes `unhealthy`. The last 5 results are kept, output cut to 4096 bytes.
//!
//! [`Monitor`] is the pure state machine; [`Monitor::run`] loops it with a probe (the
//! monitor's `runc exec`, [`crate::exec::exec_captured`]) and a callback that writes the
//! state file.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use strata_oci::config::HealthConfig;

pub use crate::state::{Health, HealthLogEntry, HealthStatus};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u32 = 3;
/// How many results `.State.Health.Log` keeps.
pub const MAX_LOG_ENTRIES: usize = 5;
/// How much of a probe's output is kept.
pub const MAX_OUTPUT_LEN: usize = 4096;

/// What a healthcheck runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthTest {
    /// `CMD`: the arguments as they are.
    Cmd(Vec<String>),
    /// `CMD-SHELL`: the command for the shell.
    Shell(String),
}

impl HealthTest {
    /// The test of an image's `Healthcheck.Test`: `None` when there is none or it is `NONE`.
    pub fn from_image(test: &[String]) -> Result<Option<HealthTest>, String> {
        match test.split_first() {
            None => Ok(None),
            Some((kind, _)) if kind == "NONE" => Ok(None),
            Some((kind, args)) if kind == "CMD" && !args.is_empty() => {
                Ok(Some(HealthTest::Cmd(args.to_vec())))
            }
            Some((kind, [cmd])) if kind == "CMD-SHELL" => Ok(Some(HealthTest::Shell(cmd.clone()))),
            _ => Err(format!(
                "unsupported healthcheck test {test:?} (CMD args…, CMD-SHELL command or NONE)"
            )),
        }
    }

    /// The argv of the probe; `shell` is the image's `Shell` (docker's `/bin/sh -c` if empty).
    pub fn argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            HealthTest::Cmd(args) => args.clone(),
            HealthTest::Shell(cmd) => {
                let mut argv = if shell.is_empty() {
                    vec!["/bin/sh".to_string(), "-c".to_string()]
                } else {
                    shell.to_vec()
                };
                argv.push(cmd.clone());
                argv
            }
        }
    }
}

/// The healthcheck of a container, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSettings {
    pub test: HealthTest,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

impl HealthSettings {
    /// The settings of a container's healthcheck (as `strata run` recorded it).
    pub fn from_config(check: &crate::spec::HealthCheck) -> Result<Option<HealthSettings>, String> {
        HealthSettings::from_image(&HealthConfig {
            test: check.test.clone(),
            interval: check.interval,
            timeout: check.timeout,
            start_period: check.start_period,
            start_interval: check.start_interval,
            retries: u64::from(check.retries),
        })
    }

    /// The settings of an image's `Healthcheck`; `None` when it has no test or `NONE`.
    pub fn from_image(config: &HealthConfig) -> Result<Option<HealthSettings>, String> {
        let Some(test) = HealthTest::from_image(&config.test)? else {
            return Ok(None);
        };
        let or = |ns: u64, default: Duration| {
            if ns == 0 {
                default
            } else {
                Duration::from_nanos(ns)
            }
        };
        Ok(Some(HealthSettings {
            test,
            interval: or(config.interval, DEFAULT_INTERVAL),
            timeout: or(config.timeout, DEFAULT_TIMEOUT),
            start_period: or(config.start_period, Duration::ZERO),
            start_interval: or(config.start_interval, DEFAULT_START_INTERVAL),
            retries: match u32::try_from(config.retries) {
                Ok(0) => DEFAULT_RETRIES,
                Ok(n) => n,
                Err(_) => u32::MAX,
            },
        }))
    }
}

/// What `ps` appends to `Up 3 seconds`: ` (healthy)`, ` (unhealthy)`, ` (health: starting)`.
pub fn ps_suffix(health: &Health) -> String {
    match health.status {
        HealthStatus::Starting => " (health: starting)".to_string(),
        other => format!(" ({})", other.as_str()),
    }
}

/// What one probe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub start: SystemTime,
    pub end: SystemTime,
    pub exit_code: i32,
    pub output: String,
}

impl ProbeResult {
    /// The result of a probe that ran past `timeout` (docker's message).
    pub fn timed_out(start: SystemTime, timeout: Duration) -> ProbeResult {
        ProbeResult {
            start,
            end: SystemTime::now(),
            exit_code: -1,
            output: format!("Health check exceeded timeout ({})", go_duration(timeout)),
        }
    }
}

/// The health state machine of one container.
#[derive(Debug, Clone)]
pub struct Monitor {
    settings: HealthSettings,
    started_at: SystemTime,
    health: Health,
}

impl Monitor {
    /// A monitor for a container started at `started_at`: status `starting`.
    pub fn new(settings: HealthSettings, started_at: SystemTime) -> Monitor {
        Monitor {
            settings,
            started_at,
            health: Health {
                status: HealthStatus::Starting,
                failing_streak: 0,
                log: Vec::new(),
            },
        }
    }

    pub fn settings(&self) -> &HealthSettings {
        &self.settings
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The wait before the next probe at `now`.
    pub fn next_interval(&self, now: SystemTime) -> Duration {
        let age = now.duration_since(self.started_at).unwrap_or_default();
        if age < self.settings.start_period && self.health.status == HealthStatus::Starting {
            self.settings.start_interval
        } else {
            self.settings.interval
        }
    }

    /// Records a probe's result.
    pub fn record(&mut self, result: ProbeResult) {
        let h = &mut self.health;
        if h.log.len() >= MAX_LOG_ENTRIES {
            h.log.drain(..=h.log.len() - MAX_LOG_ENTRIES);
        }
        h.log.push(HealthLogEntry {
            start: rfc3339(result.start),
            end: rfc3339(result.end),
            exit_code: result.exit_code,
            output: truncate(&result.output),
        });
        if result.exit_code == 0 {
            h.failing_streak = 0;
            h.status = HealthStatus::Healthy;
            return;
        }
        let in_start_period = result
            .start
            .duration_since(self.started_at)
            .unwrap_or_default()
            < self.settings.start_period;
        if h.status == HealthStatus::Starting && in_start_period {
            return;
        }
        h.failing_streak += 1;
        if h.failing_streak >= self.settings.retries {
            h.status = HealthStatus::Unhealthy;
        }
    }

    /// Probes on the schedule until `stop` receives (or its sender is dropped), publishing
    /// the health after each probe. `probe` gets the test and the timeout.
    pub fn run(
        mut self,
        stop: &Receiver<()>,
        mut probe: impl FnMut(&HealthTest, Duration) -> ProbeResult,
        mut publish: impl FnMut(&Health),
    ) {
        publish(&self.health);
        loop {
            match stop.recv_timeout(self.next_interval(SystemTime::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let result = probe(&self.settings.test, self.settings.timeout);
            self.record(result);
            publish(&self.health);
        }
    }
}

fn truncate(output: &str) -> String {
    if output.len() <= MAX_OUTPUT_LEN {
        return output.to_string();
    }
    let mut end = MAX_OUTPUT_LEN;
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    output[..end].to_string()
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A duration as Go prints one (`30s`, `1.5s`, `500ms`), for docker's messages.
fn go_duration(d: Duration) -> String {
    if d.as_secs() > 0 || d.is_zero() {
        let s = format!("{:.9}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(retries: u32, start_period: u64) -> HealthSettings {
        HealthSettings::from_image(&HealthConfig {
            test: vec!["CMD".into(), "true".into()],
            interval: 1_000_000_000,
            retries: u64::from(retries),
            start_period: start_period * 1_000_000_000,
            ..HealthConfig::default()
        })
        .unwrap()
        .unwrap()
    }

    fn at(t0: SystemTime, secs: u64, code: i32) -> ProbeResult {
        let start = t0 + Duration::from_secs(secs);
        ProbeResult {
            start,
            end: start,
            exit_code: code,
            output: format!("probe {secs}"),
        }
    }

    #[test]
    fn tests_parse_like_docker() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(HealthTest::from_image(&[]), Ok(None));
        assert_eq!(HealthTest::from_image(&s(&["NONE"])), Ok(None));
        let cmd = HealthTest::from_image(&s(&["CMD", "curl", "-f", "x"]))
            .unwrap()
            .unwrap();
        assert_eq!(cmd.argv(&[]), s(&["curl", "-f", "x"]));
        let sh = HealthTest::from_image(&s(&["CMD-SHELL", "test -e /ok"]))
            .unwrap()
            .unwrap();
        assert_eq!(sh.argv(&[]), s(&["/bin/sh", "-c", "test -e /ok"]));
        assert_eq!(
            sh.argv(&s(&["/bin/bash", "-ec"])),
            s(&["/bin/bash", "-ec", "test -e /ok"])
        );
        assert!(HealthTest::from_image(&s(&["CMD"])).is_err());
        assert!(HealthTest::from_image(&s(&["WHAT", "x"]))
            .unwrap_err()
            .contains("WHAT"));
    }

    #[test]
    fn defaults_apply_to_zero_fields() {
        let s = HealthSettings::from_image(&HealthConfig {
            test: vec!["CMD-SHELL".into(), "true".into()],
            ..HealthConfig::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(s.interval, Duration::from_secs(30));
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.start_period, Duration::ZERO);
        assert_eq!(s.start_interval, Duration::from_secs(5));
        assert_eq!(s.retries, 3);
    }

    #[test]
    fn success_is_healthy_and_failures_reach_unhealthy_at_retries() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut m = Monitor::new(settings(3, 0), t0);
        assert_eq!(m.health().status, HealthStatus::Starting);
        m.record(at(t0, 1, 0));
        assert_eq!(m.health().status, HealthStatus::Healthy);
        m.record(at(t0, 2, 1));
        m.record(at(t0, 3, 2));
        assert_eq!(
            (m.health().status, m.health().failing_streak),
            (HealthStatus::Healthy, 2)
        );
        m.record(at(t0, 4, -1));
        assert_eq!(
            (m.health().status, m.health().failing_streak),
            (HealthStatus::Unhealthy, 3)
        );
        m.record(at(t0, 5, 0));
        assert_eq!(
            (m.health().status, m.health().failing_streak),
            (HealthStatus::Healthy, 0)
        );
    }

    #[test]
    fn failures_in_the_start_period_do_not_count_while_starting() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut m = Monitor::new(settings(1, 10), t0);
        assert_eq!(
            m.next_interval(t0 + Duration::from_secs(2)),
            Duration::from_secs(5)
        );
        m.record(at(t0, 2, 1));
        assert_eq!(
            (m.health().status, m.health().failing_streak),
            (HealthStatus::Starting, 0)
        );
        m.record(at(t0, 11, 1));
        assert_eq!(m.health().status, HealthStatus::Unhealthy);
        assert_eq!(
            m.next_interval(t0 + Duration::from_secs(12)),
            Duration::from_secs(1)
        );
        // Once healthy, a failure inside the start period counts.
        let mut m = Monitor::new(settings(1, 10), t0);
        m.record(at(t0, 1, 0));
        assert_eq!(
            m.next_interval(t0 + Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        m.record(at(t0, 2, 1));
        assert_eq!(m.health().status, HealthStatus::Unhealthy);
    }

    #[test]
    fn the_log_keeps_the_last_five_with_truncated_output() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut m = Monitor::new(settings(3, 0), t0);
        for i in 0..7 {
            m.record(at(t0, i, 0));
        }
        let outputs: Vec<_> = m.health().log.iter().map(|l| l.output.as_str()).collect();
        assert_eq!(
            outputs,
            ["probe 2", "probe 3", "probe 4", "probe 5", "probe 6"]
        );
        assert_eq!(m.health().log[0].start, "2023-11-14T22:13:22Z");
        let mut big = at(t0, 8, 0);
        big.output = "é".repeat(3000);
        m.record(big);
        assert!(m.health().log[4].output.len() <= MAX_OUTPUT_LEN);
        let json = serde_json::to_value(m.health()).unwrap();
        assert_eq!(json["Status"], "healthy");
        assert_eq!(json["FailingStreak"], 0);
        assert_eq!(json["Log"][0]["ExitCode"], 0);
    }

    #[test]
    fn timeouts_read_like_docker() {
        let r = ProbeResult::timed_out(SystemTime::now(), Duration::from_secs(30));
        assert_eq!(
            (r.exit_code, r.output.as_str()),
            (-1, "Health check exceeded timeout (30s)")
        );
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(m_suffix(), " (health: starting)");
    }

    fn m_suffix() -> String {
        ps_suffix(Monitor::new(settings(3, 0), SystemTime::now()).health())
    }

    #[test]
    fn run_probes_until_stopped_and_publishes_each_result() {
        let mut s = settings(1, 0);
        s.interval = Duration::from_millis(5);
        let m = Monitor::new(s, SystemTime::now());
        let (tx, rx) = std::sync::mpsc::channel();
        let mut published = Vec::new();
        let mut probes = 0;
        m.run(
            &rx,
            |test, _| {
                probes += 1;
                assert_eq!(test, &HealthTest::Cmd(vec!["true".into()]));
                if probes == 3 {
                    tx.send(()).unwrap();
                }
                ProbeResult {
                    start: SystemTime::now(),
                    end: SystemTime::now(),
                    exit_code: i32::from(probes > 1),
                    output: String::new(),
                }
            },
            |h| published.push(h.status),
        );
        assert_eq!(
            published,
            [
                HealthStatus::Starting,
                HealthStatus::Healthy,
                HealthStatus::Unhealthy,
                HealthStatus::Unhealthy
            ]
        );
    }
}
