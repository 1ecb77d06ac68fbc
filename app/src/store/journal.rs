//! The journal: who changed what. Each change's row is written in the change's own transaction
//! (by [`SqlStore::journal`]); actions that change nothing stored (such as `su`) add theirs here.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Dialect, SqlStore};
use super::sql::Sql;
use super::{JournalEntry, JournalRow, StoreResult};
use crate::types::Timestamp;
use futures_util::TryStreamExt;
use tokio::sync::mpsc;

/// The columns of a journal row, in the order [`journal_row`] reads them.
const JOURNAL_SELECT: &str =
    "SELECT id, at, user_name, action, object, object_id, detail FROM journal";

/// What the journal page is narrowed to; `None` fields do not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Who (exactly).
    pub user: Option<String>,
    /// The kind of object (`runningoperation`, `processing`, `session`, ...).
    pub object: Option<String>,
    /// One object (with `object`).
    pub object_id: Option<i64>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Rows with a smaller id only: the next page.
    pub before: Option<i64>,
}

/// The journal of changes.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Records an action that changed no stored object (such as `su`).
    async fn insert_journal(&self, entry: &JournalEntry) -> StoreResult<()>;
    /// Journal rows about one object, oldest first.
    async fn list_journal(&self, object: &str, object_id: i64) -> StoreResult<Vec<JournalRow>>;
    /// Up to `limit` journal rows matching `filter`, newest first, from below `filter.before`.
    async fn journal_page(
        &self,
        filter: &JournalFilter,
        limit: u32,
    ) -> StoreResult<Vec<JournalRow>>;
    /// Every journal row, oldest first, sent to `sink` as the database yields them; stops
    /// early, without an error, when the receiver is gone. Returns how many rows were sent.
    async fn export_journal(&self, sink: mpsc::Sender<JournalRow>) -> StoreResult<u64>;
}

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
    pub(super) async fn journal(conn: &mut D::Connection, entry: &JournalEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO journal (at, user_id, user_name, action, object, object_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.at.0)
        .bind(entry.user_id)
        .bind(&entry.user_name)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(entry.object_id)
        .bind(&entry.detail)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The journal entry with the id of the object just created.
    pub(super) fn with_id(entry: &JournalEntry, id: i64) -> JournalEntry {
        JournalEntry {
            object_id: Some(id),
            ..entry.clone()
        }
    }
}

#[async_trait]
impl<D> Journal for SqlStore<D>
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
    async fn insert_journal(&self, entry: &JournalEntry) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        Self::journal(&mut conn, entry).await
    }

    async fn list_journal(&self, object: &str, object_id: i64) -> StoreResult<Vec<JournalRow>> {
        let rows = sqlx::query(&format!(
            "{JOURNAL_SELECT} WHERE object = $1 AND object_id = $2 ORDER BY id"
        ))
        .bind(object)
        .bind(object_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_row::<D>).collect()
    }

    async fn journal_page(
        &self,
        filter: &JournalFilter,
        limit: u32,
    ) -> StoreResult<Vec<JournalRow>> {
        let mut sql = Sql::new::<D>(format!("{JOURNAL_SELECT} WHERE TRUE"));
        if let Some(user) = &filter.user {
            sql.push(" AND user_name = ").push_bind(user.as_str());
        }
        if let Some(object) = &filter.object {
            sql.push(" AND object = ").push_bind(object.as_str());
        }
        if let Some(id) = filter.object_id {
            sql.push(" AND object_id = ").push_bind(id);
        }
        if let Some(from) = filter.from {
            sql.push(" AND at >= ").push_bind(from.0);
        }
        if let Some(to) = filter.to {
            sql.push(" AND at <= ").push_bind(to.0);
        }
        if let Some(before) = filter.before {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(journal_row::<D>).collect()
    }

    async fn export_journal(&self, sink: mpsc::Sender<JournalRow>) -> StoreResult<u64> {
        let query = format!("{JOURNAL_SELECT} ORDER BY id");
        let mut tx = self.pool.begin().await?;
        if let Some(long_read) = D::LONG_READ {
            sqlx::query(long_read).execute(&mut *tx).await?;
        }
        let mut rows = sqlx::query(&query).fetch(&mut *tx);
        let mut sent = 0;
        while let Some(row) = rows.try_next().await? {
            if sink.send(journal_row::<D>(&row)?).await.is_err() {
                break;
            }
            sent += 1;
        }
        drop(rows);
        tx.commit().await?;
        Ok(sent)
    }
}

/// Reads one journal row.
fn journal_row<D: Dialect>(row: &D::Row) -> StoreResult<JournalRow>
where
    for<'q> i64: Decode<'q, D> + Type<D>,
    for<'q> String: Decode<'q, D> + Type<D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
{
    Ok(JournalRow {
        id: row.try_get("id")?,
        at: Timestamp(row.try_get("at")?),
        user_name: row.try_get("user_name")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        object_id: row.try_get("object_id")?,
        detail: row.try_get("detail")?,
    })
}
