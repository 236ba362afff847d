//! strata's governance API (`/strata/v1/`, docs/GOVERN.md) as typed calls on a connected
//! [`Registry`]: owners, images, labels, promotion, promotions, tag history and lineage.
//!
//! Every call goes through the registry's transport, so credentials, TLS and token scopes
//! work as for pulls and pushes: reads ask for `repository:NAME:pull`, changes for
//! `repository:NAME:pull,push`, the registry-wide listing and lineage forest for
//! `registry:catalog:*`. A refused promotion (`412 GATE_FAILED`) is
//! [`GovernError::GateFailed`] with each violated rule; other refusals are the transport's
//! typed errors carrying the registry's error body.
//!
//! Must not: print, or decide anything (the registry decides; the CLI shows).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use strata_distribution::auth::scope::{PULL, PUSH};
use strata_distribution::auth::Scope;
use strata_distribution::govern::{
    Dependents, GovRoute, ImageJson, ImageList, ImageRef, Owner, PromoteRequest, Promotion,
    PromotionList, RepositoryList, TagHistory, Tree,
};
use strata_distribution::headers::CONTENT_TYPE;
use strata_distribution::names::{ManifestRef, RepositoryName, Tag};
use strata_distribution::ErrorBody;

use crate::error::ClientError;
use crate::transport::{Registry, Request};

/// Answers are read up to this size (a lineage forest of many thousand images fits).
const ANSWER_LIMIT: u64 = 64 << 20;

/// Why a governance call failed.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The registry's gates refused the promotion.
    #[error("promotion of {reference} to {env} refused by the registry's gates: {}", list(.violations))]
    GateFailed {
        reference: String,
        env: String,
        violations: Vec<GateViolation>,
    },
    /// A 2xx answer that is not the JSON the endpoint answers.
    #[error("registry {registry}: the answer to {target} is not the expected JSON")]
    Json {
        registry: String,
        target: String,
        #[source]
        source: serde_json::Error,
    },
}

/// One failed gate rule, as the registry lists it in `detail.violations`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct GateViolation {
    pub rule: String,
    pub message: String,
}

fn list(violations: &[GateViolation]) -> String {
    let items: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.rule, v.message))
        .collect();
    items.join("; ")
}

pub type Result<T, E = GovernError> = std::result::Result<T, E>;

/// The governance API of one registry.
pub struct Govern<'a> {
    registry: &'a Registry,
}

impl Registry {
    /// This registry's governance API.
    pub fn govern(&self) -> Govern<'_> {
        Govern { registry: self }
    }
}

fn read(name: &RepositoryName) -> Vec<Scope> {
    vec![Scope::repository(name, [PULL])]
}

fn write(name: &RepositoryName) -> Vec<Scope> {
    vec![Scope::repository(name, [PULL, PUSH])]
}

