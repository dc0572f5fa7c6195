//! Users, their sessions (refresh-token families) and failed-sign-in throttling.
//!
//! The user and refresh-token tables live here, beside every other table, rather than in the
//! auth crate: one migration history, and one transaction can change a user and revoke their
//! sessions together. The auth crate decides (hashes, tokens, what a presented token means);
//! this module stores.

use std::time::Duration;

use careergraph_auth::Role;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use crate::audit::{self, Actor, EntityKind};
use crate::changes::{self, Change};
use crate::entities::{app_user, login_throttle, refresh_token};
use crate::{Db, Error, Result};

/// Longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LENGTH: usize = 254;
/// Longest display name accepted.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Trims and lowercases an e-mail address and checks its shape: one `@`, something before it,
/// a dotted domain after it, no spaces. Deliverability is not checked here.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LENGTH
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|label| !label.is_empty())
        });
    if valid { Ok(email) } else { Err(Error::invalid("email", "is not a valid e-mail address")) }
}

/// An e-mail address as typed at sign-in: trimmed and lowercased, and refused when longer than
/// any valid address, before it is looked up or used as a throttling key.
pub fn sign_in_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(Error::invalid("email", format!("must be at most {MAX_EMAIL_LENGTH} characters")));
    }
    Ok(email)
}

/// Trims a display name and checks it is present and not too long.
pub fn normalize_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("display_name", "must not be empty"));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::invalid("display_name", format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

/// What it takes to create a user; the password is already hashed.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Any case and surrounding space; normalised on insert.
    pub email: String,
    /// Trimmed on insert.
    pub display_name: String,
    /// The user's role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// Creates a user; a taken e-mail address is a `Conflict` on `email`.
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser) -> Result<app_user::Model> {
    let email = normalize_email(&new.email)?;
    let display_name = normalize_display_name(&new.display_name)?;
    check_role(new.role)?;
    if user_by_email(db, &email).await?.is_some() {
        return Err(Error::conflict("email", "is already registered"));
    }
    let now = Utc::now();
    let inserted = app_user::ActiveModel {
        email: Set(email),
        display_name: Set(display_name),
        role: Set(new.role),
        password_hash: Set(new.password_hash),
        disabled: Set(false),
        tokens_valid_after: Set(now.trunc_subsecs(0)),
        last_login_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await;
    // The check above races with a concurrent registration; the unique index settles it.
    match inserted {
        Ok(user) => Ok(user),
        Err(error) if is_unique_violation(&error) => Err(Error::conflict("email", "is already registered")),
        Err(error) => Err(error.into()),
    }
}

/// What an audit event records of a user: what the change was about, and nothing personal
/// (no e-mail address, display name or sign-in times).
#[derive(serde::Serialize)]
struct UserSnapshot {
    id: Uuid,
    role: Role,
    disabled: bool,
    version: i32,
}

impl From<&app_user::Model> for UserSnapshot {
    fn from(user: &app_user::Model) -> Self {
        Self { id: user.id, role: user.role, disabled: user.disabled, version: user.version }
    }
}

/// A stored user is never anonymous: that is the role of a caller without a token.
fn check_role(role: Role) -> Result<()> {
    if role == Role::Anonymous {
        return Err(Error::invalid("role", "must be VIEWER, EDITOR or ADMIN: a user cannot be anonymous"));
    }
    Ok(())
}

fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// The user with this e-mail address (in any case), if any.
pub async fn user_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<app_user::Model>> {
    Ok(app_user::Entity::find().filter(app_user::Column::Email.eq(email.trim().to_lowercase())).one(db).await?)
}

/// The user with this id, if any.
pub async fn user_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<app_user::Model>> {
    Ok(app_user::Entity::find_by_id(id).one(db).await?)
}

async fn active_admins(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Role.eq(Role::Admin))
        .filter(app_user::Column::Disabled.eq(false))
        .count(db)
        .await?)
}

