//! Failure groups ([`crate::service::failure`]): each fingerprint once in `failure_group`, the
//! group of each operation's last failure in `operation.failure_id`, and the counts the
//! failures view shows (operations and distinct clients per group, failures per hour) kept by
//! the database: triggers and the finish append to `failure_delta` in the writer's
//! transaction, [`Failures::compact_failures`] folds them, a read adds what is not folded yet
//! (`migrations/*/0011_failure_group.sql`). A read costs a row per group shown and per delta,
//! whatever the number of operations.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Dialect, SqlStore};
use super::rollups::{bucket_of, HOUR_MS};
use super::sql::{union_of_parts, Sql};
use super::{JournalEntry, StoreResult};
use crate::types::failure::{FailureGroup, FailureMark};
use crate::types::{TaskKind, Timestamp};

/// How long failures per hour are kept: two days (a sparkline shows one).
pub const FAILURE_HOURS_KEEP_MS: i64 = 48 * HOUR_MS;
/// Deltas folded in one step of [`Failures::compact_failures`], and the most steps it takes.
const FOLD_STEP: i64 = 10_000;
const FOLD_STEPS: usize = 20;

/// What [`Failures::failure_groups`] shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupQuery {
    /// Only this group (its key), else the groups with most operations first.
    pub key: Option<String>,
    /// At most this many groups.
    pub limit: usize,
    /// The hour the sparklines start at; they hold `hours` hours.
    pub since: Timestamp,
    pub hours: usize,
}

/// The task opened (or found) for a whole group, and how many of its operations it was linked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupTask {
    pub task_id: i64,
    /// Whether the task is new (else the group's open task was reused).
    pub created: bool,
    pub linked: u64,
    /// Operations of the group that had a task of their own already.
    pub had_task: u64,
}

