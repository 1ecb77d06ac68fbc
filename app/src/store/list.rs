//! The current list: pages of operations filtered and sorted as asked, and their counts; and
//! the error messages (`error_message`) its text filter matches by id.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Dialect, SqlStore};
use super::sql::{
    current_parts, like_pattern, parse_with, push_parts, sort_joins, sort_sql, status_sql, Sql,
    ACTIVE, QUEUED, ROW_COLUMNS, ROW_JOINS, RUNNING,
};
use super::StoreResult;
use crate::types::page::SeekKey;
use crate::types::{
    Intname, ListQuery, OperationFilter, OperationRow, OperationState, SortColumn, SortOrder,
    Status, Timestamp,
};
use futures_util::TryStreamExt;
use sqlx::Pool;
use tokio::sync::mpsc;

/// Pages and counts of the current list.
#[async_trait]
pub trait OperationList: Send + Sync {
    /// One page of active operations, filtered and sorted as asked.
    async fn list_operations(&self, query: &ListQuery) -> StoreResult<Vec<OperationRow>>;
    /// How many active operations the filter matches, counting no further than `limit`.
    async fn count_operations(&self, filter: &OperationFilter, limit: u64) -> StoreResult<u64>;
    /// One page and the count of what the filter matches (up to `count_limit`), at once; for
    /// a query that seeks, the count past the seek: after it (the page and the rows after),
    /// or before it, from it on (the rows after the page).
    async fn page_operations(
        &self,
        query: &ListQuery,
        count_limit: u64,
    ) -> StoreResult<(Vec<OperationRow>, u64)>;
    /// Every active operation the query's filter matches, in its sort order (its page and
    /// page size ignored), sent to `sink` row by row as the database yields them; one query,
    /// so the rows form one consistent snapshot. Stops early, without an error, when the
    /// receiver is gone. Returns how many rows were sent.
    async fn export_operations(
        &self,
        query: &ListQuery,
        sink: mpsc::Sender<OperationRow>,
    ) -> StoreResult<u64>;
}

/// Deepest row (offset plus page size) a page sorted by module is read to module by module
/// where the backend wants it ([`Dialect::PAGE_PER_MODULE`]); deeper, one ordinary walk.
const PER_MODULE_REACH: u64 = 10_000;

