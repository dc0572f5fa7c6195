//! A typed careergraph client: `graphql_client` derives request and response types from
//! `schema.graphql` and the operations a front end ships (`tests/operations`), and [`Client`]
//! sends them. The README's "Generate a typed client" section quotes this file.

use graphql_client::{GraphQLQuery, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

// The custom scalars, as the schema specifies them (`@specifiedBy`): graphql_client looks for a
// type of each scalar's name in the module of the derive.
/// `Date`: a calendar date, `YYYY-MM-DD`.
pub type Date = chrono::NaiveDate;
/// `DateTime`: an instant, RFC 3339.
pub type DateTime = chrono::DateTime<chrono::Utc>;
/// `JSON`: any JSON value (an audit event's before and after).
#[allow(clippy::upper_case_acronyms)]
pub type JSON = serde_json::Value;

// One derive per operation. Paths are relative to this crate's Cargo.toml; the derive reads its
// attributes literally, so no macro can write them.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/BrowseCareerPaths.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct BrowseCareerPaths;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/CareerPathPage.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct CareerPathPage;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/SkillGap.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct SkillGap;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/SalaryDetail.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct SalaryDetail;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/SignIn.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct SignIn;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/RefreshSession.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct RefreshSession;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/CreateCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct CreateCareerPath;

/// An update leaves a field it does not set as it is: with `skip_serializing_none` an unset
/// (`None`) optional input is left out of the request, where `null` would clear the field.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/UpdateCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq",
    skip_serializing_none
)]
pub struct UpdateCareerPath;

/// Clearing a field takes an explicit `null`, which the generated `UpdateCareerPath` variables
/// cannot send (`None` is left out): the operation writes the `null` itself.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "operations/ClearInternalNotes.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct ClearInternalNotes;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../../schema.graphql",
    query_path = "../../operations/PublishCareerPath.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct PublishCareerPath;

/// Sends operations to one careergraph server, signed in or not.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:8080`), not signed in.
    pub fn new(base: &str) -> Self {
        Self { http: reqwest::Client::new(), endpoint: format!("{}/graphql", base.trim_end_matches('/')), token: None }
    }

    /// The same client, sending `access_token` as `Authorization: Bearer …`.
    pub fn signed_in(&self, access_token: &str) -> Self {
        Self { token: Some(access_token.to_owned()), ..self.clone() }
    }

    /// Runs the operation `Q` with `variables` and returns its typed data. Fails with the
    /// server's messages when it answers errors, and with the answer when it does not fit the
    /// generated types.
    pub async fn send<Q: GraphQLQuery>(&self, variables: Q::Variables) -> anyhow::Result<Q::ResponseData>
    where
        Q::Variables: Serialize,
        Q::ResponseData: DeserializeOwned,
    {
        let mut request = self.http.post(&self.endpoint).json(&Q::build_query(variables));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let text = request.send().await?.text().await?;
        let response: Response<Q::ResponseData> = serde_json::from_str(&text)
            .map_err(|error| anyhow::anyhow!("the answer does not fit the generated types ({error}): {text}"))?;
        if let Some(errors) = response.errors.filter(|errors| !errors.is_empty()) {
            let messages: Vec<String> = errors.iter().map(|error| error.message.clone()).collect();
            anyhow::bail!("{}", messages.join("; "));
        }
        response.data.ok_or_else(|| anyhow::anyhow!("an answer without data: {text}"))
    }
}
