//! Docker's token flow (distribution's `docs/spec/auth/token.md`): the query a client sends
//! to the challenge's realm, the JSON it gets back, and the claims of the JWT a registry's
//! own token issuer signs. Times are seconds since the Unix epoch or RFC 3339 strings the
//! caller produces: nothing here reads a clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::scope::{Scope, ScopeError};
use crate::query::{self, QueryError};

/// What a token lives for when the response does not say (the token spec's default).
pub const DEFAULT_EXPIRES_IN: u64 = 60;

/// Why a token request or response does not parse.
#[derive(Debug, Error)]
pub enum TokenError {
    #[error("token response is not JSON")]
    NotJson {
        #[source]
        source: serde_json::Error,
    },
    #[error("token response has neither \"token\" nor \"access_token\"")]
    NoToken,
    #[error("bad token request query")]
    Query {
        #[source]
        source: QueryError,
    },
    #[error("bad scope in token request")]
    Scope {
        #[source]
        source: ScopeError,
    },
    #[error("token request has no {field:?}")]
    MissingField { field: &'static str },
    #[error("unsupported grant_type {grant_type:?}")]
    UnsupportedGrant { grant_type: String },
}

/// The query a client sends to the realm: `?service=…&scope=…&scope=…&account=…`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub service: Option<String>,
    pub scopes: Vec<Scope>,
    pub account: Option<String>,
}

impl TokenRequest {
    /// The query string (without `?`), one `scope` parameter per scope.
    pub fn to_query(&self) -> String {
        let scopes: Vec<String> = self.scopes.iter().map(Scope::to_string).collect();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = &self.service {
            pairs.push(("service", service));
        }
        pairs.extend(scopes.iter().map(|s| ("scope", s.as_str())));
        if let Some(account) = &self.account {
            pairs.push(("account", account));
        }
        query::render(pairs)
    }

    /// The realm URL with the query appended (after any query the realm already has).
    pub fn url(&self, realm: &str) -> String {
        let q = self.to_query();
        match (q.is_empty(), realm.contains('?')) {
            (true, _) => realm.to_owned(),
            (false, true) => format!("{realm}&{q}"),
            (false, false) => format!("{realm}?{q}"),
        }
    }

    /// Reads the query a token issuer receives. A `scope` value may hold several scopes
    /// separated by spaces (older clients); unknown parameters are ignored.
    pub fn parse_query(q: &str) -> Result<TokenRequest, TokenError> {
        let mut req = TokenRequest::default();
        for (k, v) in query::parse(q).map_err(|source| TokenError::Query { source })? {
            match k.as_str() {
                "service" => req.service = Some(v),
                "account" => req.account = Some(v),
                "scope" => req
                    .scopes
                    .extend(Scope::parse_list(&v).map_err(|source| TokenError::Scope { source })?),
                _ => {}
            }
        }
        Ok(req)
    }
}

/// The realm's answer. Registries send `token`, OAuth2-minded ones `access_token`, most
/// both; `expires_in` defaults to [`DEFAULT_EXPIRES_IN`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// RFC 3339, as the issuer wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    /// What an issuer sends: the same token under both names.
    pub fn issued(token: &str, expires_in: u64, issued_at: &str) -> TokenResponse {
        TokenResponse {
            token: Some(token.to_owned()),
            access_token: Some(token.to_owned()),
            expires_in: Some(expires_in),
            issued_at: Some(issued_at.to_owned()),
            refresh_token: None,
        }
    }

    /// Parses the realm's JSON; a response without a usable token is an error.
    pub fn parse(body: &[u8]) -> Result<TokenResponse, TokenError> {
        let parsed: TokenResponse =
            crate::json::from_object(body).map_err(|source| TokenError::NotJson { source })?;
        if parsed.bearer().is_none() {
            return Err(TokenError::NoToken);
        }
        Ok(parsed)
    }

    /// The token to send as `Authorization: Bearer …` (`token` first, as docker reads it).
    pub fn bearer(&self) -> Option<&str> {
        [&self.token, &self.access_token]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|t| !t.is_empty())
    }

    /// How long the token is valid (60 s when not said; 0 is taken as not said, as docker).
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(match self.expires_in {
            None | Some(0) => DEFAULT_EXPIRES_IN,
            Some(s) => s,
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("token responses always serialise")
    }
}

/// One grant of a token: `{"type":"repository","name":"a/b","actions":["pull"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceActions {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    #[serde(default)]
    pub actions: Vec<String>,
}

impl From<&Scope> for ResourceActions {
    fn from(s: &Scope) -> Self {
        ResourceActions {
            resource_type: s.resource_type.clone(),
            name: s.name.clone(),
            actions: s.actions.iter().cloned().collect(),
        }
    }
}

impl From<&ResourceActions> for Scope {
    fn from(r: &ResourceActions) -> Self {
        Scope::new(
            &r.resource_type,
            &r.name,
            r.actions.iter().map(String::as_str),
        )
    }
}

