//! Header names the protocol uses (lowercase, as HTTP/2 sends them and as `http::HeaderName`
//! accepts them; HTTP/1 header names are case-insensitive) and the `Link` header's `next`
//! relation for pagination.

use thiserror::Error;

pub const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
pub const DOCKER_UPLOAD_UUID: &str = "docker-upload-uuid";
pub const DOCKER_DISTRIBUTION_API_VERSION: &str = "docker-distribution-api-version";
/// The value of [`DOCKER_DISTRIBUTION_API_VERSION`] on every response.
pub const API_VERSION: &str = "registry/2.0";
pub const OCI_SUBJECT: &str = "oci-subject";
pub const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";
/// Minimum chunk size a registry accepts for chunked uploads (spec v1.1.1).
pub const OCI_CHUNK_MIN_LENGTH: &str = "oci-chunk-min-length";
pub const LOCATION: &str = "location";
pub const RANGE: &str = "range";
pub const CONTENT_RANGE: &str = "content-range";
pub const CONTENT_TYPE: &str = "content-type";
pub const CONTENT_LENGTH: &str = "content-length";
pub const ACCEPT: &str = "accept";
pub const LINK: &str = "link";
pub const WWW_AUTHENTICATE: &str = "www-authenticate";
pub const AUTHORIZATION: &str = "authorization";
pub const RETRY_AFTER: &str = "retry-after";

/// Why a `Link` header does not parse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("malformed Link header {header:?}: {reason}")]
    Malformed {
        header: String,
        reason: &'static str,
    },
}

/// `<url>; rel="next"`, as a registry sends it after a page of tags or repositories.
pub fn next_link(url: &str) -> String {
    format!("<{url}>; rel=\"next\"")
}

/// The URL of the `rel="next"` link in a `Link` header (RFC 8288), if there is one. The URL is
/// returned as sent (often a path: resolve it against the request's URL).
pub fn parse_next_link(header: &str) -> Result<Option<String>, LinkError> {
    let err = |reason| LinkError::Malformed {
        header: header.to_owned(),
        reason,
    };
    let mut rest = header.trim();
    while !rest.is_empty() {
        let after = rest.strip_prefix('<').ok_or(err("expected '<'"))?;
        let (url, after) = after.split_once('>').ok_or(err("unterminated '<'"))?;
        // Parameters run to the next comma outside quotes.
        let mut end = after.len();
        let mut quoted = false;
        for (i, c) in after.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        if quoted {
            return Err(err("unterminated quote"));
        }
        let is_next = after[..end].split(';').skip(1).any(|param| {
            let Some((k, v)) = param.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if !after[..end].trim().is_empty() && !after[..end].trim_start().starts_with(';') {
            return Err(err("expected ';' after '>'"));
        }
        if is_next {
            return Ok(Some(url.to_owned()));
        }
        rest = after[end..].trim_start_matches(',').trim_start();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"</v2/a/tags/list?n=2&last=v2>; rel="next""#,
                Some("/v2/a/tags/list?n=2&last=v2"),
            ),
            (
                "<http://h/v2/_catalog?last=b&n=1>;rel=next",
                Some("http://h/v2/_catalog?last=b&n=1"),
            ),
            (
                r#"<a>; rel="prev", <b>; title="x, y"; REL="next""#,
                Some("b"),
            ),
            (r#"<a>; rel="prev next""#, Some("a")),
            (r#"<a>; rel="prev""#, None),
            ("", None),
            ("<a>", None),
        ];
        for (header, want) in cases {
            assert_eq!(
                parse_next_link(header).unwrap().as_deref(),
                *want,
                "{header}"
            );
        }
        let url = "/v2/a/tags/list?n=2&last=v2";
        assert_eq!(
            parse_next_link(&next_link(url)).unwrap().as_deref(),
            Some(url)
        );
    }

    #[test]
    fn malformed_links() {
        for header in [
            "a; rel=next",
            "<a; rel=next",
            r#"<a>; rel="next"#,
            "<a> rel=next",
            "<a>; rel=prev, junk",
        ] {
            assert!(
                matches!(parse_next_link(header), Err(LinkError::Malformed { .. })),
                "{header}"
            );
        }
    }
}
