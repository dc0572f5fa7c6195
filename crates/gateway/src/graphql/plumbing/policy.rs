//! The field policy: who may read each field.
//!
//! A field's rule is declared once, as the `@auth(requires: ROLE)` directive on it (or on its
//! type, for every field the type does not override), so it shows in `schema.graphql` and in
//! the playground. At start-up the rules are read back from the schema's own SDL into a table,
//! and one schema extension checks that table before every field resolves. The check runs in
//! the executor for every field however it is reached (through fragments, aliases or nested
//! lists), and denies by default: a field of one of our types without a rule is refused.
//!
//! A query the extension has let through without an error runs again without it, for a caller of
//! at least the least role its document needs ([`FieldPolicy::least_role_for`]): see
//! [`super::prepared`].
//!
//! Generated container types (`…Connection`, `…Edge`, `PageInfo`) carry no rule of their own:
//! they are only reachable through a field that has one, whose rule they inherit.
//!
//! The same extension makes failed nullable fields `null`, as the GraphQL specification asks:
//! async-graphql 7.2 leaves a failed field out of `data` altogether. The error is kept in the
//! request's [`FieldErrors`] and added to the response by the HTTP layer.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{ExtensionContext, NextResolve, ResolveInfo};
use async_graphql::parser::types::{
    BaseType, ExecutableDocument, OperationType, Selection, SelectionSet, ServiceDocument, Type, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{
    Context, EnumType, InputType, PathSegment, QueryPathNode, QueryPathSegment, ServerError, ServerResult,
    TypeDirective, Value,
};
use careergraph_auth::Role;

use super::context::{RequestContext, Subscriber, request};
use super::error::{Code, Refused, coded, denied};

/// `@auth(requires: ROLE)`: the least role that may read this field (or every field of this
/// type that does not say otherwise), or that may pass this enum value as an argument.
#[TypeDirective(location = "FieldDefinition", location = "Object", location = "EnumValue")]
pub fn auth(requires: Role) {}

/// The rules of one object type.
#[derive(Debug, Default, Clone)]
struct TypeRules {
    default: Option<Role>,
    fields: HashMap<String, Role>,
    /// Each field's named type, lists and non-null stripped: where a document's selection of the
    /// field continues.
    returns: HashMap<String, String>,
}

/// Every rule of the schema, read from its SDL.
#[derive(Debug, Default, Clone)]
pub struct FieldPolicy {
    types: HashMap<String, TypeRules>,
    /// Rules of enum values, by enum and value name; a value without one is anyone's to pass.
    values: HashMap<(String, String), Role>,
}

fn auth_rule(directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>]) -> Option<Role> {
    directives.iter().find(|d| d.node.name.node == "auth").and_then(|directive| {
        directive.node.get_argument("requires").and_then(|value| match &value.node {
            async_graphql::Value::Enum(name) => Role::named(name.as_str()),
            _ => None,
        })
    })
}

/// Whether a type is a generated container that inherits the rule of the field returning it.
pub fn is_structural(type_name: &str) -> bool {
    type_name == "PageInfo" || type_name.ends_with("Connection") || type_name.ends_with("Edge")
}

