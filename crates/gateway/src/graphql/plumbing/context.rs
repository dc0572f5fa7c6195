//! What a request carries into every resolver: who is asking and from where, which rows exist
//! for them, the request id, and the request's loaders, database and accounts. The HTTP layer
//! builds it once per request; resolvers reach it through the accessors here.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition};
use async_graphql::{Context, ID, Name, Positioned, Result};
use careergraph_auth::Role;
use careergraph_domain::Visibility;
use careergraph_domain::audit::Actor;
use uuid::Uuid;

use super::error::{Code, bad_input, coded};
use super::expansion::Expansion;
use super::loaders::Loaders;
use crate::authentication::{Accounts, Principal};
use crate::store::Store;

/// The caller of one request.
#[derive(Debug)]
pub struct RequestContext {
    /// Who is asking, as the request's token said.
    principal: Principal,
    /// Who signed in during the request: it speaks for them from then on. Set at most once,
    /// since a request may hold only one account operation ([`one_account_operation`]); read on
    /// every field, so it is lock-free.
    signed_in: OnceLock<Principal>,
    /// Which career paths exist for this caller (fixed when the request starts).
    pub visibility: Visibility,
    /// The client's address, as the HTTP layer saw it.
    pub client_address: Option<IpAddr>,
    /// The id of the HTTP request, recorded with every change it makes.
    pub request_id: String,
}

impl RequestContext {
    /// The context for `principal`: editors and admins see drafts, nobody else does.
    pub fn new(principal: Principal, client_address: Option<IpAddr>, request_id: String) -> Self {
        let visibility =
            if principal.role.satisfies(Role::Editor) { Visibility::IncludeDrafts } else { Visibility::PublishedOnly };
        Self { principal, signed_in: OnceLock::new(), visibility, client_address, request_id }
    }

    /// Who is asking.
    pub fn principal(&self) -> Principal {
        self.signed_in.get().copied().unwrap_or(self.principal)
    }

    /// After a successful sign-in, the rest of the request speaks for the signed-in user, so the
    /// mutation's payload can show them their own account.
    pub fn signed_in(&self, principal: Principal) {
        // A second sign-in cannot happen: `one_account_operation` refuses it before any work.
        let _ = self.signed_in.set(principal);
    }

    /// Who makes the changes this request asks for.
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.principal().user_id, request_id: Some(self.request_id.clone()) }
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

    /// Adds an operation's aliases; returns the request's total so far.
    pub fn spend_aliases(&self, aliases: usize) -> usize {
        self.aliases.fetch_add(aliases, Ordering::AcqRel).saturating_add(aliases)
    }
}

/// The operation of `document` that runs: the one named `requested`, or the document's first
/// (its only one, or validation refuses it).
pub fn chosen_operation<'d>(
    document: &'d ExecutableDocument,
    requested: Option<&str>,
) -> Option<(Option<&'d Name>, &'d Positioned<OperationDefinition>)> {
    document.operations.iter().find(|(name, _)| match requested {
        Some(requested) => name.is_some_and(|name| name.as_str() == requested),
        None => true,
    })
}

/// What the request log says of one operation: the one the client named, or the document's
/// only one. The parse hook fills it in; the HTTP layer writes it. It also carries the
/// document's expanded size from the HTTP layer, which measured it, to the guard.
#[derive(Debug, Default)]
pub struct OperationLog {
    requested: Option<String>,
    seen: Mutex<Option<(&'static str, Option<String>)>>,
    expansion: OnceLock<Expansion>,
}

impl OperationLog {
    /// A log for an operation the client may have named.
    pub fn new(requested: Option<String>) -> Self {
        Self { requested, seen: Mutex::new(None), expansion: OnceLock::new() }
    }

    /// Notes the size of the document once expanded, already spent from the client's budget.
    pub fn expanded(&self, expansion: Expansion) {
        let _ = self.expansion.set(expansion);
    }

    /// The document's expanded size, as [`Self::expanded`] noted it (nothing, when not).
    pub fn expansion(&self) -> Expansion {
        self.expansion.get().copied().unwrap_or_default()
    }

    /// Notes the operation `document` will run.
    pub fn record(&self, document: &ExecutableDocument) {
        use async_graphql::parser::types::OperationType;
        let chosen = chosen_operation(document, self.requested.as_deref());
        if let (Some((name, operation)), Ok(mut seen)) = (chosen, self.seen.lock()) {
            let kind = match operation.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            *seen = Some((kind, name.map(|name| name.to_string())));
        }
    }

    /// The operation's type and name, once its document has parsed.
    pub fn recorded(&self) -> Option<(&'static str, Option<String>)> {
        self.seen.lock().ok().and_then(|seen| seen.clone())
    }

    /// Whether the operation recorded is a query.
    pub fn runs_query(&self) -> bool {
        self.seen.lock().is_ok_and(|seen| matches!(*seen, Some(("query", _))))
    }

    /// Notes a prepared query (see `graphql::plumbing::prepared`), whose document is not parsed again.
    pub fn prepared(&self, name: Option<String>) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(("query", name));
        }
    }

    /// The operation's type and name, as far as they are known (`-` for an unnamed one; `?` and
    /// `-` for a document that never parsed or holds no operation of the name sent). Only names
    /// read from a parsed document are given: they are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`),
    /// safe to write into a log line and to use as a metrics label, where a name the client
    /// merely sent could be anything.
    pub fn describe(&self) -> (&'static str, String) {
        match self.recorded() {
            Some((kind, name)) => (kind, name.unwrap_or_else(|| "-".into())),
            None => ("?", "-".into()),
        }
    }
}

/// Refuses a second account operation (`register`, `login`, `refreshSession`,
/// `changePassword`) in one HTTP request, across aliases and batch items, before it does any
/// work: each costs a password check or a token rotation, and one request must not multiply them.
pub fn one_account_operation(ctx: &Context<'_>) -> Result<()> {
    match ctx.data_opt::<Arc<SharedBudget>>() {
        Some(budget) if !budget.take_account_operation() => Err(coded(
            Code::BadUserInput,
            "One account operation (register, login, refreshSession, changePassword) per request; send the others separately",
        )),
        _ => Ok(()),
    }
}

/// The request's caller.
pub fn request<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The request's loaders.
pub fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// The database.
pub fn store<'a>(ctx: &Context<'a>) -> &'a Store {
    ctx.data_unchecked::<Store>()
}

/// Accounts and sessions.
pub fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    ctx.data_unchecked::<Arc<Accounts>>()
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
        _ => Err(bad_input("slug", "give exactly one of `slug` and `id`")),
    }
}
