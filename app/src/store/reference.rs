//! Reference data: clients, processing modules (with their secrets) and the services (items)
//! operations act on. Every change writes its journal row in the same transaction.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::{parse_with, Sql, MODULE_SELECT};
use super::{JournalEntry, ModuleRecord, NewClient, NewItem, StoreResult};
use crate::types::{ClientView, ItemStatus, ItemView, ModuleKind, Timestamp};

/// Clients, processing modules and services.
#[async_trait]
pub trait Reference: Send + Sync {
    async fn insert_client(&self, client: &NewClient, journal: &JournalEntry) -> StoreResult<i64>;
    async fn update_client(&self, client: &ClientView, journal: &JournalEntry)
        -> StoreResult<bool>;
    async fn get_client(&self, id: i64) -> StoreResult<Option<ClientView>>;
    async fn list_clients(&self) -> StoreResult<Vec<ClientView>>;
    async fn insert_module(
        &self,
        module: &ModuleRecord,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    async fn update_module(
        &self,
        module: &ModuleRecord,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn get_module(&self, id: i64) -> StoreResult<Option<ModuleRecord>>;
    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>>;
    async fn insert_item(&self, item: &NewItem, journal: &JournalEntry) -> StoreResult<i64>;
    async fn update_item(&self, item: &ItemView, journal: &JournalEntry) -> StoreResult<bool>;
    async fn get_item(&self, id: i64) -> StoreResult<Option<ItemView>>;
    async fn list_items(&self, client_id: Option<i64>) -> StoreResult<Vec<ItemView>>;
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
    pub(super) fn client_view(row: &D::Row) -> StoreResult<ClientView> {
        Ok(ClientView {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            created: Timestamp(row.try_get("created_at")?),
        })
    }

    pub(super) fn module_record(row: &D::Row) -> StoreResult<ModuleRecord> {
        Ok(ModuleRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: parse_with("kind", row.try_get("kind")?, ModuleKind::parse)?,
            target: row.try_get("target")?,
            secret: row.try_get("secret")?,
            panel_url: row.try_get("panel_url")?,
            max_running: row.try_get("max_running")?,
            max_tries: row.try_get("max_tries")?,
            timeout_secs: row.try_get("timeout_secs")?,
            enabled: row.try_get("enabled")?,
        })
    }

    pub(super) fn item_view(row: &D::Row) -> StoreResult<ItemView> {
        Ok(ItemView {
            id: row.try_get("id")?,
            client_id: row.try_get("client_id")?,
            module_id: row.try_get("module_id")?,
            itemtype: row.try_get("itemtype")?,
            name: row.try_get("name")?,
            status: parse_with("status", row.try_get("status")?, ItemStatus::parse)?,
        })
    }
}

#[async_trait]
impl<D> Reference for SqlStore<D>
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
    async fn insert_client(&self, client: &NewClient, entry: &JournalEntry) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO client (name, email, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&client.name)
        .bind(&client.email)
        .bind(client.created.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_client(&self, client: &ClientView, entry: &JournalEntry) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE client SET name = $1, email = $2 WHERE id = $3")
            .bind(&client.name)
            .bind(&client.email)
            .bind(client.id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn get_client(&self, id: i64) -> StoreResult<Option<ClientView>> {
        sqlx::query("SELECT id, name, email, created_at FROM client WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Self::client_view(&row))
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientView>> {
        sqlx::query("SELECT id, name, email, created_at FROM client ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::client_view)
            .collect()
    }

    async fn insert_module(&self, m: &ModuleRecord, entry: &JournalEntry) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO processing_module (name, kind, target, secret, panel_url, max_running, \
             max_tries, timeout_secs, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&m.name)
        .bind(m.kind.raw())
        .bind(&m.target)
        .bind(&m.secret)
        .bind(&m.panel_url)
        .bind(m.max_running)
        .bind(m.max_tries)
        .bind(m.timeout_secs)
        .bind(m.enabled)
        .bind(entry.at.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_module(&self, m: &ModuleRecord, entry: &JournalEntry) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE processing_module SET name = $1, kind = $2, target = $3, secret = $4, \
             panel_url = $5, max_running = $6, max_tries = $7, timeout_secs = $8, enabled = $9 \
             WHERE id = $10",
        )
        .bind(&m.name)
        .bind(m.kind.raw())
        .bind(&m.target)
        .bind(&m.secret)
        .bind(&m.panel_url)
        .bind(m.max_running)
        .bind(m.max_tries)
        .bind(m.timeout_secs)
        .bind(m.enabled)
        .bind(m.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn get_module(&self, id: i64) -> StoreResult<Option<ModuleRecord>> {
        sqlx::query(&format!("{MODULE_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Self::module_record(&row))
            .transpose()
    }

    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>> {
        sqlx::query(&format!("{MODULE_SELECT} ORDER BY id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::module_record)
            .collect()
    }

    async fn insert_item(&self, item: &NewItem, entry: &JournalEntry) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO item (client_id, module_id, itemtype, name, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(item.client_id)
        .bind(item.module_id)
        .bind(&item.itemtype)
        .bind(&item.name)
        .bind(item.status.raw())
        .bind(item.created.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_item(&self, item: &ItemView, entry: &JournalEntry) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE item SET client_id = $1, module_id = $2, itemtype = $3, name = $4, status = $5 \
             WHERE id = $6",
        )
        .bind(item.client_id)
        .bind(item.module_id)
        .bind(&item.itemtype)
        .bind(&item.name)
        .bind(item.status.raw())
        .bind(item.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn get_item(&self, id: i64) -> StoreResult<Option<ItemView>> {
        sqlx::query(
            "SELECT id, client_id, module_id, itemtype, name, status FROM item WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| Self::item_view(&row))
        .transpose()
    }

    async fn list_items(&self, client_id: Option<i64>) -> StoreResult<Vec<ItemView>> {
        let mut sql =
            Sql::new::<D>("SELECT id, client_id, module_id, itemtype, name, status FROM item");
        if let Some(client_id) = client_id {
            sql.push(" WHERE client_id = ").push_bind(client_id);
        }
        sql.push(" ORDER BY id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(Self::item_view).collect()
    }
}
