//! The spec's error codes, their HTTP statuses and the JSON error body
//! `{"errors":[{"code":…,"message":…,"detail":…}]}`.
//!
//! Statuses follow CNCF distribution's registrations (the statuses clients see in practice);
//! codes the spec does not list (distribution's `TAG_INVALID`, `PAGINATION_NUMBER_INVALID`,
//! a vendor's own) parse as [`ErrorCode::Other`] so a client never fails on an unfamiliar code.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// An error code of the distribution spec (or another one a registry sent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// A code the spec does not list, kept as sent.
    Other(String),
}

/// The spec's codes with their wire names, HTTP statuses and default messages.
const TABLE: &[(ErrorCode, &str, u16, &str)] = &[
    (
        ErrorCode::BlobUnknown,
        "BLOB_UNKNOWN",
        404,
        "blob unknown to registry",
    ),
    (
        ErrorCode::BlobUploadInvalid,
        "BLOB_UPLOAD_INVALID",
        400,
        "blob upload invalid",
    ),
    (
        ErrorCode::BlobUploadUnknown,
        "BLOB_UPLOAD_UNKNOWN",
        404,
        "blob upload unknown to registry",
    ),
    (
        ErrorCode::DigestInvalid,
        "DIGEST_INVALID",
        400,
        "provided digest did not match uploaded content",
    ),
    (
        ErrorCode::ManifestBlobUnknown,
        "MANIFEST_BLOB_UNKNOWN",
        400,
        "manifest references a manifest or blob unknown to registry",
    ),
    (
        ErrorCode::ManifestInvalid,
        "MANIFEST_INVALID",
        400,
        "manifest invalid",
    ),
    (
        ErrorCode::ManifestUnknown,
        "MANIFEST_UNKNOWN",
        404,
        "manifest unknown to registry",
    ),
    (
        ErrorCode::NameInvalid,
        "NAME_INVALID",
        400,
        "invalid repository name",
    ),
    (
        ErrorCode::NameUnknown,
        "NAME_UNKNOWN",
        404,
        "repository name not known to registry",
    ),
    (
        ErrorCode::SizeInvalid,
        "SIZE_INVALID",
        400,
        "provided length did not match content length",
    ),
    (
        ErrorCode::Unauthorized,
        "UNAUTHORIZED",
        401,
        "authentication required",
    ),
    (
        ErrorCode::Denied,
        "DENIED",
        403,
        "requested access to the resource is denied",
    ),
    (
        ErrorCode::Unsupported,
        "UNSUPPORTED",
        405,
        "the operation is unsupported",
    ),
    (
        ErrorCode::TooManyRequests,
        "TOOMANYREQUESTS",
        429,
        "too many requests",
    ),
];

impl ErrorCode {
    /// Every code the spec lists, in its table's order.
    pub fn all() -> impl Iterator<Item = &'static ErrorCode> {
        TABLE.iter().map(|(c, ..)| c)
    }

    fn entry(&self) -> Option<&'static (ErrorCode, &'static str, u16, &'static str)> {
        TABLE.iter().find(|(c, ..)| c == self)
    }

    /// The wire name (`BLOB_UNKNOWN`).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(s) => s,
            known => known.entry().map_or("", |e| e.1),
        }
    }

    /// Reads a wire name; an unlisted one becomes [`ErrorCode::Other`].
    pub fn from_wire(s: &str) -> ErrorCode {
        TABLE
            .iter()
            .find(|(_, name, ..)| *name == s)
            .map_or_else(|| ErrorCode::Other(s.to_owned()), |e| e.0.clone())
    }

    /// The HTTP status a server answers with (500 for a code it does not know).
    pub fn status(&self) -> u16 {
        self.entry().map_or(500, |e| e.2)
    }

    /// The spec's message for the code (empty for [`ErrorCode::Other`]).
    pub fn message(&self) -> &'static str {
        self.entry().map_or("", |e| e.3)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ErrorCode::from_wire(&String::deserialize(d)?))
    }
}

/// One entry of an error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    /// Optional in the spec; rendered always (the code's message by default).
    #[serde(default)]
    pub message: String,
    /// Free-form JSON (`{"digest": …}` for `BLOB_UNKNOWN`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl ErrorInfo {
    /// An entry with the spec's message for `code` and no detail.
    pub fn new(code: ErrorCode) -> ErrorInfo {
        let message = code.message().to_owned();
        ErrorInfo {
            code,
            message,
            detail: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> ErrorInfo {
        self.message = message.into();
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> ErrorInfo {
        self.detail = Some(detail);
        self
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message.as_str() {
            "" => write!(f, "{}", self.code),
            message => write!(f, "{}: {message}", self.code),
        }
    }
}

/// Why a response body is not an error body of the spec.
#[derive(Debug, Error)]
pub enum ErrorBodyError {
    #[error("error body is not JSON ({len} bytes, starting {start:?})")]
    NotJson {
        len: usize,
        start: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("error body has no \"errors\" entries")]
    Empty,
}

/// The body of every error response: `{"errors":[…]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorInfo>,
}

impl ErrorBody {
    /// A body with one entry carrying the spec's message for `code`.
    pub fn single(code: ErrorCode) -> ErrorBody {
        ErrorBody {
            errors: vec![ErrorInfo::new(code)],
        }
    }

    /// Parses a registry's error body. A body that is not JSON (an HTML page from a proxy)
    /// or has no entries is an error that quotes its first bytes.
    pub fn parse(body: &[u8]) -> Result<ErrorBody, ErrorBodyError> {
        let parsed: ErrorBody =
            crate::json::from_object(body).map_err(|source| ErrorBodyError::NotJson {
                len: body.len(),
                start: String::from_utf8_lossy(&body[..body.len().min(64)]).into_owned(),
                source,
            })?;
        if parsed.errors.is_empty() {
            return Err(ErrorBodyError::Empty);
        }
        Ok(parsed)
    }

    /// The JSON a server sends.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("error bodies always serialise")
    }

    /// The status a server answers with: the first entry's.
    pub fn status(&self) -> u16 {
        self.errors.first().map_or(500, |e| e.code.status())
    }

    /// Whether any entry has `code`.
    pub fn has(&self, code: &ErrorCode) -> bool {
        self.errors.iter().any(|e| &e.code == code)
    }
}