/// Failure groups.
#[async_trait]
pub trait Failures: Send + Sync {
    /// The groups with current operations, most operations first (then latest failure), with
    /// their counts exact as of now.
    async fn failure_groups(&self, query: &GroupQuery) -> StoreResult<Vec<FailureGroup>>;
    /// Up to `limit` ids of the group's current operations after `after`, in id order.
    async fn failure_group_operations(
        &self,
        key: &str,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<i64>>;
    /// Opens one task for the group `key` (of `kind`, with `comment`, on its first current
    /// operation), or takes the group's task while it is open, and links it from every
    /// current operation of the group that has none; one transaction, one journal row per
    /// operation linked. `None` when the group has no current operation.
    async fn create_group_task(
        &self,
        key: &str,
        kind: TaskKind,
        comment: &str,
        entry: &JournalEntry,
    ) -> StoreResult<Option<GroupTask>>;
    /// Folds the deltas into the groups' counts and forgets failures per hour older than
    /// [`FAILURE_HOURS_KEEP_MS`]; one node at a time (another skips). Returns the deltas folded.
    async fn compact_failures(&self, now: Timestamp) -> StoreResult<u64>;
}

/// What the unfolded deltas add to one group.
#[derive(Default)]
struct Pending {
    operations: i64,
    clients: i64,
    last_seen: Option<i64>,
    hours: BTreeMap<i64, i64>,
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
    /// The id of the group `mark` names, made on its first failure (`at`).
    pub(super) async fn failure_group_id(
        conn: &mut D::Connection,
        mark: &FailureMark,
        at: Timestamp,
    ) -> StoreResult<i64> {
        if let Some(id) = sqlx::query_scalar("SELECT id FROM failure_group WHERE key = $1")
            .bind(&mark.key)
            .fetch_optional(&mut *conn)
            .await?
        {
            return Ok(id);
        }
        sqlx::query(
            "INSERT INTO failure_group (key, module_id, error_type, template, sample, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&mark.key)
        .bind(mark.module_id)
        .bind(&mark.error_type)
        .bind(&mark.template)
        .bind(&mark.sample)
        .bind(at.0)
        .execute(&mut *conn)
        .await?;
        sqlx::query_scalar("SELECT id FROM failure_group WHERE key = $1")
            .bind(&mark.key)
            .fetch_one(&mut *conn)
            .await
    }

    /// Records one failure of group `group_id` by an operation of `client_id` at `at` (the
    /// operation's membership is the triggers' business).
    pub(super) async fn count_failure(
        conn: &mut D::Connection,
        group_id: i64,
        client_id: i64,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO failure_delta (group_id, client_id, n, failures, at) VALUES ($1, $2, 0, 1, $3)",
        )
        .bind(group_id)
        .bind(client_id)
        .bind(at.0)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The unfolded deltas per group: operations, clients gained or lost (against the folded
    /// per-client counts), latest failure and failures per hour.
    async fn pending(conn: &mut D::Connection) -> StoreResult<HashMap<i64, Pending>> {
        let rows = sqlx::query(
            "SELECT group_id, client_id, CAST(SUM(n) AS BIGINT) AS n, MAX(at) AS last_at \
             FROM failure_delta GROUP BY group_id, client_id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut pending: HashMap<i64, Pending> = HashMap::new();
        let mut pairs: Vec<(i64, i64, i64)> = Vec::new();
        for row in &rows {
            let group: i64 = row.try_get("group_id")?;
            let n: i64 = row.try_get("n")?;
            let last_at: Option<i64> = row.try_get("last_at")?;
            let p = pending.entry(group).or_default();
            p.operations += n;
            p.last_seen = p.last_seen.max(last_at);
            if n != 0 {
                pairs.push((group, row.try_get("client_id")?, n));
            }
        }
        for chunk in pairs.chunks(400) {
            let folded = Self::folded_clients(conn, chunk).await?;
            for &(group, client, n) in chunk {
                let before = folded.get(&(group, client)).copied().unwrap_or(0);
                let p = pending.entry(group).or_default();
                p.clients += i64::from(before + n > 0) - i64::from(before > 0);
            }
        }
        let hours = sqlx::query(
            "SELECT group_id, at - at % 3600000 AS hour, CAST(SUM(failures) AS BIGINT) AS n \
             FROM failure_delta WHERE failures <> 0 GROUP BY group_id, at - at % 3600000",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in &hours {
            let p = pending.entry(row.try_get("group_id")?).or_default();
            p.hours.insert(row.try_get("hour")?, row.try_get("n")?);
        }
        Ok(pending)
    }

    /// The folded operation counts of the (group, client) pairs in `pairs`.
    async fn folded_clients(
        conn: &mut D::Connection,
        pairs: &[(i64, i64, i64)],
    ) -> StoreResult<HashMap<(i64, i64), i64>> {
        let mut sql = Sql::new::<D>(
            "SELECT f.group_id, f.client_id, f.n FROM failure_client f JOIN (VALUES ",
        );
        for (i, &(group, client, _)) in pairs.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .push_bind(group)
                .push(", ")
                .push_bind(client)
                .push(")");
        }
        sql.push(") AS v ON f.group_id = v.column1 AND f.client_id = v.column2");
        let mut folded = HashMap::new();
        for row in sql.query().fetch_all(&mut *conn).await? {
            folded.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
        Ok(folded)
    }

    fn group_row(row: &D::Row) -> StoreResult<(i64, FailureGroup)> {
        let task_id: Option<i64> = row.try_get("task_id")?;
        Ok((
            row.try_get("id")?,
            FailureGroup {
                key: row.try_get("key")?,
                module_id: row.try_get("module_id")?,
                module_name: row.try_get("module_name")?,
                error_type: row.try_get("error_type")?,
                template: row.try_get("template")?,
                sample: row.try_get("sample")?,
                operations: row.try_get("operations")?,
                clients: row.try_get("clients")?,
                first_seen: Timestamp(row.try_get("first_seen")?),
                last_seen: Timestamp(row.try_get("last_seen")?),
                task_id,
                per_hour: Vec::new(),
            },
        ))
    }

    /// One fold step: up to [`FOLD_STEP`] deltas, oldest first, taken out and added to the
    /// groups' counts. Returns the deltas folded.
    async fn fold_step(conn: &mut D::Connection) -> StoreResult<u64> {
        let rows = sqlx::query(
            "DELETE FROM failure_delta WHERE id IN (SELECT id FROM failure_delta ORDER BY id LIMIT $1) \
             RETURNING group_id, client_id, n, failures, at",
        )
        .bind(FOLD_STEP)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Sums per (group, client), per group and per (group, hour), in key order: every
        // node that folds takes rows in the same order, so none waits on another in a cycle.
        let mut members: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        let mut groups: BTreeMap<i64, (i64, i64, Option<i64>)> = BTreeMap::new();
        let mut hours: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for row in &rows {
            let group: i64 = row.try_get("group_id")?;
            let client: i64 = row.try_get("client_id")?;
            let n: i64 = row.try_get("n")?;
            let failures: i64 = row.try_get("failures")?;
            let at: Option<i64> = row.try_get("at")?;
            *members.entry((group, client)).or_default() += n;
            let g = groups.entry(group).or_default();
            g.0 += n;
            g.2 = g.2.max(at);
            if let (Some(at), true) = (at, failures != 0) {
                *hours
                    .entry((group, bucket_of(Timestamp(at), HOUR_MS).0))
                    .or_default() += failures;
            }
        }
        let changed: Vec<(i64, i64, i64)> = members
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((g, c), n)| (g, c, n))
            .collect();
        for chunk in changed.chunks(400) {
            let mut sql =
                Sql::new::<D>("INSERT INTO failure_client (group_id, client_id, n) VALUES ");
            for (i, &(group, client, n)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" })
                    .push_bind(group)
                    .push(", ")
                    .push_bind(client)
                    .push(", ")
                    .push_bind(n)
                    .push(")");
            }
            sql.push(
                " ON CONFLICT (group_id, client_id) DO UPDATE SET n = failure_client.n + EXCLUDED.n \
                 RETURNING group_id, client_id, n",
            );
            let after: HashMap<(i64, i64), i64> = sql
                .query()
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
                .collect::<StoreResult<_>>()?;
            for &(group, client, n) in chunk {
                let now = after.get(&(group, client)).copied().unwrap_or(n);
                let before = now - n;
                groups.entry(group).or_default().1 += i64::from(now > 0) - i64::from(before > 0);
            }
        }
        sqlx::query("DELETE FROM failure_client WHERE n = 0")
            .execute(&mut *conn)
            .await?;
        for (group, (operations, clients, last_at)) in groups {
            sqlx::query(
                "UPDATE failure_group SET operations = operations + $1, clients = clients + $2, \
                 last_seen = CASE WHEN $3 > last_seen THEN $3 ELSE last_seen END WHERE id = $4",
            )
            .bind(operations)
            .bind(clients)
            .bind(last_at.unwrap_or(i64::MIN))
            .bind(group)
            .execute(&mut *conn)
            .await?;
        }
        for ((group, hour), n) in hours {
            sqlx::query(
                "INSERT INTO failure_hour (group_id, hour, n) VALUES ($1, $2, $3) \
                 ON CONFLICT (group_id, hour) DO UPDATE SET n = failure_hour.n + EXCLUDED.n",
            )
            .bind(group)
            .bind(hour)
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
        Ok(rows.len() as u64)
    }
}

#[async_trait]
impl<D> Failures for SqlStore<D>
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
    async fn failure_groups(&self, query: &GroupQuery) -> StoreResult<Vec<FailureGroup>> {
        // One read transaction, so the folded counts and the deltas are of one instant.
        let mut tx = self.pool.begin().await?;
        let pending = Self::pending(&mut tx).await?;
        const COLUMNS: &str =
            "SELECT g.id, g.key, g.module_id, m.name AS module_name, g.error_type, \
             g.template, g.sample, g.operations, g.clients, g.first_seen, g.last_seen, g.task_id \
             FROM failure_group g JOIN processing_module m ON m.id = g.module_id";
        let mut found: BTreeMap<i64, FailureGroup> = BTreeMap::new();
        if let Some(key) = &query.key {
            let mut sql = Sql::new::<D>(COLUMNS);
            sql.push(" WHERE g.key = ").push_bind(key.as_str());
            for row in sql.query().fetch_all(&mut *tx).await? {
                let (id, group) = Self::group_row(&row)?;
                found.insert(id, group);
            }
        } else {
            // The groups with most folded operations, enough more of them that the deltas
            // cannot move a group not read into the first `limit`, and every group with deltas.
            let wanted = query.limit + pending.len();
            let mut sql = Sql::new::<D>(COLUMNS);
            sql.push(" WHERE g.operations <> 0 ORDER BY g.operations DESC, g.id LIMIT ")
                .push_bind(i64::try_from(wanted).unwrap_or(i64::MAX));
            for row in sql.query().fetch_all(&mut *tx).await? {
                let (id, group) = Self::group_row(&row)?;
                found.insert(id, group);
            }
            let missing: Vec<i64> = pending
                .keys()
                .copied()
                .filter(|id| !found.contains_key(id))
                .collect();
            for chunk in missing.chunks(400) {
                let mut sql = Sql::new::<D>(COLUMNS);
                sql.push(" WHERE g.id IN (")
                    .push_list(chunk.iter().copied())
                    .push(")");
                for row in sql.query().fetch_all(&mut *tx).await? {
                    let (id, group) = Self::group_row(&row)?;
                    found.insert(id, group);
                }
            }
        }
        let mut groups: Vec<(i64, FailureGroup)> = found
            .into_iter()
            .map(|(id, mut group)| {
                if let Some(p) = pending.get(&id) {
                    group.operations += p.operations;
                    group.clients += p.clients;
                    group.last_seen =
                        Timestamp(group.last_seen.0.max(p.last_seen.unwrap_or(i64::MIN)));
                }
                (id, group)
            })
            .filter(|(_, g)| g.operations > 0)
            .collect();
        groups.sort_by(|(ia, a), (ib, b)| {
            b.operations
                .cmp(&a.operations)
                .then(b.last_seen.cmp(&a.last_seen))
                .then(ia.cmp(ib))
        });
        groups.truncate(query.limit);
        if !groups.is_empty() && query.hours > 0 {
            let since = bucket_of(query.since, HOUR_MS).0;
            let mut sql =
                Sql::new::<D>("SELECT group_id, hour, n FROM failure_hour WHERE group_id IN (");
            sql.push_list(groups.iter().map(|(id, _)| *id))
                .push(") AND hour >= ")
                .push_bind(since);
            let mut hours: HashMap<i64, BTreeMap<i64, i64>> = HashMap::new();
            for row in sql.query().fetch_all(&mut *tx).await? {
                *hours
                    .entry(row.try_get(0)?)
                    .or_default()
                    .entry(row.try_get(1)?)
                    .or_default() += row.try_get::<i64, _>(2)?;
            }
            for (id, group) in &mut groups {
                let folded = hours.remove(id).unwrap_or_default();
                let unfolded = pending.get(id).map(|p| &p.hours);
                group.per_hour = (0..query.hours as i64)
                    .map(|h| {
                        let hour = since + h * HOUR_MS;
                        folded.get(&hour).copied().unwrap_or(0)
                            + unfolded.and_then(|u| u.get(&hour)).copied().unwrap_or(0)
                    })
                    .collect();
            }
        }
        tx.commit().await?;
        Ok(groups.into_iter().map(|(_, g)| g).collect())
    }

    async fn failure_group_operations(
        &self,
        key: &str,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<i64>> {
        // Each part of the current list in index order, merged.
        let parts = union_of_parts::<D>(|states| {
            format!(
                "SELECT o.id FROM operation o WHERE o.failure_id = \
                 (SELECT id FROM failure_group WHERE key = $1) \
                 AND o.state IN {states} AND o.id > $2 ORDER BY o.id LIMIT $3"
            )
        });
        sqlx::query_scalar(&format!(
            "SELECT id FROM ({parts}) cur ORDER BY id LIMIT $3"
        ))
        .bind(key)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    async fn create_group_task(
        &self,
        key: &str,
        kind: TaskKind,
        comment: &str,
        entry: &JournalEntry,
    ) -> StoreResult<Option<GroupTask>> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let Some((group_id, task_id)) = sqlx::query_as::<_, (i64, Option<i64>)>(
            "SELECT id, task_id FROM failure_group WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let parts = union_of_parts::<D>(|states| {
            format!(
                "SELECT id, item_id, task_id FROM operation WHERE failure_id = $1 \
                 AND state IN {states}"
            )
        });
        let members: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT id, item_id, task_id FROM ({parts}) cur ORDER BY id"
        ))
        .bind(group_id)
        .fetch_all(&mut *tx)
        .await?;
        let Some(&(first, first_item, _)) = members.first() else {
            tx.rollback().await?;
            return Ok(None);
        };
        let open: Option<i64> = match task_id {
            Some(id) => {
                sqlx::query_scalar("SELECT id FROM task WHERE id = $1 AND status = 'open'")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let (task_id, created) = match open {
            Some(id) => (id, false),
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
                     VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
                )
                .bind(first)
                .bind(first_item)
                .bind(kind.raw())
                .bind(comment)
                .bind(entry.at.0)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("UPDATE failure_group SET task_id = $1 WHERE id = $2")
                    .bind(id)
                    .bind(group_id)
                    .execute(&mut *tx)
                    .await?;
                (id, true)
            }
        };
        let without: Vec<i64> = members
            .iter()
            .filter(|(_, _, task)| task.is_none())
            .map(|(id, _, _)| *id)
            .collect();
        for chunk in without.chunks(500) {
            let mut sql = Sql::new::<D>("UPDATE operation SET task_id = ");
            sql.push_bind(task_id)
                .push(", updated_at = ")
                .push_bind(entry.at.0)
                .push(" WHERE task_id IS NULL AND id IN (")
                .push_list(chunk.iter().copied())
                .push(")");
            sql.query().execute(&mut *tx).await?;
            for &id in chunk {
                Self::journal(
                    &mut tx,
                    &JournalEntry {
                        object_id: Some(id),
                        detail: format!("task {task_id} for failure group {key}"),
                        ..entry.clone()
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Some(GroupTask {
            task_id,
            created,
            linked: without.len() as u64,
            had_task: (members.len() - without.len()) as u64,
        }))
    }

    async fn compact_failures(&self, now: Timestamp) -> StoreResult<u64> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let locked = match sqlx::query(D::FAILURE_LOCK)
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(row) => row.try_get::<bool, _>(0)?,
            None => true,
        };
        if !locked {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut folded = 0;
        for _ in 0..FOLD_STEPS {
            let step = Self::fold_step(&mut tx).await?;
            folded += step;
            if step < FOLD_STEP as u64 {
                break;
            }
        }
        sqlx::query("DELETE FROM failure_hour WHERE hour < $1")
            .bind(bucket_of(now, HOUR_MS).0 - FAILURE_HOURS_KEEP_MS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(folded)
    }
}
