//! Objects whose leaf fields resolve in place, without a future each.
//!
//! async-graphql resolves every field of an object as a future of its own: boxed with a copy of
//! the context, polled through a `FuturesUnordered` (or one after another, for `serial`), its
//! answer merged into the object by a second hashed lookup into a map that grows as it goes
//! (`Fields::add_set`, `do_resolve_container`). For a field whose resolver reads the row it was
//! given, that machinery is most of the field's cost: on the nested benchmark query (about
//! 3,300 fields, nearly all of them names, enums and amounts of the rows a relation loaded) it
//! was more than a third of the gateway's instructions per request.
//!
//! [`Objects`] (a list) and [`Inline`] (one object) resolve their objects in two passes, with
//! the same resolvers (each object's own `ContainerType::resolve_field`, which `#[Object]`
//! generates) and to the same answer:
//!
//! 1. every leaf field (one without a selection set: a scalar or an enum) is called and polled
//!    once in place, which completes it unless its resolver waits for something; its value
//!    goes straight into the object's map, made with room for every field;
//! 2. every other field, and a leaf that did wait (called afresh), is a future; all of them, of
//!    every object of the list, are awaited together, so a relation of the list's objects still
//!    loads in one batch.
//!
//! Fields land in the order they were asked for, fragments expanded where they are spread.
//! Only the schema without extensions resolves this way: there every field has been cleared
//! before the operation ran (see `prepared`), while on the guarded schema each field must pass
//! through the guards' per-field hook, so there the wrapped types resolve as async-graphql does,
//! and so do selections this module does not take on (a relation asked twice under one key,
//! whose answers async-graphql merges).

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerResult, Value};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt as _};
use smallvec::SmallVec;

/// Schema data: the schema runs only operations whose fields were all cleared beforehand, and
/// has no extension that must see each field (`prepared`'s schema without the guards; the root
/// field spans it may have look at root fields only, which these types never are).
pub struct FieldsCleared;

/// The keys of the answers a request resolves in place, by the selection set they answer: every
/// call for one selection set (a skill's technologies, once for each skill) answers the same
/// keys, and a map of them is made by hashing each key (SipHash, which async-graphql's `Value`
/// names), so each is made once a request rather than once a call: on the nested benchmark
/// query, five maps (one for each selection set that resolves in place) instead of about 460.
/// Kept in the request's data for a run on the schema whose fields were cleared
/// ([`FieldsCleared`]).
///
/// A selection set is only kept from its second call: a lookup whose object is asked for once
/// (a path by its slug) makes its map and takes it, as before, instead of copying a kept one.
#[derive(Default)]
pub struct AnswerKeys(Mutex<SmallVec<[KeysOf; 8]>>);

/// The keys of the answers to one selection set (where it is in the document) on one type,
/// once it has been answered a second time.
struct KeysOf {
    selection_set: usize,
    on: TypeId,
    keys: Option<Arc<IndexMap<Name, Value>>>,
}

/// The keys of a call's answers: its own, or the request's copy of them.
enum Keys {
    Made(IndexMap<Name, Value>),
    Kept(Arc<IndexMap<Name, Value>>),
}

impl AnswerKeys {
    /// The keys of the answers to the selection set of `ctx` on `T`: `fields` in order, each with
    /// a `null`.
    fn of<T: 'static>(keys: Option<&Self>, ctx: &ContextSelectionSet<'_>, fields: &[&Positioned<Field>]) -> Keys {
        let made = || fields.iter().map(|field| (field.node.response_key().node.clone(), Value::Null)).collect();
        let Some(AnswerKeys(known)) = keys else { return Keys::Made(made()) };
        // The document outlives the request's run, so where a selection set is tells it apart.
        let selection_set = std::ptr::from_ref(ctx.item) as usize;
        let on = TypeId::of::<T>();
        let mut known = known.lock().unwrap_or_else(PoisonError::into_inner);
        match known.iter_mut().find(|kept| kept.selection_set == selection_set && kept.on == on) {
            Some(KeysOf { keys: Some(kept), .. }) => Keys::Kept(Arc::clone(kept)),
            Some(KeysOf { keys: seen_once, .. }) => Keys::Kept(Arc::clone(seen_once.insert(Arc::new(made())))),
            None => {
                known.push(KeysOf { selection_set, on, keys: None });
                Keys::Made(made())
            }
        }
    }
}

/// A list of objects, resolved as described above; in the schema, the same as `Vec<T>`. Only of
/// an object type (not an interface or a union), so that every answer is of the type `T` is.
pub struct Objects<T>(pub Vec<T>);

