//! Processing modules' circuit breakers: a module that fails for everyone (its panel is down)
//! stops being run, so that its queued operations keep their tries, do not turn manual and open
//! no tasks; one probe at a time, on a growing interval, finds out when it works again.
//!
//! **The rule.** A failed attempt is *module-level* when its error says the module itself is
//! unwell: it could not be reached (`connect`), did not answer in time (`timeout`), could not be
//! started (`module`), answered HTTP 5xx, or its exact error (type and message) is repeating
//! across operations. When `failures` different operations of one module fail module-level
//! within `window_secs` (the module's settings, 5 in 60 s by default; 0 never opens) with no
//! success of the module in between, its circuit **opens** (the operations must be of more than
//! one client). An error that belongs to one operation (a bad domain name: its own message, and
//! one operation; or a `value`/`exists`/`missed` error) never opens it, however often it repeats.
//! Counted per node, in memory: with several nodes, each opens it on what it saw.
//!
//! **Open.** The engine claims nothing of the module until [`FIRST_PROBE_MS`] have passed, then
//! one operation, the **probe** (the circuit is `probing` meanwhile). A probe that succeeds
//! closes the circuit and the queue drains; one that fails reopens it, and the wait doubles up
//! to [`MAX_PROBE_WAIT_MS`]. A probe whose node dies is given up once its lease and the
//! module's time limit have passed.
//!
//! **By hand.** An admin may pause a module (a panel upgrade tonight: nothing runs, no probe)
//! and resume it, which also closes an open circuit at once. Every change is journaled
//! (`processing.circuit.open`, `.close`, `processing.pause`, `processing.resume`) and the
//! automatic ones are `circuit` alerts.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::{internal, Actor, Denied, Services};
use crate::store::{CircuitChange, JournalEntry, StoreError};
use crate::types::circuit::{CircuitState, CircuitView};
use crate::types::queue::{Claim, Finish};
use crate::types::{AppError, AttemptOutcome, Timestamp};

/// The wait before the first probe of an open circuit.
pub const FIRST_PROBE_MS: i64 = 10_000;
/// The longest wait between probes.
pub const MAX_PROBE_WAIT_MS: i64 = 600_000;
/// The most characters of an error kept in a circuit's reason.
const REASON_CHARS: usize = 300;

/// Why a circuit could not be changed or shown.
#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    #[error("processing module {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CircuitError> for AppError {
    fn from(error: CircuitError) -> AppError {
        match error {
            CircuitError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            CircuitError::Denied(_) => AppError::Access,
            CircuitError::Store(e) => internal(&e),
        }
    }
}

/// Whether a failure with this error type and message says the module itself is unwell.
pub fn is_module_level(error_type: &str, message: &str) -> bool {
    matches!(error_type, "connect" | "timeout" | "module")
        || (error_type == "http" && message.contains(" answered 5"))
}

/// Whether an error type says the operation's own data is wrong (BILLmanager's `value`,
/// `exists`, `missed`): never the module's fault.
pub fn is_operation_specific(error_type: &str) -> bool {
    matches!(error_type, "value" | "exists" | "missed")
}

/// Whether a failed probe says the module is still failing (reopen the circuit) rather than
/// that it answered about the probe's own operation (the module works: close it). `reason` is
/// why the circuit opened, whose error repeating means the same outage.
pub fn probe_still_failing(error_type: &str, message: &str, reason: &str) -> bool {
    if is_operation_specific(error_type) {
        return false;
    }
    let head: String = format!("{error_type}: {message}")
        .chars()
        .take(100)
        .collect();
    is_module_level(error_type, message) || reason.contains(&head)
}

/// The wait before the next probe after `probes` failed ones in a row.
pub fn probe_wait(probes: i64) -> i64 {
    let doublings = u32::try_from(probes.clamp(0, 16)).unwrap_or(16);
    (FIRST_PROBE_MS << doublings).min(MAX_PROBE_WAIT_MS)
}

/// One recent failure of a module, as this node saw it.
struct Failure {
    at: i64,
    operation_id: i64,
    client_id: i64,
    module_level: bool,
    /// Its error type says the operation's own data is wrong (`value`, `exists`, `missed`):
    /// never the module's fault, however often it repeats.
    operation_specific: bool,
    /// Its error type and message.
    error: String,
}