impl From<ErrorInfo> for ErrorBody {
    fn from(info: ErrorInfo) -> Self {
        ErrorBody { errors: vec![info] }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_of_codes() {
        let want = [
            ("BLOB_UNKNOWN", 404),
            ("BLOB_UPLOAD_INVALID", 400),
            ("BLOB_UPLOAD_UNKNOWN", 404),
            ("DIGEST_INVALID", 400),
            ("MANIFEST_BLOB_UNKNOWN", 400),
            ("MANIFEST_INVALID", 400),
            ("MANIFEST_UNKNOWN", 404),
            ("NAME_INVALID", 400),
            ("NAME_UNKNOWN", 404),
            ("SIZE_INVALID", 400),
            ("UNAUTHORIZED", 401),
            ("DENIED", 403),
            ("UNSUPPORTED", 405),
            ("TOOMANYREQUESTS", 429),
        ];
        let got: Vec<(&str, u16)> = ErrorCode::all().map(|c| (c.as_str(), c.status())).collect();
        assert_eq!(got, want);
        for code in ErrorCode::all() {
            assert_eq!(&ErrorCode::from_wire(code.as_str()), code);
            assert!(!code.message().is_empty());
        }
    }

    #[test]
    fn unknown_codes_are_kept() {
        let code = ErrorCode::from_wire("TAG_INVALID");
        assert_eq!(code, ErrorCode::Other("TAG_INVALID".into()));
        assert_eq!(code.as_str(), "TAG_INVALID");
        assert_eq!(code.status(), 500);
        assert_eq!(code.message(), "");
        // Wire names are case-sensitive, as in distribution.
        assert!(matches!(
            ErrorCode::from_wire("blob_unknown"),
            ErrorCode::Other(_)
        ));
    }

    #[test]
    fn render_body() {
        let body: ErrorBody = ErrorInfo::new(ErrorCode::BlobUnknown)
            .with_detail(json!({"digest": "sha256:00"}))
            .into();
        assert_eq!(
            String::from_utf8(body.to_json()).unwrap(),
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":{"digest":"sha256:00"}}]}"#
        );
        assert_eq!(body.status(), 404);
        let denied = ErrorBody::single(ErrorCode::Denied);
        assert_eq!(
            String::from_utf8(denied.to_json()).unwrap(),
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
        );
        assert_eq!(
            denied.to_string(),
            "DENIED: requested access to the resource is denied"
        );
    }

    #[test]
    fn parse_bodies() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#,
                &[("MANIFEST_UNKNOWN", "manifest unknown")],
            ),
            (
                r#"{"errors":[{"code":"UNAUTHORIZED"},{"code":"X_VENDOR","message":"m","extra":1}]}"#,
                &[("UNAUTHORIZED", ""), ("X_VENDOR", "m")],
            ),
            (
                r#"{"errors":[{"code":"DENIED","message":"no","detail":null}]}"#,
                &[("DENIED", "no")],
            ),
        ];
        for (text, want) in cases {
            let body = ErrorBody::parse(text.as_bytes()).unwrap();
            let got: Vec<(&str, &str)> = body
                .errors
                .iter()
                .map(|e| (e.code.as_str(), e.message.as_str()))
                .collect();
            assert_eq!(&got, want, "{text}");
        }
        let body = ErrorBody::parse(cases[0].0.as_bytes()).unwrap();
        assert!(body.has(&ErrorCode::ManifestUnknown));
        assert_eq!(body.errors[0].detail, Some(json!({"Tag": "x"})));
    }

    #[test]
    fn malformed_bodies() {
        for text in [
            "",
            "<html><body>502 Bad Gateway</body></html>",
            "{",
            "[]",
            r#"[[{"code":"DENIED"}]]"#,
            r#"{"errors":"x"}"#,
            r#"{"errors":[{"message":"no code"}]}"#,
            r#"{"errors":[{"code":5}]}"#,
            r#"{"detail":"x"}"#,
        ] {
            let err = ErrorBody::parse(text.as_bytes()).unwrap_err();
            assert!(matches!(err, ErrorBodyError::NotJson { .. }), "{text}");
        }
        assert!(matches!(
            ErrorBody::parse(br#"{"errors":[]}"#),
            Err(ErrorBodyError::Empty)
        ));
        let err = ErrorBody::parse("<html>".repeat(40).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("<html>"), "{err}");
    }
}
