//! One module per table. Relations are declared only where a query joins through them.

/// Gives a versioned table (one with `id`, `version`, `created_at` and `updated_at`) the
/// behaviour every insert needs, so no caller writes it out: a new row gets a UUID v7 id,
/// version 1 and both timestamps, unless the caller set them. Bulk `insert_many` bypasses
/// sea-orm's hooks, so its callers still set these columns themselves.
macro_rules! versioned_row {
    () => {
        #[async_trait::async_trait]
        impl ActiveModelBehavior for ActiveModel {
            async fn before_save<C>(mut self, _db: &C, insert: bool) -> Result<Self, DbErr>
            where
                C: ConnectionTrait,
            {
                use sea_orm::ActiveValue::Set;
                if insert {
                    let now = chrono::Utc::now();
                    if self.id.is_not_set() {
                        self.id = Set(Uuid::now_v7());
                    }
                    if self.version.is_not_set() {
                        self.version = Set(1);
                    }
                    if self.created_at.is_not_set() {
                        self.created_at = Set(now);
                    }
                    if self.updated_at.is_not_set() {
                        self.updated_at = Set(now);
                    }
                }
                Ok(self)
            }
        }
    };
}

/// An entity whose rows are edited and audited: an id, then `$fields`, then the version and
/// the two timestamps, set by [`versioned_row!`]; no relations of its own (the link tables and
/// foreign keys are queried explicitly). Written once, since every such table has the same
/// frame and only its own columns differ.
macro_rules! versioned_entity {
    (
        table_name = $table:literal;
        $( $(#[$attribute:meta])* pub $field:ident : $type:ty ),* $(,)?
    ) => {
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            $( $(#[$attribute])* pub $field: $type, )*
            pub version: i32,
            pub created_at: DateTimeUtc,
            pub updated_at: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        versioned_row!();
    };
}

pub mod app_user;
pub mod audit_event;
pub mod benefit;
pub mod career_move;
pub mod career_path;
pub mod career_path_alternate_title;
pub mod career_path_benefit;
pub mod career_path_industry;
pub mod career_path_skill;
pub mod career_path_technology;
pub mod career_path_weight;
pub mod data_source;
pub mod import_record;
pub mod industry;
pub mod job_zone;
pub mod learning_resource;
pub mod login_throttle;
pub mod refresh_token;
pub mod related_career_path;
pub mod responsibility;
pub mod roadmap_step;
pub mod roadmap_step_skill;
pub mod salary_record;
pub mod skill;
pub mod skill_pair;
pub mod skill_reach;
pub mod skill_technology;
pub mod technology;