/// This node's recent failures per module.
#[derive(Default)]
pub(crate) struct CircuitWatch {
    failures: Mutex<HashMap<i64, VecDeque<Failure>>>,
}

impl CircuitWatch {
    /// Notes a success: the module works, its failures so far count no more.
    fn succeeded(&self, module_id: i64) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&module_id);
        }
    }

    /// Notes a failure; returns why the circuit should open when the rule (`failures` distinct
    /// operations within `window_ms`) is met, forgetting what it counted.
    fn failed(&self, module_id: i64, rule: (i64, i64), failure: Failure) -> Option<String> {
        let (needed, window_ms) = rule;
        if needed <= 0 {
            return None;
        }
        let mut all = self.failures.lock().ok()?;
        let recent = all.entry(module_id).or_default();
        let now = failure.at;
        recent.push_back(failure);
        while recent.front().is_some_and(|f| f.at <= now - window_ms) {
            recent.pop_front();
        }
        // Bounded: more than enough to decide, whatever the rule.
        while recent.len() > 4 * usize::try_from(needed).unwrap_or(usize::MAX).min(10_000) {
            recent.pop_front();
        }
        // Different operations, of more than one client: one client's orders (five services
        // with bad names) must not stop a module for everyone.
        let spread = |keep: &dyn Fn(&Failure) -> bool| {
            let mut ops: Vec<i64> = recent
                .iter()
                .filter(|f| keep(f))
                .map(|f| f.operation_id)
                .collect();
            let mut clients: Vec<i64> = recent
                .iter()
                .filter(|f| keep(f))
                .map(|f| f.client_id)
                .collect();
            ops.sort_unstable();
            ops.dedup();
            clients.sort_unstable();
            clients.dedup();
            ops.len() as i64 >= needed && clients.len() as i64 >= needed.min(2)
        };
        let last = recent.back().map(|f| f.error.clone()).unwrap_or_default();
        let last_own = recent.back().is_some_and(|f| f.operation_specific);
        let seconds = window_ms / 1000;
        let reason = if spread(&|f| f.module_level) {
            Some(format!(
                "{needed} operations failed within {seconds} s: {last}"
            ))
        } else if !last_own && spread(&|f| f.error == last) {
            Some(format!(
                "the same error on {needed} operations within {seconds} s: {last}"
            ))
        } else {
            None
        };
        if reason.is_some() {
            all.remove(&module_id);
        }
        reason
    }
}

/// `text` cut to [`REASON_CHARS`] characters.
fn cut(text: &str) -> String {
    let mut out: String = text.chars().take(REASON_CHARS).collect();
    if text.chars().count() > REASON_CHARS {
        out.push('…');
    }
    out
}

impl Services {
    /// Every module's circuit; staff only.
    pub async fn circuits(&self, actor: &Actor) -> Result<Vec<CircuitView>, CircuitError> {
        actor.require_staff()?;
        Ok(self.store.circuits().await?)
    }

    /// The circuits that are not closed (the list's banner); staff only.
    pub async fn troubled_circuits(&self, actor: &Actor) -> Result<Vec<CircuitView>, CircuitError> {
        let mut all = self.circuits(actor).await?;
        all.retain(|c| c.state != CircuitState::Closed);
        Ok(all)
    }

    /// Pauses module `module_id`: nothing of it runs, and no probe, until an admin resumes it.
    /// Admins only. Pausing a paused module changes nothing.
    pub async fn pause_module(&self, actor: &Actor, module_id: i64) -> Result<(), CircuitError> {
        actor.require_admin()?;
        self.require_module(module_id).await?;
        let reason = format!("paused by {}", actor.user_name);
        let change = CircuitChange {
            state: CircuitState::Paused,
            reason: Some(reason.clone()),
            retry_at: None,
            probes: 0,
        };
        let entry = self.journal(
            actor,
            "processing.pause",
            "processing",
            Some(module_id),
            reason,
        );
        let from = [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::Probing,
        ];
        self.store
            .change_circuit(module_id, &from, &change, self.now(), Some(&entry))
            .await?;
        Ok(())
    }

