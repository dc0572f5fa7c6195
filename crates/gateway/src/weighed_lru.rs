//! A least-recently-used cache bounded both by its entries and by what they weigh (the memory
//! each holds, as its owner measures it). The `lru` crate bounds entries only; caches that anyone
//! can fill with large values (persisted queries, prepared operations) need the weight too.

use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;

/// At most a number of entries and a total weight, the least recently used dropped first.
pub struct WeighedLru<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    weight: usize,
    max_weight: usize,
}

impl<K: Hash + Eq, V> WeighedLru<K, V> {
    /// Empty, holding at most `max_entries` entries weighing `max_weight` together.
    pub fn new(max_entries: NonZeroUsize, max_weight: usize) -> Self {
        Self { entries: LruCache::new(max_entries), weight: 0, max_weight }
    }

    /// The value under `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// Whether a value is kept under `key` (without touching its recency).
    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains(key)
    }

    /// Keeps `value` under `key`, weighing `weight`, then drops the least recently used entries
    /// until the total weight is within bounds.
    pub fn put(&mut self, key: K, value: V, weight: usize) {
        if let Some((_, (_, dropped))) = self.entries.push(key, (value, weight)) {
            self.weight -= dropped;
        }
        self.weight += weight;
        while self.weight > self.max_weight {
            let Some((_, (_, dropped))) = self.entries.pop_lru() else { break };
            self.weight -= dropped;
        }
    }

    /// What the entries weigh together.
    pub fn weight(&self) -> usize {
        self.weight
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_by_count_and_by_weight() {
        let mut cache = WeighedLru::new(NonZeroUsize::new(3).expect("not zero"), 10);
        cache.put("a", 1, 4);
        cache.put("b", 2, 4);
        assert_eq!(cache.get(&"a"), Some(&1), "a is now the most recently used");
        cache.put("c", 3, 4);
        assert!(!cache.contains(&"b") && cache.contains(&"a") && cache.contains(&"c"), "b went for the weight");
        assert_eq!(cache.weight(), 8);
        cache.put("a", 5, 1);
        assert_eq!((cache.weight(), cache.len()), (5, 2), "a replaced weighs what the new value does");
        cache.put("d", 4, 1);
        cache.put("e", 6, 1);
        assert!(!cache.contains(&"c"), "the fourth entry pushed out the least recently used");
        assert_eq!(cache.len(), 3);
    }
}