impl FieldPolicy {
    /// Reads every `@auth` rule from a schema's SDL.
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let document: ServiceDocument = async_graphql::parser::parse_schema(sdl).map_err(|error| error.to_string())?;
        let mut types = HashMap::new();
        let mut values = HashMap::new();
        let mut interfaces = Vec::new();
        let mut implementers: HashMap<String, Vec<String>> = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else { continue };
            if let TypeKind::Interface(interface) = &definition.node.kind {
                let fields = interface
                    .fields
                    .iter()
                    .map(|field| (field.node.name.node.to_string(), named_type(&field.node.ty.node).to_owned()))
                    .collect::<Vec<_>>();
                interfaces.push((definition.node.name.node.to_string(), fields));
                continue;
            }
            if let TypeKind::Enum(enumeration) = &definition.node.kind {
                for value in &enumeration.values {
                    if let Some(role) = auth_rule(&value.node.directives) {
                        let key = (definition.node.name.node.to_string(), value.node.value.node.to_string());
                        values.insert(key, role);
                    }
                }
                continue;
            }
            let TypeKind::Object(object) = &definition.node.kind else { continue };
            for interface in &object.implements {
                implementers.entry(interface.node.to_string()).or_default().push(definition.node.name.node.to_string());
            }
            let rules = TypeRules {
                default: auth_rule(&definition.node.directives),
                fields: object
                    .fields
                    .iter()
                    .filter_map(|field| Some((field.node.name.node.to_string(), auth_rule(&field.node.directives)?)))
                    .collect(),
                returns: object
                    .fields
                    .iter()
                    .map(|field| (field.node.name.node.to_string(), named_type(&field.node.ty.node).to_owned()))
                    .collect(),
            };
            types.insert(definition.node.name.node.to_string(), rules);
        }
        // A field selected on an interface resolves with the interface as its parent: its rule is
        // the strictest of the objects that implement it, and none if one of them has none.
        for (interface, fields) in interfaces {
            let objects = implementers.get(&interface).map(Vec::as_slice).unwrap_or_default();
            let rule = |field: &str| -> Option<Role> {
                objects
                    .iter()
                    .map(|object| {
                        let rules = types.get(object)?;
                        rules.fields.get(field).copied().or(rules.default)
                    })
                    .try_fold(Role::Anonymous, |strictest, role| role.map(|role| strictest.max(role)))
            };
            let rules = TypeRules {
                default: None,
                fields: fields.iter().filter_map(|(field, _)| Some((field.clone(), rule(field)?))).collect(),
                returns: fields.into_iter().collect(),
            };
            types.insert(interface, rules);
        }
        Ok(Self { types, values })
    }

    /// The least role that may read `type_name.field`, or `None` when no rule covers it.
    pub fn required(&self, type_name: &str, field: &str) -> Option<Role> {
        let rules = self.types.get(type_name)?;
        rules.fields.get(field).copied().or(rules.default)
    }

    /// The least role that may read every field `document` can reach, whichever of its
    /// operations runs and whatever its variables say; `None` when the document alone cannot tell
    /// (introspection, a field without a rule, a type or field the schema does not have, a
    /// fragment cycle). The per-field check gives every caller at least this role the same
    /// answer, since a rule depends on nothing but the type, the field and the caller's role.
    pub fn least_role_for(&self, document: &ExecutableDocument) -> Option<Role> {
        self.walk(document).map(|(least, _)| least)
    }

    /// Every field `document` can reach, as (parent type, field, named type it returns), whichever
    /// of its operations runs; `None` when the document alone cannot tell (as for
    /// [`Self::least_role_for`]).
    pub fn fields_reached<'a>(&'a self, document: &'a ExecutableDocument) -> Option<Vec<ReachedField<'a>>> {
        self.walk(document).map(|(_, reached)| reached)
    }

    fn walk<'a>(&'a self, document: &'a ExecutableDocument) -> Option<(Role, Vec<ReachedField<'a>>)> {
        let mut walk =
            PolicyWalk { policy: self, document, fragments: HashMap::new(), walking: Vec::new(), reached: Vec::new() };
        let mut least = Role::Anonymous;
        for (_, operation) in document.operations.iter() {
            let root = match operation.node.ty {
                OperationType::Query => "Query",
                OperationType::Mutation => "Mutation",
                OperationType::Subscription => return None,
            };
            least = least.max(walk.selection_set(root, &operation.node.selection_set.node)?);
        }
        Some((least, walk.reached))
    }
}

/// A field a document can reach: its parent type, its name and the object (or interface) type it
/// returns, or "" for a scalar or an enum.
pub type ReachedField<'a> = (&'a str, &'a str, &'a str);

/// The named type at the bottom of a field's type.
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named_type(item),
    }
}

/// Walks a document's selections with the schema's rules, each fragment once.
struct PolicyWalk<'a> {
    policy: &'a FieldPolicy,
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Option<Role>>,
    walking: Vec<&'a str>,
    reached: Vec<ReachedField<'a>>,
}

impl<'a> PolicyWalk<'a> {
    fn selection_set(&mut self, type_name: &'a str, set: &'a SelectionSet) -> Option<Role> {
        let mut least = Role::Anonymous;
        for selection in &set.items {
            let needed = match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name == "__typename" {
                        continue;
                    }
                    if name.starts_with("__") {
                        return None;
                    }
                    let rules = self.policy.types.get(type_name)?;
                    let returns = rules.returns.get(name)?;
                    let object = if self.policy.types.contains_key(returns.as_str()) { returns.as_str() } else { "" };
                    self.reached.push((type_name, name, object));
                    // Generated containers inherit the rule of the field that returned them.
                    let own = if is_structural(type_name) {
                        Role::Anonymous
                    } else {
                        self.policy.required(type_name, name)?
                    };
                    let inner = &field.node.selection_set.node;
                    if inner.items.is_empty() { own } else { own.max(self.selection_set(returns, inner)?) }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref().map_or(type_name, |on| on.node.on.node.as_str());
                    self.selection_set(on, &fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str())?,
            };
            least = least.max(needed);
        }
        Some(least)
    }

    fn fragment(&mut self, name: &'a str) -> Option<Role> {
        if let Some(known) = self.fragments.get(name) {
            return *known;
        }
        if self.walking.contains(&name) {
            return None;
        }
        let fragment = self.document.fragments.get(name)?;
        self.walking.push(name);
        let needed =
            self.selection_set(fragment.node.type_condition.node.on.node.as_str(), &fragment.node.selection_set.node);
        self.walking.pop();
        self.fragments.insert(name, needed);
        needed
    }
}

