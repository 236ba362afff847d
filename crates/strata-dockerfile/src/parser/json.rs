//! `parseJSON`: the exec form `["a", "b"]` decoded like Go's `json.Decoder` (first value only).

pub(super) enum JsonError {
    /// Not JSON or not an array: the caller falls back to the shell form.
    Invalid,
    /// A JSON array with non-string elements: always an error.
    NotStringArray,
}

/// Decodes a JSON array of strings at the start of `rest`; trailing text is ignored,
/// as with Go's `json.NewDecoder(..).Decode`.
pub(super) fn parse_json(rest: &str) -> Result<Vec<String>, JsonError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Err(JsonError::Invalid);
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    let value = match stream.next() {
        Some(Ok(v)) => v,
        _ => return Err(JsonError::Invalid),
    };
    let serde_json::Value::Array(items) = value else {
        return Err(JsonError::Invalid);
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonError::NotStringArray),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_string_arrays() {
        assert_eq!(
            parse_json(" [\"a\", \"b\"]").ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(parse_json("[]").ok(), Some(vec![]));
        assert!(matches!(parse_json("['a']"), Err(JsonError::Invalid)));
        assert!(matches!(
            parse_json("[\"a\", [1]]"),
            Err(JsonError::NotStringArray)
        ));
        assert!(matches!(parse_json("[\"a\""), Err(JsonError::Invalid)));
    }
}
