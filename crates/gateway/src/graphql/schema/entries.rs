//! Objects of the graph that lead nowhere else in it: industries, benefits, a career's
//! responsibilities and the learning resources of its roadmap. Everything above may name them.

use async_graphql::Enum;
use careergraph_domain::entities::{benefit, industry, learning_resource, responsibility};
use careergraph_domain::enums;

use super::audit::editable_object;
use crate::graphql::plumbing::projection::projection;

editable_object! {
    /// A sector that employs people in a career.
    Industry(industry::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name, e.g. "Healthcare".
    async fn name(&self) -> &str {
        &self.0.name
    }
}

editable_object! {
    /// Something employers commonly offer alongside pay.
    Benefit(benefit::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name, e.g. "Health insurance".
    async fn name(&self) -> &str {
        &self.0.name
    }
}

editable_object! {
    /// One thing people in a career do at work.
    Responsibility(responsibility::Model), serial;

    /// Place in the career's list, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// Short name of the task.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What the task involves.
    async fn description(&self) -> &str {
        &self.0.description
    }
}

/// The form a learning resource takes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::ResourceKind")]
pub enum ResourceKind {
    /// A site offering many courses (Codecademy, Udemy, Coursera).
    CoursePlatform,
    /// A written article.
    Article,
    /// A blog to follow.
    Blog,
    /// A video or video series.
    Video,
    /// A book.
    Book,
    /// A community of practitioners.
    Community,
    /// A conference.
    Conference,
    /// A podcast.
    Podcast,
}

editable_object! {
    /// Where to learn what a roadmap step asks for.
    LearningResource(learning_resource::Model), serial;

    /// Name, e.g. "Coursera".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What form it takes.
    async fn kind(&self) -> ResourceKind {
        self.0.kind.into()
    }

    /// Where to find it, when known.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
}

projection!(Industry => industry {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [], "slug" => [Slug], "name" => [Name],
});

projection!(Benefit => benefit {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [], "slug" => [Slug], "name" => [Name],
});

projection!(Responsibility => responsibility {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "position" => [Position], "title" => [Title], "description" => [Description],
});

projection!(LearningResource => learning_resource {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "name" => [Name], "kind" => [Kind], "url" => [Url],
});