impl Govern<'_> {
    /// `GET /strata/v1/repositories`: the repositories the caller may pull.
    pub fn repositories(&self) -> Result<RepositoryList> {
        self.get(
            &GovRoute::Repositories,
            vec![Scope::catalog()],
            "repositories",
        )
    }

    pub fn owner(&self, name: &RepositoryName) -> Result<Owner> {
        let route = GovRoute::Owner { name: name.clone() };
        self.get(&route, read(name), name.as_str())
    }

    pub fn set_owner(&self, name: &RepositoryName, owner: Option<&str>) -> Result<Owner> {
        let route = GovRoute::Owner { name: name.clone() };
        let body = Owner {
            owner: owner.map(str::to_owned),
        };
        self.send_json("PUT", &route, write(name), name.as_str(), Some(&body))
    }

    /// `GET …/-/images`, newest push first.
    pub fn images(&self, name: &RepositoryName) -> Result<ImageList> {
        let route = GovRoute::Images { name: name.clone() };
        self.get(&route, read(name), name.as_str())
    }

    pub fn image(&self, image: &ImageRef) -> Result<ImageJson> {
        let route = GovRoute::Image {
            name: image.name.clone(),
            reference: image.reference.clone(),
        };
        self.get(&route, read(&image.name), &image.to_string())
    }

    /// Adds `label` (idempotent); the image as it is now.
    pub fn add_label(&self, image: &ImageRef, label: &str) -> Result<ImageJson> {
        self.label("PUT", image, label)
    }

    /// Removes `label` (a 404 when the image does not carry it).
    pub fn remove_label(&self, image: &ImageRef, label: &str) -> Result<ImageJson> {
        self.label("DELETE", image, label)
    }

    fn label(&self, method: &'static str, image: &ImageRef, label: &str) -> Result<ImageJson> {
        let route = GovRoute::Label {
            name: image.name.clone(),
            reference: image.reference.clone(),
            label: label.to_owned(),
        };
        let shown = format!("{image} label {label}");
        self.send_json::<(), _>(method, &route, write(&image.name), &shown, None)
    }

    /// Promotes `image` to `env` after the registry's gates pass.
    pub fn promote(&self, image: &ImageRef, env: &str) -> Result<Promotion> {
        let route = GovRoute::Promote {
            name: image.name.clone(),
            reference: image.reference.clone(),
        };
        let body = serde_json::to_vec(&PromoteRequest {
            env: env.to_owned(),
        })
        .expect("a promote request serialises");
        let req = self
            .request("POST", &route, write(&image.name))
            .header(CONTENT_TYPE, "application/json")
            .body(&body);
        let resp = self.registry.send(&req)?;
        if resp.status() == 412 {
            return Err(self.gate_failed(resp, image, env, &req));
        }
        let resp = self.registry.check(resp, &req, &image.to_string())?;
        self.decode(resp, &req.url)
    }

    pub fn promotions(&self, name: &RepositoryName) -> Result<PromotionList> {
        let route = GovRoute::Promotions { name: name.clone() };
        self.get(&route, read(name), name.as_str())
    }

    /// Which digests `tag` named, oldest first.
    pub fn tag_history(&self, name: &RepositoryName, tag: &Tag) -> Result<TagHistory> {
        let route = GovRoute::TagHistory {
            name: name.clone(),
            tag: tag.clone(),
        };
        self.get(&route, read(name), &format!("{name}:{tag}"))
    }

    /// The lineage tree under `root`, or the registry's whole forest.
    pub fn lineage_tree(&self, root: Option<&ImageRef>) -> Result<Tree> {
        let scopes = match root {
            Some(r) => read(&r.name),
            None => vec![Scope::catalog()],
        };
        let route = GovRoute::LineageTree {
            root: root.cloned(),
        };
        let shown = root.map_or_else(|| "lineage tree".to_owned(), ToString::to_string);
        self.get(&route, scopes, &shown)
    }

    /// Every image downstream of `image`.
    pub fn dependents(&self, image: &ImageRef) -> Result<Dependents> {
        let route = GovRoute::LineageDependents {
            image: image.clone(),
        };
        self.get(&route, read(&image.name), &image.to_string())
    }

    fn request(&self, method: &'static str, route: &GovRoute, scopes: Vec<Scope>) -> Request<'_> {
        let url = self.registry.resolve_location(&route.target());
        Request::new(method, url, scopes).header("accept", "application/json")
    }

    fn get<T: DeserializeOwned>(
        &self,
        route: &GovRoute,
        scopes: Vec<Scope>,
        shown: &str,
    ) -> Result<T> {
        self.send_json::<(), T>("GET", route, scopes, shown, None)
    }

    fn send_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: &'static str,
        route: &GovRoute,
        scopes: Vec<Scope>,
        shown: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("request bodies serialise"));
        let mut req = self.request(method, route, scopes);
        if let Some(bytes) = &bytes {
            req = req.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        let resp = self.registry.send_checked(&req, shown)?;
        self.decode(resp, &req.url)
    }

    fn decode<T: DeserializeOwned>(&self, resp: ureq::Response, target: &str) -> Result<T> {
        let bytes = self.registry.read_limited(resp, ANSWER_LIMIT, target)?;
        serde_json::from_slice(&bytes).map_err(|source| GovernError::Json {
            registry: self.registry.host().to_owned(),
            target: target.to_owned(),
            source,
        })
    }

    /// A 412: the violations of its `GATE_FAILED` entries (`detail.violations`); a 412
    /// without them is the transport's status error with the body.
    fn gate_failed(
        &self,
        resp: ureq::Response,
        image: &ImageRef,
        env: &str,
        req: &Request,
    ) -> GovernError {
        let target = req.url.clone();
        let bytes = match self.registry.read_limited(resp, 1 << 20, &target) {
            Ok(b) => b,
            Err(e) => return e.into(),
        };
        let violations = violations(&bytes);
        if violations.is_empty() {
            let detail = ErrorBody::parse(&bytes).map_or_else(
                |_| String::from_utf8_lossy(&bytes).into_owned(),
                |b| b.to_string(),
            );
            return ClientError::Status {
                registry: self.registry.host().to_owned(),
                method: req.method,
                target,
                status: 412,
                detail,
            }
            .into();
        }
        GovernError::GateFailed {
            reference: image.to_string(),
            env: env.to_owned(),
            violations,
        }
    }
}

/// The violations listed in an error body's `GATE_FAILED` entries.
fn violations(body: &[u8]) -> Vec<GateViolation> {
    let Ok(parsed) = ErrorBody::parse(body) else {
        return Vec::new();
    };
    parsed
        .errors
        .iter()
        .filter(|e| e.code.as_str() == "GATE_FAILED")
        .filter_map(|e| e.detail.as_ref()?.get("violations").cloned())
        .filter_map(|v| serde_json::from_value::<Vec<GateViolation>>(v).ok())
        .flatten()
        .collect()
}

/// The image `reference` names, as the governance API takes it (`name:tag` or
/// `name@digest`, the repository without its registry).
pub fn image_ref(
    reference: &strata_oci::Reference,
) -> Result<ImageRef, strata_distribution::names::NameError> {
    let name: RepositoryName = reference.repository().parse()?;
    let reference = match (reference.digest(), reference.tag()) {
        (Some(d), _) => ManifestRef::Digest(d.clone()),
        (None, Some(t)) => ManifestRef::Tag(t.parse()?),
        (None, None) => ManifestRef::Tag("latest".parse()?),
    };
    Ok(ImageRef { name, reference })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_violations_are_read_from_the_error_detail() {
        let body = br#"{"errors":[{"code":"GATE_FAILED","message":"gates failed","detail":{"violations":[{"rule":"no-latest","message":"latest is never promoted"},{"rule":"max-size","message":"too big"}]}}]}"#;
        let v = violations(body);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].rule, "no-latest");
        assert_eq!(v[1].message, "too big");
        assert!(violations(br#"{"errors":[{"code":"DENIED"}]}"#).is_empty());
    }

    #[test]
    fn image_refs_drop_the_registry() {
        let r: strata_oci::Reference = "localhost:5000/team/app:1".parse().unwrap();
        assert_eq!(image_ref(&r).unwrap().to_string(), "team/app:1");
    }
}
