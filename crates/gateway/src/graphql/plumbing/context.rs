//! What a request carries into every resolver and hook: who is asking and from where, which
//! rows exist for them, the request id, the request's budget, loaders, database and accounts,
//! and what its operation's run notes. The HTTP layer builds the [`Caller`]; the front door
//! (`graphql::execution`) makes it a [`RequestContext`] for each operation and attaches it as
//! the operation's one piece of request data. Resolvers reach it through the accessors here,
//! the guards through [`RequestContext::in_hook`].

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::dataloader::Loader;
use async_graphql::extensions::ExtensionContext;
use async_graphql::{Context, ID, Result, ServerError};
use careergraph_auth::Role;
use careergraph_domain::Visibility;
use careergraph_domain::audit::Actor;
use uuid::Uuid;

use super::error::{ApiResult, Code, bad_input, coded};
use super::executor::Spawner;
use super::field_order::OrderSlot;
use super::gathering::Key;
use super::inline::Objects;
use super::loaders::{self, Batcher, LoadError, Loaders, Rows};
use super::operation::OperationLog;
use super::prepared::Learning;
use super::slots::Slot;
use crate::authentication::{Accounts, Principal};
use crate::metrics::Metrics;
use crate::store::Store;

/// Who a WebSocket connection's subscriptions speak for, and what they share: the connection's
/// data, set when it is initialised (see `http::websocket`). A subscription has no
/// [`RequestContext`]: its events carry what they show, and read nothing through loaders.
#[derive(Clone)]
pub struct Subscriber {
    /// Who signed the connection in (anonymous without a token).
    pub principal: Principal,
    /// How far a subscription may fall behind the feed before it is resynced.
    pub buffer_events: usize,
    /// Where subscriptions are counted.
    pub metrics: Arc<Metrics>,
    /// The database, for what an event shows.
    pub store: Store,
    /// The database's change feed, which subscriptions follow.
    pub feed: Arc<careergraph_domain::changes::Feed>,
    /// The path of the latest publication, read once for every subscriber of the server.
    pub published: Arc<PublishedPaths>,
}

/// A career path as a publication event shows it.
pub type PublishedPath = Arc<careergraph_domain::entities::career_path::Model>;

/// The path of the latest publication, read once for all the subscribers of a server: a
/// publication reaches every subscriber at once, and each reading it for itself was as many
/// reads, one after another on the pool (100 subscribers: 88 ms to the median one).
#[derive(Default)]
pub struct PublishedPaths(tokio::sync::Mutex<Option<Publication>>);

/// A publication: the path's id and version, and the path as anyone sees it then.
type Publication = (Uuid, Option<i32>, Option<PublishedPath>);

impl PublishedPaths {
    /// The path `id` at `version` (`None` when it may not be shown), read by `read` unless the
    /// last publication was this one.
    pub async fn get(
        &self,
        id: Uuid,
        version: Option<i32>,
        read: impl Future<Output = Option<PublishedPath>>,
    ) -> Option<PublishedPath> {
        let mut last = self.0.lock().await;
        if let Some((known, known_version, path)) = &*last
            && *known == id
            && *known_version == version
        {
            return path.clone();
        }
        let path = read.await;
        *last = Some((id, version, path.clone()));
        path
    }
}

impl Subscriber {
    /// The subscriber of the operation whose hook this is, if it is a subscription.
    pub fn in_hook<'a>(ctx: &ExtensionContext<'a>) -> Option<&'a Self> {
        ctx.data_opt::<Self>()
    }
}

/// What one run of an operation carries through the guards, beside its caller.
#[derive(Default)]
pub struct OperationState {
    /// What the request log and the metrics say of it.
    pub log: Arc<OperationLog>,
    /// Where the guards note the order of its fields, when the answer is to be put in order.
    pub order: Option<Arc<OrderSlot>>,
    /// What the guards learn of it, when it is short enough to keep (see `prepared`).
    pub learning: Option<Arc<Learning>>,
    /// Whether its aliases and complexity were spent before it ran (a prepared operation run
    /// again guarded), so the guards do not spend them twice.
    pub prepaid: bool,
    /// The execution slot it holds (none outside the HTTP path: subscriptions, tests).
    pub slot: Option<Arc<Slot>>,
}

/// Who sent a request, from where, and what all of its operations share (a batch's included).
#[derive(Clone)]
pub struct Caller {
    /// Who is asking, as the request's token said.
    pub principal: Principal,
    /// The client's address, as the HTTP layer saw it.
    pub address: IpAddr,
    /// The id of the HTTP request, recorded with every change it makes.
    pub request_id: Arc<str>,
    /// The limits the request's operations spend from together.
    pub budget: Arc<SharedBudget>,
    /// The database the request's operations use: the read replica, if any, when none of them
    /// writes.
    pub store: Store,
}

