//! strata's governance API beside `/v2/` (docs/GOVERN.md): its JSON bodies ([`ImageJson`],
//! [`Promotion`], [`TreeNode`], [`Dependent`], [`Owner`], the request bodies and the list
//! wrappers, camelCase on the wire) and its paths ([`GovRoute`]: parsed exactly by the
//! server, built by the client).
//!
//! Repository names hold `/`, so a repository's resources follow a `/-/` separator
//! (`/strata/v1/repositories/team/app/-/images/v1/labels/prod`): `-` is never a name
//! component, so the split is unambiguous.
//!
//! Must not: do I/O or read clocks (times are RFC 3339 strings the server formats).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strata_govern::lineage::BuildRecord;
use strata_oci::Digest;
use thiserror::Error;

use crate::names::{ManifestRef, NameError, RepositoryName, Tag};
use crate::query::{self, QueryError};

/// Where the governance API lives.
pub const PREFIX: &str = "/strata/v1";

/// One image, as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageJson {
    pub repository: String,
    pub digest: Digest,
    pub media_type: String,
    /// The tags naming it, sorted.
    pub tags: Vec<String>,
    /// Its promotion labels, sorted.
    pub labels: Vec<String>,
    /// Bytes of the manifest, config and layers.
    pub size: u64,
    /// When it was pushed (RFC 3339).
    pub pushed: String,
    /// When it was last pulled (RFC 3339), `None` when never.
    pub last_pulled: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// The image it derives from (lineage), `None` when none is known.
    pub parent: Option<Digest>,
    /// How to build it again (its `org.strata.build` annotation).
    pub build: Option<BuildRecord>,
}

/// `GET …/-/images`: newest push first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageList {
    pub images: Vec<ImageJson>,
}

/// One repository in `GET /strata/v1/repositories`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryJson {
    pub name: String,
    pub owner: Option<String>,
    /// How many images it holds.
    pub images: u64,
    /// How many tags it holds.
    pub tags: u64,
}

/// `GET /strata/v1/repositories`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryList {
    pub repositories: Vec<RepositoryJson>,
}

/// A repository's owner: the body of `PUT …/-/owner` and the answer of both methods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub owner: Option<String>,
}

/// The body of `POST …/-/images/<ref>/promote`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// The environment label (`maybe_prod`, `prod`).
    pub env: String,
}

/// One promotion, as recorded (history: it stays when the image is deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    pub repository: String,
    pub digest: Digest,
    /// The tags the image had when promoted.
    pub tags: Vec<String>,
    pub env: String,
    /// The account that promoted it (`anonymous` without auth).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// `GET …/-/promotions`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionList {
    pub promotions: Vec<Promotion>,
}

/// One entry of a tag's history: what it named from `since` on (`None`: deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagEvent {
    pub digest: Option<Digest>,
    /// RFC 3339.
    pub since: String,
    pub by: String,
}

/// `GET …/-/tags/<tag>/history`: oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagHistory {
    pub repository: String,
    pub tag: String,
    pub history: Vec<TagEvent>,
}

/// An image and the images derived from it, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeNode {
    pub digest: Digest,
    /// `repository:tag` (or `repository@digest` when untagged) names.
    pub names: Vec<String>,
    pub children: Vec<TreeNode>,
}

/// `GET /strata/v1/lineage/tree`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub tree: Vec<TreeNode>,
}

/// One image downstream of another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependent {
    pub digest: Digest,
    pub names: Vec<String>,
    /// Its parent (the queried image, or a dependent listed before it).
    pub parent: Digest,
    /// 1 for a child, 2 for a grandchild…
    pub depth: usize,
    pub build: Option<BuildRecord>,
}

/// `GET /strata/v1/lineage/dependents?image=…`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependents {
    pub image: ImageJson,
    pub dependents: Vec<Dependent>,
}

/// An image named across repositories: `name@digest` or `name:tag`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub name: RepositoryName,
    pub reference: ManifestRef,
}

impl FromStr for ImageRef {
    type Err = NameError;

    /// `name@sha256:…` or `name:tag` (the tag after the last `:` that follows the last `/`).
    fn from_str(s: &str) -> Result<Self, NameError> {
        if let Some((name, digest)) = s.split_once('@') {
            return Ok(ImageRef {
                name: name.parse()?,
                reference: ManifestRef::Digest(digest.parse().map_err(|source| {
                    NameError::Digest {
                        reference: digest.to_owned(),
                        source,
                    }
                })?),
            });
        }
        let slash = s.rfind('/').map_or(0, |i| i + 1);
        match s[slash..].rfind(':') {
            Some(i) => Ok(ImageRef {
                name: s[..slash + i].parse()?,
                reference: ManifestRef::Tag(s[slash + i + 1..].parse()?),
            }),
            None => Ok(ImageRef {
                name: s.parse()?,
                reference: ManifestRef::Tag("latest".parse()?),
            }),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            ManifestRef::Digest(d) => write!(f, "{}@{d}", self.name),
            ManifestRef::Tag(t) => write!(f, "{}:{t}", self.name),
        }
    }
}

