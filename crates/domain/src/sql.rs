//! Statements written as SQL text, for what the query builder does not say well (full-text
//! search, window functions, correlated subqueries): one text for both databases, with `?`
//! placeholders numbered for PostgreSQL.

use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Statement, Value};

/// `sql` with `values` bound, its `?` placeholders numbered `$1`, `$2` … on PostgreSQL. The text
/// must hold no `?` other than placeholders.
pub(crate) fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len());
        let mut n = 0;
        for (index, part) in sql.split('?').enumerate() {
            if index > 0 {
                n += 1;
                numbered.push_str(&format!("${n}"));
            }
            numbered.push_str(part);
        }
        numbered
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Every column of `E` as `alias."column"`, comma-separated: a select list whose rows read back
/// into `E::Model` by name.
pub(crate) fn columns_of<E: EntityTrait>(alias: &str) -> String {
    E::Column::iter().map(|column| format!("{alias}.\"{}\"", column.as_str())).collect::<Vec<_>>().join(", ")
}

/// `count` placeholders, comma-separated, for an `IN (…)` list.
pub(crate) fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}