/// Refuses an argument that names enum values the caller may not pass (an `@auth` rule on the
/// value, such as grouping salaries by a dimension only viewers may read).
pub fn check_values<T: EnumType + InputType + PartialEq>(ctx: &Context<'_>, given: &[T]) -> async_graphql::Result<()> {
    // The schema's own data, as every schema is built with its policy (`schema::guarded`).
    let Some(policy) = ctx.data_opt::<Arc<FieldPolicy>>() else { return Ok(()) };
    let caller = request(ctx).principal().role;
    let enum_name = T::type_name();
    for item in T::items().iter().filter(|item| given.contains(&item.value)) {
        let rule = policy.values.get(&(enum_name.to_string(), item.name.to_owned()));
        if let Some(&required) = rule.filter(|required| !caller.satisfies(**required)) {
            return Err(denied(caller, required, Refused::Value { enumeration: enum_name.as_ref(), value: item.name }));
        }
    }
    Ok(())
}

/// Enforces the [`FieldPolicy`] on every field.
pub struct PolicyEnforcement {
    policy: Arc<FieldPolicy>,
}

impl PolicyEnforcement {
    /// Enforces `policy`.
    pub fn new(policy: Arc<FieldPolicy>) -> Self {
        Self { policy }
    }

    /// The rules it enforces.
    pub fn rules(&self) -> &FieldPolicy {
        &self.policy
    }

    /// The per-field hook, called by the schema's one extension ([`super::guards`]) as a plain
    /// method: it holds no per-request state, and a trait object here would box a second future
    /// around every field.
    pub async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Counting real sizes lives in this hook, rather than in an extension of its own, because
        // every per-field hook costs a boxed future on every field of every response.
        // Past the budget every field fails at once, so nothing under it is resolved; the HTTP
        // layer then answers with one error for the whole request.
        let context = RequestContext::in_hook(ctx);
        if !info.is_for_introspection
            && let Some(context) = context
            && !context.budget().spend_field()
        {
            return Err(ServerError::new("The request's field budget is spent", None));
        }
        // List elements pass through here too, with the list as their parent: the field that
        // returned the list has been checked already.
        if info.is_for_introspection
            || info.name.starts_with("__")
            || info.parent_type.starts_with("__")
            || info.parent_type.starts_with('[')
            || is_structural(info.parent_type)
        {
            return next.run(ctx, info).await;
        }
        let caller = match context {
            Some(context) => context.principal().role,
            // A subscription's events: its connection's caller.
            None => Subscriber::in_hook(ctx).map_or(Role::Anonymous, |subscriber| subscriber.principal.role),
        };
        let allowed = match self.policy.required(info.parent_type, info.name) {
            Some(required) if caller.satisfies(required) => Ok(()),
            Some(required) => {
                let refused = match info.parent_type {
                    "Mutation" => Refused::Mutation(info.name),
                    parent => Refused::Field { parent, name: info.name },
                };
                Err(denied(caller, required, refused))
            }
            // Deny by default: a field nobody wrote a rule for is nobody's to read.
            None => {
                tracing::error!(parent = info.parent_type, field = info.name, "field without a policy");
                Err(coded(Code::Forbidden, "This field has no access rule"))
            }
        };
        let path_node = info.path_node;
        let path = || error_path(path_node);
        let nullable = !info.return_type.ends_with('!');
        let position = info.field.name.pos;
        let result = match allowed {
            Ok(()) => next.run(ctx, info).await,
            Err(error) => Err(error.into_server_error(position).with_path(path())),
        };
        match result {
            Err(mut error) if nullable => match context.map(RequestContext::field_errors) {
                Some(collected) => {
                    if error.path.is_empty() {
                        error.path = path();
                    }
                    collected.push(error);
                    Ok(Some(Value::Null))
                }
                None => Err(error),
            },
            other => other,
        }
    }
}

/// The response path of a field, as errors carry it.
fn error_path(node: &QueryPathNode<'_>) -> Vec<PathSegment> {
    let mut path: Vec<PathSegment> = std::iter::once(node)
        .chain(node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
            QueryPathSegment::Index(index) => PathSegment::Index(index),
        })
        .collect();
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interface_field_takes_the_strictest_rule_of_its_objects_and_none_if_one_lacks_one() {
        let sdl = r#"
            directive @auth(requires: Role!) on FIELD_DEFINITION | OBJECT | ENUM_VALUE
            enum Role { ANONYMOUS VIEWER EDITOR ADMIN }
            interface Named { id: ID! name: String! secret: String! }
            type Open implements Named @auth(requires: ANONYMOUS) { id: ID! name: String! secret: String! @auth(requires: EDITOR) }
            type Closed implements Named { id: ID! @auth(requires: ANONYMOUS) name: String! @auth(requires: VIEWER) secret: String! }
        "#;
        let policy = FieldPolicy::from_sdl(sdl).expect("the SDL parses");
        assert_eq!(policy.required("Named", "id"), Some(Role::Anonymous));
        assert_eq!(policy.required("Named", "name"), Some(Role::Viewer));
        assert_eq!(policy.required("Named", "secret"), None, "Closed.secret has no rule, so neither has Named.secret");
    }
}
