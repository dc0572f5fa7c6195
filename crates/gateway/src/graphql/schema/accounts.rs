//! Accounts over GraphQL: registering, signing in and out, refreshing, changing the password,
//! and `me`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::entities::app_user;
use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::scalars::DateTime;
use crate::authentication::{AccountError, Principal, Session};
use crate::graphql::plumbing::context::{accounts, one_account_operation, outside_execution_slot, request, store};
use crate::graphql::plumbing::error::{ApiResult, Code, coded};
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::projection;

/// Someone who can sign in.
pub struct User(pub app_user::Model);

/// Personal fields are for the account's owner and for admins only.
fn owner_or_admin(ctx: &Context<'_>, user: &app_user::Model) -> Result<()> {
    let principal = request(ctx).principal();
    if principal.user_id == Some(user.id) || principal.role.satisfies(Role::Admin) {
        Ok(())
    } else {
        Err(coded(Code::Forbidden, "Only the account's owner and admins can read this"))
    }
}

/// A `User` is only reachable through fields that are themselves gated (`me`, the sign-in
/// payloads), so its identity fields are open and its personal fields carry their own rule.
#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl User {
    /// Stable identifier.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// E-mail address, lowercased. Requires VIEWER, and only the owner and admins see it.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        owner_or_admin(ctx, &self.0)?;
        Ok(Some(&self.0.email))
    }

    /// Name shown to others.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    /// What the user may do. Requires VIEWER, and only the owner and admins see it.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn role(&self, ctx: &Context<'_>) -> Result<Option<Role>> {
        owner_or_admin(ctx, &self.0)?;
        Ok(Some(self.0.role))
    }

    /// Whether the account is disabled. Requires VIEWER, and only the owner and admins see it.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn disabled(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        owner_or_admin(ctx, &self.0)?;
        Ok(Some(self.0.disabled))
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// When the user last signed in with their password. Requires VIEWER, and only the owner
    /// and admins see it.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn last_login_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
        owner_or_admin(ctx, &self.0)?;
        Ok(self.0.last_login_at.map(DateTime))
    }
}

/// A signed-in session: send `accessToken` as `Authorization: Bearer …`; exchange
/// `refreshToken` with `refreshSession` before the access token expires.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct SessionPayload {
    /// A JWT, valid for 15 minutes.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime,
    /// An opaque token, usable once, to get the next token pair.
    pub refresh_token: String,
    /// When the session ends, however often it is refreshed (30 days after sign-in).
    pub refresh_token_expires_at: DateTime,
    /// Who is signed in.
    pub user: User,
}

/// Makes the rest of the request speak for the user who just signed in, and builds the payload.
fn signed_in(ctx: &Context<'_>, session: Session) -> SessionPayload {
    let principal = Principal { user_id: Some(session.user.id), role: session.user.role };
    request(ctx).signed_in(principal);
    session.into()
}

impl From<Session> for SessionPayload {
    fn from(session: Session) -> Self {
        let expires =
            i64::try_from(session.access.claims.exp).ok().and_then(|secs| Utc.timestamp_opt(secs, 0).single());
        Self {
            access_token: session.access.token,
            token_type: "Bearer".into(),
            access_token_expires_at: DateTime(expires.unwrap_or(session.refresh_expires_at)),
            refresh_token: session.refresh_token.expose_secret().to_owned(),
            refresh_token_expires_at: DateTime(session.refresh_expires_at),
            user: User(session.user),
        }
    }
}

/// The result of `logout`.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct LogoutPayload {
    /// Always true: the session, if the token belonged to one, has ended.
    pub logged_out: bool,
}

/// Creates a VIEWER account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// E-mail address; case does not matter.
    pub email: String,
    /// 8 to 128 characters, not a common or easily guessed password.
    #[graphql(secret)]
    pub password: String,
    /// Name shown to others (1 to 100 characters).
    pub display_name: String,
}