impl Caller {
    /// `principal`, calling from `address`, its operations using `store`; together they may
    /// resolve at most `max_fields` fields (the complexity limit also bounds what a request really
    /// resolves).
    pub fn new(principal: Principal, address: IpAddr, request_id: &str, store: Store, max_fields: usize) -> Self {
        Self {
            principal,
            address,
            request_id: request_id.into(),
            budget: Arc::new(SharedBudget::new(max_fields)),
            store,
        }
    }
}

/// The context of one operation: its caller, and what the operation has of its own.
pub struct RequestContext {
    caller: Caller,
    /// Who signed in during the request: it speaks for them from then on. Set at most once,
    /// since a request may hold only one account operation ([`one_account_operation`]); read on
    /// every field, so it is lock-free.
    signed_in: OnceLock<Principal>,
    /// Which career paths exist for this caller (fixed when the request starts).
    pub visibility: Visibility,
    loaders: Loaders,
    accounts: Arc<Accounts>,
    metrics: Arc<Metrics>,
    /// Errors of nullable fields the guards turned into `null` (see `policy`), for the response.
    field_errors: Arc<FieldErrors>,
    /// What this run of the operation notes, and whether it was paid for beforehand.
    pub operation: OperationState,
}

impl RequestContext {
    /// The context of one run of an operation for `caller`: editors and admins see drafts,
    /// nobody else does. Its loaders run their batches on `spawner`.
    pub fn new(
        caller: &Caller,
        operation: OperationState,
        accounts: Arc<Accounts>,
        metrics: Arc<Metrics>,
        spawner: Spawner,
    ) -> Self {
        let visibility = if caller.principal.role.satisfies(Role::Editor) {
            Visibility::IncludeDrafts
        } else {
            Visibility::PublishedOnly
        };
        Self {
            caller: caller.clone(),
            signed_in: OnceLock::new(),
            visibility,
            loaders: loaders::for_request(caller.store.clone(), visibility, spawner),
            accounts,
            metrics,
            field_errors: Arc::default(),
            operation,
        }
    }

    /// The context an extension hook sees; `None` for a schema executed without one (only
    /// outside the server: a test that runs the schema directly).
    pub fn in_hook<'a>(ctx: &ExtensionContext<'a>) -> Option<&'a Self> {
        ctx.data_opt::<Self>()
    }

    /// Who is asking.
    pub fn principal(&self) -> Principal {
        self.signed_in.get().copied().unwrap_or(self.caller.principal)
    }

    /// The client's address, as the HTTP layer saw it.
    pub fn client_address(&self) -> IpAddr {
        self.caller.address
    }

    /// What the request's operations spend from together.
    pub fn budget(&self) -> &SharedBudget {
        &self.caller.budget
    }

    /// After a successful sign-in, the rest of the request speaks for the signed-in user, so the
    /// mutation's payload can show them their own account.
    pub fn signed_in(&self, principal: Principal) {
        // A second sign-in cannot happen: `one_account_operation` refuses it before any work.
        let _ = self.signed_in.set(principal);
    }

    /// Who makes the changes this request asks for.
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.principal().user_id, request_id: Some(self.caller.request_id.to_string()) }
    }

    /// The metrics the request reports to.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Where the guards collect the errors of nullable fields.
    pub fn field_errors(&self) -> &Arc<FieldErrors> {
        &self.field_errors
    }
}

/// The errors of nullable fields that failed, collected for the response (see `policy`).
#[derive(Debug, Default)]
pub struct FieldErrors(Mutex<Vec<ServerError>>);

impl FieldErrors {
    /// Adds one.
    pub fn push(&self, error: ServerError) {
        if let Ok(mut errors) = self.0.lock() {
            errors.push(error);
        }
    }

    /// Takes every error collected so far.
    pub fn take(&self) -> Vec<ServerError> {
        self.0.lock().map(|mut errors| std::mem::take(&mut *errors)).unwrap_or_default()
    }
}

/// What all the operations of one HTTP request share, a batch's items included, so that its
/// limits hold for the request as a whole rather than for each operation of it.
#[derive(Debug)]
pub struct SharedBudget {
    account_operation_taken: AtomicBool,
    complexity: AtomicUsize,
    aliases: AtomicUsize,
    /// Fields resolved so far, list items' fields included: the real size of what the request
    /// asked for, which its complexity could only estimate (lists without paging count once).
    fields: AtomicUsize,
    max_fields: usize,
}

impl SharedBudget {
    /// A budget that stops the request once it has resolved more than `max_fields` fields.
    pub fn new(max_fields: usize) -> Self {
        Self {
            account_operation_taken: AtomicBool::new(false),
            complexity: AtomicUsize::new(0),
            aliases: AtomicUsize::new(0),
            fields: AtomicUsize::new(0),
            max_fields,
        }
    }

