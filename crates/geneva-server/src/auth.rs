//! Who is calling: `Authorization: Bearer gva_…` for the API, or HTTP Basic
//! with the token as password (what TAXII clients speak). No header means
//! anonymous. A bad credential is refused outright, never downgraded to
//! anonymous, and repeated failures from one address are throttled. A
//! token once resolved is remembered until the store's read generation
//! moves, which any write to tokens, organisations or users does: a
//! revocation takes effect at the next request, in every process.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use geneva_access::{ApiToken, Principal, Scope, TokenHash};

use crate::AppState;
use crate::error::ApiError;

/// Failed authentications allowed per address per window before 429.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Counts failed authentications per client address.
#[derive(Default)]
pub struct FailureThrottle {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureThrottle {
    pub(crate) fn blocked(&self, ip: IpAddr) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip) {
            Some((since, _)) if since.elapsed() > FAILURE_WINDOW => {
                map.remove(&ip);
                false
            }
            Some((_, n)) => *n >= MAX_FAILURES,
            None => false,
        }
    }

    pub(crate) fn record_failure(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory under a flood from many addresses: forget stale entries first.
        if map.len() > 100_000 {
            map.retain(|_, (since, _)| since.elapsed() <= FAILURE_WINDOW);
        }
        let entry = map.entry(ip).or_insert((Instant::now(), 0));
        entry.1 += 1;
    }
}

/// 401; `ApiError` adds the challenge naming both schemes we accept.
fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The token in an Authorization header, if the header holds one of the two schemes we speak.
fn presented_token(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_owned());
    }
    None
}

/// Middleware: resolves the caller to a [`Principal`] stored in the request's extensions.
pub async fn authenticate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = peer.ip();
    let Some(header) = request.headers().get(header::AUTHORIZATION) else {
        // The workspace's session cookie counts only under /ui/: the API
        // and TAXII take tokens in headers alone, so no other site can
        // make a browser act there on a member's behalf.
        let cookie = request
            .uri()
            .path()
            .starts_with("/ui/")
            .then(|| session_cookie(request.headers()))
            .flatten();
        let mut principal = Principal::Anonymous;
        if let Some(raw) = cookie {
            if state.throttle.blocked(ip) {
                return ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_failures",
                    "too many failed authentications from this address; wait a minute",
                )
                .into_response();
            }
            match ApiToken::parse(&raw) {
                Ok(token) => match resolve(&state, &token).await {
                    Ok(Some(p)) => {
                        principal = p;
                        request.extensions_mut().insert(SessionToken(raw));
                    }
                    // A revoked or unknown token: signed out, asked to sign in again.
                    Ok(None) => state.throttle.record_failure(ip),
                    Err(e) => return e.into_response(),
                },
                Err(_) => state.throttle.record_failure(ip),
            }
        }
        request.extensions_mut().insert(principal);
        return next.run(request).await;
    };
    if state.throttle.blocked(ip) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failures",
            "too many failed authentications from this address; wait a minute",
        )
        .into_response();
    }
    let token = header
        .to_str()
        .ok()
        .and_then(presented_token)
        .and_then(|t| ApiToken::parse(&t).ok());
    let principal = match token {
        Some(token) => resolve(&state, &token).await,
        None => Ok(None),
    };
    match principal {
        Ok(Some(p)) => {
            request.extensions_mut().insert(p);
            next.run(request).await
        }
        Ok(None) => {
            state.throttle.record_failure(ip);
            unauthorized("invalid, unknown or revoked token").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The workspace's session cookie: the member's own token, kept by the
/// browser (HttpOnly, SameSite=Strict, path /ui/).
pub(crate) const SESSION_COOKIE: &str = "geneva_session";

/// The token a workspace request was signed in with (from the cookie).
#[derive(Clone)]
pub(crate) struct SessionToken(pub String);

fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// Tokens resolved since the store's read generation last moved: what
/// spares every request two trips to the database.
#[derive(Default)]
pub struct ResolvedTokens {
    resolved: Mutex<(u64, TokensById)>,
}

/// Token id → the hash of the secret that was verified, and who it is.
type TokensById = HashMap<String, (TokenHash, Principal)>;

/// More distinct tokens than this between two writes start the map afresh.
const MAX_RESOLVED_TOKENS: usize = 10_000;

impl ResolvedTokens {
    fn get(&self, generation: u64, token: &ApiToken) -> Option<Principal> {
        let resolved = self.resolved.lock().ok()?;
        if resolved.0 != generation {
            return None;
        }
        let (hash, principal) = resolved.1.get(token.id.as_str())?;
        hash.matches(&token.hash()).then(|| principal.clone())
    }

    fn put(&self, generation: u64, token: &ApiToken, principal: &Principal) {
        let Ok(mut resolved) = self.resolved.lock() else {
            return;
        };
        if generation > resolved.0 || resolved.1.len() >= MAX_RESOLVED_TOKENS {
            *resolved = (generation.max(resolved.0), HashMap::new());
        }
        if generation == resolved.0 {
            resolved.1.insert(
                token.id.as_str().to_owned(),
                (token.hash(), principal.clone()),
            );
        }
    }
}

/// The principal a token stands for, if it is known, matches and is not
/// revoked: remembered while nothing is written, else read.
pub(crate) async fn resolve(
    state: &AppState,
    token: &ApiToken,
) -> Result<Option<Principal>, ApiError> {
    // Read before the token is, so what is remembered is never older than
    // the generation it is filed under.
    let generation = state.store.read_generation().await?;
    if let Some(principal) = state.tokens.get(generation, token) {
        return Ok(Some(principal));
    }
    let principal = resolve_stored(state, token).await?;
    if let Some(principal) = &principal {
        state.tokens.put(generation, token, principal);
    }
    Ok(principal)
}

async fn resolve_stored(state: &AppState, token: &ApiToken) -> Result<Option<Principal>, ApiError> {
    let Some((record, hash)) = state.store.token(&token.id).await? else {
        return Ok(None);
    };
    if !hash.matches(&token.hash()) || record.revoked_at.is_some() {
        return Ok(None);
    }
    let Some(organisation) = state.store.organisation_by_id(record.organisation).await? else {
        return Ok(None);
    };
    let organisation_name = organisation.name;
    Ok(Some(Principal::Member {
        organisation: record.organisation,
        organisation_name,
        user: record.user,
        scopes: record.scopes,
        token: record.id,
    }))
}

/// Refuses the request unless the principal holds `scope`: 401 for anonymous, 403 otherwise.
pub fn require(principal: &Principal, scope: Scope) -> Result<(), ApiError> {
    match principal {
        Principal::Anonymous => Err(unauthorized(&format!(
            "this needs a token with the {} scope",
            scope.as_str()
        ))),
        p if p.has(scope) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token lacks the {} scope", scope.as_str()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_schemes() {
        assert_eq!(presented_token("Bearer abc").as_deref(), Some("abc"));
        let basic = base64::engine::general_purpose::STANDARD.encode("user:gva_x");
        assert_eq!(
            presented_token(&format!("Basic {basic}")).as_deref(),
            Some("gva_x")
        );
        assert_eq!(presented_token("Digest x"), None);
        assert_eq!(presented_token("Basic !!!"), None);
    }

    #[test]
    fn throttle_blocks_after_the_limit() {
        let t = FailureThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(!t.blocked(ip));
            t.record_failure(ip);
        }
        assert!(t.blocked(ip));
        assert!(!t.blocked("192.0.2.2".parse().unwrap()));
    }
}
