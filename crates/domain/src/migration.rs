//! The schema's history. Every migration runs on SQLite and PostgreSQL alike; a migration is
//! never edited once released, only followed by another.

use sea_orm_migration::prelude::*;

mod common;
mod m20261125_000001_create_career_path;
mod m20261125_000002_create_skill;
mod m20261125_000003_create_technology;
mod m20261125_000004_create_industry;
mod m20261125_000005_create_benefit;
mod m20261125_000006_create_career_path_skill;
mod m20261125_000007_create_skill_technology;
mod m20261125_000008_create_responsibility;
mod m20261125_000009_create_roadmap_step;
mod m20261125_000010_create_roadmap_step_skill;
mod m20261125_000011_create_learning_resource;
mod m20261125_000012_create_career_path_industry;
mod m20261125_000013_create_career_path_benefit;
mod m20261125_000014_create_related_career_path;
mod m20261125_000015_create_salary_record;
mod m20261125_000016_create_app_user;
mod m20261125_000017_create_refresh_token;
mod m20261125_000018_create_login_throttle;
mod m20261125_000019_create_audit_event;
mod m20261125_000020_add_sessions_revoked_at;
mod m20261125_000021_index_career_path_order;
mod m20261206_000022_open_data;
mod m20261206_000023_search;
mod m20261206_000024_graph;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_career_path::Migration),
            Box::new(m20261125_000002_create_skill::Migration),
            Box::new(m20261125_000003_create_technology::Migration),
            Box::new(m20261125_000004_create_industry::Migration),
            Box::new(m20261125_000005_create_benefit::Migration),
            Box::new(m20261125_000006_create_career_path_skill::Migration),
            Box::new(m20261125_000007_create_skill_technology::Migration),
            Box::new(m20261125_000008_create_responsibility::Migration),
            Box::new(m20261125_000009_create_roadmap_step::Migration),
            Box::new(m20261125_000010_create_roadmap_step_skill::Migration),
            Box::new(m20261125_000011_create_learning_resource::Migration),
            Box::new(m20261125_000012_create_career_path_industry::Migration),
            Box::new(m20261125_000013_create_career_path_benefit::Migration),
            Box::new(m20261125_000014_create_related_career_path::Migration),
            Box::new(m20261125_000015_create_salary_record::Migration),
            Box::new(m20261125_000016_create_app_user::Migration),
            Box::new(m20261125_000017_create_refresh_token::Migration),
            Box::new(m20261125_000018_create_login_throttle::Migration),
            Box::new(m20261125_000019_create_audit_event::Migration),
            Box::new(m20261125_000020_add_sessions_revoked_at::Migration),
            Box::new(m20261125_000021_index_career_path_order::Migration),
            Box::new(m20261206_000022_open_data::Migration),
            Box::new(m20261206_000023_search::Migration),
            Box::new(m20261206_000024_graph::Migration),
        ]
    }
}
