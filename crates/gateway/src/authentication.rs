//! Authentication: sign-in, sessions, and turning a bearer token into the caller it speaks for.
//! The auth crate decides, the domain stores, and this module puts the two together for the
//! GraphQL API and the command line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use careergraph_auth::keys::{
    SigningMaterial, VerifyingKey, load_or_create_signing_key, load_public_key, load_signing_key,
};
use careergraph_auth::password::{PasswordError, Passwords};
use careergraph_auth::refresh::{self, Presented, StoredState};
use careergraph_auth::token::{Claims, Issued, TokenError, TokenKeys};
use careergraph_auth::{Role, password};
use careergraph_domain::accounts::{self as store, NewUser, Rotation, ThrottlePolicy};
use careergraph_domain::changes::Change;
use careergraph_domain::entities::app_user;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use uuid::Uuid;

use crate::config::Config;
use crate::store::Store;

/// Who is making a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The signed-in user; `None` for anonymous callers.
    pub user_id: Option<Uuid>,
    /// What they may do.
    pub role: Role,
}

impl Principal {
    /// A caller without a token.
    pub const ANONYMOUS: Self = Self { user_id: None, role: Role::Anonymous };
}

/// Why an account operation failed, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("Invalid e-mail or password")]
    InvalidCredentials,
    /// The account exists and the password was right, but it is disabled.
    #[error("This account is disabled")]
    Disabled,
    /// The refresh token is unknown, spent, revoked or expired.
    #[error("The refresh token is invalid or expired; sign in again")]
    InvalidRefreshToken,
    /// Too many failures, or too many sign-ins at once: retry after the given time.
    #[error("Too many attempts; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// `register` is turned off.
    #[error("Registration is closed; ask an administrator for an account")]
    RegistrationClosed,
    /// The operation needs a signed-in user.
    #[error("Sign in first")]
    NotSignedIn,
    /// A new password breaks a rule; `field` names the input.
    #[error("{field} {reason}")]
    WeakPassword {
        /// `password` or `newPassword`.
        field: &'static str,
        /// Why.
        reason: PasswordError,
    },
    /// Anything the domain refused or failed with.
    #[error(transparent)]
    Domain(#[from] careergraph_domain::Error),
    /// A failure on our side.
    #[error("{0}")]
    Internal(String),
}

/// Why a bearer token was not turned into a caller.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// The token is not valid (malformed, expired, revoked, its user gone or disabled).
    #[error(transparent)]
    Invalid(#[from] TokenError),
    /// The token could not be checked: the database did not answer. Not the client's fault, and
    /// no reason for it to sign out.
    #[error("the token could not be checked: {0}")]
    Unchecked(careergraph_domain::Error),
}

impl From<PasswordError> for AccountError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => Self::RateLimited { retry_after_secs: 1 },
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<TokenError> for AccountError {
    fn from(error: TokenError) -> Self {
        Self::Internal(error.to_string())
    }
}

/// A signed-in session, as the sign-in mutations return it.
pub struct Session {
    /// The access token and its claims.
    pub access: Issued,
    /// The refresh token; shown to the client once.
    pub refresh_token: SecretString,
    /// When the session ends, however often it is refreshed.
    pub refresh_expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: app_user::Model,
}

/// What the server knows about a user when checking their tokens, and when it learned it.
#[derive(Clone, Copy)]
struct UserState {
    role: Role,
    disabled: bool,
    tokens_valid_after: i64,
    fetched: Instant,
}

/// The verified-token and user-state caches. Verifying an EdDSA signature costs ~37 µs and a
/// user lookup a database round trip; both would otherwise be paid on every request.
/// Hand-written rather than a caching crate: two maps with a time-to-live and a size cap are
/// all that is needed, and both are cleared wholesale when full.
struct AuthCache {
    claims: Mutex<HashMap<String, Claims>>,
    users: Mutex<HashMap<Uuid, UserState>>,
    /// Whether each session is ended, and when that was learned. An ended session stays ended.
    sessions: Mutex<HashMap<Uuid, (bool, Instant)>>,
    ttl: Duration,
}

const CACHE_CAPACITY: usize = 10_000;

impl AuthCache {
    fn claims(&self, token: &str) -> Option<Claims> {
        self.claims.lock().ok()?.get(token).cloned()
    }

