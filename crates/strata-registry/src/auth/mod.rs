//! Authentication and authorization (`[auth]`): who a request comes from and whether it may
//! do what it asks. Without `[auth]` the registry is open, as before; with it, everything not
//! granted is denied.
//!
//! - Accounts: htpasswd users ([`htpasswd`], bcrypt only, re-read when the file changes) and
//!   robot accounts `robot$NAME` ([`robots`], stored hashed in the metadata store, with an
//!   optional expiry).
//! - Credentials on `/v2/` requests: a bearer token of this registry ([`token`], HS256 JWTs
//!   verified on every request), or Basic credentials directly (as distribution's htpasswd
//!   mode; `basic = false` turns that off), or none (anonymous).
//! - Docker's token flow ([`endpoint`]): a request lacking what it needs gets 401
//!   `UNAUTHORIZED` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; `GET /token`
//!   (Basic or anonymous) and `POST /token` (OAuth2 `grant_type=password`) answer a token
//!   granting the intersection of what was asked and what the account may do.
//! - Permissions ([`rules`]): `[[auth.access]]` rules by account and repository glob;
//!   robots' own grants. An authenticated caller that may not do something gets 403 `DENIED`.
//! - The layer ([`middleware`]) maps each route to the scopes it needs and puts an
//!   [`Actor`](crate::actor::Actor) into the request's (and response's) extensions. The web
//!   view (`/ui`) checks its own pages with [`Auth::ui_caller`] and [`Auth::may_pull`]:
//!   Basic credentials (always: browsers send nothing else) or a token, and `pull`.

mod endpoint;
pub mod htpasswd;
mod middleware;
pub mod robots;
pub mod rules;
pub mod token;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use strata_distribution::auth::ResourceActions;
use strata_distribution::{Scope, TokenClaims, TokenResponse};
use thiserror::Error;

use crate::meta::Meta;
pub use endpoint::token_routes;
use htpasswd::{Htpasswd, HtpasswdError};
pub use middleware::{layer, Readable, UiCaller};
use robots::RobotLogin;
pub use rules::{AccessRuleConfig, Identity, RuleError, Rules};
use token::{KeyError, TokenInvalid, TokenKey};

/// The prefix of robot account names (`robot$ci`), as Harbor's.
pub const ROBOT_PREFIX: &str = "robot$";
/// The `service` (tokens' audience) when the configuration names none.
pub const DEFAULT_SERVICE: &str = "strata-registry";
/// How long tokens live by default (seconds).
pub const DEFAULT_TOKEN_EXPIRY_SECS: u64 = 300;

/// `[auth]` as written in the configuration.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The htpasswd file of users (bcrypt); none: robot accounts and anonymous only.
    #[serde(default)]
    pub htpasswd: Option<PathBuf>,
    /// The token service name (`service=` of challenges, `aud` of tokens).
    #[serde(default)]
    pub service: Option<String>,
    /// The token endpoint's URL as clients reach it (`https://registry.example/token`);
    /// default: `http://<Host header>/token`.
    #[serde(default)]
    pub realm: Option<String>,
    /// A file of at least 32 bytes to sign tokens with (shared by replicas); default:
    /// `<data>/auth/token.key`, generated on first start.
    #[serde(default)]
    pub token_key_file: Option<PathBuf>,
    /// Seconds a token lives (default 300).
    #[serde(default)]
    pub token_expiry_secs: Option<u64>,
    /// Whether `/v2/` requests may carry Basic credentials directly (default true).
    #[serde(default)]
    pub basic: Option<bool>,
    /// Who may do what (`[[auth.access]]`).
    #[serde(default)]
    pub access: Vec<AccessRuleConfig>,
}

/// Why `[auth]` cannot be used.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error(transparent)]
    Htpasswd(#[from] HtpasswdError),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("auth token_expiry_secs must be at least 1")]
    Expiry,
}

/// Why a request's credentials are refused (the message is what the client is told).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("invalid username or password for {account:?}")]
    BadCredentials { account: String },
    #[error("robot account {account} expired at {at}")]
    RobotExpired { account: String, at: String },
    #[error(transparent)]
    Token(#[from] TokenInvalid),
    #[error("Authorization header is not valid Basic credentials")]
    MalformedBasic,
    #[error("Authorization scheme is not Basic or Bearer")]
    Scheme,
    #[error("Basic credentials are not accepted on /v2/ here: get a bearer token from the realm")]
    BasicOff,
}

/// Authentication and authorization of one registry.
pub struct Auth {
    service: String,
    realm: Option<String>,
    /// The scheme of the default realm: `https` when the server itself serves TLS.
    scheme: &'static str,
    expiry: Duration,
    basic: bool,
    htpasswd: Option<Htpasswd>,
    rules: Rules,
    key: TokenKey,
    meta: Arc<dyn Meta>,
}

/// Unix seconds now.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 of unix seconds.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// An error's message with its causes, `: `-joined.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

