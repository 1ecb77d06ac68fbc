//! What the store's SQL shares: the column lists and joins of its reads, the SQL of a sort
//! column and of a status, `LIKE` patterns, and [`Sql`], a statement built piece by piece with
//! its bound values. Placeholders are `$N`, which both SQLite and PostgreSQL read; booleans
//! are written `TRUE`/`FALSE`; times are epoch milliseconds.

use std::borrow::Cow;

use sqlx::{Database, Encode, IntoArguments, Type};

use super::dialect::Dialect;

/// The current list holds these states.
pub(crate) const ACTIVE: &str = "('waiting', 'running', 'error')";

/// The current operations that wait for a run (or for an admin): the part of the current list
/// PostgreSQL's list indexes cover (migration 0017).
pub(crate) const QUEUED: &str = "('waiting', 'error')";

/// The current operations under way: the part PostgreSQL reads through `operation_running`.
pub(crate) const RUNNING: &str = "('running')";

/// The parts of the current list a walk in index order reads one at a time, as `state IN`
/// lists: the whole list where its indexes cover it, else the queued and the running parts
/// ([`Dialect::RUNNING_APART`]).
pub(crate) fn current_parts<D: Dialect>() -> &'static [&'static str] {
    if D::RUNNING_APART {
        &[QUEUED, RUNNING]
    } else {
        &[ACTIVE]
    }
}

/// Appends `part(states)` for each of `parts` (of the current list: [`current_parts`]), each as
/// `SELECT * FROM (...) {name}N`, joined by `UNION ALL`. Each part orders and limits itself
/// (an index walk); the caller merges them with its own `ORDER BY` and limit.
pub(crate) fn push_parts<'a>(
    qb: &mut Sql<'a>,
    parts: &[&'static str],
    name: &str,
    mut part: impl FnMut(&mut Sql<'a>, &'static str),
) {
    for (n, states) in parts.iter().enumerate() {
        if n > 0 {
            qb.push(" UNION ALL ");
        }
        qb.push("SELECT * FROM (");
        part(qb, states);
        qb.push(format!(") {name}{n}"));
    }
}

/// The text of [`push_parts`] for parts that bind nothing of their own (their `$N` are the
/// statement's, the same in each part).
pub(crate) fn union_of_parts<D: Dialect>(part: impl Fn(&str) -> String) -> String {
    current_parts::<D>()
        .iter()
        .enumerate()
        .map(|(n, states)| format!("SELECT * FROM ({}) part{n}", part(states)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The text of [`STATUS_SQL`], for building the status filters from it.
macro_rules! status_case {
    () => {
        "CASE WHEN o.state = 'running' THEN 'running' \
         WHEN o.manual THEN 'manual' WHEN o.state = 'error' THEN 'error' ELSE 'waiting' END"
    };
}

/// [`Status::of`](crate::types::Status::of) in SQL, for sorting and filtering by status (the
/// conformance test `the_status_sql_agrees_with_the_one_status_rule` holds the two together):
/// word for word the expression of the index `operation_active_by_status` (migration 0013).
pub(crate) const STATUS_SQL: &str = status_case!();

/// The columns of an operation list row, in the order `operation_row` reads them.
pub(crate) const ROW_COLUMNS: &str =
    "SELECT o.id, o.intname, o.item_id, i.name AS item_name, o.itemtype, \
     o.client_id, c.name AS client_name, o.cdate, o.trycount, o.module_id, m.name AS module_name, \
     o.task_id, o.state, o.manual, o.comment, o.last_error";

/// The tables a list row's names come from, joined to `operation o`.
pub(crate) const ROW_JOINS: &str =
    "JOIN item i ON i.id = o.item_id JOIN client c ON c.id = o.client_id \
     JOIN processing_module m ON m.id = o.module_id";

pub(crate) const OPERATION_SELECT: &str = "SELECT id, intname, item_id, client_id, module_id, itemtype, cdate, \
     trycount, manual, comment, state, task_id, next_run_at, run_requested, stop_requested, last_error, \
     updated_at FROM operation";

pub(crate) const MODULE_SELECT: &str =
    "SELECT id, name, kind, target, secret, panel_url, max_running, \
     max_tries, timeout_secs, enabled FROM processing_module";

pub(crate) const SESSION_SELECT: &str = "SELECT s.id_hash, s.user_id, u.name AS user_name, s.level, s.client_id, \
     s.parent_hash, s.lang, s.created_at, s.last_seen_at, s.expires_at FROM session s JOIN app_user u ON u.id = s.user_id";

pub(crate) const ATTEMPT_SELECT: &str =
    "SELECT id, operation_id, item_id, started_at, finished_at, outcome, \
     error_type, error_message, task_id, log FROM attempt";

/// The SQL expression a sort column orders by.
pub(crate) fn sort_sql(column: crate::types::SortColumn) -> &'static str {
    use crate::types::SortColumn as C;
    match column {
        C::Id => "o.id",
        C::Desc => "o.intname",
        C::Item => "o.item_id",
        C::Itemtype => "o.itemtype",
        C::Client => "c.name",
        C::Cdate => "o.cdate",
        C::Trycount => "o.trycount",
        C::Processingmodule => "m.name",
        C::Task => "COALESCE(o.task_id, 0)",
        C::Status => STATUS_SQL,
    }
}

/// The joins the inner (id-only) query of a page needs to sort by `column`.
pub(crate) fn sort_joins(column: crate::types::SortColumn) -> &'static str {
    use crate::types::SortColumn as C;
    match column {
        C::Client => " JOIN client c ON c.id = o.client_id",
        C::Processingmodule => " JOIN processing_module m ON m.id = o.module_id",
        _ => "",
    }
}

/// The predicate that selects operations of one status: [`STATUS_SQL`] equal to it, which the
/// status index (`operation_active_by_status`) answers in id order.
pub(crate) fn status_sql(status: crate::types::Status) -> &'static str {
    use crate::types::Status as S;
    match status {
        S::Running => concat!("(", status_case!(), ") = 'running'"),
        S::Manual => concat!("(", status_case!(), ") = 'manual'"),
        S::Error => concat!("(", status_case!(), ") = 'error'"),
        S::Waiting => concat!("(", status_case!(), ") = 'waiting'"),
    }
}

