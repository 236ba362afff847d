//! Byte ranges of uploads and blob reads.
//!
//! Uploads (the spec's chunked push) use bare inclusive ranges: a PATCH carries
//! `Content-Range: <start>-<end>` and the registry answers `Range: 0-<end>` with what it has.
//! Blob GETs use RFC 9110: `Range: bytes=<start>-[<end>]` (or `bytes=-<suffix>`) and
//! `Content-Range: bytes <start>-<end>/<total>` (or `bytes */<total>` with a 416).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a range header does not parse or cannot be served.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("malformed range {value:?}: {reason}")]
    Malformed { value: String, reason: &'static str },
    #[error("range {value:?} cannot be satisfied for {size} bytes")]
    Unsatisfiable { value: String, size: u64 },
}

fn malformed(value: &str, reason: &'static str) -> RangeError {
    RangeError::Malformed {
        value: value.to_owned(),
        reason,
    }
}

fn number(s: &str, value: &str) -> Result<u64, RangeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(value, "expected decimal digits"));
    }
    s.parse().map_err(|_| malformed(value, "number too large"))
}

/// An inclusive byte range `start-end` (`0-1023` is the first KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// The range of `len` bytes at `start` (`None` for an empty one: ranges are inclusive).
    pub fn at(start: u64, len: u64) -> Option<ByteRange> {
        let end = start.checked_add(len)?.checked_sub(1)?;
        (len > 0).then_some(ByteRange { start, end })
    }

    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// What a registry sends as `Range` for an upload holding `size` bytes. As distribution
    /// does, an empty upload is `0-0` too: a client resumes at the offset it knows.
    pub fn uploaded(size: u64) -> ByteRange {
        ByteRange {
            start: 0,
            end: size.saturating_sub(1),
        }
    }

    /// The offset of the next byte after the range.
    pub fn next_offset(&self) -> u64 {
        self.end + 1
    }
}

impl FromStr for ByteRange {
    type Err = RangeError;

    /// `start-end` (a `bytes=` prefix, which some clients send on PATCH, is accepted).
    fn from_str(value: &str) -> Result<Self, RangeError> {
        let s = value.trim();
        let s = s.strip_prefix("bytes=").unwrap_or(s);
        let (start, end) = s
            .split_once('-')
            .ok_or(malformed(value, "expected START-END"))?;
        let (start, end) = (number(start, value)?, number(end, value)?);
        if end < start || end == u64::MAX {
            return Err(malformed(value, "end before start"));
        }
        Ok(ByteRange { start, end })
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// A blob GET's `Range: bytes=…` (one range; several are not supported by registries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeRequest {
    /// `bytes=start-` or `bytes=start-end`.
    From { start: u64, end: Option<u64> },
    /// `bytes=-n`: the last `n` bytes.
    Suffix { len: u64 },
}

impl RangeRequest {
    /// The bytes to serve from a blob of `size` bytes (an end past the blob is clamped).
    pub fn resolve(&self, size: u64) -> Result<ByteRange, RangeError> {
        let unsatisfiable = || RangeError::Unsatisfiable {
            value: self.to_string(),
            size,
        };
        match *self {
            RangeRequest::From { start, end } => {
                if start >= size {
                    return Err(unsatisfiable());
                }
                let end = end.map_or(size - 1, |e| e.min(size - 1));
                Ok(ByteRange { start, end })
            }
            RangeRequest::Suffix { len } => {
                let len = len.min(size);
                ByteRange::at(size - len, len).ok_or_else(unsatisfiable)
            }
        }
    }
}

impl FromStr for RangeRequest {
    type Err = RangeError;

    fn from_str(value: &str) -> Result<Self, RangeError> {
        let spec = value
            .trim()
            .strip_prefix("bytes=")
            .ok_or(malformed(value, "expected bytes="))?;
        if spec.contains(',') {
            return Err(malformed(value, "several ranges are not supported"));
        }
        let (start, end) = spec
            .split_once('-')
            .ok_or(malformed(value, "expected '-'"))?;
        let (start, end) = (start.trim(), end.trim());
        if start.is_empty() {
            return Ok(RangeRequest::Suffix {
                len: number(end, value)?,
            });
        }
        let start = number(start, value)?;
        let end = match end {
            "" => None,
            e => Some(number(e, value)?),
        };
        if end.is_some_and(|e| e < start) {
            return Err(malformed(value, "end before start"));
        }
        Ok(RangeRequest::From { start, end })
    }
}

impl fmt::Display for RangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeRequest::From { start, end: None } => write!(f, "bytes={start}-"),
            RangeRequest::From {
                start,
                end: Some(end),
            } => write!(f, "bytes={start}-{end}"),
            RangeRequest::Suffix { len } => write!(f, "bytes=-{len}"),
        }
    }
}

/// A blob response's `Content-Range: bytes start-end/total` (`range: None` is the 416 form
/// `bytes */total`; `total: None` is `/*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentRange {
    pub range: Option<ByteRange>,
    pub total: Option<u64>,
}

impl FromStr for ContentRange {
    type Err = RangeError;

    fn from_str(value: &str) -> Result<Self, RangeError> {
        let spec = value
            .trim()
            .strip_prefix("bytes ")
            .ok_or(malformed(value, "expected 'bytes '"))?;
        let (range, total) = spec
            .split_once('/')
            .ok_or(malformed(value, "expected '/'"))?;
        let total = match total {
            "*" => None,
            t => Some(number(t, value)?),
        };
        let range = match range {
            "*" => None,
            r => Some(
                r.parse::<ByteRange>()
                    .map_err(|_| malformed(value, "bad range"))?,
            ),
        };
        if range.is_none() && total.is_none() {
            return Err(malformed(value, "neither range nor length"));
        }
        if let (Some(r), Some(t)) = (range, total) {
            if r.end >= t {
                return Err(malformed(value, "range ends past the length"));
            }
        }
        Ok(ContentRange { range, total })
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes ")?;
        match self.range {
            Some(r) => write!(f, "{r}/")?,
            None => f.write_str("*/")?,
        }
        match self.total {
            Some(t) => write!(f, "{t}"),
            None => f.write_str("*"),
        }
    }
}

#[cfg(test)]
mod tests;
