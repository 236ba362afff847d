//! `/strata/v1/…`, the governance API (docs/GOVERN.md), thin: the path is parsed by
//! [`GovRoute`], the method picks a service call, the answer is JSON; errors are the spec's
//! `{"errors":[…]}` (`GATE_FAILED` carries `detail.violations`).

use axum::body::Body;
use axum::http::{Extensions, Method};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;
use strata_distribution::govern::{
    Dependents, GovRoute, GovRouteError, ImageList, Owner, PromoteRequest, PromotionList,
    RepositoryList, Tree,
};
use strata_distribution::{ErrorBody, ErrorCode, ErrorInfo};

use super::response::{error, header, service_error, unsupported, with_body};
use crate::actor::Actor;
use crate::auth::Readable;
use crate::services::{Registry, ServiceError};

/// The largest JSON body accepted.
const BODY_MAX: usize = 64 << 10;

/// A governance request.
pub struct GovReq<'a> {
    pub registry: &'a Registry,
    pub method: &'a Method,
    pub extensions: &'a Extensions,
    pub body: Body,
}

fn json<T: Serialize>(value: &T) -> Response {
    let body = serde_json::to_vec(value).expect("API types serialise");
    header(
        with_body(200, Body::from(body)),
        "content-type",
        "application/json",
    )
}

fn answer<T: Serialize>(result: Result<T, ServiceError>) -> Response {
    match result {
        Ok(value) => json(&value),
        Err(e) => govern_error(&e),
    }
}

/// A service failure; a failed promotion gate lists its violations in `detail`.
fn govern_error(e: &ServiceError) -> Response {
    let ServiceError::GateFailed { violations, .. } = e else {
        return service_error(e);
    };
    let detail = serde_json::json!({ "violations": violations });
    let info = ErrorInfo::new(ErrorCode::Other("GATE_FAILED".into()))
        .with_message(e.to_string())
        .with_detail(detail);
    let body = ErrorBody { errors: vec![info] };
    let response = with_body(e.status(), Body::from(body.to_json()));
    header(response, "content-type", "application/json")
}

async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, ServiceError> {
    let bytes = axum::body::to_bytes(body, BODY_MAX)
        .await
        .map_err(|e| ServiceError::BadBody {
            reason: format!("unreadable or over {BODY_MAX} bytes: {e}"),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| ServiceError::BadBody {
        reason: e.to_string(),
    })
}

impl GovReq<'_> {
    /// Whether the caller may pull `repository` (all, without auth).
    fn readable(&self) -> impl Fn(&str) -> bool + Send + Sync + '_ {
        let readable = self.extensions.get::<Readable>();
        move |repo: &str| readable.is_none_or(|r| (r.0)(repo))
    }

    /// The account making the request, `anonymous` without one.
    fn actor(&self) -> String {
        self.extensions
            .get::<Actor>()
            .map_or_else(|| "anonymous".to_owned(), |a| a.name.clone())
    }

    pub async fn handle(self, route: GovRoute) -> Response {
        use GovRoute as G;
        let registry = self.registry;
        let method = self.method.clone();
        match (route, method) {
            (G::Repositories, Method::GET) => {
                let visible = self.readable();
                let found = registry.repositories_json(&visible).await;
                answer(found.map(|repositories| RepositoryList { repositories }))
            }
            (G::Owner { name }, Method::GET) => answer(registry.owner(&name).await),
            (G::Owner { name }, Method::PUT) => match read_json::<Owner>(self.body).await {
                Ok(body) => answer(registry.set_owner(&name, body.owner.as_deref()).await),
                Err(e) => govern_error(&e),
            },
            (G::Images { name }, Method::GET) => answer(
                registry
                    .images(&name)
                    .await
                    .map(|images| ImageList { images }),
            ),
            (G::Image { name, reference }, Method::GET) => {
                answer(registry.image(&name, &reference).await)
            }
            (
                G::Label {
                    name,
                    reference,
                    label,
                },
                m,
            ) => match m {
                Method::PUT => answer(registry.add_label(&name, &reference, &label).await),
                Method::DELETE => answer(registry.remove_label(&name, &reference, &label).await),
                m => unsupported(&m),
            },
            (G::Promote { name, reference }, Method::POST) => {
                let actor = self.actor();
                match read_json::<PromoteRequest>(self.body).await {
                    Ok(body) => {
                        answer(registry.promote(&name, &reference, &body.env, &actor).await)
                    }
                    Err(e) => govern_error(&e),
                }
            }
            (G::Promotions { name }, Method::GET) => answer(
                registry
                    .promotions(&name)
                    .await
                    .map(|promotions| PromotionList { promotions }),
            ),
            (G::TagHistory { name, tag }, Method::GET) => {
                answer(registry.tag_history(&name, &tag).await)
            }
            (G::LineageTree { root }, Method::GET) => {
                let visible = self.readable();
                let tree = registry.lineage_tree(root.as_ref(), &visible).await;
                answer(tree.map(|tree| Tree { tree }))
            }
            (G::LineageDependents { image }, Method::GET) => {
                let visible = self.readable();
                let found: Result<Dependents, _> = registry.dependents(&image, &visible).await;
                answer(found)
            }
            (_, m) => unsupported(&m),
        }
    }
}

/// A `/strata/v1/` path that is no endpoint: 404; a bad name or query in one: 400.
pub fn route_error(e: &GovRouteError) -> Response {
    let message = e.to_string();
    match e {
        GovRouteError::Name { source, .. } => {
            error(400, ErrorCode::NameInvalid, format!("{message}: {source}"))
        }
        GovRouteError::Query { .. } | GovRouteError::MissingParam { .. } => {
            error(400, ErrorCode::Other("BAD_REQUEST".into()), message)
        }
        GovRouteError::NotGovern { .. } | GovRouteError::UnknownEndpoint { .. } => {
            error(404, ErrorCode::Other("NOT_FOUND".into()), message)
        }
    }
}