    /// Resumes module `module_id`, paused or with its circuit open: its operations run again at
    /// once. Admins only. Resuming a running module changes nothing.
    pub async fn resume_module(&self, actor: &Actor, module_id: i64) -> Result<(), CircuitError> {
        actor.require_admin()?;
        self.require_module(module_id).await?;
        let entry = self.journal(
            actor,
            "processing.resume",
            "processing",
            Some(module_id),
            String::new(),
        );
        let from = [
            CircuitState::Open,
            CircuitState::Probing,
            CircuitState::Paused,
        ];
        if self
            .store
            .change_circuit(module_id, &from, &closed(), self.now(), Some(&entry))
            .await?
        {
            self.publish(&[]).await;
        }
        Ok(())
    }

    /// Sets the rule that opens module `module_id`'s circuit: `failures` different operations
    /// (0: never; at most 10,000) within `window_secs` (1 s to a day). Admins only.
    pub async fn set_circuit_rule(
        &self,
        actor: &Actor,
        module_id: i64,
        failures: i64,
        window_secs: i64,
    ) -> Result<(), super::ModuleError> {
        use crate::types::{FieldError, FieldReason};
        actor.require_admin()?;
        let mut errors = Vec::new();
        if !(0..=10_000).contains(&failures) {
            errors.push(FieldError::new(
                "circuit_failures",
                &failures.to_string(),
                FieldReason::OutOfRange(0, 10_000),
            ));
        }
        if !(1..=86_400).contains(&window_secs) {
            errors.push(FieldError::new(
                "circuit_window",
                &window_secs.to_string(),
                FieldReason::OutOfRange(1, 86_400),
            ));
        }
        if !errors.is_empty() {
            return Err(super::ModuleError::Invalid(errors));
        }
        let entry = self.journal(
            actor,
            "processing.circuit.rule",
            "processing",
            Some(module_id),
            format!("{failures} operations within {window_secs} s"),
        );
        if self
            .store
            .set_circuit_rule(module_id, failures, window_secs, &entry)
            .await?
        {
            Ok(())
        } else {
            Err(super::ModuleError::NotFound(module_id))
        }
    }

    async fn require_module(&self, module_id: i64) -> Result<(), CircuitError> {
        match self.store.get_module(module_id).await? {
            Some(_) => Ok(()),
            None => Err(CircuitError::NotFound(module_id)),
        }
    }

    /// What a recorded attempt means for its module's circuit: a probe's end closes or
    /// reopens it; a success clears this node's count; a failure may open it. Store failures
    /// are logged: the attempt is recorded either way.
    pub(crate) async fn circuit_after(&self, claim: &Claim, finish: &Finish) {
        if let Err(error) = self.circuit_after_inner(claim, finish).await {
            tracing::warn!(%error, module = claim.module_id, "updating a module's circuit failed");
        }
    }

