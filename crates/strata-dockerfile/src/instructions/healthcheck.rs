//! HEALTHCHECK and Go duration strings (`30s`, `1m30s`, `1.5h`).

use super::flags::{FlagType, Flags};
use super::{err_at_least_one, Healthcheck, IResult, Instruction, Req};
use std::time::Duration;

pub(super) const FLAGS: &[(&str, FlagType)] = &[
    ("interval", FlagType::Str),
    ("timeout", FlagType::Str),
    ("start-period", FlagType::Str),
    ("start-interval", FlagType::Str),
    ("retries", FlagType::Str),
];

pub(super) fn parse_healthcheck(req: &Req) -> IResult<Instruction> {
    let Some(first) = req.args.first() else {
        return Err(err_at_least_one("HEALTHCHECK"));
    };
    let typ = first.to_uppercase();
    let args = &req.args[1..];
    if typ == "NONE" {
        if !args.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        // BuildKit never reads flags given with NONE (parse.go parseHealthcheck), so they
        // would be accepted and ignored: strata refuses them instead.
        if let Some(flag) = req.node.flags.first() {
            return Err(format!("HEALTHCHECK NONE takes no flags, got {flag}").into());
        }
        return Ok(Instruction::Healthcheck(Healthcheck {
            test: vec![typ],
            ..Healthcheck::default()
        }));
    }
    let flags = Flags::parse(&req.node.flags, FLAGS)?;
    if typ != "CMD" {
        return Err(format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)").into());
    }
    let cmd = if req.node.json || args.is_empty() {
        args.to_vec()
    } else {
        vec![args.join(" ")]
    };
    if cmd.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let kind = if req.node.json { "CMD" } else { "CMD-SHELL" };
    let mut test = vec![kind.to_string()];
    test.extend(cmd);
    Ok(Instruction::Healthcheck(Healthcheck {
        test,
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries: retries(&flags)?,
    }))
}

fn interval(flags: &Flags, name: &str) -> IResult<Option<Duration>> {
    let Some(value) = flags.string(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match parse_go_duration(&value) {
        Some((false, d)) if d.is_zero() || d >= Duration::from_millis(1) => Ok(Some(d)),
        Some(_) => Err(format!("Interval {name:?} cannot be less than 1ms").into()),
        None => Err(format!("time: invalid duration {value:?}").into()),
    }
}

fn retries(flags: &Flags) -> IResult<Option<u32>> {
    let Some(value) = flags.string("retries").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n: i64 = value
        .parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {value:?}: invalid syntax"))?;
    if n < 0 {
        return Err(format!("--retries cannot be negative ({n})").into());
    }
    u32::try_from(n)
        .map(Some)
        .map_err(|_| format!("strconv.ParseInt: parsing {value:?}: value out of range").into())
}

/// Go's `time.ParseDuration`: returns `(negative, magnitude)`.
pub fn parse_go_duration(s: &str) -> Option<(bool, Duration)> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some((neg, Duration::ZERO));
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number = &rest[..num_len];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos;
        rest = &rest[unit_len..];
    }
    Some((neg, Duration::from_nanos(total.round() as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let d = |s| parse_go_duration(s).map(|(_, d)| d);
        assert_eq!(d("30s"), Some(Duration::from_secs(30)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(
            parse_go_duration("-1s"),
            Some((true, Duration::from_secs(1)))
        );
        assert_eq!(d("10"), None);
        assert_eq!(d("1x"), None);
        assert_eq!(d(""), None);
    }
}