/// One endpoint of the governance API. The method is not part of it (as [`crate::Route`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GovRoute {
    /// `/strata/v1/repositories`.
    Repositories,
    /// `/strata/v1/repositories/<name>/-/owner`.
    Owner { name: RepositoryName },
    /// `/strata/v1/repositories/<name>/-/images`.
    Images { name: RepositoryName },
    /// `/strata/v1/repositories/<name>/-/images/<ref>`.
    Image {
        name: RepositoryName,
        reference: ManifestRef,
    },
    /// `/strata/v1/repositories/<name>/-/images/<ref>/labels/<label>`.
    Label {
        name: RepositoryName,
        reference: ManifestRef,
        label: String,
    },
    /// `/strata/v1/repositories/<name>/-/images/<ref>/promote`.
    Promote {
        name: RepositoryName,
        reference: ManifestRef,
    },
    /// `/strata/v1/repositories/<name>/-/promotions`.
    Promotions { name: RepositoryName },
    /// `/strata/v1/repositories/<name>/-/tags/<tag>/history`.
    TagHistory { name: RepositoryName, tag: Tag },
    /// `/strata/v1/lineage/tree[?root=<image>]`.
    LineageTree { root: Option<ImageRef> },
    /// `/strata/v1/lineage/dependents?image=<image>`.
    LineageDependents { image: ImageRef },
}

/// Why a path is not an endpoint of the governance API.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GovRouteError {
    #[error("path {path:?} is not under /strata/v1/")]
    NotGovern { path: String },
    #[error("no endpoint of the strata API at {path:?}")]
    UnknownEndpoint { path: String },
    #[error("bad repository name, reference or tag in {path:?}")]
    Name {
        path: String,
        #[source]
        source: NameError,
    },
    #[error("bad query parameter in {path:?}")]
    Query {
        path: String,
        #[source]
        source: QueryError,
    },
    #[error("{path:?} needs the query parameter {param}")]
    MissingParam { path: String, param: &'static str },
}

impl GovRoute {
    /// Parses a request path (and its query, without `?`).
    pub fn parse_parts(path: &str, query: Option<&str>) -> Result<GovRoute, GovRouteError> {
        let rest = path
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| GovRouteError::NotGovern {
                path: path.to_owned(),
            })?;
        let name_err = |source| GovRouteError::Name {
            path: path.to_owned(),
            source,
        };
        let unknown = || GovRouteError::UnknownEndpoint {
            path: path.to_owned(),
        };
        let params = query::parse(query.unwrap_or("")).map_err(|source| GovRouteError::Query {
            path: path.to_owned(),
            source,
        })?;
        let param = |key: &str| {
            params
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        match rest {
            "repositories" => return Ok(GovRoute::Repositories),
            "lineage/tree" => {
                let root = param("root").map(str::parse).transpose();
                return Ok(GovRoute::LineageTree {
                    root: root.map_err(name_err)?,
                });
            }
            "lineage/dependents" => {
                let image = param("image").ok_or(GovRouteError::MissingParam {
                    path: path.to_owned(),
                    param: "image",
                })?;
                return Ok(GovRoute::LineageDependents {
                    image: image.parse().map_err(name_err)?,
                });
            }
            _ => {}
        }
        let rest = rest.strip_prefix("repositories/").ok_or_else(unknown)?;
        let (name, resource) = rest.split_once("/-/").ok_or_else(unknown)?;
        let name: RepositoryName = name.parse().map_err(name_err)?;
        let segs: Vec<&str> = resource.split('/').collect();
        let reference = |s: &str| s.parse::<ManifestRef>().map_err(name_err);
        Ok(match segs.as_slice() {
            ["owner"] => GovRoute::Owner { name },
            ["images"] => GovRoute::Images { name },
            ["promotions"] => GovRoute::Promotions { name },
            ["images", r] => GovRoute::Image {
                name,
                reference: reference(r)?,
            },
            ["images", r, "promote"] => GovRoute::Promote {
                name,
                reference: reference(r)?,
            },
            ["images", r, "labels", label] if !label.is_empty() => GovRoute::Label {
                name,
                reference: reference(r)?,
                label: (*label).to_owned(),
            },
            ["tags", tag, "history"] => GovRoute::TagHistory {
                name,
                tag: tag.parse().map_err(name_err)?,
            },
            _ => return Err(unknown()),
        })
    }

    /// Parses a request target (`path?query`).
    pub fn parse(target: &str) -> Result<GovRoute, GovRouteError> {
        match target.split_once('?') {
            Some((path, query)) => GovRoute::parse_parts(path, Some(query)),
            None => GovRoute::parse_parts(target, None),
        }
    }

    /// The repository the route is about, `None` for the listing and lineage.
    pub fn name(&self) -> Option<&RepositoryName> {
        use GovRoute as G;
        match self {
            G::Owner { name }
            | G::Images { name }
            | G::Image { name, .. }
            | G::Label { name, .. }
            | G::Promote { name, .. }
            | G::Promotions { name }
            | G::TagHistory { name, .. } => Some(name),
            G::Repositories | G::LineageTree { .. } | G::LineageDependents { .. } => None,
        }
    }