/// Most distinct messages an error-text filter lists by id; past it, it matches in SQL.
const MAX_ERROR_IDS: usize = 200;

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    pub(super) fn operation_row(row: &D::Row) -> StoreResult<OperationRow> {
        let state = parse_with("state", row.try_get("state")?, OperationState::parse)?;
        let manual: bool = row.try_get("manual")?;
        let status = Status::of(state, manual);
        Ok(OperationRow {
            id: row.try_get("id")?,
            intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
            item_id: row.try_get("item_id")?,
            item_name: row.try_get("item_name")?,
            itemtype: row.try_get("itemtype")?,
            client_id: row.try_get("client_id")?,
            client_name: row.try_get("client_name")?,
            cdate: Timestamp(row.try_get("cdate")?),
            trycount: row.try_get("trycount")?,
            module_id: row.try_get("module_id")?,
            module_name: row.try_get("module_name")?,
            task_id: row.try_get("task_id")?,
            status,
            manual,
            comment: row.try_get("comment")?,
            last_error: row.try_get("last_error")?,
        })
    }

    /// The ids of the error messages containing `text`, when there are at most
    /// [`MAX_ERROR_IDS`] of them.
    pub(super) async fn matching_error_ids(
        pool: &Pool<D>,
        text: &str,
    ) -> StoreResult<Option<Vec<i64>>> {
        let text_match = D::TEXT_MATCH;
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM error_message WHERE text {text_match} $1 ESCAPE '\\' ORDER BY id LIMIT $2"
        ))
        .bind(like_pattern(text))
        .bind(MAX_ERROR_IDS as i64 + 1)
        .fetch_all(pool)
        .await?;
        Ok((ids.len() <= MAX_ERROR_IDS).then_some(ids))
    }

    /// The parts of the current list ([`current_parts`]) a walk for `filter` reads: where the
    /// running operations are apart, a status filter reads its own part only.
    pub(super) fn parts_of(filter: &OperationFilter) -> &'static [&'static str] {
        match filter.status {
            Some(Status::Running) if D::RUNNING_APART => &[RUNNING],
            Some(_) if D::RUNNING_APART => &[QUEUED],
            _ => current_parts::<D>(),
        }
    }

    /// The error ids a filter's text matches (`None`: no text, or too many to list).
    pub(super) async fn error_ids_of(
        pool: &Pool<D>,
        filter: &OperationFilter,
    ) -> StoreResult<Option<Vec<i64>>> {
        match filter.error_text.as_deref().filter(|t| !t.is_empty()) {
            Some(text) => Self::matching_error_ids(pool, text).await,
            None => Ok(None),
        }
    }

    pub(super) fn push_filter<'a>(
        qb: &mut Sql<'a>,
        filter: &'a OperationFilter,
        error_ids: Option<&[i64]>,
    ) {
        if let Some(id) = filter.id {
            qb.push(" AND o.id = ").push_bind(id);
        }
        if let Some(intname) = filter.intname {
            qb.push(" AND o.intname = ").push_bind(intname.raw());
        }
        if let Some(item) = filter.item {
            qb.push(" AND o.item_id = ").push_bind(item);
        }
        if let Some(itemtype) = &filter.itemtype {
            qb.push(" AND o.itemtype = ").push_bind(itemtype);
        }
        if let Some(client) = filter.client {
            qb.push(" AND o.client_id = ").push_bind(client);
        }
        if let Some(module) = filter.processingmodule {
            qb.push(" AND o.module_id = ").push_bind(module);
        }
        if let Some(status) = filter.status {
            qb.push(" AND ").push(status_sql(status));
        }
        if let Some(manual) = filter.manual {
            qb.push(" AND o.manual = ").push_bind(manual);
        }
        match filter.has_task {
            Some(true) => {
                qb.push(" AND o.task_id IS NOT NULL");
            }
            Some(false) => {
                qb.push(" AND o.task_id IS NULL");
            }
            None => {}
        }
        if let Some(from) = filter.created_from {
            qb.push(" AND o.cdate >= ").push_bind(from.0);
        }
        if let Some(to) = filter.created_to {
            qb.push(" AND o.cdate <= ").push_bind(to.0);
        }
        if let Some(min) = filter.min_trycount {
            qb.push(" AND o.trycount >= ").push_bind(min);
        }
        if let Some(key) = &filter.failure {
            qb.push(" AND o.failure_id = (SELECT id FROM failure_group WHERE key = ")
                .push_bind(key.as_str())
                .push(")");
        }
        if let Some(text) = filter.error_text.as_deref().filter(|t| !t.is_empty()) {
            match error_ids {
                // No message contains the text: nothing matches.
                Some([]) => {
                    qb.push(" AND 1 = 0");
                }
                // A few messages: an id list, which one message turns into an index walk
                // of (last_error_id, id) in id order.
                Some(ids) => {
                    qb.push(" AND o.last_error_id IN (")
                        .push_list(ids.iter().copied())
                        .push(")");
                }
                // Many messages: match them in SQL and compare ids row by row.
                None => {
                    let text_match = D::TEXT_MATCH;
                    qb.push(" AND o.last_error_id IN (SELECT id FROM error_message WHERE text ")
                        .push(text_match)
                        .push(" ")
                        .push_bind(like_pattern(text))
                        .push(" ESCAPE '\\')");
                }
            }
        }
    }

    /// One page of current operations, the error-text filter's ids already looked up.
    pub(super) async fn page_rows(
        pool: &Pool<D>,
        query: &ListQuery,
        error_ids: Option<&[i64]>,
    ) -> StoreResult<Vec<OperationRow>> {
        // Two steps: the page's ids from `operation` alone (index order, skipping the
        // offset or seeking without touching other tables), then the joins for those rows.
        // A page before a seek is read backwards, then turned round.
        let backwards = query.backwards();
        let order = if backwards {
            flip(query.order)
        } else {
            query.order
        };
        let mut qb = Sql::new::<D>(format!("{ROW_COLUMNS} FROM ("));
        let from = query.seek.as_ref().map(|seek| (&seek.key, seek.id, false));
        Self::push_walk(
            &mut qb,
            query,
            error_ids,
            order,
            from,
            u64::from(query.page_size),
        );
        // `CROSS JOIN` keeps the page as the outer loop in SQLite, whose planner would
        // otherwise walk all of `operation` in id order to meet the page's 100 rows.
        let (sort, order) = (sort_sql(query.sort), order_sql(order));
        qb.push(format!(
            ") page CROSS JOIN operation o {ROW_JOINS} WHERE o.id = page.page_id ORDER BY {sort} {order}, o.id {order}"
        ));
        let rows = qb.query().fetch_all(pool).await?;
        let mut rows = rows
            .iter()
            .map(Self::operation_row)
            .collect::<StoreResult<Vec<_>>>()?;
        if backwards {
            rows.reverse();
        }
        Ok(rows)
    }

    /// Appends a query of the ids (`page_id`) of at most `limit` current operations the
    /// query's filter matches, in its sort column and `order`: past its offset, or past `from`
    /// (a sort key and id, the id itself included when the flag says so).
    ///
    /// Past a seek it is two index walks, the rows tied with the key past its id and the rows
    /// past the key, merged: each is a seek in the sort column's index (migration 0013), where
    /// one comparison of (key, id) pairs is one only for plain columns in SQLite. Where the
    /// indexes leave running operations out ([`Dialect::RUNNING_APART`]), each walk is made
    /// twice, over the queued part and over the running part ([`push_parts`]), and merged too.
    fn push_walk<'a>(
        qb: &mut Sql<'a>,
        query: &'a ListQuery,
        error_ids: Option<&'a [i64]>,
        order: SortOrder,
        from: Option<(&'a SeekKey, i64, bool)>,
        limit: u64,
    ) {
        let sort = sort_sql(query.sort);
        let joins = sort_joins(query.sort);
        let dir = order_sql(order);
        let parts = Self::parts_of(&query.filter);
        let reach = limit;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let Some((key, id, inclusive)) = from else {
            let offset = query.offset();
            let reach = offset.saturating_add(reach);
            let per_module = D::PAGE_PER_MODULE
                && query.sort == SortColumn::Processingmodule
                && reach <= PER_MODULE_REACH;
            if per_module {
                Self::push_per_module(qb, query, error_ids, dir, None, reach);
            } else if D::RUNNING_APART {
                // Each part is walked to the page's end; the merge skips the offset.
                let reach = i64::try_from(reach).unwrap_or(i64::MAX);
                qb.push("SELECT cur.page_id FROM (");
                push_parts(qb, parts, "part", |qb, states| {
                    qb.push(format!(
                        "SELECT {sort} AS k, o.id AS page_id FROM operation o{joins} WHERE o.state IN {states}"
                    ));
                    Self::push_filter(qb, &query.filter, error_ids);
                    qb.push(format!(" ORDER BY {sort} {dir}, o.id {dir} LIMIT "))
                        .push_bind(reach);
                });
                qb.push(format!(") cur ORDER BY cur.k {dir}, cur.page_id {dir}"));
            } else {
                qb.push(format!(
                    "SELECT o.id AS page_id FROM operation o{joins} WHERE o.state IN {ACTIVE}"
                ));
                Self::push_filter(qb, &query.filter, error_ids);
                qb.push(format!(" ORDER BY {sort} {dir}, o.id {dir}"));
            }
            qb.push(" LIMIT ").push_bind(limit);
            qb.push(" OFFSET ")
                .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
            return;
        };
        let past = match order {
            SortOrder::Asc => ">",
            SortOrder::Desc => "<",
        };
        let past_id = if inclusive {
            format!("{past}=")
        } else {
            past.to_string()
        };
        if query.sort == SortColumn::Id {
            qb.push("SELECT walk.page_id FROM (");
            push_parts(qb, parts, "part", |qb, states| {
                qb.push(format!(
                    "SELECT o.id AS page_id FROM operation o WHERE o.state IN {states}"
                ));
                Self::push_filter(qb, &query.filter, error_ids);
                qb.push(format!(" AND o.id {past_id} ")).push_bind(id);
                qb.push(format!(" ORDER BY o.id {dir} LIMIT "))
                    .push_bind(limit);
            });
            qb.push(format!(") walk ORDER BY walk.page_id {dir} LIMIT "))
                .push_bind(limit);
            return;
        }
        qb.push("SELECT walk.page_id FROM (");
        push_parts(qb, parts, "tied", |qb, states| {
            qb.push(format!(
                "SELECT {sort} AS k, o.id AS page_id FROM operation o{joins} WHERE o.state IN {states}"
            ));
            Self::push_filter(qb, &query.filter, error_ids);
            qb.push(format!(" AND {sort} = "));
            push_key(qb, key);
            qb.push(format!(" AND o.id {past_id} ")).push_bind(id);
            qb.push(format!(" ORDER BY o.id {dir} LIMIT "))
                .push_bind(limit);
        });
        qb.push(" UNION ALL ");
        if D::PAGE_PER_MODULE && query.sort == SortColumn::Processingmodule {
            qb.push("SELECT * FROM (");
            Self::push_per_module(qb, query, error_ids, dir, Some((past, key)), reach);
            qb.push(" LIMIT ").push_bind(limit);
            qb.push(") beyond");
        } else {
            push_parts(qb, parts, "beyond", |qb, states| {
                qb.push(format!(
                    "SELECT {sort} AS k, o.id AS page_id FROM operation o{joins} WHERE o.state IN {states}"
                ));
                Self::push_filter(qb, &query.filter, error_ids);
                qb.push(format!(" AND {sort} {past} "));
                push_key(qb, key);
                qb.push(format!(" ORDER BY {sort} {dir}, o.id {dir} LIMIT "))
                    .push_bind(limit);
            });
        }
        qb.push(format!(
            ") walk ORDER BY walk.k {dir}, walk.page_id {dir} LIMIT "
        ))
        .push_bind(limit);
    }

    /// Appends the ids (`page_id`) and module names (`k`) of each module's first `reach`
    /// matching operations in id order, merged in module name order (module names are
    /// unique): at most modules × reach rows (twice that where the running part is walked
    /// apart), however many there are. With `past`, only the modules whose name comes past
    /// the key (by the comparison given).
    fn push_per_module<'a>(
        qb: &mut Sql<'a>,
        query: &'a ListQuery,
        error_ids: Option<&'a [i64]>,
        dir: &str,
        past: Option<(&str, &'a SeekKey)>,
        reach: u64,
    ) {
        let reach = i64::try_from(reach).unwrap_or(i64::MAX);
        let parts = Self::parts_of(&query.filter);
        qb.push("SELECT pm.name AS k, per.page_id FROM processing_module pm CROSS JOIN LATERAL (");
        push_parts(qb, parts, "per", |qb, states| {
            qb.push(format!(
                "SELECT o.id AS page_id FROM operation o WHERE o.module_id = pm.id AND o.state IN {states}"
            ));
            Self::push_filter(qb, &query.filter, error_ids);
            qb.push(format!(" ORDER BY o.id {dir} LIMIT "))
                .push_bind(reach);
        });
        qb.push(") per");
        if let Some((past, key)) = past {
            qb.push(format!(" WHERE pm.name {past} "));
            push_key(qb, key);
        }
        qb.push(format!(" ORDER BY pm.name {dir}, per.page_id {dir}"));
    }

    /// Every current operation that matches, in the query's order, sent to `sink` (see
    /// [`OperationList::export_operations`]).
    pub(super) async fn export_rows(
        pool: &Pool<D>,
        query: &ListQuery,
        error_ids: Option<&[i64]>,
        sink: mpsc::Sender<OperationRow>,
    ) -> StoreResult<u64> {
        // One flat query in index order: no offset to skip, so no two-step page.
        let (sort, order) = (sort_sql(query.sort), order_sql(query.order));
        let parts = Self::parts_of(&query.filter);
        let qb = if D::RUNNING_APART {
            // Each part streams in index order, merged.
            let mut qb = Sql::new::<D>("SELECT * FROM (");
            push_parts(&mut qb, parts, "part", |qb, states| {
                qb.push(format!(
                    "{ROW_COLUMNS}, {sort} AS sort_key FROM operation o {ROW_JOINS} WHERE o.state IN {states}"
                ));
                Self::push_filter(qb, &query.filter, error_ids);
                qb.push(format!(" ORDER BY {sort} {order}, o.id {order}"));
            });
            qb.push(format!(
                ") cur ORDER BY cur.sort_key {order}, cur.id {order}"
            ));
            qb
        } else {
            // (SQLite would sort a subquery's rows again: one walk, not wrapped.)
            let mut qb = Sql::new::<D>(format!("{ROW_COLUMNS} FROM operation o {ROW_JOINS}"));
            qb.push(format!(" WHERE o.state IN {ACTIVE}"));
            Self::push_filter(&mut qb, &query.filter, error_ids);
            qb.push(format!(" ORDER BY {sort} {order}, o.id {order}"));
            qb
        };
        let mut tx = pool.begin().await?;
        if let Some(long_read) = D::LONG_READ {
            sqlx::query(long_read).execute(&mut *tx).await?;
        }
        let mut rows = qb.query().fetch(&mut *tx);
        let mut sent = 0;
        while let Some(row) = rows.try_next().await? {
            if sink.send(Self::operation_row(&row)?).await.is_err() {
                break;
            }
            sent += 1;
        }
        drop(rows);
        tx.commit().await?;
        Ok(sent)
    }

    /// How many current operations match, up to `limit`, the error ids already looked up;
    /// for a query that seeks, how many past the seek (after it; before it, from it on).
    pub(super) async fn page_count(
        pool: &Pool<D>,
        query: &ListQuery,
        limit: u64,
        error_ids: Option<&[i64]>,
    ) -> StoreResult<u64> {
        let mut qb = Sql::new::<D>("SELECT COUNT(*) FROM (");
        match &query.seek {
            // From the page on, forwards: past the row before it, or from the row after
            // it (itself included) plus the page.
            Some(seek) => {
                let from = Some((&seek.key, seek.id, !seek.after));
                Self::push_walk(&mut qb, query, error_ids, query.order, from, limit);
            }
            None => {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let parts = Self::parts_of(&query.filter);
                qb.push("SELECT 1 AS one FROM (");
                push_parts(&mut qb, parts, "part", |qb, states| {
                    qb.push(format!(
                        "SELECT 1 AS one FROM operation o WHERE o.state IN {states}"
                    ));
                    Self::push_filter(qb, &query.filter, error_ids);
                    qb.push(" LIMIT ").push_bind(limit);
                });
                qb.push(") cur LIMIT ").push_bind(limit);
            }
        }
        qb.push(") AS matched");
        let count: i64 = qb.query().fetch_one(pool).await?.try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The id of an error message's text, added when new.
    pub(super) async fn error_message_id(conn: &mut D::Connection, text: &str) -> StoreResult<i64> {
        sqlx::query("INSERT INTO error_message (text) VALUES ($1) ON CONFLICT (text) DO NOTHING")
            .bind(text)
            .execute(&mut *conn)
            .await?;
        sqlx::query_scalar("SELECT id FROM error_message WHERE text = $1")
            .bind(text)
            .fetch_one(&mut *conn)
            .await
    }
}

