//! The bodies of the listing endpoints: `GET /v2/<name>/tags/list` (`{"name":…,"tags":[…]}`)
//! and the `_catalog` extension (`{"repositories":[…]}`). Pages follow the `Link` header
//! ([`crate::headers::parse_next_link`]). distribution sends `"tags": null` for a repository
//! without tags; that reads as an empty list.

use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// Why a listing body does not parse.
#[derive(Debug, Error)]
pub enum ListError {
    #[error("tag list is not the expected JSON object")]
    Tags {
        #[source]
        source: serde_json::Error,
    },
    #[error("catalog is not the expected JSON object")]
    Catalog {
        #[source]
        source: serde_json::Error,
    },
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One page of a repository's tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagList {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

impl TagList {
    pub fn parse(body: &[u8]) -> Result<TagList, ListError> {
        crate::json::from_object(body).map_err(|source| ListError::Tags { source })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("tag lists always serialise")
    }
}

/// One page of the registry's repositories.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repositories: Vec<String>,
}

impl Catalog {
    pub fn parse(body: &[u8]) -> Result<Catalog, ListError> {
        crate::json::from_object(body).map_err(|source| ListError::Catalog { source })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("catalogs always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists() {
        let t = TagList::parse(br#"{"name":"a/b","tags":["v1","v2"]}"#).unwrap();
        assert_eq!(t.tags, ["v1", "v2"]);
        assert_eq!(TagList::parse(&t.to_json()).unwrap(), t);
        let none = TagList::parse(br#"{"name":"a/b","tags":null}"#).unwrap();
        assert!(none.tags.is_empty());
        for bad in [&b"[]"[..], b"<html>", br#"{"name":1}"#, br#"{"tags":[]}"#] {
            assert!(matches!(TagList::parse(bad), Err(ListError::Tags { .. })));
        }
    }

    #[test]
    fn catalogs() {
        let c = Catalog::parse(br#"{"repositories":["a","b/c"]}"#).unwrap();
        assert_eq!(c.repositories, ["a", "b/c"]);
        assert_eq!(Catalog::parse(&c.to_json()).unwrap(), c);
        assert!(Catalog::parse(b"{}").unwrap().repositories.is_empty());
        assert!(matches!(
            Catalog::parse(b"x"),
            Err(ListError::Catalog { .. })
        ));
    }
}
