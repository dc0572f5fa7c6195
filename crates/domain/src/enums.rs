//! The closed vocabularies of the domain. Stored as their SCREAMING_SNAKE_CASE names, so a row
//! read with `psql` or `sqlite3` says what it means and the GraphQL enum names match the data.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $value)] #[serde(rename = $value)] $variant),+
        }

        impl $name {
            /// The stored (and GraphQL) name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $value),+ }
            }

            /// The value stored as `name`.
            fn stored_as(name: &str) -> Option<Self> {
                match name { $($value => Some(Self::$variant),)+ _ => None }
            }
        }

        impl $crate::positional::Unread for $name {
            fn unread() -> Self {
                [$(Self::$variant),+][0]
            }
        }

        impl $crate::positional::Readable for Option<$name> {
            fn read_at(row: &sea_orm::QueryResult, index: usize) -> Result<Self, DbErr> {
                $crate::positional::read_stored_name(row, index, $name::stored_as)
            }
        }

        impl $crate::positional::Readable for $name {
            fn read_at(row: &sea_orm::QueryResult, index: usize) -> Result<Self, DbErr> {
                <Option<Self>>::read_at(row, index)?.ok_or_else(|| DbErr::Type("unexpected NULL".into()))
            }
        }
    };
}

string_enum! {
    /// Whether a career path is visible to everyone or only to editors.
    PublicationStatus { Draft = "DRAFT", Published = "PUBLISHED" }
}

string_enum! {
    /// How strongly employers are hiring for a career path.
    Demand { Low = "LOW", Moderate = "MODERATE", High = "HIGH" }
}

string_enum! {
    /// Whether a skill is technical or interpersonal.
    SkillCategory { Technical = "TECHNICAL", Soft = "SOFT", Knowledge = "KNOWLEDGE" }
}

string_enum! {
    /// How much a career path relies on a skill. Ordered from most to least important.
    Importance { Essential = "ESSENTIAL", Important = "IMPORTANT", NiceToHave = "NICE_TO_HAVE" }
}

impl Importance {
    /// Sort rank: essential skills come first.
    pub fn rank(self) -> u8 {
        match self {
            Self::Essential => 0,
            Self::Important => 1,
            Self::NiceToHave => 2,
        }
    }
}

string_enum! {
    /// What sort of thing a technology is.
    TechnologyKind {
        ProgrammingLanguage = "PROGRAMMING_LANGUAGE",
        QueryLanguage = "QUERY_LANGUAGE",
        Framework = "FRAMEWORK",
        Runtime = "RUNTIME",
        Database = "DATABASE",
        WebServer = "WEB_SERVER",
        ApiStyle = "API_STYLE",
        DataFormat = "DATA_FORMAT",
        Tool = "TOOL",
    }
}

string_enum! {
    /// Whether a roadmap step is advised for everyone or can be skipped.
    Recommendation { Recommended = "RECOMMENDED", Optional = "OPTIONAL" }
}

string_enum! {
    /// The form a learning resource takes.
    ResourceKind {
        CoursePlatform = "COURSE_PLATFORM",
        Article = "ARTICLE",
        Blog = "BLOG",
        Video = "VIDEO",
        Book = "BOOK",
        Community = "COMMUNITY",
        Conference = "CONFERENCE",
        Podcast = "PODCAST",
    }
}

string_enum! {
    /// The span of time a salary amount covers.
    PayPeriod { Hour = "HOUR", Month = "MONTH", Year = "YEAR" }
}

string_enum! {
    /// Seniority that a salary record describes.
    ExperienceLevel { Entry = "ENTRY", Mid = "MID", Senior = "SENIOR", Lead = "LEAD" }
}