/// Opens a change to the user `user_id` inside `txn`, and returns the user as it is now.
///
/// Every transaction that opens, continues or ends a user's sessions starts here, with a write
/// to the user's row: it locks the row on PostgreSQL until the transaction ends, and takes
/// SQLite's write lock before anything is read (SQLite refuses to upgrade a read transaction
/// that another writer overtook). So a sign-in and a revocation of the same user never
/// interleave: whichever comes second sees what the first did.
async fn lock_user(txn: &impl ConnectionTrait, user_id: Uuid) -> Result<app_user::Model> {
    app_user::Entity::update_many()
        .col_expr(app_user::Column::Version, Expr::col(app_user::Column::Version))
        .filter(app_user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    user_by_id(txn, user_id).await?.ok_or_else(|| Error::NotFound("user".into()))
}

/// Revokes every session of `user` and makes its access tokens issued up to now invalid. Call
/// it in a transaction opened with [`lock_user`].
async fn revoke_everything(
    txn: &impl ConnectionTrait,
    user: app_user::Model,
    now: DateTime<Utc>,
) -> Result<(app_user::Model, Change)> {
    let mut row: app_user::ActiveModel = user.into();
    // Token `iat` has whole seconds. The next whole second is the cut: every token issued so far
    // has an earlier `iat`, and tokens issued from now on are dated no earlier than the cut.
    row.tokens_valid_after = Set(now.trunc_subsecs(0) + chrono::Duration::seconds(1));
    row.sessions_revoked_at = Set(Some(now));
    row.updated_at = Set(now);
    let user = row.update(txn).await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    let change = changes::publish(txn, Change::User { id: user.id }).await?;
    Ok((user, change))
}

/// Replaces a user's password hash. With `revoke`, every session and access token of the user
/// ends (a password change); without, nothing else changes (a rehash at sign-in).
pub async fn set_password_hash(db: &Db, user_id: Uuid, hash: String, revoke: bool) -> Result<app_user::Model> {
    let txn = db.begin().await?;
    let user = lock_user(&txn, user_id).await?;
    let now = Utc::now();
    let mut row: app_user::ActiveModel = user.into();
    row.password_hash = Set(hash);
    row.updated_at = Set(now);
    let mut user = row.update(&txn).await?;
    let mut published = Vec::new();
    if revoke {
        let change;
        (user, change) = revoke_everything(&txn, user, now).await?;
        published.push(change);
    }
    changes::commit(db, txn, published).await?;
    Ok(user)
}

/// Changes a user's role, ending their sessions so the new role takes effect. The last active
/// admin cannot be demoted.
pub async fn set_role(db: &Db, actor: &Actor, user_id: Uuid, role: Role) -> Result<app_user::Model> {
    check_role(role)?;
    let txn = db.begin().await?;
    let user = lock_user(&txn, user_id).await?;
    if user.role == role {
        txn.commit().await?;
        return Ok(user);
    }
    if user.role == Role::Admin && !user.disabled && active_admins(&txn).await? <= 1 {
        return Err(Error::conflict(
            "role",
            "would demote the last active admin, and the last active admin cannot be demoted",
        ));
    }
    let now = Utc::now();
    let before = user.clone();
    let mut row: app_user::ActiveModel = user.into();
    row.role = Set(role);
    row.version = Set(before.version + 1);
    let (user, revoked) = revoke_everything(&txn, row.update(&txn).await?, now).await?;
    let (before, after) = (UserSnapshot::from(&before), UserSnapshot::from(&user));
    let recorded =
        audit::record(&txn, actor, "set_role", EntityKind::User, user.id, Some(&before), Some(&after)).await?;
    changes::commit(db, txn, [revoked, recorded]).await?;
    Ok(user)
}

/// Disables a user: they can no longer sign in or refresh, and their tokens stop working. The
/// last active admin cannot be disabled.
pub async fn disable(db: &Db, actor: &Actor, user_id: Uuid) -> Result<app_user::Model> {
    let txn = db.begin().await?;
    let user = lock_user(&txn, user_id).await?;
    if user.disabled {
        txn.commit().await?;
        return Ok(user);
    }
    if user.role == Role::Admin && active_admins(&txn).await? <= 1 {
        return Err(Error::conflict("user", "is the last active admin, and the last active admin cannot be disabled"));
    }
    let now = Utc::now();
    let before = user.clone();
    let mut row: app_user::ActiveModel = user.into();
    row.disabled = Set(true);
    row.version = Set(before.version + 1);
    let (user, revoked) = revoke_everything(&txn, row.update(&txn).await?, now).await?;
    let (before, after) = (UserSnapshot::from(&before), UserSnapshot::from(&user));
    let recorded =
        audit::record(&txn, actor, "disable", EntityKind::User, user.id, Some(&before), Some(&after)).await?;
    changes::commit(db, txn, [revoked, recorded]).await?;
    Ok(user)
}

/// A page of users, by e-mail address, with `columns` read.
pub async fn list_users(
    db: &impl ConnectionTrait,
    columns: crate::projection::Columns<app_user::Entity>,
    page: crate::page::PageRequest,
) -> Result<crate::page::Page<app_user::Model>> {
    use crate::page::{Cursor, Order, SortValue};
    use crate::queries::Direction;
    let order = Order {
        column: app_user::Column::Email,
        direction: Direction::Asc,
        id: app_user::Column::Id,
        id_direction: Direction::Asc,
        cursor: |row: &app_user::Model| Cursor { value: SortValue::Text(row.email.clone()), id: row.id },
    };
    crate::page::fetch(db, app_user::Entity::find(), order, columns.with(app_user::Column::Id), page).await
}

/// The users among `ids`, with `columns` read: a user shown beside an edit needs neither the
/// password hash nor the session columns.
pub async fn users_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    columns: crate::projection::Columns<app_user::Entity>,
) -> Result<Vec<app_user::Model>> {
    crate::queries::among(db, (app_user::Column::Id, ids), columns, |select| select).await
}

