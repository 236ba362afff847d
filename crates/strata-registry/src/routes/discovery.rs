//! `GET /v2/<name>/tags/list`, `GET /v2/_catalog` (both paginated with `n`/`last` and a
//! `Link` to the next page) and `GET /v2/<name>/referrers/<digest>`.

use axum::body::Body;
use axum::response::Response;
use strata_distribution::headers::{next_link, OCI_FILTERS_APPLIED};
use strata_distribution::referrers::{referrers_index, ARTIFACT_TYPE_FILTER};
use strata_distribution::{Catalog, Page, RepositoryName, Route, TagList};
use strata_oci::Digest;

use super::response::{header, service_error, with_body};
use super::Req;
use crate::meta::Listing;

fn json(body: Vec<u8>, content_type: &str) -> Response {
    let response = with_body(200, Body::from(body));
    header(response, "content-type", content_type)
}

/// Adds `Link: <next page>; rel="next"` when more entries follow.
fn paginate(
    response: Response,
    listing: &Listing,
    page: &Page,
    next: impl Fn(Page) -> Route,
) -> Response {
    match (listing.more, listing.entries.last()) {
        (true, Some(last)) => {
            let next_page = Page {
                n: page.n,
                last: Some(last.clone()),
            };
            header(response, "link", next_link(&next(next_page).target()))
        }
        _ => response,
    }
}

pub async fn tags(req: Req<'_>, name: RepositoryName, page: Page) -> Response {
    let listing = match req.registry.tags(&name, &page).await {
        Ok(l) => l,
        Err(e) => return service_error(&e),
    };
    let body = TagList {
        name: name.as_str().to_owned(),
        tags: listing.entries.clone(),
    }
    .to_json();
    let response = json(body, "application/json");
    paginate(response, &listing, &page, |page| Route::Tags {
        name: name.clone(),
        page,
    })
}

pub async fn catalog(req: Req<'_>, page: Page) -> Response {
    let listing = match req.registry.catalog(&page).await {
        Ok(l) => l,
        Err(e) => return service_error(&e),
    };
    let body = Catalog {
        repositories: listing.entries.clone(),
    }
    .to_json();
    let response = json(body, "application/json");
    paginate(response, &listing, &page, |page| Route::Catalog { page })
}

pub async fn referrers(
    req: Req<'_>,
    name: RepositoryName,
    digest: Digest,
    artifact_type: Option<String>,
) -> Response {
    let found = match req
        .registry
        .referrers(&name, &digest, artifact_type.as_deref())
        .await
    {
        Ok(r) => r,
        Err(e) => return service_error(&e),
    };
    let index = referrers_index(found.descriptors);
    let body = serde_json::to_vec(&index).expect("an index serialises");
    let response = json(body, strata_oci::media_types::OCI_INDEX);
    if found.filtered {
        header(response, OCI_FILTERS_APPLIED, ARTIFACT_TYPE_FILTER)
    } else {
        response
    }
}
