//! The web view at `/ui`: server-rendered HTML pages (templates in Rust with `maud`,
//! checked at compile time, every value escaped), no JavaScript and no external asset
//! (the style sheet is inlined). Pages: the repositories, a repository (tags, labels,
//! promotions), an image (metadata, build record, annotations, layers, parent and
//! children) and the lineage tree drawn as an inline SVG.
//!
//! - [`paths`]: which page a URL names, and the URLs pages link to.
//! - [`data`]: reads the governance service and builds each page's [`view`], keeping only
//!   what the [`Viewer`] may pull.
//! - [`pages`], [`layout`], [`svg`]: rendering only.
//!
//! Permissions are the API's: without `[auth]` everything is visible; with it a page needs
//! a logged-in account (Basic credentials, as a browser sends them, or a bearer token):
//! anyone else gets 401 with `WWW-Authenticate: Basic realm="strata"`. A viewer sees only
//! repositories it may pull; a page of any other repository is 404, as one that does not
//! exist (its name is not told).
//!
//! Must not: change anything (every page is a `GET`), show a repository the viewer may not
//! pull, or print a value unescaped.

mod data;
mod layout;
mod pages;
mod paths;
mod svg;
mod view;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use maud::Markup;

use crate::actor::Actor;
use crate::auth::{Auth, UiCaller};
use crate::services::Registry;
pub use paths::is_ui;
use paths::{NoPage, Page};

/// The realm of the web view's Basic challenge.
pub const REALM: &str = "strata";

/// Who is looking.
pub(crate) enum Viewer {
    /// No `[auth]`: everyone sees everything.
    Everyone,
    /// A logged-in account.
    Account { auth: Arc<Auth>, caller: UiCaller },
}

impl Viewer {
    /// Whether the viewer may pull from `repository`.
    pub fn may_pull(&self, repository: &str) -> bool {
        match self {
            Viewer::Everyone => true,
            Viewer::Account { auth, caller } => auth.may_pull(caller, repository),
        }
    }
}

#[derive(Clone)]
struct Ui {
    registry: Arc<Registry>,
    auth: Option<Arc<Auth>>,
}

/// The web view's routes (`/ui`, `/ui/…`), which check their own permissions.
pub(crate) fn router(registry: Arc<Registry>, auth: Option<Arc<Auth>>) -> Router {
    Router::new()
        .route("/ui", axum::routing::any(serve))
        .route("/ui/", axum::routing::any(serve))
        .route("/ui/{*rest}", axum::routing::any(serve))
        .with_state(Ui { registry, auth })
}

async fn serve(State(ui): State<Ui>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut r = html(
            StatusCode::METHOD_NOT_ALLOWED,
            pages::error::render(405, "the web view only reads: GET"),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let (parts, _) = request.into_parts();
    let viewer = match viewer(&ui, &parts.headers).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let uri = &parts.uri;
    let page = match Page::parse(uri.path(), uri.query()) {
        Ok(page) => page,
        Err(NoPage(why)) => return html(StatusCode::NOT_FOUND, pages::error::render(404, &why)),
    };
    let mut response = match render(&ui.registry, &viewer, page).await {
        Ok(Rendered::Page(markup)) => html(StatusCode::OK, markup),
        Ok(Rendered::Redirect(to)) => see_other(&to),
        Err(e) => e.into_response(),
    };
    // The access log names the account, as for the API.
    if let Viewer::Account { caller, .. } = &viewer {
        if let Some(name) = caller.account() {
            response.extensions_mut().insert(Actor { name });
        }
    }
    response
}

/// Who sent `request`, or the 401 that asks a browser to log in.
async fn viewer(ui: &Ui, headers: &HeaderMap) -> Result<Viewer, Response> {
    let Some(auth) = &ui.auth else {
        return Ok(Viewer::Everyone);
    };
    match auth.ui_caller(headers).await {
        Ok(Some(caller)) => Ok(Viewer::Account {
            auth: auth.clone(),
            caller,
        }),
        Ok(None) => Err(login("log in to see the registry")),
        Err(refusal) => Err(login(&refusal.to_string())),
    }
}

/// 401 with a Basic challenge: the browser asks for a user name and password.
fn login(message: &str) -> Response {
    let mut response = html(StatusCode::UNAUTHORIZED, pages::error::render(401, message));
    let challenge = format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// What a page request answers.
enum Rendered {
    Page(Markup),
    /// 303 to this URL (a tag's page is its digest's).
    Redirect(String),
}

async fn render(
    registry: &Registry,
    viewer: &Viewer,
    page: Page,
) -> Result<Rendered, data::UiError> {
    let markup = match page {
        Page::Index => pages::index::render(&data::index(registry, viewer).await?),
        Page::Repository(name) => {
            pages::repository::render(&data::repository(registry, viewer, &name).await?)
        }
        Page::Image(name, digest) => {
            pages::image::render(&data::image(registry, viewer, &name, &digest).await?)
        }
        Page::Tagged(name, tag) => {
            let digest = data::resolve(registry, viewer, &name, &tag).await?;
            return Ok(Rendered::Redirect(paths::image(name.as_str(), &digest)));
        }
        Page::Lineage { root } => {
            pages::lineage::render(&data::lineage(registry, viewer, root).await?)
        }
    };
    Ok(Rendered::Page(markup))
}

/// 303 See Other to `to` (a path of this server).
fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for data::UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %crate::auth::chain(&self), "web view page failed");
        }
        html(
            status,
            pages::error::render(status.as_u16(), &self.to_string()),
        )
    }
}