    fn remember_claims(&self, token: &str, claims: &Claims) {
        if let Ok(mut map) = self.claims.lock() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(token.to_owned(), claims.clone());
        }
    }

    fn user(&self, id: Uuid) -> Option<UserState> {
        let state = *self.users.lock().ok()?.get(&id)?;
        (state.fetched.elapsed() < self.ttl).then_some(state)
    }

    /// Remembers what is known of `user` now, and returns it.
    fn remember_user(&self, user: &app_user::Model) -> UserState {
        let state = UserState {
            role: user.role,
            disabled: user.disabled,
            tokens_valid_after: user.tokens_valid_after.timestamp(),
            fetched: Instant::now(),
        };
        if let Ok(mut map) = self.users.lock() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(user.id, state);
        }
        state
    }

    fn forget_user(&self, id: Uuid) {
        if let Ok(mut map) = self.users.lock() {
            map.remove(&id);
        }
    }

    /// Forgets every user's state and every session not known to have ended (an ended session
    /// stays ended).
    fn forget_all_users(&self) {
        if let Ok(mut map) = self.users.lock() {
            map.clear();
        }
        if let Ok(mut map) = self.sessions.lock() {
            map.retain(|_, (ended, _)| *ended);
        }
    }

    fn session_ended(&self, id: Uuid) -> Option<bool> {
        let (ended, fetched) = *self.sessions.lock().ok()?.get(&id)?;
        (ended || fetched.elapsed() < self.ttl).then_some(ended)
    }

    fn remember_session(&self, id: Uuid, ended: bool) {
        if let Ok(mut map) = self.sessions.lock() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(id, (ended, Instant::now()));
        }
    }
}

/// Accounts and sessions for one server.
pub struct Accounts {
    store: Store,
    passwords: Passwords,
    tokens: TokenKeys,
    open_registration: bool,
    per_account: ThrottlePolicy,
    per_address: ThrottlePolicy,
    per_address_registration: ThrottlePolicy,
    cache: AuthCache,
}

fn throttle(free_failures: u32) -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures,
        window: Duration::from_secs(15 * 60),
        base_lock: Duration::from_secs(1),
        max_lock: Duration::from_secs(15 * 60),
    }
}

/// The network a client address counts for: the address itself for IPv4, its /64 for IPv6 (one
/// subscriber usually holds a whole /64 and can rotate through it at will).
pub(crate) fn network(client: Option<IpAddr>) -> String {
    match network_address(client) {
        Some(IpAddr::V6(prefix)) => format!("{prefix}/64"),
        Some(address) => address.to_string(),
        None => "unknown".to_owned(),
    }
}

/// The first address of the network [`network`] names: the IPv4 address itself, or the IPv6
/// address with its last 64 bits cleared.
pub(crate) fn network_address(client: Option<IpAddr>) -> Option<IpAddr> {
    client.map(|address| match address.to_canonical() {
        IpAddr::V6(address) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(address) & !((1u128 << 64) - 1))),
        address => address,
    })
}

/// Failed sign-ins are counted per account and client network together, so that failures from
/// elsewhere never lock an owner out, and per client network, so that one client cannot spray
/// guesses across accounts.
fn sign_in_keys(
    email: &str,
    network: &str,
    per_account: ThrottlePolicy,
    per_address: ThrottlePolicy,
) -> [(String, ThrottlePolicy); 2] {
    [(format!("login:{email}|{network}"), per_account), (format!("address:{network}"), per_address)]
}

/// The key material configured as files, read (and so checked) before anything is written: a
/// start that fails on a key file leaves no data directory behind. A signing key that is not
/// configured is made in the data directory later, by [`KeyFiles::into_keys`].
pub struct KeyFiles {
    signing: Option<SigningMaterial>,
    extra: Vec<VerifyingKey>,
}