/// Notes a successful sign-in.
pub async fn record_login(db: &impl ConnectionTrait, user_id: Uuid) -> Result<()> {
    app_user::Entity::update_many()
        .col_expr(app_user::Column::LastLoginAt, Expr::value(Utc::now()))
        .filter(app_user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a new refresh token. `family` continues a session (rotation); `None` starts one.
async fn store_refresh_token(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    token_hash: String,
    family: Option<&refresh_token::Model>,
    lifetime: Duration,
) -> Result<refresh_token::Model> {
    let now = Utc::now();
    let expires_at = match family {
        Some(previous) => previous.expires_at,
        None => {
            now + chrono::Duration::from_std(lifetime)
                .map_err(|_| Error::Internal("a refresh-token lifetime out of range".into()))?
        }
    };
    Ok(refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family.map_or_else(Uuid::now_v7, |previous| previous.family_id)),
        token_hash: Set(token_hash),
        rotated_from_id: Set(family.map(|previous| previous.id)),
        expires_at: Set(expires_at),
        created_at: Set(now),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?)
}

/// Opens a session for `user_id`, whose sign-in began at `started` (before its credentials were
/// read), with `token_hash` as its first refresh token, valid for `lifetime`. Refused (`None`)
/// when the user is disabled, or when their sessions were revoked after `started`: the
/// credentials the sign-in checked may be the ones a password change just replaced. Checked in
/// the transaction that stores the token, with the user's row locked.
pub async fn open_session(
    db: &Db,
    user_id: Uuid,
    started: DateTime<Utc>,
    token_hash: String,
    lifetime: Duration,
) -> Result<Option<(app_user::Model, refresh_token::Model)>> {
    let txn = db.begin().await?;
    let user = lock_user(&txn, user_id).await?;
    if user.disabled || user.sessions_revoked_at.is_some_and(|revoked| revoked >= started) {
        return Ok(None);
    }
    let token = store_refresh_token(&txn, user_id, token_hash, None, lifetime).await?;
    txn.commit().await?;
    Ok(Some((user, token)))
}

/// What presenting a refresh token did.
#[derive(Clone, Debug)]
pub enum Rotation {
    /// The token was active and is now spent; the session goes on with the new token.
    Rotated {
        /// The user, as they are now.
        user: app_user::Model,
        /// The new refresh token.
        token: refresh_token::Model,
    },
    /// The token was unknown, spent, revoked or expired (or another request spent it first),
    /// or its user is disabled: the stored row as it is now, if there is one.
    Refused(Option<refresh_token::Model>),
}

/// Spends the refresh token with hash `presented` and stores `new_hash` in its place, in one
/// transaction with the user's row locked: of any number of concurrent presentations of one
/// token exactly one rotates, and none rotates a session that a revocation has ended. A
/// disabled user's session is ended instead.
pub async fn rotate_session(db: &Db, presented: &str, new_hash: String) -> Result<Rotation> {
    let Some(row) = refresh_token_by_hash(db, presented).await? else { return Ok(Rotation::Refused(None)) };
    let txn = db.begin().await?;
    let user = lock_user(&txn, row.user_id).await?;
    let now = Utc::now();
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(presented))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?
        .rows_affected;
    let mut ended = None;
    if spent == 1 && user.disabled {
        ended = Some(revoke_family(&txn, row.family_id).await?);
    }
    if spent != 1 || user.disabled {
        let row = refresh_token_by_hash(&txn, presented).await?;
        changes::commit(db, txn, ended).await?;
        return Ok(Rotation::Refused(row));
    }
    let token = store_refresh_token(&txn, user.id, new_hash, Some(&row), Duration::ZERO).await?;
    txn.commit().await?;
    Ok(Rotation::Rotated { user, token })
}

