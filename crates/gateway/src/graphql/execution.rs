//! The front door of GraphQL execution: what runs one operation of a request, whatever carried
//! it. The HTTP layer reads a request's operations with [`read_request`], builds the [`Caller`]
//! and hands each operation to [`execute`]; from there this module decides the rest: refusing a
//! document too large once expanded, running it guarded or prepared (see `graphql::plumbing::prepared`),
//! learning what a guarded run shows, putting the answer's fields in order, holding the request
//! to its field limit, and keeping a persisted query once it has run. It knows nothing of HTTP.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, Variables};
use serde_json::{Map, Value};
use tracing::Instrument as _;

use super::plumbing::context::{Caller, OperationState, RequestContext};
use super::plumbing::error::{Code, is_request_error, request_refused};
use super::plumbing::executor::request_tasks;
use super::plumbing::expansion::Expansion;
use super::plumbing::field_order::{OrderSlot, resolved_fields};
use super::plumbing::inline::AnswerKeys;
use super::plumbing::limits::{BudgetKey, RequestLimits};
use super::plumbing::operation::{OperationLog, chosen_operation};
use super::plumbing::policy::FieldPolicy;
use super::plumbing::prepared::{Learning, Prepared, PreparedOperations};
use super::plumbing::slots::{ExecutionSlots, Slot};
use super::schema::{self, CareerGraphSchema};
use crate::authentication::Accounts;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::persisted::{PersistedQueries, Refusal, Registration};
use crate::response_cache;

/// Which of the two schemas of [`Executable`] an operation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Every field checked by the guards.
    Guarded,
    /// No extension: a query the guards have cleared for the caller.
    Unguarded,
}

/// The schema as operations run on it (see `plumbing::prepared`).
pub struct Executable {
    /// Where every operation may run: the guards check each field.
    guarded: CareerGraphSchema,
    /// The same schema without extensions, for operations the guards have already cleared.
    unguarded: CareerGraphSchema,
    /// The limits the guards apply, which a prepared operation spends from beforehand.
    limits: Arc<RequestLimits>,
    /// The operations cleared so far.
    prepared: PreparedOperations,
    /// The field policy, which also tells which fields a document reaches.
    policy: Arc<FieldPolicy>,
    /// How many operations may execute at once.
    pub slots: Arc<ExecutionSlots>,
}

impl Executable {
    /// The schema that runs operations with `checks`.
    fn schema(&self, checks: Checks) -> &CareerGraphSchema {
        match checks {
            Checks::Guarded => &self.guarded,
            Checks::Unguarded => &self.unguarded,
        }
    }
}

/// Builds both schemas, with the limits from `config` and the field policy.
pub fn build_executable(config: &Config) -> Executable {
    let policy = Arc::new(schema::field_policy(config));
    let limits = Arc::new(schema::request_limits(config));
    Executable {
        guarded: schema::guarded(config, limits.clone(), policy.clone()),
        unguarded: schema::unguarded(config, policy.clone()),
        limits,
        policy,
        prepared: PreparedOperations::default(),
        slots: Arc::new(ExecutionSlots::new(config.concurrent_operations())),
    }
}

/// What executing operations needs of the server: the schemas and their limits, the accounts
/// resolvers sign in with, the metrics, and the persisted queries.
pub struct Execution {
    graphql: Executable,
    accounts: Arc<Accounts>,
    metrics: Arc<Metrics>,
    persisted: Arc<PersistedQueries>,
}

impl Execution {
    /// Executes on `graphql`'s schemas.
    pub fn new(
        graphql: Executable,
        accounts: Arc<Accounts>,
        metrics: Arc<Metrics>,
        persisted: Arc<PersistedQueries>,
    ) -> Self {
        Self { graphql, accounts, metrics, persisted }
    }

    /// Reads one GraphQL request object (see [`read_request`]).
    pub fn read(&self, value: Value) -> Result<Operation, String> {
        read_request(value, &self.persisted, &self.graphql.prepared)
    }

