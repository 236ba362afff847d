//! Sizes as people write them in a policy: `12345` (bytes), `500MB`/`1.5GB` (SI, powers of
//! 1000), `1GiB`/`512MiB` (IEC, powers of 1024), and docker's `--memory` letters `512m`,
//! `2g` (powers of 1024, as `docker run --memory`). Units are case-insensitive.

use serde::Deserializer;

/// A size that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {value:?}: {reason}")]
pub struct SizeError {
    pub value: String,
    pub reason: String,
}

/// Bytes in `text` (see the module's doc for the units).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let err = |reason: &str| SizeError {
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let multiplier = unit_bytes(unit.trim_start()).ok_or_else(|| {
        err("unknown unit; use B, kB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB or k/m/g/t (powers of 1024)")
    })?;
    let bytes = match number.split_once('.') {
        None => {
            let n: u128 = number
                .parse()
                .map_err(|_| err("expected a number then a unit, e.g. 500MB or 1GiB"))?;
            n * u128::from(multiplier)
        }
        Some((int, frac)) => {
            let ok = !int.is_empty() && !frac.is_empty() && !frac.contains('.');
            let n: f64 = number
                .parse()
                .ok()
                .filter(|_| ok)
                .ok_or_else(|| err("expected a number then a unit, e.g. 1.5GB"))?;
            (n * multiplier as f64).round() as u128
        }
    };
    u64::try_from(bytes).map_err(|_| err("too large"))
}

fn unit_bytes(unit: &str) -> Option<u64> {
    const K: u64 = 1000;
    const KI: u64 = 1024;
    Some(match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => K,
        "mb" => K.pow(2),
        "gb" => K.pow(3),
        "tb" => K.pow(4),
        "k" | "kib" => KI,
        "m" | "mib" => KI.pow(2),
        "g" | "gib" => KI.pow(3),
        "t" | "tib" => KI.pow(4),
        _ => return None,
    })
}

/// A size for messages: `612.3 MB` (SI, as `docker images` shows sizes).
pub(super) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `max-size = "500MB"` or `max-size = 500000000` (bytes), kept as written.
pub(super) fn string_or_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct SizeVisitor;
    impl serde::de::Visitor<'_> for SizeVisitor {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size such as \"500MB\", \"1GiB\" or a number of bytes")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            u64::try_from(v)
                .map(|v| v.to_string())
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(SizeVisitor).map(Some)
}
