//! Build timestamps: now, or `SOURCE_DATE_EPOCH` for reproducible output.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The clock of one build.
#[derive(Debug, Clone, Copy)]
pub struct BuildClock {
    epoch: Option<i64>,
}

impl BuildClock {
    pub fn new(epoch: Option<i64>) -> BuildClock {
        BuildClock { epoch }
    }

    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    /// Unix seconds now, or the epoch.
    pub fn now_secs(&self) -> i64 {
        self.epoch
            .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp())
    }

    /// RFC 3339 now (nanosecond precision, UTC), or the epoch.
    pub fn now_rfc3339(&self) -> String {
        let t = match self.epoch {
            Some(e) => OffsetDateTime::from_unix_timestamp(e).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            None => OffsetDateTime::now_utc(),
        };
        t.format(&Rfc3339).expect("UTC times format as RFC 3339")
    }

    /// A recorded time, clamped to the epoch when one is set.
    pub fn clamp(&self, recorded: &str) -> String {
        match self.epoch {
            Some(_) => self.now_rfc3339(),
            None => recorded.to_owned(),
        }
    }
}