async fn revoke_family(txn: &impl ConnectionTrait, family_id: Uuid) -> Result<Change> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    changes::publish(txn, Change::SessionEnded { id: family_id }).await
}

/// Ends the session `token` belongs to (logout, or a spent token presented again).
pub async fn revoke_session(db: &Db, token: &refresh_token::Model) -> Result<()> {
    let txn = db.begin().await?;
    lock_user(&txn, token.user_id).await?;
    let ended = revoke_family(&txn, token.family_id).await?;
    changes::commit(db, txn, [ended]).await?;
    Ok(())
}

/// Whether the session `family_id` has been ended. Its access tokens name it (`sid`).
pub async fn session_revoked(db: &impl ConnectionTrait, family_id: Uuid) -> Result<bool> {
    let revoked = refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_not_null())
        .count(db)
        .await?;
    Ok(revoked > 0)
}

/// The stored token with this hash, if any.
pub async fn refresh_token_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<refresh_token::Model>> {
    Ok(refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(token_hash)).one(db).await?)
}

/// How failed sign-ins slow down and then lock a key.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Failures allowed within the window before backing off.
    pub free_failures: u32,
    /// How long failures are remembered after the first one of a window.
    pub window: Duration,
    /// The first lock; each further failure doubles it.
    pub base_lock: Duration,
    /// The longest lock, so the real owner is never locked out for good.
    pub max_lock: Duration,
}