    /// The request target (path and query) of the route.
    pub fn target(&self) -> String {
        use GovRoute as G;
        let repo =
            |name: &RepositoryName, rest: String| format!("{PREFIX}/repositories/{name}/-/{rest}");
        match self {
            G::Repositories => format!("{PREFIX}/repositories"),
            G::Owner { name } => repo(name, "owner".into()),
            G::Images { name } => repo(name, "images".into()),
            G::Image { name, reference } => repo(name, format!("images/{reference}")),
            G::Label {
                name,
                reference,
                label,
            } => repo(name, format!("images/{reference}/labels/{label}")),
            G::Promote { name, reference } => repo(name, format!("images/{reference}/promote")),
            G::Promotions { name } => repo(name, "promotions".into()),
            G::TagHistory { name, tag } => repo(name, format!("tags/{tag}/history")),
            G::LineageTree { root: None } => format!("{PREFIX}/lineage/tree"),
            G::LineageTree { root: Some(root) } => format!(
                "{PREFIX}/lineage/tree?{}",
                query::render([("root", root.to_string().as_str())])
            ),
            G::LineageDependents { image } => format!(
                "{PREFIX}/lineage/dependents?{}",
                query::render([("image", image.to_string().as_str())])
            ),
        }
    }

    /// The full URL under `base` (`https://registry.example`, no trailing `/`).
    pub fn url(&self, base: &str) -> String {
        format!("{}{}", base.trim_end_matches('/'), self.target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::of(b"x")
    }

    #[test]
    fn every_route_round_trips() {
        let name: RepositoryName = "team/app".parse().unwrap();
        let d = ManifestRef::Digest(digest());
        let t = ManifestRef::Tag("v1".parse().unwrap());
        let routes = vec![
            GovRoute::Repositories,
            GovRoute::Owner { name: name.clone() },
            GovRoute::Images { name: name.clone() },
            GovRoute::Image {
                name: name.clone(),
                reference: d.clone(),
            },
            GovRoute::Image {
                name: name.clone(),
                reference: t.clone(),
            },
            GovRoute::Label {
                name: name.clone(),
                reference: t.clone(),
                label: "prod".into(),
            },
            GovRoute::Promote {
                name: name.clone(),
                reference: d.clone(),
            },
            GovRoute::Promotions { name: name.clone() },
            GovRoute::TagHistory {
                name: name.clone(),
                tag: "v1".parse().unwrap(),
            },
            GovRoute::LineageTree { root: None },
            GovRoute::LineageTree {
                root: Some(ImageRef {
                    name: name.clone(),
                    reference: d,
                }),
            },
            GovRoute::LineageDependents {
                image: ImageRef { name, reference: t },
            },
        ];
        for route in routes {
            let target = route.target();
            assert_eq!(GovRoute::parse(&target).unwrap(), route, "{target}");
        }
    }

    #[test]
    fn paths_are_parsed_exactly() {
        let path = "/strata/v1/repositories/a/b/-/images/v1/labels/prod";
        assert_eq!(
            GovRoute::parse(path).unwrap(),
            GovRoute::Label {
                name: "a/b".parse().unwrap(),
                reference: ManifestRef::Tag("v1".parse().unwrap()),
                label: "prod".into(),
            }
        );
        for bad in [
            "/strata/v1/",
            "/strata/v1/repositories/",
            "/strata/v1/repositories/a",
            "/strata/v1/repositories/a/-/",
            "/strata/v1/repositories/a/-/images/",
            "/strata/v1/repositories/a/-/images/v1/labels/",
            "/strata/v1/repositories/a/-/images/v1/labels/prod/x",
            "/strata/v1/repositories/a/-/owner/",
            "/strata/v1/repositories/A/-/owner",
            "/strata/v1/repositories/a/-/tags/v1",
            "/strata/v1/lineage/dependents",
            "/strata/v2/repositories",
            "/v2/repositories",
        ] {
            assert!(GovRoute::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_refs() {
        let r: ImageRef = "a".parse().unwrap();
        assert_eq!(r.to_string(), "a:latest");
        let r: ImageRef = "a/b:v1".parse().unwrap();
        assert_eq!((r.name.as_str(), r.to_string().as_str()), ("a/b", "a/b:v1"));
        let s = format!("a/b@{}", digest());
        let r: ImageRef = s.parse().unwrap();
        assert_eq!(r.to_string(), s);
        assert!("a/b@sha256:zz".parse::<ImageRef>().is_err());
    }

    #[test]
    fn image_json_is_camel_case() {
        let image = ImageJson {
            repository: "a".into(),
            digest: digest(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            tags: vec!["v1".into()],
            labels: vec![],
            size: 3,
            pushed: "2026-01-01T00:00:00Z".into(),
            last_pulled: None,
            annotations: BTreeMap::new(),
            parent: None,
            build: None,
        };
        let json = serde_json::to_value(&image).unwrap();
        assert_eq!(
            json["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert!(json["lastPulled"].is_null());
        let back: ImageJson = serde_json::from_value(json).unwrap();
        assert_eq!(back, image);
    }
}