impl Auth {
    /// Reads the htpasswd file, compiles the rules and loads (or generates, under `data`)
    /// the token key; any problem is an error naming the file, line or rule.
    pub fn open(config: &AuthConfig, data: &Path, meta: Arc<dyn Meta>) -> Result<Auth, AuthError> {
        let expiry = config
            .token_expiry_secs
            .unwrap_or(DEFAULT_TOKEN_EXPIRY_SECS);
        if expiry == 0 {
            return Err(AuthError::Expiry);
        }
        let htpasswd = config.htpasswd.as_deref().map(Htpasswd::open).transpose()?;
        Ok(Auth {
            service: config
                .service
                .clone()
                .unwrap_or_else(|| DEFAULT_SERVICE.into()),
            realm: config.realm.clone(),
            scheme: "http",
            expiry: Duration::from_secs(expiry),
            basic: config.basic.unwrap_or(true),
            htpasswd,
            rules: Rules::new(&config.access)?,
            key: TokenKey::load_or_create(config.token_key_file.as_deref(), data)?,
            meta,
        })
    }

    /// Makes the default realm `https://…` (the server serves TLS itself).
    pub fn over_https(mut self, https: bool) -> Auth {
        self.scheme = if https { "https" } else { "http" };
        self
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The token endpoint's URL, for a request that came with `host`.
    fn realm(&self, host: Option<&str>) -> String {
        match &self.realm {
            Some(realm) => realm.clone(),
            None => format!("{}://{}/token", self.scheme, host.unwrap_or("localhost")),
        }
    }

    /// Checks a user name (or `robot$NAME`) and password.
    pub async fn login(&self, account: &str, password: &str) -> Result<Identity, Refusal> {
        let refused = || Refusal::BadCredentials {
            account: account.to_owned(),
        };
        if let Some(name) = account.strip_prefix(ROBOT_PREFIX) {
            return self.robot_login(account, name, password).await;
        }
        let hash = self.htpasswd.as_ref().and_then(|h| h.hash_of(account));
        let known = hash.is_some();
        // An unknown user costs a bcrypt check too, so timing does not tell who exists.
        let hash = hash.unwrap_or_else(|| htpasswd::DUMMY_HASH.to_owned());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || htpasswd::verify(&password, &hash))
            .await
            .unwrap_or(false);
        match ok && known {
            true => Ok(Identity::User(account.to_owned())),
            false => Err(refused()),
        }
    }

    async fn robot_login(
        &self,
        account: &str,
        name: &str,
        secret: &str,
    ) -> Result<Identity, Refusal> {
        let refused = || Refusal::BadCredentials {
            account: account.to_owned(),
        };
        let record = match self.meta.robot(name).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(refused()),
            Err(error) => {
                tracing::error!(error = %chain(&error), "looking up a robot account failed");
                return Err(refused());
            }
        };
        match robots::check_login(&record, secret, now() as i64) {
            Ok(grant) => Ok(Identity::Robot {
                name: name.to_owned(),
                grant,
            }),
            Err(RobotLogin::Expired(at)) => Err(Refusal::RobotExpired {
                account: account.to_owned(),
                at: rfc3339(at),
            }),
            Err(RobotLogin::Refused) => Err(refused()),
        }
    }

    /// Who a verified token's subject is now (for telling 401 from 403): anonymous when
    /// the account is gone or expired.
    async fn subject(&self, sub: &str) -> Identity {
        if sub.is_empty() {
            return Identity::Anonymous;
        }
        if let Some(name) = sub.strip_prefix(ROBOT_PREFIX) {
            let record = self.meta.robot(name).await.ok().flatten();
            let live = record.filter(|r| r.expires.is_none_or(|at| (now() as i64) < at));
            return match live.map(|r| rules::RobotGrant::new(&r.repositories, &r.actions)) {
                Some(Ok(grant)) => Identity::Robot {
                    name: name.to_owned(),
                    grant,
                },
                _ => Identity::Anonymous,
            };
        }
        match self.htpasswd.as_ref().and_then(|h| h.hash_of(sub)) {
            Some(_) => Identity::User(sub.to_owned()),
            None => Identity::Anonymous,
        }
    }

    /// A token for `who` granting what of `wanted` it may do.
    pub fn issue(&self, who: &Identity, wanted: &[Scope]) -> TokenResponse {
        let access: Vec<ResourceActions> = Scope::merge(wanted.iter().cloned())
            .iter()
            .map(|s| self.rules.grant(who, s))
            .filter(|s| !s.actions.is_empty())
            .map(|s| ResourceActions::from(&s))
            .collect();
        let issued = now();
        let mut jti = [0u8; 16];
        getrandom::getrandom(&mut jti).expect("the OS random source works");
        let claims = TokenClaims {
            iss: token::ISSUER.to_owned(),
            sub: who.name().unwrap_or_default(),
            aud: self.service.clone(),
            exp: issued + self.expiry.as_secs(),
            nbf: issued,
            iat: issued,
            jti: hex::encode(jti),
            access,
        };
        tracing::info!(account = claims.sub, granted = ?claims.access.iter().map(|a| Scope::from(a).to_string()).collect::<Vec<_>>(), "token issued");
        TokenResponse::issued(
            &self.key.sign(&claims),
            self.expiry.as_secs(),
            &rfc3339(issued as i64),
        )
    }

    /// The claims of a bearer token of this registry.
    fn verify(&self, token: &str) -> Result<TokenClaims, TokenInvalid> {
        self.key.verify(token, now(), &self.service)
    }
}
