//! The engine's queue: claiming due operations under leases, recording how attempts ended
//! (successes set-wise), renewing leases, rescuing the ones whose node is gone, and telling the
//! other nodes. The rules (what becomes of an operation after an attempt) are the service's:
//! the store writes the [`AfterAttempt`] it is given.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Dialect, SqlStore};
use std::collections::HashMap;

use super::sql::{parse_with, Sql};
use super::{ChangeListener, JournalEntry, StoreResult};
use crate::types::failure::FailureMark;
use crate::types::queue::{AfterAttempt, Claim, ClaimRequest, Finish, HeldLease, RescuedBatch};
use crate::types::{Intname, Timestamp};

/// An attempt that ended, as its row is written: the finish, and what the operation's row
/// gave (its service, when the run started) or the finish added (the task it opened).
pub(super) struct EndedAttempt<'a> {
    pub finish: &'a Finish,
    pub item_id: i64,
    pub started_at: i64,
    pub task_id: Option<i64>,
}

/// The engine's claims, finishes, leases and messages between nodes.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Claims up to `limit` due operations in one transaction: `waiting` or `error`, due by
    /// `now`, automatic (`manual` off) or asked to start, of a module that is on and under its
    /// cap of running operations. Each becomes `running` with the lease and a fresh token,
    /// `trycount` goes up by one, and its attempt row is written as `running`.
    async fn claim_operations(&self, request: &ClaimRequest) -> StoreResult<Vec<Claim>>;
    /// Records how attempts ended, in one transaction. A finish whose token is no longer the
    /// operation's changes nothing; the result says, per finish, whether it was applied.
    async fn finish_attempts(
        &self,
        finishes: &[Finish],
        journal: &JournalEntry,
    ) -> StoreResult<Vec<bool>>;
    /// Extends the unexpired leases `owner` holds to `until`; returns the leases it still holds.
    async fn renew_leases(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<HeldLease>>;
    /// Returns up to `limit` running operations whose lease ran out before `now` to `error`,
    /// due at once, with their attempt recorded as interrupted by `message`, in one
    /// transaction, lowest ids first (of those no other node has locked); returns their ids
    /// and whether more may remain (the next call then finds out). A large rescue
    /// (a node starting on a database a dead node left a million runs in) is so many short
    /// transactions, with logins, claims and finishes writing between them. The attempts whose
    /// tokens are in `keep` are left alone: the caller's own runs, whose ends it is still
    /// writing (a full disk held up its renewals and its finishes alike).
    async fn rescue_expired(
        &self,
        now: Timestamp,
        message: &str,
        keep: &[String],
        limit: usize,
        mark_of: &(dyn Fn(i64) -> FailureMark + Send + Sync),
    ) -> StoreResult<RescuedBatch>;
    /// Tells every node listening (PostgreSQL `NOTIFY`); SQLite has one node: nothing to do.
    async fn notify(&self, payload: &str) -> StoreResult<()>;
    /// Listens for other nodes' messages; `None` where there are no other nodes (SQLite).
    async fn listen(&self) -> StoreResult<Option<Box<dyn ChangeListener>>>;
    /// How many operations of a module are running now.
    async fn running_count(&self, module_id: i64) -> StoreResult<i64>;
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
    /// Records the successful finishes `finishes[i]` for `i` in `chunk` (at most 500), in
    /// four statements or so: the operations whose token still matches become `done`, their
    /// services take their new status, their attempts their outcome and log.
    pub(super) async fn finish_done(
        conn: &mut D::Connection,
        finishes: &[Finish],
        chunk: &[usize],
        applied: &mut [bool],
    ) -> StoreResult<()> {
        let at = finishes[chunk[0]].at.0;
        let mut sql = Sql::new::<D>("UPDATE operation SET state = 'done', finished_at = ");
        sql.push_bind(at)
            .push(", updated_at = ")
            .push_bind(at)
            .push(
                ", lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL, \
             run_requested = FALSE, stop_requested = FALSE FROM (VALUES ",
            );
        for (n, &i) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .push_bind(finishes[i].operation_id)
                .push(", ")
                .push_bind(finishes[i].token.as_str())
                .push(")");
        }
        // The id list lets the planner find the rows by primary key, whatever it believes
        // about how many are running; the join checks each one's token.
        sql.push(") AS v WHERE operation.id IN (")
            .push_list(chunk.iter().map(|&i| finishes[i].operation_id))
            .push(
                ") AND operation.id = v.column1 AND operation.attempt_token = v.column2 \
                 AND operation.state = 'running' RETURNING id, item_id, attempt_started_at",
            );
        let mut finished: HashMap<i64, (i64, Option<i64>)> = HashMap::new();
        for row in sql.query().fetch_all(&mut *conn).await? {
            finished.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
        }
        if finished.is_empty() {
            return Ok(());
        }
        let mut by_status: HashMap<&'static str, Vec<i64>> = HashMap::new();
        let mut attempts: Vec<EndedAttempt> = Vec::with_capacity(finished.len());
        for &i in chunk {
            let f = &finishes[i];
            let Some((item_id, started_at)) = finished.get(&f.operation_id) else {
                continue;
            };
            applied[i] = true;
            attempts.push(EndedAttempt {
                finish: f,
                item_id: *item_id,
                started_at: started_at.unwrap_or(at),
                task_id: None,
            });
            if let AfterAttempt::Done {
                item_status: Some(status),
            } = &f.next
            {
                by_status.entry(status.raw()).or_default().push(*item_id);
            }
        }
        for (status, items) in by_status {
            let mut sql = Sql::new::<D>("UPDATE item SET status = ");
            sql.push_bind(status)
                .push(" WHERE id IN (")
                .push_list(items)
                .push(")");
            sql.query().execute(&mut *conn).await?;
        }
        Self::insert_attempts(conn, &attempts).await
    }

    /// Writes the rows of ended attempts, in one statement: each attempt's row is written
    /// once, when it ends, with how it ended.
    pub(super) async fn insert_attempts(
        conn: &mut D::Connection,
        attempts: &[EndedAttempt<'_>],
    ) -> StoreResult<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new::<D>(
            "INSERT INTO attempt (operation_id, item_id, token, started_at, finished_at, outcome, \
             error_type, error_message, log, task_id) VALUES ",
        );
        for (n, a) in attempts.iter().enumerate() {
            let f = a.finish;
            sql.push(if n == 0 { "(" } else { ", (" })
                .push_bind(f.operation_id)
                .push(", ")
                .push_bind(a.item_id)
                .push(", ")
                .push_bind(f.token.as_str())
                .push(", ")
                .push_bind(a.started_at)
                .push(", ")
                .push_bind(f.at.0)
                .push(", ")
                .push_bind(f.outcome.raw())
                .push(", ")
                .push_bind(f.error_type.as_deref())
                .push(", ")
                .push_bind(f.error_message.as_deref())
                .push(", ")
                .push_bind(f.log.as_str())
                .push(", ")
                .push_bind(a.task_id)
                .push(")");
        }
        sql.query().execute(&mut *conn).await?;
        Ok(())
    }
}

