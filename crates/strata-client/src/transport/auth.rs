//! Answering a registry's `WWW-Authenticate`: basic auth with the stored credential, or a
//! bearer token from the realm, cached per scope until its lifetime runs out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use strata_distribution::auth::{parse_challenges, Challenge, Scope};
use strata_distribution::headers::WWW_AUTHENTICATE;
use strata_distribution::{TokenRequest, TokenResponse};

use super::{Registry, Request, SMALL_BODY_LIMIT};
use crate::config::credentials::Credential;
use crate::error::{ClientError, Result};

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
        let scheme = {
            let state = self.auth_state();
            if let Some(cached) = state.tokens.get(&key) {
                if cached.expires > Instant::now() {
                    return Ok(Some(format!("Bearer {}", cached.token)));
                }
            }
            state.scheme.clone()
        };
        match scheme {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.basic_credential()),
            Some(Scheme::Bearer { realm, service }) => {
                let token = self.fetch_token(&realm, service.as_deref(), scopes)?;
                let header = format!("Bearer {}", token.token);
                self.auth_state().tokens.insert(key, token);
                Ok(Some(header))
            }
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

    /// GETs a token for `scopes` from the realm (with basic auth when a credential exists).
    fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[Scope]) -> Result<Cached> {
        let account = match &self.credential {
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
        let scope = scope_key(scopes);
        let resp = match r.call() {
            Ok(resp) => resp,
            Err(ureq::Error::Status(status, _)) => {
                return Err(ClientError::TokenStatus {
                    registry: self.host.clone(),
                    realm: realm.to_owned(),
                    scope,
                    status,
                })
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(ClientError::Connect {
                    registry: self.host.clone(),
                    method: "GET",
                    target: realm.to_owned(),
                    source: Box::new(t),
                })
            }
        };
        let body = self.read_limited(resp, SMALL_BODY_LIMIT, realm)?;
        let parsed = TokenResponse::parse(&body).map_err(|source| ClientError::Token {
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
