//! The engine's rules: what a claim may take, what becomes of an operation after each attempt
//! (restart by schedule, manual after the module's maximum tries with one task, the service's
//! status after success), and the change feed that wakes workers and live views. The workers,
//! the processing-module drivers and their timing live in the server; they touch data only
//! through these functions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::failure::fingerprint;
use super::Services;
use crate::store::{JournalEntry, ModuleRecord, StatusCount, StoreError};
pub use crate::types::queue::{AfterAttempt, Claim, ClaimRequest, Finish, HeldLease};
use crate::types::{AttemptOutcome, Intname, ItemStatus, TaskKind, Timestamp};

/// The message an attempt gets when its node stopped renewing its lease (killed, cut off).
pub const INTERRUPTED: &str = "Interrupted: the node running it stopped (its lease expired)";
/// The message of an attempt an administrator stopped.
pub const STOPPED: &str = "Stopped by an administrator";

/// The message of a run whose processing module is gone.
pub const MODULE_MISSING: &str = "The processing module is gone";

/// The first restart comes this long after a failure; each later one waits twice as long...
pub const BACKOFF_BASE_MS: i64 = 60_000;
/// ...up to this.
pub const BACKOFF_MAX_MS: i64 = 3_600_000;

/// The wait before try `trycount + 1`: `min(60 s * 2^(trycount-1), 1 h)`, moved by `jitter`
/// (a fraction in -0.1..=0.1) so that operations failing together do not restart together.
pub fn backoff_ms(trycount: i64, jitter: f64) -> i64 {
    let exponent = u32::try_from((trycount - 1).clamp(0, 20)).unwrap_or(20);
    let base = BACKOFF_BASE_MS
        .saturating_mul(1_i64 << exponent)
        .min(BACKOFF_MAX_MS);
    let jitter = jitter.clamp(-0.1, 0.1);
    base + (base as f64 * jitter).round() as i64
}

/// The status a service takes when an operation of type `intname` succeeds.
pub fn item_status_after(intname: Intname) -> Option<ItemStatus> {
    match intname {
        Intname::Open | Intname::Reopen | Intname::Resume => Some(ItemStatus::Active),
        Intname::Suspend => Some(ItemStatus::Suspended),
        Intname::Close => Some(ItemStatus::Deleted),
        // Prolonging, changing parameters, syncing, transferring, name servers: status stays.
        _ => None,
    }
}

/// How a run of a processing module ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// It succeeded.
    Ok { log: String },
    /// It failed: the module's error type (BILLmanager's `error type`) and message.
    Failed {
        error_type: String,
        message: String,
        log: String,
    },
    /// An administrator stopped it.
    Stopped { log: String },
    /// The worker lost its lease (or could not renew it) and stopped the module, or did not
    /// start it because its claim was too old to trust.
    Interrupted { log: String },
    /// Its processing module was gone when the run was to start: nothing runs it until an
    /// admin acts, so it fails for good at once, whatever tries it has left.
    ModuleMissing,
}

/// A run the engine reports: the claim, its module, how it ended.
#[derive(Clone, Debug)]
pub struct FinishedRun {
    pub claim: Claim,
    pub max_tries: i64,
    pub result: RunResult,
}

/// The engine's view of one store failure.
#[derive(Debug, thiserror::Error)]
#[error("store failure: {0}")]
pub struct EngineError(#[from] StoreError);

/// Something changed on the current list: the operations' ids (empty: anything may have).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    /// The node that made the change.
    pub node: String,
    pub ids: Vec<i64>,
    /// Made by an engine (claims, finishes, rescues): never a stop request, so a node's lease
    /// keeper need not renew early for it (older nodes' messages lack it: `false`).
    #[serde(default)]
    pub by_engine: bool,
}

/// Most ids one change message names; past it, the message says "anything" (no ids).
const MAX_IDS_PER_MESSAGE: usize = 500;

/// How many operations one transaction of the start-up (or any) rescue returns: at a few
/// milliseconds a batch, no other writer waits on a rescue longer than that.
pub const RESCUE_BATCH: usize = 500;