    /// The schema subscriptions run on: every field checked by the guards.
    pub fn subscriptions(&self) -> &CareerGraphSchema {
        &self.graphql.guarded
    }

    /// What the response cache keeps an operation's answer under: its document, name and
    /// variables, however they arrived. `None` for an operation refused before it could run.
    pub fn cache_key(&self, operation: &Operation) -> Option<response_cache::Key> {
        let Ready { request, .. } = operation.as_ref().ok()?;
        let variables = serde_json::to_string(&request.variables).ok()?;
        Some(response_cache::Key::new(request.query.clone(), request.operation_name.clone(), variables))
    }

    /// Keeps the persisted query `registration` names, once its document has been answered
    /// without a request error; what it keeps in memory is spent from the client's budget, as
    /// complexity is.
    fn keep_persisted(&self, client: BudgetKey, registration: Registration) {
        if self.graphql.limits.spend_client(client, registration.bytes() / REGISTRATION_BYTES_PER_POINT).is_ok() {
            self.persisted.register(registration);
        }
    }

    /// For an operation answered from the response cache (so without errors): keeps the
    /// persisted query it registers, as running it would have.
    pub fn answered_from_memory(&self, caller: &Caller, operation: &mut Operation) {
        if let Ok(Ready { registration, .. }) = operation
            && let Some(registration) = registration.take()
        {
            self.keep_persisted(BudgetKey::of(caller.principal.user_id, Some(caller.address)), registration);
        }
    }

    /// Spends `complexity` from `caller`'s budget for an answer served without running (from the
    /// response cache): a client pays for what it asks, however it is answered.
    pub fn charge(&self, caller: &Caller, complexity: usize) -> Result<(), async_graphql::ServerError> {
        let client = BudgetKey::of(caller.principal.user_id, Some(caller.address));
        self.graphql.limits.spend_client(client, complexity)
    }

    /// The kinds of row an operation's answer can read, from the fields its document reaches.
    pub fn reads(&self, operation: &mut Operation) -> response_cache::Reads {
        let Ok(Ready { request, prepared, .. }) = operation else { return response_cache::Reads::Everything };
        let document = match prepared {
            Some(prepared) => Some(prepared.document()),
            None => request.parsed_query().ok(),
        };
        response_cache::Reads::of(document.and_then(|document| self.graphql.policy.fields_reached(document)))
    }
}

/// Whether none of `operations` is a mutation (or a subscription). A document that does not
/// parse, or names no operation it holds, runs nothing, so it writes nothing either. A prepared
/// operation is a query, and is not parsed again.
pub fn reads_only(operations: &mut [Operation]) -> bool {
    operations.iter_mut().filter_map(|operation| operation.as_mut().ok()).all(|Ready { request, prepared, .. }| {
        if prepared.is_some() {
            return true;
        }
        let name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else { return true };
        chosen_operation(document, name.as_deref())
            .is_none_or(|(_, operation)| operation.node.ty == OperationType::Query)
    })
}

/// One operation of a request, read: ready to run, or refused with a coded error that is that
/// operation's response (in a batch, the others still run).
pub type Operation = Result<Ready, async_graphql::ServerError>;

/// An operation ready to run, with its prepared form when one is kept (see `graphql::plumbing::prepared`):
/// looked up once, where the request is read, both to choose its database and to run it.
pub struct Ready {
    request: Request,
    prepared: Option<Arc<Prepared>>,
    /// The size of the parsed document once expanded: checked before anything walks it
    /// (see `graphql::plumbing::expansion`). `None` for a prepared operation, measured when it was
    /// learned, and for a document that does not parse, which goes no further than the parser.
    expansion: Option<Expansion>,
    /// A persisted query to keep once it has run without a request error.
    registration: Option<Registration>,
}

