//! Which columns of a table a read selects. The gateway asks for the columns its GraphQL
//! selection shows; the read adds what it needs itself (keys, the order a cursor names), and
//! leaves every other field of the model at a placeholder (an empty string, zero, `None`, the
//! first value of an enum) that nothing shows, since nothing asked for it.
//!
//! A nested page of career paths asked for titles and names yet read every description, note
//! and timestamp; sending, decoding and copying those was most of what the database and the
//! gateway did per request (see bench/RESULTS.md).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use sea_orm::{EntityTrait, IdenStatic, Iterable};

/// A set of the columns of `E`, by their place in `E::Column`'s order (the order of the model's
/// fields and of every select).
pub struct Columns<E> {
    bits: u64,
    entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> Columns<E> {
    fn from_bits(bits: u64) -> Self {
        Self { bits, entity: PhantomData }
    }

    /// Every column: what a read that did not say selects.
    pub fn all() -> Self {
        let count = E::Column::iter().count();
        debug_assert!(count <= 64, "{} has more columns than a set holds", E::default().table_name());
        Self::from_bits(if count >= 64 { u64::MAX } else { (1 << count) - 1 })
    }

    /// No column yet (a read always adds the key it needs).
    pub fn none() -> Self {
        Self::from_bits(0)
    }

    /// These columns.
    pub fn of(columns: impl IntoIterator<Item = E::Column>) -> Self {
        columns.into_iter().fold(Self::none(), Self::with)
    }

    /// This set and `column`.
    #[must_use]
    pub fn with(self, column: E::Column) -> Self {
        // A column is a variant of a fieldless enum: its discriminant names it, without comparing
        // the names' text (this runs for every object a resolver loads relations of).
        let wanted = std::mem::discriminant(&column);
        let place = E::Column::iter().position(|each| std::mem::discriminant(&each) == wanted);
        Self::from_bits(self.bits | place.map_or(0, |place| 1 << place))
    }

    /// This set without `column`.
    #[must_use]
    pub fn without(self, column: E::Column) -> Self {
        Self::from_bits(self.bits & !Self::none().with(column).bits)
    }

    /// Every column of either set.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self::from_bits(self.bits | other.bits)
    }

    /// Whether the set holds `column`.
    pub fn contains(self, column: E::Column) -> bool {
        self.with(column).bits == self.bits
    }

    /// The columns, in `E::Column`'s order.
    pub fn iter(self) -> impl Iterator<Item = E::Column> {
        E::Column::iter().enumerate().filter(move |(place, _)| self.bits & (1 << place) != 0).map(|(_, c)| c)
    }

    /// The set as bits, the `n`th for the `n`th column: what a positional read takes.
    pub(crate) fn bits(self) -> u64 {
        self.bits
    }
}

// By hand: derived impls would require `E` itself to be `Copy`, `Eq` and so on.
impl<E> Clone for Columns<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Columns<E> {}

impl<E> PartialEq for Columns<E> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}

impl<E> Eq for Columns<E> {}

impl<E> Hash for Columns<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}

impl<E: EntityTrait> fmt::Debug for Columns<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|column| column.as_str())).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Columns;
    use crate::entities::career_path::{Column, Entity};

    #[test]
    fn a_set_lists_its_columns_in_table_order() {
        let set = Columns::<Entity>::of([Column::Title, Column::Id]).with(Column::Title);
        assert_eq!(set.iter().collect::<Vec<_>>().len(), 2);
        assert!(set.contains(Column::Id) && set.contains(Column::Title) && !set.contains(Column::Description));
        assert_eq!(format!("{set:?}"), r#"{"id", "title"}"#);
        assert_eq!(Columns::<Entity>::all().iter().count(), 15);
        assert_eq!(set.union(Columns::of([Column::Slug])), Columns::of([Column::Id, Column::Slug, Column::Title]));
        assert_eq!(set.without(Column::Title).without(Column::Slug), Columns::of([Column::Id]));
    }
}
