//! The schema and the database's upkeep: which backend this is, bringing the schema up to date
//! (the migrations of [`super::migrate`]), refreshing the planner's statistics, and copying the
//! database for a backup.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::dialect::{Dialect, SqlStore};
use super::{StoreError, StoreResult};

/// The schema and upkeep of the database.
#[async_trait]
pub trait Schema: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Brings the schema up to date; safe to call from several nodes at once.
    async fn migrate(&self) -> StoreResult<()>;
    /// Refreshes the query planner's statistics; the server calls it every few minutes.
    async fn maintain(&self) -> StoreResult<()>;
    /// Writes a consistent copy of the database to the file at `path`, while the server may be
    /// reading and writing it, so that an operator can back it up without stopping anything.
    /// The file must not exist or be empty. A backend billops makes no copies of (PostgreSQL,
    /// whose `pg_dump` does it) refuses with [`super::StoreError::Configuration`] saying so.
    async fn backup(&self, path: &str) -> StoreResult<()>;
}

#[async_trait]
impl<D> Schema for SqlStore<D>
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
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let lock = D::MIGRATION_LOCK;
        if let Some(lock) = lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migration \
             (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migration")
            .fetch_all(&mut *tx)
            .await?;
        for migration in D::MIGRATIONS {
            if applied.contains(&migration.version) {
                continue;
            }
            // A plain string without arguments goes as one simple query: several
            // statements at once, on both backends.
            let conn: &mut D::Connection = &mut tx;
            sqlx::Executor::execute(conn, migration.sql).await?;
            sqlx::query(
                "INSERT INTO schema_migration (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::store::migrate::now_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    async fn maintain(&self) -> StoreResult<()> {
        let statement = D::MAINTAIN;
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }

    async fn backup(&self, path: &str) -> StoreResult<()> {
        let statement = D::BACKUP.map_err(|why| StoreError::Configuration(why.into()))?;
        sqlx::query(statement)
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