/// One object, resolved as described above; in the schema, the same as `T`.
pub struct Inline<T>(pub T);

impl<T> FromIterator<T> for Objects<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Objects(items.into_iter().collect())
    }
}

impl<T: ObjectType + 'static> OutputType for Objects<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match fields_to_resolve::<T>(ctx) {
            Some(fields) => Ok(Value::List(resolve_objects(ctx, &self.0, &fields, Path::Indexed).await)),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

impl<T: ObjectType + 'static> OutputType for Inline<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match fields_to_resolve::<T>(ctx) {
            Some(fields) => {
                let mut answers = resolve_objects(ctx, std::slice::from_ref(&self.0), &fields, Path::Same).await;
                Ok(answers.pop().unwrap_or_default())
            }
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// Whether each object's fields sit under an index of the list in an error's path.
#[derive(Clone, Copy)]
enum Path {
    Indexed,
    Same,
}

impl Path {
    /// The context of the object at `index` of those `ctx` resolves.
    fn of<'r>(self, ctx: &'r ContextSelectionSet<'r>, index: usize) -> ContextSelectionSet<'r> {
        match self {
            Path::Indexed => ctx.with_index(index),
            Path::Same => ctx.clone(),
        }
    }
}

/// The fields `ctx` selects on an object of type `T`, fragments expanded in place; none when
/// the schema is not the one whose fields were cleared ([`FieldsCleared`]), or when a field with
/// a selection set is asked twice under one response key (async-graphql merges the answers).
fn fields_to_resolve<'a, T: OutputType>(ctx: &ContextSelectionSet<'a>) -> Option<FieldList<'a>> {
    ctx.data_opt::<FieldsCleared>()?;
    let mut fields = FieldList::new();
    add_fields::<T>(ctx, &ctx.item.node, &mut fields).then_some(fields)
}

/// The fields of one selection set: nearly always a few, kept on the stack (a list of them was
/// made for every object of the nested benchmark query that is not in a list, a skill under
/// each of its paths: some 400 allocations a request).
type FieldList<'a> = SmallVec<[&'a Positioned<Field>; 8]>;

/// Adds the fields of `set` to `fields`; false on a second field with a selection set under one
/// key. A leaf asked twice is answered once, where it was first asked, as async-graphql does.
fn add_fields<'a, T: OutputType>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    fields: &mut FieldList<'a>,
) -> bool {
    set.items.iter().all(|selection| match &selection.node {
        Selection::Field(field) => {
            let key = &field.node.response_key().node;
            match fields.iter().find(|asked| asked.node.response_key().node == *key) {
                Some(asked) => is_leaf(asked) && is_leaf(field),
                None => {
                    fields.push(field);
                    true
                }
            }
        }
        Selection::FragmentSpread(spread) => match ctx.query_env.fragments.get(&spread.node.fragment_name.node) {
            Some(fragment) => {
                !applies::<T>(ctx, Some(&fragment.node.type_condition.node.on.node))
                    || add_fields::<T>(ctx, &fragment.node.selection_set.node, fields)
            }
            // Validation refuses an unknown fragment; async-graphql's own resolution says so.
            None => false,
        },
        Selection::InlineFragment(fragment) => {
            let condition = fragment.node.type_condition.as_ref().map(|condition| &condition.node.on.node);
            !applies::<T>(ctx, condition) || add_fields::<T>(ctx, &fragment.node.selection_set.node, fields)
        }
    })
}

/// Whether a fragment on `condition` (none: the enclosing type) applies to an object of `T`.
fn applies<T: OutputType>(ctx: &ContextSelectionSet<'_>, condition: Option<&Name>) -> bool {
    let Some(condition) = condition else { return true };
    let name = T::type_name();
    condition.as_str() == name
        || ctx
            .schema_env
            .registry
            .implements
            .get(name.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition.as_str()))
}

/// A field without a selection set: a scalar or an enum, which validation has checked.
fn is_leaf(field: &Positioned<Field>) -> bool {
    field.node.selection_set.node.items.is_empty()
}

/// A field's answer once it has resolved: the object it belongs to, its place in the object.
type Waiting<'a> = BoxFuture<'a, (usize, usize, ServerResult<Option<Value>>)>;