#[async_trait]
impl<D> Queue for SqlStore<D>
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
    async fn claim_operations(&self, request: &ClaimRequest) -> StoreResult<Vec<Claim>> {
        let _gate = self.write_gate().await;
        use rand::Rng;
        let mut tx = self.pool.begin().await?;
        // Claims are serialised: the module rows (and their caps) are locked first.
        let prelude = D::CLAIM_PRELUDE;
        if let Some(prelude) = prelude {
            sqlx::query(prelude).execute(&mut *tx).await?;
        }
        let lock_modules = D::LOCK_MODULES;
        // A module whose circuit is open (or whose probe was lost) is skipped until its wait is
        // over, then gives one operation: the probe. Paused modules give none.
        let mut modules: Vec<(i64, i64, bool, i64)> = sqlx::query_as(&format!(
            "SELECT id, max_running, circuit <> 'closed' AS probing, timeout_secs \
             FROM processing_module \
             WHERE enabled = TRUE AND (circuit = 'closed' \
             OR (circuit IN ('open', 'probing') AND circuit_retry_at <= $1)) \
             ORDER BY id{lock_modules}"
        ))
        .bind(request.now.0)
        .fetch_all(&mut *tx)
        .await?;
        if modules.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let running: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
            "SELECT module_id, COUNT(*) FROM operation WHERE state = 'running' GROUP BY module_id",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        // Start at a random module so that a small limit does not favour the first one.
        let start = rand::thread_rng().gen_range(0..modules.len());
        modules.rotate_left(start);
        let skip_locked = D::SKIP_LOCKED;
        let mut ids: Vec<i64> = Vec::new();
        let mut probes: Vec<i64> = Vec::new();
        let mut left = i64::from(request.limit);
        for (module_id, max_running, probing, timeout_secs) in modules {
            let mut room = (max_running - running.get(&module_id).copied().unwrap_or(0)).min(left);
            if probing {
                room = room.min(1);
            }
            if room <= 0 {
                continue;
            }
            let found: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM operation WHERE module_id = $1 AND state IN ('waiting', 'error') \
                 AND next_run_at <= $2 AND (manual = FALSE OR run_requested = TRUE) \
                 ORDER BY next_run_at, id LIMIT $3{skip_locked}"
            ))
            .bind(module_id)
            .bind(request.now.0)
            .bind(room)
            .fetch_all(&mut *tx)
            .await?;
            left -= found.len() as i64;
            if probing {
                if let Some(&probe) = found.first() {
                    // Until the probe ends: a live node ends it within the module's time
                    // limit; if its node dies, its lease runs out. After both, another probe.
                    let lost_after = request.lease_until.0 + timeout_secs.saturating_mul(1000);
                    sqlx::query(
                        "UPDATE processing_module SET circuit = 'probing', circuit_retry_at = $1 \
                         WHERE id = $2",
                    )
                    .bind(lost_after)
                    .bind(module_id)
                    .execute(&mut *tx)
                    .await?;
                    probes.push(probe);
                }
            }
            ids.extend(found);
            if left == 0 {
                break;
            }
        }
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let prefix = format!(
            "{}:{:016x}:",
            request.owner,
            rand::thread_rng().gen::<u64>()
        );
        let mut sql = Sql::new::<D>(
            "UPDATE operation SET state = 'running', trycount = trycount + 1, run_requested = FALSE, \
             stop_requested = FALSE, lease_owner = ",
        );
        sql.push_bind(request.owner.as_str())
            .push(", lease_expires_at = ")
            .push_bind(request.lease_until.0)
            .push(", attempt_token = ")
            .push_bind(prefix.as_str())
            .push(" || CAST(id AS TEXT), updated_at = ")
            .push_bind(request.now.0)
            .push(", attempt_started_at = ")
            .push_bind(request.now.0)
            .push(" WHERE id IN (")
            .push_list(ids.iter().copied())
            .push(")");
        sql.query().execute(&mut *tx).await?;
        // No attempt row yet: it is written once, when the run ends (`insert_attempts`).

        let mut sql = Sql::new::<D>(
            "SELECT o.id, o.intname, o.item_id, i.name AS item_name, o.itemtype, o.client_id, \
             c.name AS client_name, o.module_id, o.trycount, o.manual, o.comment, o.attempt_token, \
             o.next_run_at \
             FROM operation o JOIN item i ON i.id = o.item_id JOIN client c ON c.id = o.client_id \
             WHERE o.id IN (",
        );
        sql.push_list(ids.iter().copied())
            .push(") ORDER BY o.next_run_at, o.id");
        let rows = sql.query().fetch_all(&mut *tx).await?;
        let claims = rows
            .iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok(Claim {
                    operation_id: id,
                    intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
                    item_id: row.try_get("item_id")?,
                    item_name: row.try_get("item_name")?,
                    itemtype: row.try_get("itemtype")?,
                    client_id: row.try_get("client_id")?,
                    client_name: row.try_get("client_name")?,
                    module_id: row.try_get("module_id")?,
                    trycount: row.try_get("trycount")?,
                    manual: row.try_get("manual")?,
                    comment: row.try_get("comment")?,
                    token: row.try_get("attempt_token")?,
                    started: request.now,
                    due: Timestamp(row.try_get("next_run_at")?),
                    probe: probes.contains(&id),
                })
            })
            .collect::<StoreResult<Vec<Claim>>>()?;
        tx.commit().await?;
        Ok(claims)
    }

    async fn finish_attempts(
        &self,
        finishes: &[Finish],
        entry: &JournalEntry,
    ) -> StoreResult<Vec<bool>> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let mut applied = vec![false; finishes.len()];
        // Successes, the common case, are written set-wise: a few statements per batch.
        let done: Vec<usize> = (0..finishes.len())
            .filter(|&i| matches!(finishes[i].next, AfterAttempt::Done { .. }))
            .collect();
        for chunk in done.chunks(500) {
            Self::finish_done(&mut tx, finishes, chunk, &mut applied).await?;
        }
        for (i, f) in finishes.iter().enumerate() {
            let mut task_id: Option<i64> = None;
            let done = match &f.next {
                AfterAttempt::Done { .. } => continue,
                AfterAttempt::Retry {
                    next_run_at,
                    manual,
                    task,
                } => {
                    let error_id = match f.error_message.as_deref() {
                        Some(text) => Some(Self::error_message_id(&mut tx, text).await?),
                        None => None,
                    };
                    let group_id = match &f.failure {
                        Some(mark) => Some(Self::failure_group_id(&mut tx, mark, f.at).await?),
                        None => None,
                    };
                    let row: Option<(i64, Option<i64>, i64, Option<i64>)> = sqlx::query_as(
                        "UPDATE operation SET state = 'error', manual = (manual OR $1), next_run_at = $2, \
                         last_error = COALESCE($3, last_error), last_error_id = COALESCE($4, last_error_id), \
                         failure_id = COALESCE($5, failure_id), \
                         lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL, \
                         run_requested = FALSE, stop_requested = FALSE, updated_at = $6 \
                         WHERE id = $7 AND attempt_token = $8 AND state = 'running' \
                         RETURNING item_id, task_id, client_id, attempt_started_at",
                    )
                    .bind(*manual)
                    .bind(next_run_at.0)
                    .bind(f.error_message.as_deref())
                    .bind(error_id)
                    .bind(group_id)
                    .bind(f.at.0)
                    .bind(f.operation_id)
                    .bind(&f.token)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let (Some((_, _, client_id, _)), Some(group_id)) = (row, group_id) {
                        Self::count_failure(&mut tx, group_id, client_id, f.at).await?;
                    }
                    if let (Some((item_id, None, _, _)), Some((kind, comment))) = (row, task) {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
                             VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
                        )
                        .bind(f.operation_id)
                        .bind(item_id)
                        .bind(kind.raw())
                        .bind(comment)
                        .bind(f.at.0)
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query("UPDATE operation SET task_id = $1 WHERE id = $2")
                            .bind(id)
                            .bind(f.operation_id)
                            .execute(&mut *tx)
                            .await?;
                        Self::journal(
                            &mut *tx,
                            &JournalEntry {
                                object_id: Some(f.operation_id),
                                detail: format!("task {id}"),
                                ..entry.clone()
                            },
                        )
                        .await?;
                        task_id = Some(id);
                    }
                    row.map(|(item_id, _, _, started_at)| (item_id, started_at))
                }
            };
            if let Some((item_id, started_at)) = done {
                let attempt = EndedAttempt {
                    finish: f,
                    item_id,
                    started_at: started_at.unwrap_or(f.at.0),
                    task_id,
                };
                Self::insert_attempts(&mut tx, &[attempt]).await?;
            }
            applied[i] = done.is_some();
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn renew_leases(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<HeldLease>> {
        let _gate = self.write_gate().await;
        let rows: Vec<(String, bool)> = sqlx::query_as(
            "UPDATE operation SET lease_expires_at = $1 \
             WHERE lease_owner = $2 AND state = 'running' AND lease_expires_at >= $3 \
             RETURNING attempt_token, stop_requested",
        )
        .bind(until.0)
        .bind(owner)
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(token, stop_requested)| HeldLease {
                token,
                stop_requested,
            })
            .collect())
    }

    async fn rescue_expired(
        &self,
        now: Timestamp,
        message: &str,
        keep: &[String],
        limit: usize,
        mark_of: &(dyn Fn(i64) -> FailureMark + Send + Sync),
    ) -> StoreResult<RescuedBatch> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        // As in a claim: SQLite's write lock first, so the read below cannot go stale.
        let prelude = D::CLAIM_PRELUDE;
        if let Some(prelude) = prelude {
            sqlx::query(prelude).execute(&mut *tx).await?;
        }
        let skip_locked = D::SKIP_LOCKED;
        // The kept runs may be among the first rows: read past them, so a batch is never
        // filled with them alone.
        let limit = limit.max(1);
        let wanted = limit + keep.len();
        let expired: Vec<(i64, String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT id, attempt_token, module_id, client_id FROM operation \
             WHERE state = 'running' AND lease_expires_at < $1 ORDER BY id LIMIT $2{skip_locked}"
        ))
        .bind(now.0)
        .bind(wanted as i64)
        .fetch_all(&mut *tx)
        .await?;
        let read_all = expired.len() < wanted;
        let mut expired: Vec<(i64, String, i64, i64)> = expired
            .into_iter()
            .filter(|(_, token, _, _)| !keep.contains(token))
            .collect();
        // More may remain past the rows read, or among them past the limit (the kept runs
        // were not among them).
        let more = !read_all || expired.len() > limit;
        expired.truncate(limit);
        if expired.is_empty() {
            tx.rollback().await?;
            return Ok(RescuedBatch {
                ids: Vec::new(),
                more,
            });
        }
        let error_id = Self::error_message_id(&mut tx, message).await?;
        let mut groups: HashMap<i64, i64> = HashMap::new();
        for &(_, _, module_id, _) in &expired {
            if let std::collections::hash_map::Entry::Vacant(slot) = groups.entry(module_id) {
                slot.insert(Self::failure_group_id(&mut tx, &mark_of(module_id), now).await?);
            }
        }
        // Set-wise, as a batch of finishes: three statements for the whole batch, so the
        // write lock is held for the rows' index and trigger work, not for a statement each.
        // The attempts' rows first, from the operations' runs (the rows read are locked: each
        // still has the token read).
        let mut sql = Sql::new::<D>(
            "INSERT INTO attempt (operation_id, item_id, token, started_at, finished_at, outcome, \
             error_type, error_message, log) \
             SELECT id, item_id, attempt_token, COALESCE(attempt_started_at, updated_at), ",
        );
        sql.push_bind(now.0)
            .push(", 'interrupted', 'interrupted', ")
            .push_bind(message)
            .push(", '' FROM operation WHERE id IN (")
            .push_list(expired.iter().map(|(id, _, _, _)| *id))
            .push(") AND state = 'running' AND attempt_token IN (")
            .push_list(expired.iter().map(|(_, token, _, _)| token.as_str()))
            .push(") ORDER BY id");
        sql.query().execute(&mut *tx).await?;
        let mut sql = Sql::new::<D>(
            "UPDATE operation SET state = 'error', lease_owner = NULL, lease_expires_at = NULL, \
             attempt_token = NULL, stop_requested = FALSE, next_run_at = ",
        );
        sql.push_bind(now.0)
            .push(", updated_at = ")
            .push_bind(now.0)
            .push(", last_error = ")
            .push_bind(message)
            .push(", last_error_id = ")
            .push_bind(error_id)
            .push(", failure_id = v.column3 FROM (VALUES ");
        for (n, (id, token, module_id, _)) in expired.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .push_bind(*id)
                .push(", ")
                .push_bind(token.as_str())
                .push(", ")
                .push_bind(groups[module_id])
                .push(")");
        }
        // As in a finish: the id list finds the rows by primary key, the join checks tokens.
        sql.push(") AS v WHERE operation.id IN (")
            .push_list(expired.iter().map(|(id, _, _, _)| *id))
            .push(
                ") AND operation.id = v.column1 AND operation.attempt_token = v.column2 \
                 AND operation.state = 'running' RETURNING operation.id",
            );
        let mut rescued = Vec::with_capacity(expired.len());
        for row in sql.query().fetch_all(&mut *tx).await? {
            rescued.push(row.try_get::<i64, _>(0)?);
        }
        rescued.sort_unstable();
        if !rescued.is_empty() {
            let mut sql = Sql::new::<D>(
                "INSERT INTO failure_delta (group_id, client_id, n, failures, at) \
                 SELECT failure_id, client_id, 0, 1, ",
            );
            sql.push_bind(now.0)
                .push(" FROM operation WHERE id IN (")
                .push_list(rescued.iter().copied())
                .push(")");
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(RescuedBatch { ids: rescued, more })
    }

    async fn notify(&self, payload: &str) -> StoreResult<()> {
        D::notify(&self.pool, payload).await
    }

    async fn listen(&self) -> StoreResult<Option<Box<dyn ChangeListener>>> {
        D::listen(&self.pool).await
    }

    async fn running_count(&self, module_id: i64) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM operation WHERE module_id = $1 AND state = 'running'",
        )
        .bind(module_id)
        .fetch_one(&self.pool)
        .await
    }
}
