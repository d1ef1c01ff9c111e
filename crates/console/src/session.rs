//! Stateless sessions: the cookie `coffer_session` holds the session sealed
//! under the master key (AES-256-GCM, bound to the purpose
//! `console-session`), so it can be neither read nor forged without the key,
//! and any gateway of the deployment can open it.
//!
//! A session names its principal (the operator's access key, or a project
//! user), the region it acts in, its expiry, its CSRF token, a fingerprint of
//! the credential it was opened with, and the principal's session generation
//! when it was opened. Every request reloads the principal from the store: a
//! deleted user or key, a changed or removed password, or a rotated operator
//! secret ends the session at once.
//!
//! Sign-out ends every session of the principal ("sign out everywhere"): it
//! adds one to the principal's generation in the store
//! ([`coffer_meta::IdentityStore::end_sessions`]), and a cookie issued under
//! an older generation no longer opens a session, on any gateway.

use crate::web::PageError;
use crate::{Cx, Inner};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use coffer_iam::{Iam, Principal, ResolveError};
use coffer_meta::UserRecord;
use coffer_types::{now_millis, UnixMillis};
use http::HeaderValue;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "coffer_session";
/// The sealing purpose (associated data) of session cookies.
const PURPOSE: &str = "console-session";

/// Who a session acts as.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Who {
    Operator { access_key: String },
    User { project: String, user: String },
}

/// What the cookie carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    pub who: Who,
    pub region: String,
    /// Expiry, Unix milliseconds.
    pub exp: UnixMillis,
    pub csrf: String,
    /// Fingerprint of the credential signed in with (the operator's secret,
    /// the user's password hash): a change of it ends the session.
    pub fp: String,
    /// The principal's session generation at sign-in: a sign-out raises the
    /// stored one, which ends this session.
    #[serde(default)]
    pub generation: u64,
}

/// A validated session with its principal as the store has it now.
pub(crate) struct Viewer {
    pub session: Session,
    pub principal: Principal,
    /// The key of the principal's session generation in the store.
    pub generation_key: String,
}

impl Viewer {
    /// How the nav names the signed-in principal.
    pub fn display(&self) -> String {
        match &self.session.who {
            Who::Operator { access_key } => format!("operator ({access_key})"),
            Who::User { project, user } => format!("{user} @ {project}"),
        }
    }
}

impl Session {
    /// A new session for `who` under session generation `generation`, lasting `ttl`.
    pub fn new(who: Who, region: String, fp: String, generation: u64, ttl: std::time::Duration) -> Session {
        let exp = now_millis() + ttl.as_millis() as UnixMillis;
        Session { who, region, exp, csrf: random_token(), fp, generation }
    }

    /// The sealed cookie value.
    pub fn seal(&self, iam: &Iam) -> Result<String, String> {
        let json = serde_json::to_string(self).map_err(|e| e.to_string())?;
        iam.seal_token(PURPOSE, &json).map_err(|e| format!("sealing the session: {e}"))
    }

    /// Opens a cookie value; `None` if it is not a valid, unexpired session.
    pub fn open(iam: &Iam, sealed: &str, now: UnixMillis) -> Option<Session> {
        let json = iam.open_token(PURPOSE, sealed).ok()?;
        let s: Session = serde_json::from_str(&json).ok()?;
        (s.exp > now).then_some(s)
    }
}

/// The store key of the operator's session generation (per access key).
pub(crate) fn operator_generation_key(access_key: &str) -> String {
    format!("operator:{access_key}")
}

/// The store key of a user's session generation: by the user's stable id,
/// so a user deleted and created again under the same name starts afresh.
pub(crate) fn user_generation_key(rec: &UserRecord) -> String {
    format!("user:{}/{}", rec.project, rec.id)
}

/// 32 random bytes, base64url.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    B64URL.encode(b)
}

/// A short, one-way fingerprint of a credential (kept only inside the sealed cookie).
pub(crate) fn fingerprint(credential: &str) -> String {
    let d = Sha256::new().chain_update(b"coffer-console-fp\0").chain_update(credential.as_bytes()).finalize();
    B64URL.encode(&d[..16])
}

/// Constant-time comparison of two byte strings (their lengths may leak).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value that stores `sealed`.
pub(crate) fn set_cookie(sealed: &str, ttl: std::time::Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{COOKIE}={sealed}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}", ttl.as_secs());
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("coffer_session=; Path=/; Max-Age=0"))
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("coffer_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure")
    } else {
        HeaderValue::from_static("coffer_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    }
}

/// The session cookie's value in the request, if any.
fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The request's session, validated against the store; `Ok(None)` when
/// there is none or it no longer holds. `Err` only when the store fails.
pub(crate) async fn current(inner: &Inner, cx: &Cx) -> Result<Option<Viewer>, PageError> {
    let Some(sealed) = cookie_value(&cx.headers) else { return Ok(None) };
    let now = now_millis();
    let Some(mut session) = Session::open(&inner.iam, sealed, now) else { return Ok(None) };
    if !inner.cfg.regions.contains(&session.region) {
        // The region is no longer served: act in the default one.
        session.region = inner.cfg.regions[0].clone();
    }
    let (principal, generation_key) = match &session.who {
        Who::Operator { access_key } => match inner.iam.resolve(access_key, None, now).await {
            Ok(r) if matches!(r.principal, Principal::Operator { .. }) && fingerprint(&r.secret) == session.fp => {
                (r.principal, operator_generation_key(access_key))
            }
            Ok(_) | Err(ResolveError::Unknown | ResolveError::Inactive | ResolveError::Expired) => return Ok(None),
            Err(ResolveError::WrongRegion) => return Ok(None),
            Err(ResolveError::Failed(e)) => return Err(PageError::failed("checking the operator key", e)),
        },
        Who::User { project, user } => {
            let rec = match inner.iam.store().get_user(project, user).await {
                Ok(Some(rec)) => rec,
                Ok(None) => return Ok(None),
                Err(e) => return Err(PageError::failed(&format!("loading user {project}/{user}"), e)),
            };
            match &rec.password_hash {
                Some(h) if fingerprint(h) == session.fp => {}
                _ => return Ok(None),
            }
            (Principal::User(Iam::principal_of(&rec)), user_generation_key(&rec))
        }
    };
    // Signed out (on any gateway) since this cookie was issued?
    let generation = inner
        .iam
        .store()
        .session_generation(&generation_key)
        .await
        .map_err(|e| PageError::failed("reading the session generation", e))?;
    if generation != session.generation {
        return Ok(None);
    }
    Ok(Some(Viewer { session, principal, generation_key }))
}

/// Whether a state-changing request carries the session's CSRF token, in
/// the form field `csrf` or the header `x-csrf-token`.
pub(crate) fn csrf_ok(session: &Session, cx: &Cx) -> bool {
    let given = cx.form.get("csrf").or_else(|| cx.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    given.is_some_and(|g| ct_eq(g.as_bytes(), session.csrf.as_bytes()))
}
