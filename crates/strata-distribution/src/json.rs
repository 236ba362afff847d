//! Reading JSON objects into view structs without serde's sequence form: a derived
//! `Deserialize` also accepts `[1, …]` as the fields in order, which must not pass for a
//! manifest or a token response.

use serde::de::DeserializeOwned;

/// Parses `body` as a JSON object, then into `T`.
pub fn from_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)?;
    serde_json::from_value(serde_json::Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct View {
        #[serde(default)]
        #[allow(dead_code)]
        a: Option<u32>,
    }

    #[test]
    fn objects_only() {
        assert!(from_object::<View>(br#"{"a":1}"#).is_ok());
        assert!(from_object::<View>(br#"{}"#).is_ok());
        for bad in [&b"[1]"[..], b"[]", b"1", b"", br#"{"a":"x"}"#] {
            assert!(from_object::<View>(bad).is_err());
        }
    }
}