impl KeyFiles {
    /// Reads the configured signing key file, if any, and every verification key file.
    pub fn read(config: &Config) -> anyhow::Result<Self> {
        let signing = config
            .jwt_key_file
            .as_deref()
            .map(|path| load_signing_key(path).context("cannot load the JWT signing key"))
            .transpose()?;
        let extra = config
            .jwt_verify_key_files
            .iter()
            .map(|path| load_public_key(path).context("cannot load a JWT verification key"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { signing, extra })
    }

    /// The token keys: the configured signing key, or the data directory's, made if missing.
    pub fn into_keys(self, config: &Config) -> anyhow::Result<TokenKeys> {
        let signing = match self.signing {
            Some(signing) => signing,
            None => {
                let path = config.jwt_key_path();
                let (key, created) = load_or_create_signing_key(&path).context("cannot create the JWT signing key")?;
                if created {
                    tracing::info!(path = %path.display(), "created a new token signing key");
                }
                key
            }
        };
        Ok(TokenKeys::new(&config.jwt_issuer, &config.jwt_audience, &signing, &self.extra)?)
    }
}

impl Accounts {
    /// Accounts backed by `store`, signing with `tokens`, with policies from `config`.
    pub fn new(store: Store, config: &Config, tokens: TokenKeys) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            passwords: Passwords::new(config.password_hash_concurrency())?,
            tokens,
            open_registration: config.open_registration,
            per_account: throttle(config.login_free_failures),
            per_address: throttle(config.login_free_failures_per_address),
            per_address_registration: throttle(config.register_free_per_address),
            cache: AuthCache {
                claims: Mutex::new(HashMap::new()),
                users: Mutex::new(HashMap::new()),
                sessions: Mutex::new(HashMap::new()),
                ttl: Duration::from_secs(config.user_cache_secs),
            },
        })
    }

    /// The bounded pool that hashes and checks passwords (for its metrics).
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        self.tokens.jwks()
    }

    /// Creates a VIEWER account and signs it in. Every attempt counts against the client's
    /// address, whatever its outcome, before any work is done.
    pub async fn register(
        &self,
        email: &str,
        display_name: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<Session, AccountError> {
        if !self.open_registration {
            return Err(AccountError::RegistrationClosed);
        }
        let started = Utc::now();
        let key = (format!("register:{}", network(client)), self.per_address_registration);
        if let Some(until) = store::claim_attempt(self.store.db(), std::slice::from_ref(&key)).await? {
            return Err(rate_limited(until));
        }
        let user =
            create_user(&self.store, &self.passwords, email, display_name, Role::Viewer, password, "password").await?;
        self.open_session(user, started).await
    }

    /// Signs in with e-mail and password. Unknown e-mails and wrong passwords cost the same
    /// time and give the same error. Each attempt takes its slot in the throttle before the
    /// password is checked, per account and client network and per client network.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<Session, AccountError> {
        let started = Utc::now();
        let email = store::sign_in_email(email)?;
        let keys = sign_in_keys(&email, &network(client), self.per_account, self.per_address);
        if let Some(until) = store::claim_attempt(self.store.db(), &keys).await? {
            return Err(rate_limited(until));
        }
        let user = store::user_by_email(self.store.db(), &email).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verification = match self.passwords.verify(password.clone(), stored).await {
            Ok(verification) => verification,
            Err(error) => {
                // Never checked: it does not count as a failure.
                store::release_attempt(self.store.db(), &keys).await?;
                return Err(error.into());
            }
        };
        let Some(user) = user.filter(|_| verification.matches) else {
            return Err(AccountError::InvalidCredentials);
        };
        store::release_attempt(self.store.db(), &keys).await?;
        store::clear_failures(self.store.db(), &keys[0].0).await?;
        if user.disabled {
            return Err(AccountError::Disabled);
        }
        let user = if verification.needs_rehash {
            let hash = self.passwords.hash(password).await?;
            store::set_password_hash(self.store.db(), user.id, hash, false).await?
        } else {
            user
        };
        store::record_login(self.store.db(), user.id).await?;
        self.open_session(user, started).await
    }

    /// Exchanges a refresh token for a new session token pair. A token presented twice
    /// revokes its whole session: one of the two presenters is not who they claim.
    pub async fn refresh(&self, token: &str) -> Result<Session, AccountError> {
        let fresh = refresh::generate();
        match store::rotate_session(self.store.db(), &refresh::hash(token), fresh.hash).await? {
            Rotation::Rotated { user, token: stored } => self.session(user, fresh.token, &stored),
            Rotation::Refused(row) => {
                let now = Utc::now();
                let state = row.as_ref().map(|row| StoredState {
                    used: row.used_at.is_some(),
                    revoked: row.revoked_at.is_some(),
                    expired: row.expires_at <= now,
                });
                if let (Presented::Reused, Some(row)) = (refresh::classify(state), &row) {
                    tracing::warn!(user = %row.user_id, family = %row.family_id, "refresh token reused: session revoked");
                    self.end_session(row).await?;
                }
                Err(AccountError::InvalidRefreshToken)
            }
        }
    }

    /// Ends the session the refresh token belongs to, and its access tokens with it. Unknown
    /// tokens are ignored, so the answer tells nothing about which tokens exist.
    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        if let Some(row) = store::refresh_token_by_hash(self.store.db(), &refresh::hash(token)).await? {
            self.end_session(&row).await?;
        }
        Ok(())
    }

    async fn end_session(
        &self,
        token: &careergraph_domain::entities::refresh_token::Model,
    ) -> Result<(), AccountError> {
        store::revoke_session(self.store.db(), token).await?;
        self.cache.remember_session(token.family_id, true);
        Ok(())
    }

    /// Changes the caller's password, ending every session and access token they had, and
    /// signs them in afresh. The current password is throttled like a sign-in.
    pub async fn change_password(
        &self,
        principal: Principal,
        current: SecretString,
        new: SecretString,
        client: Option<IpAddr>,
    ) -> Result<Session, AccountError> {
        let user_id = principal.user_id.ok_or(AccountError::NotSignedIn)?;
        let user = store::user_by_id(self.store.db(), user_id).await?.ok_or(AccountError::NotSignedIn)?;
        let keys = sign_in_keys(&user.email, &network(client), self.per_account, self.per_address);
        if let Some(until) = store::claim_attempt(self.store.db(), &keys).await? {
            return Err(rate_limited(until));
        }
        let verification = match self.passwords.verify(current, Some(user.password_hash.clone())).await {
            Ok(verification) => verification,
            Err(error) => {
                store::release_attempt(self.store.db(), &keys).await?;
                return Err(error.into());
            }
        };
        if !verification.matches {
            return Err(AccountError::InvalidCredentials);
        }
        store::release_attempt(self.store.db(), &keys).await?;
        let context = vec![user.email.clone(), user.display_name.clone()];
        let hash = self.passwords.check_and_hash(new, context).await.map_err(|error| weak(error, "newPassword"))?;
        let user = store::set_password_hash(self.store.db(), user.id, hash, true).await?;
        self.cache.forget_user(user.id);
        self.open_session(user, Utc::now()).await
    }

    /// Forgets what this server knows about a user, so a change made here applies at once.
    pub fn forget_user(&self, user_id: Uuid) {
        self.cache.forget_user(user_id);
    }

    /// Applies a change another process (or this one) committed (see [`crate::changes`]).
    pub fn apply(&self, change: &Change) {
        match change {
            Change::User { id } => self.cache.forget_user(*id),
            Change::SessionEnded { id } => self.cache.remember_session(*id, true),
            Change::Content(_) => {}
            Change::Everything => self.cache.forget_all_users(),
        }
    }

    /// When a valid `token` expires (seconds since the epoch) and the session it belongs to, for
    /// what holds it open beyond one request (a WebSocket connection); `None` for a token that
    /// does not verify.
    pub fn token_bounds(&self, token: &str) -> Option<(u64, Option<Uuid>)> {
        let claims = self.tokens.verify(token).ok()?;
        Some((claims.exp, claims.session_id().ok()?))
    }

    /// Turns a bearer token into the caller it speaks for. The token must verify, its user must
    /// exist and be enabled, and it must have been issued after the user's last revocation.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, BearerError> {
        let claims = match self.cache.claims(token) {
            Some(claims) if claims.exp > Utc::now().timestamp().unsigned_abs() => claims,
            _ => {
                let claims = self.tokens.verify(token)?;
                self.cache.remember_claims(token, &claims);
                claims
            }
        };
        let user_id = claims.user_id()?;
        let state = match self.cache.user(user_id) {
            Some(state) => state,
            None => {
                let user = store::user_by_id(self.store.db(), user_id)
                    .await
                    .map_err(BearerError::Unchecked)?
                    .ok_or_else(|| TokenError::Invalid("no such user".into()))?;
                // What was just read is used as read: a zero cache time must not make it stale.
                self.cache.remember_user(&user)
            }
        };
        if state.disabled {
            return Err(TokenError::Invalid("the account is disabled".into()).into());
        }
        if i64::try_from(claims.iat).unwrap_or(i64::MAX) < state.tokens_valid_after {
            return Err(TokenError::Invalid("the token was revoked".into()).into());
        }
        if let Some(session) = claims.session_id()?
            && self.session_ended(session).await?
        {
            return Err(TokenError::Invalid("the session has ended".into()).into());
        }
        Ok(Principal { user_id: Some(user_id), role: state.role.min(claims.role) })
    }

    /// Whether the session has ended (logout, reuse of a spent refresh token, a revocation):
    /// known at once where it happened, and within the user-cache time everywhere else.
    async fn session_ended(&self, session: Uuid) -> Result<bool, BearerError> {
        if let Some(ended) = self.cache.session_ended(session) {
            return Ok(ended);
        }
        let ended = store::session_revoked(self.store.db(), session).await.map_err(BearerError::Unchecked)?;
        self.cache.remember_session(session, ended);
        Ok(ended)
    }

    /// Opens a session for `user`, whose sign-in began at `started`; refused if the user's
    /// sessions were revoked since (see [`store::open_session`]).
    async fn open_session(&self, user: app_user::Model, started: DateTime<Utc>) -> Result<Session, AccountError> {
        let fresh = refresh::generate();
        let opened = store::open_session(self.store.db(), user.id, started, fresh.hash, refresh::LIFETIME).await?;
        let Some((user, stored)) = opened else { return Err(AccountError::InvalidCredentials) };
        self.session(user, fresh.token, &stored)
    }

    /// The tokens of a session whose refresh token `stored` has just been stored.
    fn session(
        &self,
        user: app_user::Model,
        refresh_token: SecretString,
        stored: &careergraph_domain::entities::refresh_token::Model,
    ) -> Result<Session, AccountError> {
        let earliest = u64::try_from(user.tokens_valid_after.timestamp()).unwrap_or(0);
        let access = self.tokens.issue_for_session(user.id, user.role, Some(stored.family_id), earliest)?;
        Ok(Session { access, refresh_token, refresh_expires_at: stored.expires_at, user })
    }
}