impl Services {
    /// Claims up to `limit` due operations for `owner`, leased for `lease`.
    pub async fn claim_operations(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claim>, EngineError> {
        let now = self.now();
        let request = ClaimRequest {
            owner: owner.to_owned(),
            limit,
            now,
            lease_until: Timestamp(now.0 + lease.as_millis() as i64),
        };
        let claims = self.store.claim_operations(&request).await?;
        if !claims.is_empty() {
            let ids: Vec<i64> = claims.iter().map(|c| c.operation_id).collect();
            self.publish_engine(&ids).await;
        }
        Ok(claims)
    }

    /// Records finished runs in one transaction, deciding for each what comes next. Returns
    /// how many were applied (a run whose lease was taken over is not).
    pub async fn finish_runs(&self, runs: &[FinishedRun]) -> Result<usize, EngineError> {
        let now = self.now();
        let finishes: Vec<Finish> = {
            let mut rng = rand::thread_rng();
            runs.iter()
                .map(|run| decide(run, now, rng.gen_range(-0.1..=0.1)))
                .collect()
        };
        let entry = JournalEntry {
            at: now,
            user_id: None,
            user_name: "engine".into(),
            action: "runningoperation.taskcreate".into(),
            object: "runningoperation".into(),
            object_id: None,
            detail: String::new(),
        };
        // The circuits first: a failure that opens its module's circuit does so before its
        // finish frees the module's slot, so no claim slips in between.
        for (run, finish) in runs.iter().zip(&finishes) {
            self.circuit_after(&run.claim, finish).await;
        }
        let applied = self.store.finish_attempts(&finishes, &entry).await?;
        for ((run, finish), applied) in runs.iter().zip(&finishes).zip(&applied) {
            if *applied {
                self.alert_on(run, finish).await;
            }
        }
        let ids: Vec<i64> = runs
            .iter()
            .zip(&applied)
            .filter(|(_, applied)| **applied)
            .map(|(run, _)| run.claim.operation_id)
            .collect();
        if !ids.is_empty() {
            self.publish_engine(&ids).await;
        }
        Ok(ids.len())
    }

    /// Writes the alerts a recorded attempt calls for: its operation turned manual, or its
    /// module's failures burst. An alert that cannot be written is logged, never fails the
    /// finish: the attempt is recorded either way.
    async fn alert_on(&self, run: &FinishedRun, finish: &Finish) {
        if finish.outcome != AttemptOutcome::Error {
            return;
        }
        let error = finish.error_message.as_deref().unwrap_or("");
        let mut written = self.alert_if_burst(run.claim.module_id, error).await;
        if matches!(finish.next, AfterAttempt::Retry { manual: true, .. }) && !run.claim.manual {
            written = written.and(self.alert_manual(&run.claim, error).await);
        }
        if let Err(error) = written {
            tracing::warn!(%error, "writing an alert failed");
        }
    }

    /// Renews the leases `owner` holds for another `lease`; returns those it still holds.
    pub async fn renew_leases(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Vec<HeldLease>, EngineError> {
        let now = self.now();
        let until = Timestamp(now.0 + lease.as_millis() as i64);
        Ok(self.store.renew_leases(owner, now, until).await?)
    }

    /// Returns operations whose node stopped renewing their lease for a restart, except the
    /// runs `keep` names: this node's own, still running or with their ends being written. (A
    /// node that could not renew because its database could not write, a full disk, could not
    /// record its finishes either: rescuing its own runs then would run each a second time once
    /// the disk had room again. Its lease keeper stops those that are still running.)
    ///
    /// A large rescue goes in transactions of [`RESCUE_BATCH`] operations, each published as it
    /// commits, with a pause as long as the transaction after each: every writer waiting
    /// meanwhile (a login, a claim, an edit) gets the database between two of them. Returns
    /// how many operations were rescued.
    pub async fn rescue_expired(&self, keep: &[String]) -> Result<usize, EngineError> {
        let now = self.now();
        let mark_of = |module_id: i64| fingerprint(module_id, "interrupted", INTERRUPTED);
        let mut rescued = 0;
        loop {
            let started = Instant::now();
            let batch = match self
                .store
                .rescue_expired(now, INTERRUPTED, keep, RESCUE_BATCH, &mark_of)
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    // The batches before it are committed and published: say so.
                    if rescued > 0 {
                        tracing::warn!(
                            count = rescued,
                            "operations of a lost worker returned for a restart before an error"
                        );
                    }
                    return Err(error.into());
                }
            };
            let took = started.elapsed();
            if batch.ids.is_empty() {
                // Nothing was ours to rescue (every row read was kept, or another node's):
                // the next rescue tries again.
                break;
            }
            rescued += batch.ids.len();
            self.publish_engine(&batch.ids).await;
            if !batch.more {
                break;
            }
            // As long again for everyone else: SQLite's waiting writers retry on a timer,
            // and a rescue that took the lock back at once would starve them.
            tokio::time::sleep(took.max(Duration::from_millis(1))).await;
        }
        if rescued > 0 {
            tracing::warn!(
                count = rescued,
                "operations of a lost worker returned for a restart"
            );
        }
        Ok(rescued)
    }