/// The claims of a registry JWT (the token spec's claim set). Signing and verifying are the
/// issuer's and server's business; this is the payload they agree on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    #[serde(default)]
    pub access: Vec<ResourceActions>,
}

impl TokenClaims {
    /// Whether the claims are valid at `now` (seconds since the epoch) for `audience`.
    pub fn valid_at(&self, now: u64, audience: &str) -> bool {
        self.aud == audience && self.nbf <= now && now < self.exp
    }

    /// Whether the token grants everything `wanted` asks.
    pub fn allows(&self, wanted: &Scope) -> bool {
        self.access.iter().any(|r| Scope::from(r).covers(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_query_round_trip() {
        let req = TokenRequest {
            service: Some("registry.example".into()),
            scopes: vec![
                "repository:a/b:pull,push".parse().unwrap(),
                "repository:c:pull".parse().unwrap(),
            ],
            account: Some("ci bot".into()),
        };
        let q = req.to_query();
        assert_eq!(
            q,
            "service=registry.example&scope=repository%3Aa%2Fb%3Apull%2Cpush\
             &scope=repository%3Ac%3Apull&account=ci%20bot"
        );
        assert_eq!(TokenRequest::parse_query(&q).unwrap(), req);
        assert_eq!(
            req.url("https://auth.example/token"),
            format!("https://auth.example/token?{q}")
        );
        assert_eq!(
            req.url("https://auth.example/token?x=1"),
            format!("https://auth.example/token?x=1&{q}")
        );
        assert_eq!(TokenRequest::default().url("https://a/t"), "https://a/t");
    }

    #[test]
    fn request_query_leniency_and_errors() {
        let req =
            TokenRequest::parse_query("scope=repository:a:pull%20repository:b:push&client_id=x")
                .unwrap();
        assert_eq!(req.scopes.len(), 2);
        assert_eq!(req.service, None);
        assert!(matches!(
            TokenRequest::parse_query("scope=nope"),
            Err(TokenError::Scope { .. })
        ));
        assert!(matches!(
            TokenRequest::parse_query("service=%G0"),
            Err(TokenError::Query { .. })
        ));
    }

    #[test]
    fn responses() {
        let cases: &[(&str, &str, u64)] = &[
            (r#"{"token":"t1"}"#, "t1", 60),
            (r#"{"access_token":"t2","expires_in":300}"#, "t2", 300),
            (r#"{"token":"","access_token":"t3"}"#, "t3", 60),
            (
                r#"{"token":"t4","access_token":"t5","expires_in":0}"#,
                "t4",
                60,
            ),
            (
                r#"{"token":"t6","expires_in":3600,"issued_at":"2024-01-01T00:00:00Z","x":1}"#,
                "t6",
                3600,
            ),
        ];
        for (body, token, secs) in cases {
            let r = TokenResponse::parse(body.as_bytes()).unwrap();
            assert_eq!(r.bearer(), Some(*token), "{body}");
            assert_eq!(r.lifetime(), Duration::from_secs(*secs), "{body}");
        }
        let issued = TokenResponse::issued("tok", 300, "2024-01-01T00:00:00Z");
        assert_eq!(
            String::from_utf8(issued.to_json()).unwrap(),
            r#"{"token":"tok","access_token":"tok","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"}"#
        );
        assert_eq!(TokenResponse::parse(&issued.to_json()).unwrap(), issued);
    }

    #[test]
    fn malformed_responses() {
        for body in [
            "",
            "<html>",
            "[]",
            r#"["t"]"#,
            r#"{"token":5}"#,
            r#"{"expires_in":"x","token":"t"}"#,
        ] {
            assert!(
                matches!(
                    TokenResponse::parse(body.as_bytes()),
                    Err(TokenError::NotJson { .. })
                ),
                "{body}"
            );
        }
        for body in ["{}", r#"{"token":""}"#, r#"{"expires_in":60}"#] {
            assert!(
                matches!(
                    TokenResponse::parse(body.as_bytes()),
                    Err(TokenError::NoToken)
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn claims() {
        let json = r#"{"iss":"strata","sub":"ci","aud":"registry","exp":200,"nbf":100,
            "iat":100,"jti":"j1","access":[{"type":"repository","name":"a/b","actions":["pull","push"]}]}"#;
        let claims: TokenClaims = serde_json::from_str(json).unwrap();
        assert!(claims.valid_at(100, "registry"));
        assert!(!claims.valid_at(200, "registry"));
        assert!(!claims.valid_at(99, "registry"));
        assert!(!claims.valid_at(150, "other"));
        assert!(claims.allows(&"repository:a/b:push".parse().unwrap()));
        assert!(!claims.allows(&"repository:a/b:delete".parse().unwrap()));
        assert!(!claims.allows(&"repository:a:pull".parse().unwrap()));
        let back: TokenClaims =
            serde_json::from_slice(&serde_json::to_vec(&claims).unwrap()).unwrap();
        assert_eq!(back, claims);
        let scope: Scope = "repository:x:pull,push".parse().unwrap();
        assert_eq!(Scope::from(&ResourceActions::from(&scope)), scope);
    }
}