/// `%text%` for a case-insensitive `LIKE ... ESCAPE '\'`, with the wildcards in `text` escaped
/// (lowercased too: SQLite's `LIKE` ignores ASCII case only, as its `LOWER` does).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// A stored value that fails to parse is a corrupt row: report it as a decode error.
pub(crate) fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected value {value:?} in column {column}").into())
}

/// Parses a stored value with `parse`; a value it refuses is a corrupt row.
pub(crate) fn parse_with<T>(
    column: &str,
    raw: String,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    parse(&raw).ok_or_else(|| corrupt(column, &raw))
}

/// A value bound to a statement built with [`Sql`].
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
    Bool(bool),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Some(Cow::Owned(v)))
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Value::Text(v.map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        Value::Text(v.map(Cow::Owned))
    }
}

/// A statement built piece by piece: its text, with a `$N` placeholder for each bound value.
/// (sqlx's `QueryBuilder` ties its arguments' lifetime to the builder's in a way generic code
/// over both backends cannot express; this one binds when the statement runs.)
#[derive(Clone, Debug, Default)]
pub(crate) struct Sql<'a> {
    text: String,
    values: Vec<Value<'a>>,
    /// `$1, $2, ...` (PostgreSQL) rather than `?` (SQLite).
    numbered: bool,
}

impl<'a> Sql<'a> {
    /// A statement for backend `D` starting with `text`.
    pub fn new<D: Dialect>(text: impl Into<String>) -> Sql<'a> {
        Sql {
            text: text.into(),
            values: Vec::new(),
            numbered: D::NUMBERED_PLACEHOLDERS,
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.text.push_str(text.as_ref());
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn push_bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.values.push(value.into());
        if self.numbered {
            self.text.push('$');
            self.text.push_str(&self.values.len().to_string());
        } else {
            self.text.push('?');
        }
        self
    }

    /// Appends `values` as a comma-separated list of placeholders.
    pub fn push_list<V: Into<Value<'a>>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        for (n, value) in values.into_iter().enumerate() {
            if n > 0 {
                self.text.push_str(", ");
            }
            self.push_bind(value);
        }
        self
    }

    /// The text so far.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement with its values bound, ready to run.
    pub fn query<D>(&self) -> sqlx::query::Query<'_, D, D::Arguments<'_>>
    where
        D: Database,
        for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
        for<'q> i64: Encode<'q, D> + Type<D>,
        for<'q> bool: Encode<'q, D> + Type<D>,
        for<'q> &'q str: Encode<'q, D> + Type<D>,
        for<'q> Option<i64>: Encode<'q, D>,
        for<'q> Option<&'q str>: Encode<'q, D>,
    {
        let mut query = sqlx::query(&self.text);
        for value in &self.values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_deref()),
                Value::Bool(v) => query.bind(*v),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::{like_pattern, Sql};

    #[test]
    fn like_patterns_escape_wildcards_and_lowercase() {
        assert_eq!(like_pattern("Disk_100%"), "%disk\\_100\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn placeholders_are_numbered_in_the_order_values_are_bound() {
        let mut sql = Sql::new::<sqlx::Postgres>("SELECT 1 WHERE a = ");
        sql.push_bind(1_i64)
            .push(" AND b IN (")
            .push_list([2_i64, 3])
            .push(")");
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        // SQLite looks each numbered parameter up by name, linearly: a statement binding
        // a thousand values spent most of its time there. Its placeholders are positional.
        let mut sql = Sql::new::<sqlx::Sqlite>("SELECT 1 WHERE a = ");
        sql.push_bind(1_i64)
            .push(" AND b IN (")
            .push_list([2_i64, 3])
            .push(")");
        assert_eq!(sql.text(), "SELECT 1 WHERE a = ? AND b IN (?, ?)");
    }
}
