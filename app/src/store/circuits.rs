//! Processing modules' circuit breakers (`migrations/*/0009_circuit.sql`): their state and the
//! rule that opens them. Every change is guarded by the states it may leave, so that two nodes
//! deciding at once change it once; a change with a journal row writes it in the same
//! transaction. The claim reads the state ([`super::queue`]): it takes nothing from an open or
//! paused module, and turns an open one whose wait is over into a probing one.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::{parse_with, Sql};
use super::{JournalEntry, StoreResult};
use crate::types::circuit::{CircuitState, CircuitView};
use crate::types::Timestamp;

/// A circuit's new state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitChange {
    pub state: CircuitState,
    /// Why (kept until the circuit closes).
    pub reason: Option<String>,
    /// When the next probe may start.
    pub retry_at: Option<Timestamp>,
    /// Failed probes in a row.
    pub probes: i64,
}

/// The circuit breakers.
#[async_trait]
pub trait Circuits: Send + Sync {
    /// Every module's circuit, by module id.
    async fn circuits(&self) -> StoreResult<Vec<CircuitView>>;
    /// Moves module `module_id`'s circuit to `change` if it is in one of `from`, at `now`
    /// (the time it left `closed` is kept while it stays out); with `entry`, journaled in the
    /// same transaction. Returns whether it moved.
    async fn change_circuit(
        &self,
        module_id: i64,
        from: &[CircuitState],
        change: &CircuitChange,
        now: Timestamp,
        entry: Option<&JournalEntry>,
    ) -> StoreResult<bool>;
    /// Sets the rule that opens module `module_id`'s circuit; returns whether the module exists.
    async fn set_circuit_rule(
        &self,
        module_id: i64,
        failures: i64,
        window_secs: i64,
        entry: &JournalEntry,
    ) -> StoreResult<bool>;
}

#[async_trait]
impl<D> Circuits for SqlStore<D>
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
    async fn circuits(&self) -> StoreResult<Vec<CircuitView>> {
        let rows = sqlx::query(
            "SELECT id, name, circuit, circuit_since, circuit_reason, circuit_retry_at, \
                    circuit_probes, circuit_failures, circuit_window_secs \
             FROM processing_module ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let since: Option<i64> = row.try_get("circuit_since")?;
                let retry_at: Option<i64> = row.try_get("circuit_retry_at")?;
                Ok(CircuitView {
                    module_id: row.try_get("id")?,
                    module_name: row.try_get("name")?,
                    state: parse_with("circuit", row.try_get("circuit")?, CircuitState::parse)?,
                    since: since.map(Timestamp),
                    reason: row.try_get("circuit_reason")?,
                    retry_at: retry_at.map(Timestamp),
                    probes: row.try_get("circuit_probes")?,
                    failures: row.try_get("circuit_failures")?,
                    window_secs: row.try_get("circuit_window_secs")?,
                })
            })
            .collect()
    }

    async fn change_circuit(
        &self,
        module_id: i64,
        from: &[CircuitState],
        change: &CircuitChange,
        now: Timestamp,
        entry: Option<&JournalEntry>,
    ) -> StoreResult<bool> {
        if from.is_empty() {
            return Ok(false);
        }
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let closed = change.state == CircuitState::Closed;
        let mut sql = Sql::new::<D>("UPDATE processing_module SET circuit = ");
        sql.push_bind(change.state.raw())
            .push(", circuit_since = ")
            .push(if closed {
                "NULL"
            } else {
                "COALESCE(circuit_since, "
            });
        if !closed {
            sql.push_bind(now.0).push(")");
        }
        sql.push(", circuit_reason = ")
            .push_bind(change.reason.as_deref())
            .push(", circuit_retry_at = ")
            .push_bind(change.retry_at.map(|t| t.0))
            .push(", circuit_probes = ")
            .push_bind(change.probes)
            .push(" WHERE id = ")
            .push_bind(module_id)
            .push(" AND circuit IN (")
            .push_list(from.iter().map(|s| s.raw()))
            .push(")");
        let moved = sql.query().execute(&mut *tx).await?.rows_affected() > 0;
        if moved {
            if let Some(entry) = entry {
                Self::journal(&mut tx, entry).await?;
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn set_circuit_rule(
        &self,
        module_id: i64,
        failures: i64,
        window_secs: i64,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE processing_module SET circuit_failures = $1, circuit_window_secs = $2 \
             WHERE id = $3",
        )
        .bind(failures)
        .bind(window_secs)
        .bind(module_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            Self::journal(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
