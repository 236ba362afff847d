//! Answering a registry's `WWW-Authenticate`: basic auth with the stored credential, or a
//! bearer token from the realm, cached per scope until its lifetime runs out.
//!
//! Tokens come from the realm as containers/image gets them: `GET` with basic auth (or
//! anonymously) for a user name and password, or, for an identity token (docker's
//! `identitytoken`, a helper's `<token>` user), an OAuth2 `POST` of
//! `grant_type=refresh_token`. One token fetch runs at a time, so threads that need the same
//! scope at once ask the realm once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use strata_distribution::auth::{parse_challenges, Challenge, Grant, OAuthTokenRequest, Scope};
use strata_distribution::headers::{CONTENT_TYPE, WWW_AUTHENTICATE};
use strata_distribution::{TokenRequest, TokenResponse};

use super::{error_detail, Registry, Request, SMALL_BODY_LIMIT};
use crate::config::credentials::Credential;
use crate::error::{ClientError, Result};

/// The `client_id` of OAuth2 token requests.
const CLIENT_ID: &str = "strata";

/// What the registry asked for, and the tokens it gave.
#[derive(Default)]
pub(crate) struct AuthState {
    scheme: Option<Scheme>,
    tokens: HashMap<String, Cached>,
}

#[derive(Clone)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

struct Cached {
    token: String,
    expires: Instant,
}

/// The scopes as errors name them.
pub(super) fn scope_text(scopes: &[Scope]) -> String {
    match scopes.is_empty() {
        true => "the registry".to_owned(),
        false => scope_key(scopes),
    }
}

/// Whether a 401 says the token was valid but grants too little (distribution's
/// `error="insufficient_scope"` challenge): a refusal, not a reason to log in again.
pub(super) fn insufficient_scope(resp: &ureq::Response) -> bool {
    resp.all(WWW_AUTHENTICATE)
        .into_iter()
        .filter_map(|v| parse_challenges(v).ok())
        .flatten()
        .any(|c| c.is("bearer") && c.param("error") == Some("insufficient_scope"))
}

fn scope_key(scopes: &[Scope]) -> String {
    let mut keys: Vec<String> = scopes.iter().map(Scope::to_string).collect();
    keys.sort();
    keys.join(" ")
}