    /// Current operations per module and status, as the database keeps them (for metrics).
    pub async fn operation_counts(&self) -> Result<Vec<StatusCount>, EngineError> {
        Ok(self.store.operation_counts().await?)
    }

    /// Each module's name and when its oldest due, unclaimed operation became due (metrics).
    pub async fn oldest_due(&self) -> Result<Vec<(String, Option<Timestamp>)>, EngineError> {
        Ok(self.store.oldest_due(self.now()).await?)
    }

    /// Folds the count deltas writers left (PostgreSQL), so that reading the counts stays a
    /// few rows; every node's rescuer does it, and they may do it at once.
    pub async fn compact_counts(&self) -> Result<u64, EngineError> {
        Ok(self.store.compact_counts().await?)
    }

    /// Keeps the charts' rollups: samples the current operations for this minute (once, whichever
    /// node comes first) and compacts the rollups. Every node runs it each minute.
    pub async fn keep_rollups(&self) -> Result<u64, EngineError> {
        let now = self.now();
        let sampled = self.store.sample_queue(now).await?;
        Ok(sampled + self.store.compact_rollups(now).await?)
    }

    /// The processing modules by id (with their secrets: for the engine's drivers only).
    pub async fn modules_by_id(&self) -> Result<HashMap<i64, ModuleRecord>, EngineError> {
        Ok(self
            .store
            .list_modules()
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect())
    }

    /// Tells this node's listeners, and through the database every other node's, that the
    /// operations `ids` changed. Failing to tell is logged, never an error: polling catches up.
    pub async fn publish(&self, ids: &[i64]) {
        self.announce(ids, false).await;
    }

    /// [`Services::publish`] for the engine's own changes ([`Changed::by_engine`]).
    async fn publish_engine(&self, ids: &[i64]) {
        self.announce(ids, true).await;
    }

    async fn announce(&self, ids: &[i64], by_engine: bool) {
        let changed = Changed {
            node: self.node.to_string(),
            ids: if ids.len() > MAX_IDS_PER_MESSAGE {
                Vec::new()
            } else {
                ids.to_vec()
            },
            by_engine,
        };
        let _ = self.changes.send(changed.clone());
        if let Ok(payload) = serde_json::to_string(&changed) {
            if let Err(error) = self.store.notify(&payload).await {
                tracing::warn!(%error, "could not tell the other nodes about a change");
            }
        }
    }

