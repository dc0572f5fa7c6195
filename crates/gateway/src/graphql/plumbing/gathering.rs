//! A request's keys, gathered into one batch per kind of key, each batch loaded by one call of
//! its [`Loader`].
//!
//! async-graphql's `DataLoader` batches the same way, but gives every key bookkeeping of its
//! own: a `HashSet` of the one key and a copy of it, a oneshot channel, and a `HashMap` of its
//! answer, filled by hashing the key again. On the nested benchmark query that was about 240
//! keys and 1,100 allocations a request, a twentieth of the gateway's instructions. Here a key
//! is pushed onto its batch's list, and every key of a batch waits for the batch's one answer
//! and looks its own value up in it.
//!
//! A batch gathers keys until its fetch first runs. The request's executor ([`super::executor`])
//! runs fetches only once the request has stalled, so by then every sibling field has added its
//! key; a key asked for later starts the next batch. The batch function is still async-graphql's
//! [`Loader`] trait, which every relation of [`super::loaders`] implements.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::dataloader::Loader;
use tokio::sync::SetOnce;

use super::executor::Spawner;

/// The most keys one call of a loader is given, as async-graphql's `DataLoader` has it: a longer
/// batch is loaded a thousand keys at a time, which keeps a statement's parameters well inside
/// what PostgreSQL and SQLite take.
const MOST_KEYS_A_CALL: usize = 1000;

/// A batch's answer, once its fetch has run.
type Answer<K, L> = SetOnce<Result<HashMap<K, <L as Loader<K>>::Value>, <L as Loader<K>>::Error>>;

/// Gathers keys for `L`'s relations, on one request's executor.
pub struct Gathering<L> {
    shared: Arc<Shared<L>>,
    spawner: Spawner,
}

struct Shared<L> {
    loader: L,
    /// The batch each kind of key is gathering, by the key's type: an `Open<K, L>`. A request
    /// follows a handful of relations at a time, so a list is searched faster than a map.
    open: Mutex<Vec<(TypeId, Box<dyn Any + Send>)>>,
}

/// What a key must be: a loader's, and shared by the fields that wait for one batch.
pub trait Key: Send + Sync + Hash + Eq + Clone + 'static {}

impl<K: Send + Sync + Hash + Eq + Clone + 'static> Key for K {}

/// A batch that is still taking keys.
struct Open<K: Key, L: Loader<K>> {
    keys: Vec<K>,
    answer: Arc<Answer<K, L>>,
}

impl<L: Send + Sync + 'static> Gathering<L> {
    /// Gathers keys for `loader`, whose fetches run on `spawner`.
    pub fn new(loader: L, spawner: Spawner) -> Self {
        Self { shared: Arc::new(Shared { loader, open: Mutex::new(Vec::new()) }), spawner }
    }

    /// The value `key` leads to, if any, loaded with the rest of its batch.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, L::Error>
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        let answer = self.add(std::iter::once(key.clone()));
        match answer.wait().await {
            Ok(found) => Ok(found.get(&key).cloned()),
            Err(error) => Err(error.clone()),
        }
    }

    /// The values `keys` lead to (a key that leads nowhere is left out), loaded with the rest of
    /// their batch.
    pub async fn load_many<K>(&self, keys: impl IntoIterator<Item = K>) -> Result<HashMap<K, L::Value>, L::Error>
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        let keys: Vec<K> = keys.into_iter().collect();
        let answer = self.add(keys.iter().cloned());
        match answer.wait().await {
            Ok(found) => Ok(keys
                .into_iter()
                .filter_map(|key| {
                    let value = found.get(&key)?.clone();
                    Some((key, value))
                })
                .collect()),
            Err(error) => Err(error.clone()),
        }
    }

    /// Adds `keys` to the batch their type is gathering, opening one (and queueing its fetch)
    /// when none is; the batch's answer to wait for.
    fn add<K>(&self, keys: impl Iterator<Item = K>) -> Arc<Answer<K, L>>
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        let mut open = self.shared.open.lock().unwrap_or_else(PoisonError::into_inner);
        let kind = TypeId::of::<K>();
        let at = match open.iter().position(|(open_kind, _)| *open_kind == kind) {
            Some(at) => at,
            None => {
                let batch: Open<K, L> = Open { keys: Vec::new(), answer: Arc::new(SetOnce::new()) };
                open.push((kind, Box::new(batch)));
                self.queue_fetch::<K>();
                open.len() - 1
            }
        };
        let batch = open[at].1.downcast_mut::<Open<K, L>>().expect("a batch is filed under its key's type");
        batch.keys.extend(keys);
        Arc::clone(&batch.answer)
    }

    /// Queues the fetch of the batch of `K` just opened: when it runs, the batch stops taking
    /// keys and is loaded.
    fn queue_fetch<K>(&self)
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        let shared = Arc::clone(&self.shared);
        self.spawner.spawn(Box::pin(async move {
            let Some(Open { keys, answer }) = shared.close::<K>() else { return };
            let loaded = shared.load(&keys).await;
            // Set once: this fetch is the only one of its batch.
            let _ = answer.set(loaded);
        }));
    }
}