/// Signs in.
#[derive(InputObject)]
pub struct LoginInput {
    /// E-mail address; case does not matter.
    pub email: String,
    /// The password.
    #[graphql(secret)]
    pub password: String,
}

/// Exchanges a refresh token for a new token pair.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from the last sign-in or refresh.
    #[graphql(secret)]
    pub refresh_token: String,
}

/// Ends a session.
#[derive(InputObject)]
pub struct LogoutInput {
    /// A refresh token of the session to end.
    #[graphql(secret)]
    pub refresh_token: String,
}

/// Changes the signed-in user's password.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password now.
    #[graphql(secret)]
    pub current_password: String,
    /// The new password: 8 to 128 characters, not common or easily guessed.
    #[graphql(secret)]
    pub new_password: String,
}

/// `me`.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(user_id) = request(ctx).principal().user_id else {
            return Err(coded(Code::Unauthenticated, "Sign in to see your account"));
        };
        let user = careergraph_domain::accounts::user_by_id(store(ctx).db(), user_id).await.api()?;
        Ok(user.map(User))
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a VIEWER account and signs it in. Can be turned off by the operator
    /// (`CAREERGRAPH_OPEN_REGISTRATION=false`), and then answers FORBIDDEN.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<SessionPayload> {
        one_account_operation(ctx)?;
        let client = Some(request(ctx).client_address());
        let password = SecretString::from(input.password);
        let registering = accounts(ctx).register(&input.email, &input.display_name, password, client);
        let session = outside_execution_slot(ctx, registering).await.api()?;
        Ok(signed_in(ctx, session))
    }

    /// Signs in. Wrong e-mail and wrong password give the same UNAUTHENTICATED error; repeated
    /// failures back off and then answer RATE_LIMITED with `retryAfterSeconds`.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<SessionPayload> {
        one_account_operation(ctx)?;
        let client = Some(request(ctx).client_address());
        let signing_in = accounts(ctx).login(&input.email, SecretString::from(input.password), client);
        let attempt = outside_execution_slot(ctx, signing_in).await;
        request(ctx).metrics().sign_in(match &attempt {
            Ok(_) => "success",
            Err(AccountError::InvalidCredentials) => "invalid",
            Err(AccountError::RateLimited { .. }) => "rate_limited",
            Err(AccountError::Disabled) => "disabled",
            Err(_) => "error",
        });
        let session = attempt.api()?;
        Ok(signed_in(ctx, session))
    }

    /// Exchanges a refresh token for a new token pair; the old refresh token is spent.
    /// Presenting a spent token ends the whole session (it means the token was copied).
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn refresh_session(&self, ctx: &Context<'_>, input: RefreshSessionInput) -> Result<SessionPayload> {
        one_account_operation(ctx)?;
        let session = accounts(ctx).refresh(&input.refresh_token).await.api()?;
        Ok(signed_in(ctx, session))
    }

    /// Ends the session the refresh token belongs to.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> Result<LogoutPayload> {
        accounts(ctx).logout(&input.refresh_token).await.api()?;
        Ok(LogoutPayload { logged_out: true })
    }

    /// Changes the signed-in user's password. Requires VIEWER. Every other session and access token of the
    /// user stops working; the answer is a fresh session.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> Result<Option<SessionPayload>> {
        one_account_operation(ctx)?;
        let (principal, client) = (request(ctx).principal(), Some(request(ctx).client_address()));
        let (current, new) = (SecretString::from(input.current_password), SecretString::from(input.new_password));
        let changing = accounts(ctx).change_password(principal, current, new, client);
        let session = outside_execution_slot(ctx, changing).await.api()?;
        Ok(Some(signed_in(ctx, session)))
    }
}

projection!(User => app_user {
    "id" => [], "email" => [Email], "displayName" => [DisplayName], "role" => [Role], "disabled" => [Disabled],
    "createdAt" => [CreatedAt], "lastLoginAt" => [LastLoginAt],
});
