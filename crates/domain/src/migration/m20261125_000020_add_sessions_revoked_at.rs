use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The precise moment a user's sessions were last revoked. `tokens_valid_after` holds whole
/// seconds for access tokens; a sign-in that began before this instant must not open a session.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("app_user"))
                    .add_column(timestamp_with_time_zone_null("sessions_revoked_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Alias::new("app_user")).drop_column(Alias::new("sessions_revoked_at")).to_owned(),
            )
            .await
    }
}