/// Resolves `fields` of every object of `objects`, in the two passes the module describes.
async fn resolve_objects<'a, T: ObjectType + 'static>(
    ctx: &ContextSelectionSet<'a>,
    objects: &'a [T],
    fields: &[&'a Positioned<Field>],
    path: Path,
) -> Vec<Value> {
    let Leaves { mut answers, mut waiting, mut failed } = resolve_leaves(ctx, objects, fields, path);
    let mut settle = |(index, at, resolved): (usize, usize, ServerResult<Option<Value>>)| match resolved {
        Ok(value) => set(&mut answers[index], at, value.unwrap_or_default()),
        Err(error) => {
            ctx.add_error(error);
            failed.push((index, at));
        }
    };
    // Most lists (a skill's technologies, a path's salary records) have nothing left to wait
    // for, and most single objects (a path's skill) one field; a `FuturesUnordered`, even an
    // empty one, allocates its queue, and each future in it a task, and each wake-up passes
    // through it.
    match waiting.len() {
        0 => {}
        1 => settle(waiting.swap_remove(0).await),
        _ => {
            let mut waiting: FuturesUnordered<Waiting<'a>> = waiting.into_iter().collect();
            while let Some(resolved) = waiting.next().await {
                settle(resolved);
            }
        }
    }
    // As async-graphql does: a field that failed is left out of its object (the error is the
    // request's). Later positions first, so that each removal leaves the earlier ones in place.
    failed.sort_unstable_by(|a, b| b.cmp(a));
    for (index, at) in failed {
        answers[index].shift_remove_index(at);
    }
    answers.into_iter().map(|answer| if answer.is_empty() { Value::Null } else { Value::Object(answer) }).collect()
}

/// What the first pass leaves: every object's answer, the fields still to resolve, and the
/// fields that failed (by object and place in it), to be left out.
struct Leaves<'a> {
    answers: Vec<IndexMap<Name, Value>>,
    waiting: SmallVec<[Waiting<'a>; 4]>,
    failed: Vec<(usize, usize)>,
}

/// The first pass: every object's answer with its leaves filled in and a `null` in the place of
/// every other field, and the futures that resolve those. They are boxed as async-graphql boxes
/// fields, which also keeps the future of a type that leads back to itself (a skill's
/// technologies' skills) from holding itself.
///
/// Every object of the list answers the same keys in the same places, so their map is made
/// once (once a request: [`AnswerKeys`]) and copied for each object: a map hashes each key it
/// is given, and a copy only copies the hashes. On the nested benchmark query, hashing each key
/// of each object was a twelfth of the gateway's instructions.
fn resolve_leaves<'a, T: ObjectType + 'static>(
    ctx: &ContextSelectionSet<'a>,
    objects: &'a [T],
    fields: &[&'a Positioned<Field>],
    path: Path,
) -> Leaves<'a> {
    let mut leaves =
        Leaves { answers: Vec::with_capacity(objects.len()), waiting: SmallVec::new(), failed: Vec::new() };
    if objects.is_empty() {
        return leaves;
    }
    // `add_fields` asks each response key once, so each field has the place it has in `fields`.
    let mut keys = AnswerKeys::of::<T>(ctx.data_opt::<AnswerKeys>(), ctx, fields);
    for (index, object) in objects.iter().enumerate() {
        let object_ctx = path.of(ctx, index);
        let mut answer = match &mut keys {
            // The last object takes the map made for this call: a single object copies nothing.
            Keys::Made(keys) if index + 1 == objects.len() => std::mem::take(keys),
            Keys::Made(keys) => keys.clone(),
            Keys::Kept(keys) => IndexMap::clone(keys),
        };
        for (at, &field) in fields.iter().enumerate() {
            if field.node.name.node == "__typename" {
                set(&mut answer, at, Value::String(object.introspection_type_name().into_owned()));
                continue;
            }
            if is_leaf(field) {
                // Polled once and dropped unless complete: a leaf that waits starts again below.
                if let Some(resolved) = object.resolve_field(&object_ctx.with_field(field)).now_or_never() {
                    match resolved {
                        Ok(value) => set(&mut answer, at, value.unwrap_or_default()),
                        Err(error) => {
                            ctx.add_error(error);
                            leaves.failed.push((index, at));
                        }
                    }
                    continue;
                }
            }
            let ctx = ctx.clone();
            leaves.waiting.push(Box::pin(async move {
                let object_ctx = path.of(&ctx, index);
                (index, at, object.resolve_field(&object_ctx.with_field(field)).await)
            }) as Waiting<'a>);
        }
        leaves.answers.push(answer);
    }
    leaves
}

/// Puts `value` in the place `at` of `answer`.
fn set(answer: &mut IndexMap<Name, Value>, at: usize, value: Value) {
    if let Some((_, slot)) = answer.get_index_mut(at) {
        *slot = value;
    }
}