impl<L: Send + Sync + 'static> Shared<L> {
    /// Takes the batch of `K` out of those gathering keys.
    fn close<K>(&self) -> Option<Open<K, L>>
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let at = open.iter().position(|(kind, _)| *kind == TypeId::of::<K>())?;
        let (_, batch) = open.swap_remove(at);
        batch.downcast::<Open<K, L>>().ok().map(|batch| *batch)
    }

    /// Loads `keys`, [`MOST_KEYS_A_CALL`] at a time.
    async fn load<K>(&self, keys: &[K]) -> Result<HashMap<K, L::Value>, L::Error>
    where
        K: Key,
        L: Loader<K, Error: Sync>,
    {
        if keys.len() <= MOST_KEYS_A_CALL {
            return self.loader.load(keys).await;
        }
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MOST_KEYS_A_CALL) {
            found.extend(self.loader.load(chunk).await?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt as _;
    use futures::future::join_all;

    use super::*;
    use crate::graphql::plumbing::executor::request_tasks;

    /// Doubles numbers, counting its calls and the keys each was given; fails on a negative one.
    #[derive(Default)]
    struct Doubling {
        calls: AtomicUsize,
        largest_call: AtomicUsize,
    }

    impl Loader<i64> for Doubling {
        type Value = i64;
        type Error = Arc<String>;

        async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, i64>, Self::Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.largest_call.fetch_max(keys.len(), Ordering::SeqCst);
            if keys.iter().any(|key| *key < 0) {
                return Err(Arc::new(format!("{keys:?} holds a negative number")));
            }
            // Odd numbers lead nowhere.
            Ok(keys.iter().filter(|key| *key % 2 == 0).map(|key| (*key, key * 2)).collect())
        }
    }

    /// Runs `request` on its own executor, as the front door runs an operation.
    fn run<T>(
        request: impl FnOnce(Arc<Gathering<Doubling>>) -> futures::future::BoxFuture<'static, T>,
    ) -> (T, Arc<Gathering<Doubling>>) {
        let (spawner, tasks) = request_tasks();
        let gathering = Arc::new(Gathering::new(Doubling::default(), spawner));
        let answer =
            tasks.run(request(Arc::clone(&gathering))).now_or_never().expect("nothing waits outside the request");
        (answer, gathering)
    }

    #[test]
    fn siblings_keys_are_loaded_in_one_call_and_each_gets_its_own_value() {
        let (answers, gathering) = run(|loaders| {
            join_all((0..10).map(move |key| {
                let loaders = Arc::clone(&loaders);
                async move { loaders.load_one(key).await }
            }))
            .boxed()
        });
        let values: Vec<Option<i64>> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, (0..10).map(|key| (key % 2 == 0).then_some(key * 2)).collect::<Vec<_>>());
        assert_eq!(gathering.shared.loader.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_key_asked_after_its_batch_was_loaded_starts_the_next_batch() {
        let (answers, gathering) = run(|loaders| {
            async move {
                let first = loaders.load_one(2).await;
                let second = loaders.load_many([4, 5]).await;
                (first, second)
            }
            .boxed()
        });
        assert_eq!(answers.0, Ok(Some(4)));
        assert_eq!(answers.1, Ok(HashMap::from([(4, 8)])));
        assert_eq!(gathering.shared.loader.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn every_key_of_a_failed_batch_gets_its_error() {
        let (answers, _) = run(|loaders| {
            join_all([2, -1].map(move |key| {
                let loaders = Arc::clone(&loaders);
                async move { loaders.load_one(key).await }
            }))
            .boxed()
        });
        assert!(
            answers.iter().all(|answer| answer.as_ref().is_err_and(|error| error.contains("negative"))),
            "{answers:?}"
        );
    }

    #[test]
    fn a_long_batch_is_loaded_a_thousand_keys_a_call() {
        let (answer, gathering) = run(|loaders| async move { loaders.load_many(0..2500).await }.boxed());
        assert_eq!(answer.map(|found| found.len()), Ok(1250));
        assert_eq!(gathering.shared.loader.calls.load(Ordering::SeqCst), 3);
        assert_eq!(gathering.shared.loader.largest_call.load(Ordering::SeqCst), MOST_KEYS_A_CALL);
    }
}
