//! The OAuth2 token request (distribution's `docs/spec/auth/oauth.md`): a form POSTed to the
//! challenge's realm, `application/x-www-form-urlencoded`. A client holding a refresh token
//! (docker's `identitytoken`, a credential helper's `<token>` user) sends
//! `grant_type=refresh_token`; `grant_type=password` trades a user name and password (with
//! `access_type=offline` for a refresh token back, what `docker login` does). The answer is a
//! [`TokenResponse`](super::TokenResponse) with `access_token` (and maybe `refresh_token`).

use super::scope::Scope;
use super::token::TokenError;
use crate::query;

/// What the client trades for a token.
#[derive(Clone, PartialEq, Eq)]
pub enum Grant {
    RefreshToken(String),
    Password { username: String, password: String },
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::RefreshToken(_) => f.write_str("RefreshToken(<redacted>)"),
            Grant::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// The POSTed form: `grant_type`, its fields, `service`, `client_id`, `access_type`,
/// `scope` (the scopes space-separated, as the spec says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthTokenRequest {
    pub grant: Grant,
    pub service: Option<String>,
    pub scopes: Vec<Scope>,
    /// Who the client is (required by the spec).
    pub client_id: String,
    /// `access_type=offline`: ask for a refresh token.
    pub offline: bool,
}

impl OAuthTokenRequest {
    /// The form body.
    pub fn to_form(&self) -> String {
        let scope = self
            .scopes
            .iter()
            .map(Scope::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        match &self.grant {
            Grant::RefreshToken(t) => {
                pairs.extend([("grant_type", "refresh_token"), ("refresh_token", t)])
            }
            Grant::Password { username, password } => pairs.extend([
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ]),
        }
        if let Some(service) = &self.service {
            pairs.push(("service", service));
        }
        pairs.push(("client_id", &self.client_id));
        if self.offline {
            pairs.push(("access_type", "offline"));
        }
        if !scope.is_empty() {
            pairs.push(("scope", &scope));
        }
        query::render(pairs)
    }

    /// Reads a form as an issuer receives it (`+` is a space in forms; several `scope`
    /// fields add up). A missing or unknown `grant_type`, or a grant without its fields, is
    /// an error.
    pub fn parse_form(form: &str) -> Result<OAuthTokenRequest, TokenError> {
        let pairs = query::parse(&form.replace('+', "%20"))
            .map_err(|source| TokenError::Query { source })?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let missing = |field: &'static str| TokenError::MissingField { field };
        let grant = match get("grant_type").as_deref() {
            Some("refresh_token") => {
                Grant::RefreshToken(get("refresh_token").ok_or(missing("refresh_token"))?)
            }
            Some("password") => Grant::Password {
                username: get("username").ok_or(missing("username"))?,
                password: get("password").ok_or(missing("password"))?,
            },
            Some(other) => {
                return Err(TokenError::UnsupportedGrant {
                    grant_type: other.to_owned(),
                })
            }
            None => return Err(missing("grant_type")),
        };
        let mut scopes = Vec::new();
        for (_, v) in pairs.iter().filter(|(k, _)| k == "scope") {
            scopes.extend(Scope::parse_list(v).map_err(|source| TokenError::Scope { source })?);
        }
        Ok(OAuthTokenRequest {
            grant,
            service: get("service"),
            scopes,
            client_id: get("client_id").ok_or(missing("client_id"))?,
            offline: get("access_type").as_deref() == Some("offline"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_token_form_round_trip() {
        let req = OAuthTokenRequest {
            grant: Grant::RefreshToken("r+t/1".into()),
            service: Some("registry.example".into()),
            scopes: vec![
                "repository:a/b:pull,push".parse().unwrap(),
                "repository:c:pull".parse().unwrap(),
            ],
            client_id: "strata".into(),
            offline: false,
        };
        let form = req.to_form();
        assert_eq!(
            form,
            "grant_type=refresh_token&refresh_token=r%2Bt%2F1&service=registry.example\
             &client_id=strata&scope=repository%3Aa%2Fb%3Apull%2Cpush%20repository%3Ac%3Apull"
        );
        assert_eq!(OAuthTokenRequest::parse_form(&form).unwrap(), req);
        assert!(!format!("{req:?}").contains("r+t/1"));
    }

    #[test]
    fn password_form_as_go_encodes_it() {
        let form = "access_type=offline&client_id=docker&grant_type=password&password=p+w\
                    &scope=repository%3Aa%3Apull&username=me";
        let req = OAuthTokenRequest::parse_form(form).unwrap();
        assert_eq!(
            req.grant,
            Grant::Password {
                username: "me".into(),
                password: "p w".into()
            }
        );
        assert!(req.offline);
        assert_eq!(req.scopes.len(), 1);
        assert_eq!(OAuthTokenRequest::parse_form(&req.to_form()).unwrap(), req);
    }

    #[test]
    fn bad_forms() {
        for (form, want) in [
            ("client_id=x", "grant_type"),
            ("grant_type=refresh_token&client_id=x", "refresh_token"),
            ("grant_type=password&username=u&client_id=x", "password"),
            ("grant_type=refresh_token&refresh_token=t", "client_id"),
        ] {
            match OAuthTokenRequest::parse_form(form) {
                Err(TokenError::MissingField { field }) => assert_eq!(field, want, "{form}"),
                other => panic!("{form}: {other:?}"),
            }
        }
        assert!(matches!(
            OAuthTokenRequest::parse_form("grant_type=implicit&client_id=x"),
            Err(TokenError::UnsupportedGrant { .. })
        ));
    }
}
