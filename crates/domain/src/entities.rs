//! One module per table. Relations are declared only where a query joins through them.

pub mod app_user;
pub mod audit_event;
pub mod benefit;
pub mod career_path;
pub mod career_path_benefit;
pub mod career_path_industry;
pub mod career_path_skill;
pub mod industry;
pub mod learning_resource;
pub mod login_throttle;
pub mod refresh_token;
pub mod related_career_path;
pub mod responsibility;
pub mod roadmap_step;
pub mod roadmap_step_skill;
pub mod salary_record;
pub mod skill;
pub mod skill_technology;
pub mod technology;
