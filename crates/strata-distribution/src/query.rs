//! Query strings: `k=v&k=v` pairs, percent-encoded per RFC 3986.
//!
//! `+` is kept literal when decoding (RFC 3986, not HTML forms): media types such as
//! `application/vnd.example+json` arrive unencoded from some clients. Encoding escapes
//! everything outside the unreserved set, so `+` is sent as `%2B` and Go servers (which
//! decode `+` as a space) read it right.

use thiserror::Error;

/// Why a query string could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("bad percent-escape in query parameter {param:?} at byte {offset}")]
    BadEscape { param: String, offset: usize },
    #[error("query parameter {param:?} is not UTF-8 after decoding")]
    NotUtf8 { param: String },
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes everything outside RFC 3986's unreserved set.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (`+` stays `+`); `param` names the field for errors.
pub fn decode(value: &str, param: &str) -> Result<String, QueryError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(b) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                    out.push(b);
                    i += 3;
                }
                _ => {
                    return Err(QueryError::BadEscape {
                        param: param.to_owned(),
                        offset: i,
                    })
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| QueryError::NotUtf8 {
        param: param.to_owned(),
    })
}

/// Splits and decodes a query string (without the `?`) into pairs, in order.
/// Empty segments (`a=1&&b=2`) are skipped; a key without `=` has an empty value.
pub fn parse(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key = decode(k, k)?;
        let value = decode(v, &key)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Renders pairs as `k=v&k=v`, both sides encoded.
pub fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for value in [
            "",
            "plain",
            "application/vnd.example+json",
            "a b&c=d",
            "repository:a/b:pull,push",
            "ünï",
        ] {
            assert_eq!(decode(&encode(value), "x").unwrap(), value, "{value}");
        }
        assert_eq!(encode("a+b/c"), "a%2Bb%2Fc");
    }

    #[test]
    fn decode_keeps_plus_and_rejects_bad_escapes() {
        assert_eq!(decode("a+b", "p").unwrap(), "a+b");
        assert_eq!(decode("%41%2f", "p").unwrap(), "A/");
        for bad in ["%", "%4", "%zz", "a%+1", "%-1"] {
            assert!(
                matches!(decode(bad, "p"), Err(QueryError::BadEscape { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            decode("%ff", "p"),
            Err(QueryError::NotUtf8 { param: "p".into() })
        );
    }

    #[test]
    fn parse_pairs() {
        let pairs = parse("n=10&&last=v1&flag&scope=a%3Ab").unwrap();
        let want = [("n", "10"), ("last", "v1"), ("flag", ""), ("scope", "a:b")];
        let got: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(got, want);
        assert_eq!(render([("a", "x y"), ("b", "1")]), "a=x%20y&b=1");
    }
}
