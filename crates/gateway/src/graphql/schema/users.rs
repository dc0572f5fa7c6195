//! User administration, for admins: listing users, changing a role, disabling an account.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::accounts;

use super::accounts::User;
use super::connections::{Paged, connection, page_request};
use crate::graphql::plumbing::context::{accounts as sessions, actor, id_of, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::asked_of_connection;

/// Changes a user's role.
#[derive(InputObject)]
pub struct SetUserRoleInput {
    /// The user.
    pub user_id: ID,
    /// The new role: VIEWER, EDITOR or ADMIN (a user cannot be ANONYMOUS).
    pub role: Role,
}

/// Disables a user.
#[derive(InputObject)]
pub struct DisableUserInput {
    /// The user.
    pub user_id: ID,
}

/// A changed user.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct UserPayload {
    /// The user as they are now.
    pub user: User,
}

/// Queries for admins.
#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// Every user, by e-mail address. Requires ADMIN.
    #[graphql(directive = auth::apply(Role::Admin))]
    async fn users(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Option<Paged<User>>> {
        const SORTED_BY: &str = "email asc";
        let page = page_request(ctx, SORTED_BY, first, after.as_deref())?;
        let columns = asked_of_connection::<User>(ctx);
        let rows = accounts::list_users(store(ctx).db(), columns, page.clone()).await.api()?;
        Ok(Some(connection(SORTED_BY, &page, rows, User)))
    }
}

/// Mutations for admins.
#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Changes a user's role; their sessions end so it applies at once. The last active admin
    /// cannot be demoted. Requires ADMIN.
    #[graphql(directive = auth::apply(Role::Admin))]
    async fn set_user_role(&self, ctx: &Context<'_>, input: SetUserRoleInput) -> Result<Option<UserPayload>> {
        let id = id_of("userId", &input.user_id)?;
        let user = accounts::set_role(store(ctx).db(), &actor(ctx), id, input.role).await.api()?;
        sessions(ctx).forget_user(user.id);
        Ok(Some(UserPayload { user: User(user) }))
    }

    /// Disables a user: they cannot sign in, and their sessions and tokens stop working. The
    /// last active admin cannot be disabled. Requires ADMIN.
    #[graphql(directive = auth::apply(Role::Admin))]
    async fn disable_user(&self, ctx: &Context<'_>, input: DisableUserInput) -> Result<Option<UserPayload>> {
        let id = id_of("userId", &input.user_id)?;
        let user = accounts::disable(store(ctx).db(), &actor(ctx), id).await.api()?;
        sessions(ctx).forget_user(user.id);
        Ok(Some(UserPayload { user: User(user) }))
    }
}