fn rate_limited(until: DateTime<Utc>) -> AccountError {
    let wait = (until - Utc::now()).num_milliseconds().max(0).unsigned_abs();
    AccountError::RateLimited { retry_after_secs: wait.div_ceil(1000).max(1) }
}

/// Creates a user with a password; `field` names the password input in errors. The cheap
/// checks come first (the e-mail address, the display name, whether the address is taken); the
/// password's strength is judged and the password hashed only then, in the bounded pool.
pub async fn create_user(
    store: &Store,
    passwords: &Passwords,
    email: &str,
    display_name: &str,
    role: Role,
    password: SecretString,
    field: &'static str,
) -> Result<app_user::Model, AccountError> {
    let email = store::normalize_email(email)?;
    let display_name = store::normalize_display_name(display_name)?;
    if store::user_by_email(store.db(), &email).await?.is_some() {
        return Err(careergraph_domain::Error::conflict("email", "is already registered").into());
    }
    let context = vec![email.clone(), display_name.clone()];
    let password_hash = passwords.check_and_hash(password, context).await.map_err(|error| weak(error, field))?;
    Ok(store::create_user(store.db(), NewUser { email, display_name, role, password_hash }).await?)
}

/// A password rule broken, on the input `field`; anything else as it is.
fn weak(error: PasswordError, field: &'static str) -> AccountError {
    match error {
        PasswordError::TooShort | PasswordError::TooLong | PasswordError::TooGuessable(_) => {
            AccountError::WeakPassword { field, reason: error }
        }
        other => other.into(),
    }
}

/// A hasher for one-off command-line use.
pub fn command_line_passwords() -> Result<Passwords, AccountError> {
    Ok(Passwords::new(1)?)
}

/// The lengths a password must have, for messages.
pub fn password_rules() -> String {
    format!("{} to {} characters, not a common password", password::MIN_CHARS, password::MAX_CHARS)
}