fn basic_header(username: &str, password: &str) -> String {
    let raw = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl Registry {
    fn auth_state(&self) -> std::sync::MutexGuard<'_, AuthState> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` header for a request needing `scopes`, fetching a fresh token
    /// when the cached one has run out.
    pub(super) fn authorization(&self, scopes: &[Scope]) -> Result<Option<String>> {
        let key = scope_key(scopes);
        let scheme = match self.cached(&key) {
            Ok(header) => return Ok(Some(header)),
            Err(scheme) => scheme,
        };
        match scheme {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.basic_credential()),
            Some(Scheme::Bearer { realm, service }) => {
                let _one_fetch = self.token_fetch.lock().unwrap_or_else(|e| e.into_inner());
                // Another thread may have fetched it while this one waited.
                if let Ok(header) = self.cached(&key) {
                    return Ok(Some(header));
                }
                let token = self.fetch_token(&realm, service.as_deref(), scopes)?;
                let header = format!("Bearer {}", token.token);
                self.auth_state().tokens.insert(key, token);
                Ok(Some(header))
            }
        }
    }

    /// The header of a live cached token for `key`, else the scheme to get one with.
    fn cached(&self, key: &str) -> Result<String, Option<Scheme>> {
        let state = self.auth_state();
        match state.tokens.get(key) {
            Some(cached) if cached.expires > Instant::now() => {
                Ok(format!("Bearer {}", cached.token))
            }
            _ => Err(state.scheme.clone()),
        }
    }

    fn basic_credential(&self) -> Option<String> {
        match &self.credential {
            Some(Credential::Basic { username, password }) => {
                Some(basic_header(username, password))
            }
            _ => None,
        }
    }

    /// Learns the scheme from a 401's challenges. `Ok(true)`: the request is worth sending
    /// again with new authorization.
    pub(super) fn authenticate(&self, resp: &ureq::Response, req: &Request) -> Result<bool> {
        let mut challenges: Vec<Challenge> = Vec::new();
        for value in resp.all(WWW_AUTHENTICATE) {
            challenges.extend(parse_challenges(value).map_err(|source| {
                ClientError::Challenge {
                    registry: self.host.clone(),
                    source,
                }
            })?);
        }
        let bearer = challenges
            .iter()
            .find(|c| c.is("bearer") && c.realm().is_some());
        let scheme = match bearer {
            Some(c) => Scheme::Bearer {
                realm: c.realm().unwrap_or_default().to_owned(),
                service: c.service().map(str::to_owned),
            },
            None if challenges.iter().any(|c| c.is("basic")) => {
                if self.basic_credential().is_none() {
                    return Ok(false); // anonymous: the 401 stands, as an Unauthorized error
                }
                Scheme::Basic
            }
            None => {
                return Err(ClientError::NoChallenge {
                    registry: self.host.clone(),
                    offered: resp.all(WWW_AUTHENTICATE).join(", "),
                })
            }
        };
        let mut state = self.auth_state();
        state.tokens.remove(&scope_key(&req.scopes));
        state.scheme = Some(scheme);
        Ok(true)
    }

    /// A token for `scopes` from the realm: an OAuth2 `POST` for an identity token, else a
    /// `GET` (with basic auth when a credential exists).
    fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[Scope]) -> Result<Cached> {
        let result = match &self.credential {
            Some(Credential::IdentityToken(token)) => {
                let form = OAuthTokenRequest {
                    grant: Grant::RefreshToken(token.clone()),
                    service: service.map(str::to_owned),
                    scopes: scopes.to_vec(),
                    client_id: CLIENT_ID.to_owned(),
                    offline: false,
                };
                self.agent
                    .post(realm)
                    .set(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .send_string(&form.to_form())
            }
            credential => {
                let account = match credential {
                    Some(Credential::Basic { username, .. }) => Some(username.clone()),
                    _ => None,
                };
                let url = TokenRequest {
                    service: service.map(str::to_owned),
                    scopes: scopes.to_vec(),
                    account,
                }
                .url(realm);
                let mut r = self.agent.get(&url);
                if let Some(basic) = self.basic_credential() {
                    r = r.set("authorization", &basic);
                }
                r.call()
            }
        };
        let method = match self.credential {
            Some(Credential::IdentityToken(_)) => "POST",
            _ => "GET",
        };
        let resp = self.token_answer(result, method, realm, scopes)?;
        let body = self.read_limited(resp, SMALL_BODY_LIMIT, realm)?;
        self.parse_token(&body, realm)
    }

    /// The realm's answer, or the error its status means: 401/403 refuse the credential
    /// (an [`ClientError::Unauthorized`] naming the scope), others are a token error.
    fn token_answer(
        &self,
        result: Result<ureq::Response, ureq::Error>,
        method: &'static str,
        realm: &str,
        scopes: &[Scope],
    ) -> Result<ureq::Response> {
        match result {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(status @ (401 | 403), resp)) => {
                Err(ClientError::Unauthorized {
                    registry: self.host.clone(),
                    scope: scope_text(scopes),
                    detail: format!(
                        "token realm {realm} answered {status}: {}",
                        error_detail(resp)
                    ),
                })
            }
            Err(ureq::Error::Status(status, _)) => Err(ClientError::TokenStatus {
                registry: self.host.clone(),
                realm: realm.to_owned(),
                scope: scope_text(scopes),
                status,
            }),
            Err(ureq::Error::Transport(t)) => Err(ClientError::Connect {
                registry: self.host.clone(),
                method,
                target: realm.to_owned(),
                source: Box::new(t),
            }),
        }
    }

    fn parse_token(&self, body: &[u8], realm: &str) -> Result<Cached> {
        let parsed = TokenResponse::parse(body).map_err(|source| ClientError::Token {
            registry: self.host.clone(),
            realm: realm.to_owned(),
            source,
        })?;
        let lifetime = parsed.lifetime();
        // Refresh a little early, so a token does not expire in flight.
        let margin = (lifetime / 10).min(Duration::from_secs(10));
        Ok(Cached {
            token: parsed.bearer().unwrap_or_default().to_owned(),
            expires: Instant::now() + lifetime - margin,
        })
    }
}