/// Reads one GraphQL request object, checking every parameter's type, and finds its document:
/// its `query`, or the persisted one its hash or `documentId` names, and its prepared form. A
/// malformed object is an `Err` (the whole HTTP request is refused); an unknown or unlisted
/// document is a refused [`Operation`].
pub fn read_request(
    value: Value,
    persisted: &PersistedQueries,
    kept: &PreparedOperations,
) -> Result<Operation, String> {
    let Value::Object(mut fields) = value else {
        return Err("A GraphQL request must be a JSON object".into());
    };
    let mut text = |key: &str| match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(format!("`{key}` must be a string")),
    };
    let (query, document_id, operation_name) = (text("query")?, text("documentId")?, text("operationName")?);
    let variables = match fields.remove("variables") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(Variables::from_json(value)),
        Some(_) => return Err("`variables` must be an object".into()),
    };
    let extensions = match fields.remove("extensions") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(extensions)) => extensions,
        Some(_) => return Err("`extensions` must be an object".into()),
    };
    let (query, registration) = match persisted.resolve(query, &extensions, document_id.as_deref()) {
        Ok(Some(resolved)) => resolved,
        Ok(None) => return Err("A GraphQL request needs a `query`".into()),
        Err(Refusal::Malformed(message)) => return Err(message.into()),
        Err(refusal) => return Ok(Err(refused(refusal))),
    };
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = variables {
        request = request.variables(variables);
    }
    for (key, value) in extensions {
        let value = async_graphql::Value::from_json(value).map_err(|_| "`extensions` is not valid".to_owned())?;
        request.extensions.insert(key, value);
    }
    let prepared = kept.find(&request);
    // Parsed once, here: the parsed document goes on with the request.
    let expansion = match prepared {
        Some(_) => None,
        None => request.parsed_query().ok().map(Expansion::of),
    };
    Ok(Ok(Ready { prepared, request, expansion, registration }))
}

/// The coded error for a document that cannot be found or may not run.
fn refused(refusal: Refusal) -> async_graphql::ServerError {
    match refusal {
        // Apollo's clients recognise the miss by this message as well as by its code.
        Refusal::NotFound => request_refused(Code::PersistedQueryNotFound, "PersistedQueryNotFound"),
        Refusal::HashMismatch => {
            request_refused(Code::BadUserInput, "The query's SHA-256 is not the `sha256Hash` sent with it")
        }
        Refusal::Malformed(message) => request_refused(Code::BadUserInput, message),
        Refusal::NotInList => request_refused(
            Code::PersistedQueryNotInList,
            "This server runs only its listed operations, and none has this id",
        ),
        Refusal::NotInSafelist => request_refused(
            Code::QueryNotInSafelist,
            "This server runs only its listed operations, and this is none of them",
        ),
    }
}

/// A persisted query's registration costs a complexity point for each of these bytes it keeps.
const REGISTRATION_BYTES_PER_POINT: usize = 64;