#[async_trait]
impl<D> OperationList for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    async fn list_operations(&self, query: &ListQuery) -> StoreResult<Vec<OperationRow>> {
        let error_ids = Self::error_ids_of(&self.pool, &query.filter).await?;
        Self::page_rows(&self.pool, query, error_ids.as_deref()).await
    }

    async fn count_operations(&self, filter: &OperationFilter, limit: u64) -> StoreResult<u64> {
        let error_ids = Self::error_ids_of(&self.pool, filter).await?;
        let query = ListQuery {
            filter: filter.clone(),
            ..ListQuery::default()
        };
        Self::page_count(&self.pool, &query, limit, error_ids.as_deref()).await
    }

    async fn page_operations(
        &self,
        query: &ListQuery,
        count_limit: u64,
    ) -> StoreResult<(Vec<OperationRow>, u64)> {
        // The text filter's messages are looked up once for both queries; the page and
        // its count scan the same rows, so on two connections they take as long as the
        // slower of them.
        let error_ids = Self::error_ids_of(&self.pool, &query.filter).await?;
        tokio::try_join!(
            Self::page_rows(&self.pool, query, error_ids.as_deref()),
            Self::page_count(&self.pool, query, count_limit, error_ids.as_deref())
        )
    }

    async fn export_operations(
        &self,
        query: &ListQuery,
        sink: mpsc::Sender<OperationRow>,
    ) -> StoreResult<u64> {
        let error_ids = Self::error_ids_of(&self.pool, &query.filter).await?;
        Self::export_rows(&self.pool, query, error_ids.as_deref(), sink).await
    }
}

/// The other order.
fn flip(order: SortOrder) -> SortOrder {
    match order {
        SortOrder::Asc => SortOrder::Desc,
        SortOrder::Desc => SortOrder::Asc,
    }
}

/// Binds a seek's sort key.
fn push_key<'a>(qb: &mut Sql<'a>, key: &'a SeekKey) {
    match key {
        SeekKey::Int(v) => qb.push_bind(*v),
        SeekKey::Text(t) => qb.push_bind(t.as_str()),
    };
}

/// `ASC` or `DESC`.
fn order_sql(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    }
}
