//! Authentication: sign-in, sessions, and turning a bearer token into the caller it speaks for.
//! The auth crate decides, the domain stores, and this module puts the two together for the
//! GraphQL API and the command line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use careergraph_auth::keys::{load_or_create_signing_key, load_public_key, load_signing_key};
use careergraph_auth::password::{PasswordError, Passwords, check_new};
use careergraph_auth::refresh::{self, Presented, StoredState};
use careergraph_auth::token::{Claims, Issued, TokenError, TokenKeys};
use careergraph_auth::{Role, password};
use careergraph_domain::accounts::{self as store, Consumed, NewUser, ThrottlePolicy};
use careergraph_domain::entities::app_user;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
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

    fn remember_user(&self, user: &app_user::Model) {
        if let Ok(mut map) = self.users.lock() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(
                user.id,
                UserState {
                    role: user.role,
                    disabled: user.disabled,
                    tokens_valid_after: user.tokens_valid_after.timestamp(),
                    fetched: Instant::now(),
                },
            );
        }
    }

    fn forget_user(&self, id: Uuid) {
        if let Ok(mut map) = self.users.lock() {
            map.remove(&id);
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

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

/// Loads the signing key (creating it in the data directory when none is configured) and the
/// extra verification keys.
pub fn token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let signing = match &config.jwt_key_file {
        Some(path) => load_signing_key(path).context("cannot load the JWT signing key")?,
        None => {
            let path = config.jwt_key_path();
            let (key, created) = load_or_create_signing_key(&path).context("cannot create the JWT signing key")?;
            if created {
                tracing::info!(path = %path.display(), "created a new token signing key");
            }
            key
        }
    };
    let extra = config
        .jwt_verify_key_files
        .iter()
        .map(|path| load_public_key(path).context("cannot load a JWT verification key"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TokenKeys::new(&config.jwt_issuer, &config.jwt_audience, &signing, &extra)?)
}

impl Accounts {
    /// Accounts backed by `store`, with keys and policies from `config`.
    pub fn new(store: Store, config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            passwords: Passwords::new(config.password_hash_concurrency())?,
            tokens: token_keys(config)?,
            open_registration: config.open_registration,
            per_account: throttle(config.login_free_failures),
            per_address: throttle(config.login_free_failures_per_address),
            cache: AuthCache {
                claims: Mutex::new(HashMap::new()),
                users: Mutex::new(HashMap::new()),
                ttl: Duration::from_secs(config.user_cache_secs),
            },
        })
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        self.tokens.jwks()
    }

    /// Creates a VIEWER account and signs it in.
    pub async fn register(
        &self,
        email: &str,
        display_name: &str,
        password: SecretString,
    ) -> Result<Session, AccountError> {
        if !self.open_registration {
            return Err(AccountError::RegistrationClosed);
        }
        let user =
            create_user(&self.store, &self.passwords, email, display_name, Role::Viewer, password, "password").await?;
        self.start_session(user, None).await
    }

    /// Signs in with e-mail and password. Unknown e-mails and wrong passwords cost the same
    /// time and give the same error; failures are throttled per account and per address.
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<Session, AccountError> {
        let email = email.trim().to_lowercase();
        let mut keys = vec![account_key(&email)];
        keys.extend(client.map(address_key));
        if let Some(until) = store::locked_until(self.store.db(), &keys).await? {
            return Err(rate_limited(until));
        }
        let user = store::user_by_email(self.store.db(), &email).await?;
        let verification =
            self.passwords.verify(password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await?;
        let Some(user) = user.filter(|_| verification.matches) else {
            store::record_failure(self.store.db(), &keys[0], self.per_account).await?;
            if let Some(address) = keys.get(1) {
                store::record_failure(self.store.db(), address, self.per_address).await?;
            }
            return Err(AccountError::InvalidCredentials);
        };
        if user.disabled {
            return Err(AccountError::Disabled);
        }
        store::clear_failures(self.store.db(), &keys[0]).await?;
        let user = if verification.needs_rehash {
            let hash = self.passwords.hash(password).await?;
            store::set_password_hash(self.store.db(), user.id, hash, false).await?
        } else {
            user
        };
        store::record_login(self.store.db(), user.id).await?;
        self.start_session(user, None).await
    }

    /// Exchanges a refresh token for a new session token pair. A token presented twice
    /// revokes its whole session: one of the two presenters is not who they claim.
    pub async fn refresh(&self, token: &str) -> Result<Session, AccountError> {
        let hash = refresh::hash(token);
        match store::consume_refresh_token(self.store.db(), &hash).await? {
            Consumed::Won(spent) => {
                let user = store::user_by_id(self.store.db(), spent.user_id).await?;
                match user {
                    Some(user) if !user.disabled => self.start_session(user, Some(&spent)).await,
                    _ => {
                        store::revoke_family(self.store.db(), spent.family_id).await?;
                        Err(AccountError::InvalidRefreshToken)
                    }
                }
            }
            Consumed::Lost(row) => {
                let now = Utc::now();
                let state = row.as_ref().map(|row| StoredState {
                    used: row.used_at.is_some(),
                    revoked: row.revoked_at.is_some(),
                    expired: row.expires_at <= now,
                });
                if let (Presented::Reused, Some(row)) = (refresh::classify(state), &row) {
                    tracing::warn!(user = %row.user_id, family = %row.family_id, "refresh token reused: session revoked");
                    store::revoke_family(self.store.db(), row.family_id).await?;
                }
                Err(AccountError::InvalidRefreshToken)
            }
        }
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are ignored, so the answer
    /// tells nothing about which tokens exist.
    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        if let Some(row) = store::refresh_token_by_hash(self.store.db(), &refresh::hash(token)).await? {
            store::revoke_family(self.store.db(), row.family_id).await?;
        }
        Ok(())
    }

    /// Changes the caller's password, ending every session and access token they had, and
    /// signs them in afresh.
    pub async fn change_password(
        &self,
        principal: Principal,
        current: SecretString,
        new: SecretString,
    ) -> Result<Session, AccountError> {
        let user_id = principal.user_id.ok_or(AccountError::NotSignedIn)?;
        let user = store::user_by_id(self.store.db(), user_id).await?.ok_or(AccountError::NotSignedIn)?;
        let key = account_key(&user.email);
        if let Some(until) = store::locked_until(self.store.db(), std::slice::from_ref(&key)).await? {
            return Err(rate_limited(until));
        }
        if !self.passwords.verify(current, Some(user.password_hash.clone())).await?.matches {
            store::record_failure(self.store.db(), &key, self.per_account).await?;
            return Err(AccountError::InvalidCredentials);
        }
        check_new(new.expose_secret(), &[&user.email, &user.display_name])
            .map_err(|reason| AccountError::WeakPassword { field: "newPassword", reason })?;
        let hash = self.passwords.hash(new).await?;
        let user = store::set_password_hash(self.store.db(), user.id, hash, true).await?;
        self.cache.forget_user(user.id);
        self.start_session(user, None).await
    }

    /// Forgets what this server knows about a user, so a change made here applies at once.
    pub fn forget_user(&self, user_id: Uuid) {
        self.cache.forget_user(user_id);
    }

    /// Turns a bearer token into the caller it speaks for. The token must verify, its user must
    /// exist and be enabled, and it must have been issued after the user's last revocation.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, TokenError> {
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
                    .map_err(|error| {
                        tracing::error!(%error, "cannot load the token's user");
                        TokenError::Invalid("the user could not be checked".into())
                    })?
                    .ok_or_else(|| TokenError::Invalid("no such user".into()))?;
                self.cache.remember_user(&user);
                self.cache.user(user_id).ok_or_else(|| TokenError::Invalid("no such user".into()))?
            }
        };
        if state.disabled {
            return Err(TokenError::Invalid("the account is disabled".into()));
        }
        if i64::try_from(claims.iat).unwrap_or(i64::MAX) < state.tokens_valid_after {
            return Err(TokenError::Invalid("the token was revoked".into()));
        }
        Ok(Principal { user_id: Some(user_id), role: state.role.min(claims.role) })
    }

    async fn start_session(
        &self,
        user: app_user::Model,
        rotated_from: Option<&careergraph_domain::entities::refresh_token::Model>,
    ) -> Result<Session, AccountError> {
        let earliest = u64::try_from(user.tokens_valid_after.timestamp()).unwrap_or(0);
        let access = self.tokens.issue_not_before(user.id, user.role, earliest)?;
        let fresh = refresh::generate();
        let stored =
            store::store_refresh_token(self.store.db(), user.id, fresh.hash, rotated_from, refresh::LIFETIME).await?;
        Ok(Session { access, refresh_token: fresh.token, refresh_expires_at: stored.expires_at, user })
    }
}

fn rate_limited(until: DateTime<Utc>) -> AccountError {
    let wait = (until - Utc::now()).num_milliseconds().max(0).unsigned_abs();
    AccountError::RateLimited { retry_after_secs: wait.div_ceil(1000).max(1) }
}

/// Creates a user with a password, checking the password first; `field` names the password
/// input in errors.
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
    check_new(password.expose_secret(), &[&email, &display_name])
        .map_err(|reason| AccountError::WeakPassword { field, reason })?;
    let password_hash = passwords.hash(password).await?;
    Ok(store::create_user(store.db(), NewUser { email, display_name, role, password_hash }).await?)
}

/// A hasher for one-off command-line use.
pub fn command_line_passwords() -> Result<Passwords, AccountError> {
    Ok(Passwords::new(1)?)
}

/// The lengths a password must have, for messages.
pub fn password_rules() -> String {
    format!("{} to {} characters, not a common password", password::MIN_CHARS, password::MAX_CHARS)
}