/// Runs one request with its own loaders, on the request's own task (see `graphql::plumbing::executor`);
/// returns its response and, for the log, its operation's type and name.
pub async fn execute(
    execution: &Arc<Execution>,
    caller: &Caller,
    operation: Operation,
) -> (Response, (&'static str, String)) {
    let mut operation = match operation {
        Ok(operation) => operation,
        Err(refusal) => return (Response::from_errors(vec![refusal]), ("?", "-".into())),
    };
    let log = Arc::new(OperationLog::new(operation.request.operation_name.clone()));
    let client = BudgetKey::of(caller.principal.user_id, Some(caller.address));
    if let Some(expansion) = operation.expansion {
        if let Err(refusal) = execution.graphql.limits.check_expansion(client, expansion) {
            return (Response::from_errors(vec![refusal]), log.describe());
        }
        log.expanded(expansion);
    }
    // Named as far as the request shows already, so that its span has its name from the start.
    // A prepared operation is not parsed at all: that is what it saves.
    match &operation.prepared {
        Some(prepared) => log.prepared(prepared.logged_name()),
        None => {
            if let Ok(document) = operation.request.parsed_query() {
                log.record(document);
            }
        }
    }
    let (kind, name) = log.describe();
    // Type and name only: never the variables or the document.
    let span = tracing::info_span!(
        "operation",
        graphql.operation.type = kind,
        graphql.operation.name = %name,
        otel.name = tracing::field::Empty,
    );
    crate::traces::name_span(&span, || format!("{kind} {name}"));
    let registration = operation.registration.take();
    let response = run(execution, caller, &log, operation, span).await;
    if let Some(registration) = registration
        // It ran, so it parsed and validated.
        && !is_request_error(&response)
    {
        execution.keep_persisted(client, registration);
    }
    (response, log.describe())
}

/// Runs one operation on a task of its own, which finishes even if the client goes away or the
/// request times out: an operation dropped half-way would leave its work half done, and sqlx 0.9
/// can leave a pooled connection inside a transaction when a `BEGIN` in flight is dropped
/// (transact-rs/sqlx issue 4393, fixed upstream but not released), for the next request to run in.
async fn run(
    execution: &Arc<Execution>,
    caller: &Caller,
    log: &Arc<OperationLog>,
    operation: Ready,
    span: tracing::Span,
) -> Response {
    let (execution, caller) = (execution.clone(), caller.clone());
    // Dropped with this future: an operation still waiting for a slot when its client has gone
    // has done nothing yet and is not started.
    let awaited = Arc::new(());
    let still_awaited = Arc::downgrade(&awaited);
    let running = log.clone();
    let execution = tokio::spawn(
        async move {
            let slot = Arc::new(execution.graphql.slots.enter().await);
            if still_awaited.strong_count() == 0 {
                return Response::from_errors(vec![request_refused(Code::ServiceUnavailable, "The client went away")]);
            }
            run_to_completion(&execution, &caller, running, operation, slot).await
        }
        .instrument(span),
    );
    let outcome = execution.await;
    drop(awaited);
    match outcome {
        Ok(response) => response,
        // A panic goes on to the panic layer, which answers 500 as before.
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Only a runtime shutting down cancels the task.
        Err(_) => Response::from_errors(vec![request_refused(Code::ServiceUnavailable, "The server is stopping")]),
    }
}

/// Runs an operation unguarded when the guards have cleared it for this caller before (see
/// `graphql::plumbing::prepared`), guarded otherwise; then holds the request to its field limit.
async fn run_to_completion(
    execution: &Execution,
    caller: &Caller,
    log: Arc<OperationLog>,
    Ready { request, prepared, .. }: Ready,
    slot: Arc<Slot>,
) -> Response {
    let graphql = &execution.graphql;
    let (mut response, order, ran) = match prepared.filter(|prepared| prepared.may_run(caller.principal.role)) {
        Some(prepared) => {
            let (response, ran) = run_prepared(execution, caller, log, request, &prepared, slot).await;
            (response, prepared.order.clone(), ran)
        }
        None => {
            // What the guards learn of an operation short enough to keep, to run it unguarded
            // next time.
            let learning = graphql.prepared.key_of(&request).map(|key| (key, Arc::new(Learning::default())));
            let order = Arc::new(OrderSlot::new(request.operation_name.clone()));
            let operation = OperationState {
                log: log.clone(),
                order: Some(order.clone()),
                learning: learning.as_ref().map(|(_, learning)| learning.clone()),
                prepaid: false,
                slot: Some(slot),
            };
            let response = execute_on(Checks::Guarded, execution, caller, operation, request).await;
            let order = order.order();
            if let (Some((key, learning)), Some(("query", name))) = (learning, log.recorded())
                && response.errors.is_empty()
            {
                graphql.prepared.learn(key, &learning, name, order.clone());
            }
            (response, order, Checks::Guarded)
        }
    };
    let resolved = order.map(|order| order.apply(&mut response.data));
    // The guards counted the fields of a guarded run as they resolved.
    if ran == Checks::Unguarded {
        caller.budget.spend_fields(resolved.unwrap_or_else(|| resolved_fields(&response.data)));
    }
    if caller.budget.exhausted() {
        let message = format!(
            "The request resolves more than {} fields (its lists are longer than its complexity estimated); ask for fewer",
            caller.budget.max_fields()
        );
        return Response::from_errors(vec![request_refused(Code::BadUserInput, message)]);
    }
    response
}

/// Runs a prepared operation: spends what the guards would and runs it unguarded (its fields
/// are counted by the caller, as it puts them in order); an answer with errors is made again
/// guarded, where failed fields become `null`. Says which of the two answered (a refusal ran
/// neither, and has no fields to count).
async fn run_prepared(
    execution: &Execution,
    caller: &Caller,
    log: Arc<OperationLog>,
    request: Request,
    prepared: &Prepared,
    slot: Arc<Slot>,
) -> (Response, Checks) {
    let graphql = &execution.graphql;
    let client = BudgetKey::of(caller.principal.user_id, Some(caller.address));
    let spent = graphql
        .limits
        .spend_aliases(Some(&caller.budget), prepared.aliases)
        .and_then(|()| graphql.limits.spend(client, Some(&caller.budget), prepared.complexity, 0));
    if let Err(refusal) = spent {
        return (Response::from_errors(vec![refusal]), Checks::Guarded);
    }
    let unguarded = OperationState { log: log.clone(), slot: Some(slot.clone()), ..OperationState::default() };
    let response = execute_on(Checks::Unguarded, execution, caller, unguarded, prepared.parsed(request)).await;
    if response.errors.is_empty() {
        return (response, Checks::Unguarded);
    }
    let paid = OperationState { log, prepaid: true, slot: Some(slot), ..OperationState::default() };
    (execute_on(Checks::Guarded, execution, caller, paid, prepared.request()).await, Checks::Guarded)
}

/// Executes `request` on the schema with `checks`, with the request's own loaders, database and
/// caller, attached as its one [`RequestContext`].
async fn execute_on(
    checks: Checks,
    execution: &Execution,
    caller: &Caller,
    operation: OperationState,
    request: Request,
) -> Response {
    let (spawner, tasks) = request_tasks();
    let context =
        RequestContext::new(caller, operation, execution.accounts.clone(), execution.metrics.clone(), spawner);
    let field_errors = context.field_errors().clone();
    execution.metrics.executed(checks == Checks::Guarded);
    let request = match checks {
        Checks::Guarded => request,
        Checks::Unguarded => request.data(AnswerKeys::default()),
    };
    let mut response = tasks.run(execution.graphql.schema(checks).execute(request.data(context))).await;
    response.errors.extend(field_errors.take());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_objects_with_wrongly_typed_parameters_are_refused() {
        let persisted = PersistedQueries::automatic();
        let kept = PreparedOperations::default();
        let read = |value| read_request(value, &persisted, &kept);
        assert!(read(json!({ "query": "{a}" })).is_ok_and(|operation| operation.is_ok()));
        assert!(read(json!({ "query": "{a}", "variables": null, "operationName": null })).is_ok());
        assert!(read(json!({})).is_err());
        assert!(read(json!({ "query": 1 })).is_err());
        assert!(read(json!({ "query": "{a}", "variables": "x" })).is_err());
        assert!(read(json!({ "query": "{a}", "operationName": 3 })).is_err());
        assert!(read(json!({ "query": "{a}", "extensions": [] })).is_err());
        assert!(read(json!({ "query": "{a}", "documentId": 7 })).is_err());
        assert!(read(json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "00" } } })).is_err());
        assert!(read(json!("query")).is_err());
    }
}