/// Takes an attempt's slot under every one of `keys` (each counted under its policy) before
/// the attempt is made, so concurrent attempts cannot all pass a check and then fail together.
/// The attempt counts as a failure until [`release_attempt`] says otherwise. Returns until when
/// it is refused, if a key is locked; then nothing is counted.
pub async fn claim_attempt(db: &Db, keys: &[(String, ThrottlePolicy)]) -> Result<Option<DateTime<Utc>>> {
    let longest_window = keys.iter().map(|(_, policy)| policy.window).max().unwrap_or_default();
    let mut keys: Vec<&(String, ThrottlePolicy)> = keys.iter().collect();
    // One order for every transaction, so two attempts never wait on each other's keys.
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut rows = Vec::with_capacity(keys.len());
    for (key, policy) in keys {
        // Writing first locks the key's row (PostgreSQL) or the database (SQLite) until commit.
        let fresh = login_throttle::ActiveModel {
            key: Set(key.clone()),
            failures: Set(0),
            window_started_at: Set(now),
            locked_until: Set(None),
        };
        login_throttle::Entity::insert(fresh)
            .on_conflict(
                OnConflict::column(login_throttle::Column::Key).update_column(login_throttle::Column::Key).to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let row = login_throttle::Entity::find_by_id(key.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Internal(format!("throttle key {key} vanished")))?;
        rows.push((row, *policy));
    }
    if let Some(until) = rows.iter().filter_map(|(row, _)| row.locked_until.filter(|until| *until > now)).max() {
        return Ok(Some(until));
    }
    for (row, policy) in rows {
        let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::Duration::MAX);
        let (failures, window_started_at) = if now - row.window_started_at < window {
            (row.failures.saturating_add(1), row.window_started_at)
        } else {
            (1, now)
        };
        let over = u32::try_from(failures).unwrap_or(u32::MAX).saturating_sub(policy.free_failures);
        let locked_until = (over > 0).then(|| {
            let lock = policy.base_lock.saturating_mul(2u32.saturating_pow(over - 1)).min(policy.max_lock);
            now + chrono::Duration::from_std(lock).unwrap_or(chrono::Duration::MAX)
        });
        let mut active: login_throttle::ActiveModel = row.into();
        active.failures = Set(failures);
        active.window_started_at = Set(window_started_at);
        active.locked_until = Set(locked_until);
        active.update(&txn).await?;
    }
    // Forget keys whose window has passed and that hold no lock, so attempts sprayed across
    // made-up addresses cannot grow the table without bound. (Every policy of a server uses one
    // window, so the longest here is the longest anywhere.)
    let longest = chrono::Duration::from_std(longest_window).unwrap_or(chrono::Duration::MAX);
    login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStartedAt.lt(now - longest))
        .filter(login_throttle::Column::LockedUntil.is_null().or(login_throttle::Column::LockedUntil.lt(now)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(None)
}

/// Takes back an attempt [`claim_attempt`] counted, because it did not fail (the password was
/// right, or it was never checked): each key's count drops by one, and a lock that only this
/// attempt set is lifted.
pub async fn release_attempt(db: &Db, keys: &[(String, ThrottlePolicy)]) -> Result<()> {
    let mut keys: Vec<&(String, ThrottlePolicy)> = keys.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let txn = db.begin().await?;
    for (key, policy) in keys {
        login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::col(login_throttle::Column::Failures).sub(1))
            .filter(login_throttle::Column::Key.eq(key.as_str()))
            .filter(login_throttle::Column::Failures.gt(0))
            .exec(&txn)
            .await?;
        login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(login_throttle::Column::Key.eq(key.as_str()))
            .filter(login_throttle::Column::Failures.lte(i32::try_from(policy.free_failures).unwrap_or(i32::MAX)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Forgets the failures of `key` (after a successful sign-in).
pub async fn clear_failures(db: &impl ConnectionTrait, key: &str) -> Result<()> {
    login_throttle::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn throttle_rows_are_forgotten_once_their_window_has_passed() -> Result<()> {
        let db = crate::connect("sqlite::memory:").await?;
        crate::migrate(&db).await?;
        let policy = ThrottlePolicy {
            free_failures: 5,
            window: Duration::from_millis(200),
            base_lock: Duration::from_secs(1),
            max_lock: Duration::from_secs(1),
        };
        claim_attempt(&db, &[("login:old@example.com".into(), policy)]).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        claim_attempt(&db, &[("login:new@example.com".into(), policy)]).await?;
        let keys: Vec<String> = login_throttle::Entity::find().all(&db).await?.into_iter().map(|row| row.key).collect();
        assert_eq!(keys, ["login:new@example.com"]);
        Ok(())
    }

    #[test]
    fn emails_are_normalised_and_checked() -> Result<()> {
        assert_eq!(normalize_email("  Ada.Lovelace@Example.COM ")?, "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@example..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        Ok(())
    }
}