    /// Changes on this node and (once [`Services::relay_other_nodes`] runs) on the others.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Changed> {
        self.changes.subscribe()
    }

    /// This node's name in change messages and leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Relays other nodes' change messages to this node's subscribers until the process ends,
    /// reconnecting after a lost connection. Returns at once where there are no other nodes.
    pub async fn relay_other_nodes(&self) {
        loop {
            let mut listener = match self.store.listen().await {
                Ok(Some(listener)) => listener,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other nodes; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            // Whatever happened while not listening: tell subscribers to look again.
            let _ = self.changes.send(Changed::default());
            loop {
                match listener.recv().await {
                    Ok(payload) => {
                        let Ok(changed) = serde_json::from_str::<Changed>(&payload) else {
                            continue;
                        };
                        if changed.node != *self.node {
                            let _ = self.changes.send(changed);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the connection listening for other nodes");
                        break;
                    }
                }
            }
        }
    }
}

/// What the store is to record for one finished run.
fn decide(run: &FinishedRun, now: Timestamp, jitter: f64) -> Finish {
    let claim = &run.claim;
    let base = |outcome, error_type: Option<&str>, message: Option<&str>, log: &str, next| Finish {
        operation_id: claim.operation_id,
        token: claim.token.clone(),
        at: now,
        outcome,
        error_type: error_type.map(str::to_owned),
        error_message: message.map(str::to_owned),
        log: log.to_owned(),
        next,
        // Failures and interruptions join a group; a stop keeps the one the operation had.
        failure: match (outcome, error_type, message) {
            (AttemptOutcome::Error | AttemptOutcome::Interrupted, Some(kind), Some(message)) => {
                Some(fingerprint(claim.module_id, kind, message))
            }
            _ => None,
        },
    };
    match &run.result {
        RunResult::Ok { log } => base(
            AttemptOutcome::Ok,
            None,
            None,
            log,
            AfterAttempt::Done {
                item_status: item_status_after(claim.intname),
            },
        ),
        RunResult::ModuleMissing => decide(
            &FinishedRun {
                claim: claim.clone(),
                max_tries: 0,
                result: RunResult::Failed {
                    error_type: "module".into(),
                    message: MODULE_MISSING.into(),
                    log: String::new(),
                },
            },
            now,
            jitter,
        ),
        RunResult::Failed {
            error_type,
            message,
            log,
        } => {
            let exhausted = claim.trycount >= run.max_tries;
            let next = if exhausted {
                AfterAttempt::Retry {
                    next_run_at: now,
                    manual: true,
                    task: Some((
                        TaskKind::for_operation(claim.intname),
                        format!(
                            "{} failed {} times; last error: {message}",
                            claim.intname.raw(),
                            claim.trycount
                        ),
                    )),
                }
            } else {
                AfterAttempt::Retry {
                    next_run_at: Timestamp(now.0 + backoff_ms(claim.trycount, jitter)),
                    manual: false,
                    task: None,
                }
            };
            base(
                AttemptOutcome::Error,
                Some(error_type),
                Some(message),
                log,
                next,
            )
        }
        RunResult::Stopped { log } => base(
            AttemptOutcome::Stopped,
            Some("stopped"),
            Some(STOPPED),
            log,
            AfterAttempt::Retry {
                next_run_at: now,
                manual: true,
                task: None,
            },
        ),
        RunResult::Interrupted { log } => base(
            AttemptOutcome::Interrupted,
            Some("interrupted"),
            Some(INTERRUPTED),
            log,
            AfterAttempt::Retry {
                next_run_at: now,
                manual: false,
                task: None,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_a_minute_up_to_an_hour() {
        assert_eq!(backoff_ms(1, 0.0), 60_000);
        assert_eq!(backoff_ms(2, 0.0), 120_000);
        assert_eq!(backoff_ms(6, 0.0), 1_920_000);
        assert_eq!(backoff_ms(7, 0.0), 3_600_000);
        assert_eq!(backoff_ms(1_000, 0.0), 3_600_000);
    }

    #[test]
    fn the_backoff_jitter_stays_within_ten_percent() {
        assert_eq!(backoff_ms(1, 0.1), 66_000);
        assert_eq!(backoff_ms(1, -0.1), 54_000);
        assert_eq!(backoff_ms(1, 0.5), 66_000);
    }

    #[test]
    fn a_run_whose_module_is_gone_fails_for_good_at_once_with_a_task() {
        let claim = Claim {
            operation_id: 7,
            intname: Intname::Suspend,
            item_id: 3,
            item_name: "host".into(),
            itemtype: "vds".into(),
            client_id: 1,
            client_name: "Client".into(),
            module_id: 9,
            trycount: 1,
            manual: false,
            comment: String::new(),
            token: "t".into(),
            started: Timestamp(0),
            due: Timestamp(0),
            probe: false,
        };
        let finish = decide(
            &FinishedRun {
                claim,
                max_tries: 10,
                result: RunResult::ModuleMissing,
            },
            Timestamp(5_000),
            0.0,
        );
        assert_eq!(finish.outcome, AttemptOutcome::Error);
        assert_eq!(finish.error_type.as_deref(), Some("module"));
        assert_eq!(finish.error_message.as_deref(), Some(MODULE_MISSING));
        match finish.next {
            AfterAttempt::Retry {
                next_run_at,
                manual,
                task: Some((kind, comment)),
            } => {
                assert_eq!(next_run_at, Timestamp(5_000));
                assert!(manual, "no automatic restart");
                assert_eq!(kind, TaskKind::Suspend);
                assert!(comment.contains(MODULE_MISSING), "{comment}");
            }
            other => panic!("expected a manual retry with a task, got {other:?}"),
        }
    }

    #[test]
    fn a_service_follows_its_successful_operation() {
        assert_eq!(item_status_after(Intname::Open), Some(ItemStatus::Active));
        assert_eq!(
            item_status_after(Intname::Suspend),
            Some(ItemStatus::Suspended)
        );
        assert_eq!(item_status_after(Intname::Close), Some(ItemStatus::Deleted));
        assert_eq!(item_status_after(Intname::Prolong), None);
    }
}
