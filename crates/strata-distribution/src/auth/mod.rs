//! Authentication as the registries do it: `WWW-Authenticate` challenges (RFC 7235), token
//! scopes, and docker's token flow (the query a client sends to the realm, the response it
//! gets, and the claims of the JWT a registry issues), and its OAuth2 form (refresh tokens).

pub mod challenge;
pub mod oauth;
pub mod scope;
pub mod token;

pub use challenge::{parse_challenges, Challenge, ChallengeError};
pub use oauth::{Grant, OAuthTokenRequest};
pub use scope::{Scope, ScopeError};
pub use token::{ResourceActions, TokenClaims, TokenError, TokenRequest, TokenResponse};