    /// Counts one field about to resolve; false once the request has resolved all it may.
    pub fn spend_field(&self) -> bool {
        self.fields.fetch_add(1, Ordering::Relaxed) < self.max_fields
    }

    /// Counts `fields` resolved at once (by an operation that ran without the per-field guard).
    pub fn spend_fields(&self, fields: usize) {
        self.fields.fetch_add(fields, Ordering::Relaxed);
    }

    /// Whether the request tried to resolve more fields than it may.
    pub fn exhausted(&self) -> bool {
        self.fields.load(Ordering::Relaxed) > self.max_fields
    }

    /// The most fields one request may resolve.
    pub fn max_fields(&self) -> usize {
        self.max_fields
    }

    /// Takes the request's one account operation; false when another operation took it.
    pub fn take_account_operation(&self) -> bool {
        !self.account_operation_taken.swap(true, Ordering::AcqRel)
    }

    /// Adds an operation's complexity; returns the request's total so far.
    pub fn spend_complexity(&self, complexity: usize) -> usize {
        self.complexity.fetch_add(complexity, Ordering::AcqRel).saturating_add(complexity)
    }

    /// The complexity the request's operations have spent together.
    pub fn complexity_spent(&self) -> usize {
        self.complexity.load(Ordering::Acquire)
    }

    /// Adds an operation's aliases; returns the request's total so far.
    pub fn spend_aliases(&self, aliases: usize) -> usize {
        self.aliases.fetch_add(aliases, Ordering::AcqRel).saturating_add(aliases)
    }
}

/// Refuses a second account operation (`register`, `login`, `refreshSession`,
/// `changePassword`) in one HTTP request, across aliases and batch items, before it does any
/// work: each costs a password check or a token rotation, and one request must not multiply them.
pub fn one_account_operation(ctx: &Context<'_>) -> Result<()> {
    if request(ctx).budget().take_account_operation() {
        return Ok(());
    }
    Err(coded(
        Code::BadUserInput,
        "One account operation (register, login, refreshSession, changePassword) per request; send the others separately",
    ))
}

/// Runs `work` (an account operation, which checks or hashes a password) with the operation's
/// execution slot set aside (see `slots`): the password pool bounds that work, and sign-ins
/// queued for it must not hold the slots reads execute in.
pub async fn outside_execution_slot<T>(ctx: &Context<'_>, work: impl std::future::Future<Output = T>) -> T {
    match &request(ctx).operation.slot {
        Some(slot) => slot.set_aside(work).await,
        None => work.await,
    }
}

/// The operation's context, which the front door attaches to every operation it runs.
pub fn request<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    &request(ctx).loaders
}

/// The objects the relation `key` leads to (none when it leads nowhere), each made from its
/// shared row: what every plain relation resolver does.
pub async fn related<K, Row, T>(ctx: &Context<'_>, key: K) -> Result<Objects<T>>
where
    Batcher: Loader<K, Value = Rows<Row>, Error = LoadError>,
    K: Key,
    Row: Clone + Send + Sync + 'static,
    T: From<Row>,
{
    let rows = loaders(ctx).load_one(key).await.api()?.unwrap_or_default();
    Ok(rows.iter().cloned().map(T::from).collect())
}

/// The database.
pub fn store<'a>(ctx: &Context<'a>) -> &'a Store {
    &request(ctx).caller.store
}

/// Accounts and sessions.
pub fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    &request(ctx).accounts
}

/// Who makes the changes this request asks for.
pub fn actor(ctx: &Context<'_>) -> Actor {
    request(ctx).actor()
}

/// Parses an `ID` argument as a UUID; an id that is not one cannot exist.
pub fn parse_id(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// Parses an id that must name something; `field` names the input in the error.
pub fn id_of(field: &str, id: &ID) -> Result<Uuid> {
    parse_id(id).ok_or_else(|| bad_input(field, "is not an id this API gave out"))
}

/// How a single object is looked up.
pub enum LookupKey<'a> {
    /// By its slug.
    Slug(&'a str),
    /// By its id; `None` when the id cannot name anything.
    Id(Option<Uuid>),
}

/// Checks that exactly one of `slug` and `id` was given.
pub fn one_key<'a>(slug: Option<&'a str>, id: Option<&ID>) -> Result<LookupKey<'a>> {
    match (slug, id) {
        (Some(slug), None) => Ok(LookupKey::Slug(slug)),
        (None, Some(id)) => Ok(LookupKey::Id(parse_id(id))),
        _ => Err(bad_input("slug", "and id were both given, or neither: give exactly one of `slug` and `id`")),
    }
}