    async fn circuit_after_inner(&self, claim: &Claim, finish: &Finish) -> Result<(), StoreError> {
        let module_id = claim.module_id;
        let now = self.now();
        if claim.probe {
            return match finish.outcome {
                AttemptOutcome::Ok => self.close_circuit(module_id, claim).await,
                AttemptOutcome::Error => {
                    let circuit = self
                        .store
                        .circuits()
                        .await?
                        .into_iter()
                        .find(|c| c.module_id == module_id);
                    let error_type = finish.error_type.as_deref().unwrap_or("");
                    let message = finish.error_message.as_deref().unwrap_or("");
                    let reason = circuit
                        .as_ref()
                        .and_then(|c| c.reason.as_deref())
                        .unwrap_or("");
                    if !probe_still_failing(error_type, message, reason) {
                        // The module answered about the operation itself: it works again.
                        return self.close_circuit(module_id, claim).await;
                    }
                    let probes = circuit.map_or(0, |c| c.probes) + 1;
                    let change = CircuitChange {
                        state: CircuitState::Open,
                        reason: Some(cut(&format!(
                            "probe #{} failed: {}",
                            claim.operation_id,
                            finish.error_message.as_deref().unwrap_or("")
                        ))),
                        retry_at: Some(Timestamp(now.0 + probe_wait(probes))),
                        probes,
                    };
                    self.store
                        .change_circuit(module_id, &[CircuitState::Probing], &change, now, None)
                        .await?;
                    Ok(())
                }
                // Stopped or interrupted: nothing learnt; the next probe may go at once.
                _ => {
                    let mut current = self.store.circuits().await?;
                    current.retain(|c| c.module_id == module_id);
                    let Some(circuit) = current.pop() else {
                        return Ok(());
                    };
                    let change = CircuitChange {
                        state: CircuitState::Open,
                        reason: circuit.reason,
                        retry_at: Some(now),
                        probes: circuit.probes,
                    };
                    self.store
                        .change_circuit(module_id, &[CircuitState::Probing], &change, now, None)
                        .await?;
                    Ok(())
                }
            };
        }
        match finish.outcome {
            AttemptOutcome::Ok => self.circuits.succeeded(module_id),
            AttemptOutcome::Error => {
                let error_type = finish.error_type.as_deref().unwrap_or("");
                let message = finish.error_message.as_deref().unwrap_or("");
                let failure = Failure {
                    at: now.0,
                    operation_id: claim.operation_id,
                    client_id: claim.client_id,
                    module_level: is_module_level(error_type, message),
                    operation_specific: is_operation_specific(error_type),
                    error: cut(&format!("{error_type}: {message}")),
                };
                let rule = self.circuit_rule(module_id).await?;
                if let Some(reason) = self.circuits.failed(module_id, rule, failure) {
                    self.open_circuit(module_id, reason).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Module `module_id`'s rule: (failures, window in milliseconds), read at each failure
    /// (a few rows; successes, the common case, read nothing).
    async fn circuit_rule(&self, module_id: i64) -> Result<(i64, i64), StoreError> {
        let circuits = self.store.circuits().await?;
        Ok(circuits
            .iter()
            .find(|c| c.module_id == module_id)
            .map_or((0, 60_000), |c| (c.failures, c.window_secs * 1000)))
    }

    async fn open_circuit(&self, module_id: i64, reason: String) -> Result<(), StoreError> {
        let now = self.now();
        let change = CircuitChange {
            state: CircuitState::Open,
            reason: Some(reason.clone()),
            retry_at: Some(Timestamp(now.0 + FIRST_PROBE_MS)),
            probes: 0,
        };
        let entry = engine_entry(now, "processing.circuit.open", module_id, &reason);
        if self
            .store
            .change_circuit(
                module_id,
                &[CircuitState::Closed],
                &change,
                now,
                Some(&entry),
            )
            .await?
        {
            tracing::warn!(module = module_id, %reason, "circuit opened");
            self.alert_circuit(module_id, true, &reason, now).await?;
            self.publish(&[]).await;
        }
        Ok(())
    }

    async fn close_circuit(&self, module_id: i64, probe: &Claim) -> Result<(), StoreError> {
        let now = self.now();
        let detail = format!("probe #{} reached the module", probe.operation_id);
        let entry = engine_entry(now, "processing.circuit.close", module_id, &detail);
        let from = [CircuitState::Open, CircuitState::Probing];
        if self
            .store
            .change_circuit(module_id, &from, &closed(), now, Some(&entry))
            .await?
        {
            tracing::info!(module = module_id, "circuit closed");
            self.circuits.succeeded(module_id);
            self.alert_circuit(module_id, false, &detail, now).await?;
            self.publish(&[]).await;
        }
        Ok(())
    }
}

/// A closed circuit.
fn closed() -> CircuitChange {
    CircuitChange {
        state: CircuitState::Closed,
        reason: None,
        retry_at: None,
        probes: 0,
    }
}

/// A journal row of the engine's about module `module_id`.
fn engine_entry(at: Timestamp, action: &str, module_id: i64, detail: &str) -> JournalEntry {
    JournalEntry {
        at,
        user_id: None,
        user_name: "engine".into(),
        action: action.into(),
        object: "processing".into(),
        object_id: Some(module_id),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure of operation `operation_id`, of client `operation_id % 3` (several clients).
    fn failure(at: i64, operation_id: i64, module_level: bool, error: &str) -> Failure {
        Failure {
            at,
            operation_id,
            client_id: operation_id % 3,
            module_level,
            operation_specific: error.starts_with("value:"),
            error: error.into(),
        }
    }

    #[test]
    fn module_level_failures_of_enough_operations_open_it() {
        let watch = CircuitWatch::default();
        let rule = (3, 60_000);
        assert!(watch
            .failed(1, rule, failure(0, 10, true, "connect: refused"))
            .is_none());
        assert!(
            watch
                .failed(1, rule, failure(1, 10, true, "connect: refused"))
                .is_none(),
            "the same operation again"
        );
        assert!(watch
            .failed(1, rule, failure(2, 11, true, "timeout: slow"))
            .is_none());
        let reason = watch.failed(1, rule, failure(3, 12, true, "connect: refused"));
        assert_eq!(
            reason.as_deref(),
            Some("3 operations failed within 60 s: connect: refused")
        );
        assert!(
            watch.failed(1, rule, failure(4, 13, true, "x")).is_none(),
            "counted afresh"
        );
    }

    #[test]
    fn one_operations_own_error_never_opens_it_however_often() {
        let watch = CircuitWatch::default();
        for at in 0..100 {
            assert!(watch
                .failed(
                    1,
                    (3, 60_000),
                    failure(at, 7, false, "value: bad domain name x7")
                )
                .is_none());
        }
        // Different operations, each with its own message: still nothing.
        for op in 0..10 {
            let error = format!("value: bad domain name x{op}");
            assert!(watch
                .failed(2, (3, 60_000), failure(op, op, false, &error))
                .is_none());
        }
    }

    #[test]
    fn the_same_error_on_enough_operations_opens_it() {
        let watch = CircuitWatch::default();
        let rule = (3, 60_000);
        for op in 0..2 {
            assert!(watch
                .failed(1, rule, failure(op, op, false, "quota: disk full"))
                .is_none());
        }
        assert!(watch
            .failed(1, rule, failure(2, 2, false, "quota: disk full"))
            .is_some_and(|r| r.starts_with("the same error on 3 operations")));
    }

    #[test]
    fn a_success_or_the_window_passing_clears_the_count() {
        let watch = CircuitWatch::default();
        let rule = (3, 60_000);
        watch.failed(1, rule, failure(0, 1, true, "e"));
        watch.failed(1, rule, failure(1, 2, true, "e"));
        watch.succeeded(1);
        assert!(watch.failed(1, rule, failure(2, 3, true, "e")).is_none());
        watch.failed(1, rule, failure(3, 4, true, "e"));
        assert!(
            watch
                .failed(1, rule, failure(70_000, 5, true, "e"))
                .is_none(),
            "the first two fell out of the window"
        );
        assert!(
            watch
                .failed(1, (0, 60_000), failure(70_001, 6, true, "e"))
                .is_none(),
            "0 never opens"
        );
    }

    #[test]
    fn one_clients_failing_orders_never_open_it() {
        let watch = CircuitWatch::default();
        for op in 0..10 {
            let mut f = failure(op, op, true, "connect: refused");
            f.client_id = 7;
            assert!(
                watch.failed(1, (3, 60_000), f).is_none(),
                "one client, {op} operations"
            );
        }
    }

    #[test]
    fn a_probe_answered_about_its_own_operation_closes_it() {
        let reason = "the same error on 5 operations within 60 s: client: connection refused";
        assert!(probe_still_failing("client", "connection refused", reason));
        assert!(probe_still_failing("timeout", "no answer", reason));
        assert!(!probe_still_failing("value", "bad domain name", reason));
        assert!(
            !probe_still_failing("quota", "disk full", reason),
            "a different error: it answers"
        );
    }

    #[test]
    fn module_level_errors_are_told_from_an_operations_own() {
        assert!(is_module_level("connect", "Could not reach the module"));
        assert!(is_module_level("timeout", "no answer"));
        assert!(is_module_level(
            "http",
            "The module answered 503 Service Unavailable"
        ));
        assert!(!is_module_level(
            "http",
            "The module answered 404 Not Found"
        ));
        assert!(!is_module_level("value", "bad domain name"));
    }

    #[test]
    fn the_wait_between_probes_doubles_up_to_its_ceiling() {
        assert_eq!(probe_wait(0), 10_000);
        assert_eq!(probe_wait(1), 20_000);
        assert_eq!(probe_wait(5), 320_000);
        assert_eq!(probe_wait(6), MAX_PROBE_WAIT_MS);
        assert_eq!(probe_wait(1_000), MAX_PROBE_WAIT_MS);
    }
}
