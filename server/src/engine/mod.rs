//! The operation engine: workers that claim due operations, run them through their processing
//! module's driver, keep their leases alive, stop them when asked, and report how they ended;
//! a rescuer that returns the work of dead nodes. Every rule (what may be claimed, backoff, max
//! tries, the service's status) is the service layer's ([`app::service::engine`]); this module
//! owns only concurrency and timing.
//!
//! One node runs `workers` modules at once. Claims take several due operations in one
//! transaction; finishes are written in batches. A stop request or a lost lease reaches a
//! running module through its [`Cancel`] channel.

pub mod driver;
pub mod exec;
pub mod http;
pub mod spawn;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::service::engine::{Claim, HeldLease};
use app::service::engine::{FinishedRun, RunResult};
use app::service::module::ModuleRecord;
use app::service::Services;
use app::types::{AttemptOutcome, ModuleKind};
use tokio::sync::{mpsc, watch, Notify, Semaphore};

pub use driver::{Cancel, Driver, Job};

/// How a node's engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Modules run at once on this node (0: the node runs none).
    pub workers: usize,
    /// How long a claim holds an operation without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often an idle node looks for due work when nothing told it to.
    pub poll: Duration,
    /// How long a stopped module has between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Most finishes written in one transaction.
    pub finish_batch: usize,
    /// The pause between two batches of a bulk job, so that claims, finishes and pages get
    /// the database in between.
    pub bulk_pause: Duration,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            workers: 8,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            grace: Duration::from_secs(5),
            finish_batch: 500,
            bulk_pause: Duration::from_millis(5),
        }
    }
}

/// The drivers by module kind.
#[derive(Clone)]
pub struct Drivers {
    pub exec: Arc<dyn Driver>,
    pub http: Arc<dyn Driver>,
}

impl Drivers {
    /// The real drivers: programs and HTTP endpoints.
    pub fn real(grace: Duration) -> Drivers {
        Drivers {
            exec: Arc::new(exec::ExecDriver::new(grace)),
            http: Arc::new(http::HttpDriver::new()),
        }
    }

    /// `driver` for every module.
    pub fn only(driver: Arc<dyn Driver>) -> Drivers {
        Drivers {
            exec: driver.clone(),
            http: driver,
        }
    }

    fn for_module(&self, module: &ModuleRecord) -> Arc<dyn Driver> {
        match module.kind {
            ModuleKind::Exec => self.exec.clone(),
            ModuleKind::Http => self.http.clone(),
        }
    }
}

/// A running engine. Dropping it stops its tasks (claiming, renewing, finishing); modules
/// already started run to their end unrecorded, and their leases run out for the rescue.
pub struct Engine {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Shared {
    services: Services,
    config: EngineConfig,
    drivers: Drivers,
    slots: Arc<Semaphore>,
    /// Running attempts by token: how to cancel each.
    running: Mutex<HashMap<String, watch::Sender<Option<Cancel>>>>,
    /// Wakes the claimer: a change somewhere, or a slot freed.
    wake: Notify,
    /// Set by [`Engine::shutdown`]: claim nothing more.
    stopping: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// Starts the engine's tasks on the current runtime (they stop when the engine is dropped): claimer, finisher, lease keeper,
    /// rescuer and the relay of other nodes' changes. With `workers == 0` only the rescuer and
    /// the relay run (a node that serves HTTP only still returns dead nodes' work).
    pub fn start(services: Services, config: EngineConfig, drivers: Drivers) -> Engine {
        let shared = Arc::new(Shared {
            slots: Arc::new(Semaphore::new(config.workers)),
            services,
            config,
            drivers,
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        let relay = shared.services.clone();
        let mut tasks = vec![
            tokio::spawn(async move { relay.relay_other_nodes().await }),
            tokio::spawn(rescuer(shared.clone())),
            tokio::spawn(rollup_keeper(shared.clone())),
            tokio::spawn(bulk_runner(shared.clone())),
        ];
        if shared.config.workers > 0 {
            let (done_tx, done_rx) = mpsc::unbounded_channel();
            tasks.push(tokio::spawn(claimer(shared.clone(), done_tx)));
            tasks.push(tokio::spawn(finisher(shared.clone(), done_rx)));
            tasks.push(tokio::spawn(lease_keeper(shared.clone())));
            tasks.push(tokio::spawn(waker(shared.clone())));
        }
        tracing::info!(
            node = shared.services.node(),
            workers = shared.config.workers,
            lease_ms = shared.config.lease.as_millis() as u64,
            "engine started"
        );
        Engine { shared, tasks }
    }

    /// How many modules this node is running now (until their ends are recorded).
    pub fn running(&self) -> usize {
        self.shared.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Stops the engine gracefully: claims nothing more, lets the running modules finish within
    /// `grace`, then stops the rest (`exec`: SIGTERM, SIGKILL after the driver's grace) and
    /// records them as interrupted, due again at once, so that another node (or this one, when
    /// it is back) runs them without waiting for a lease to run out.
    pub async fn shutdown(self, grace: Duration) {
        self.shared
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        let left = self.settled(grace).await;
        if left > 0 {
            tracing::info!(left, "stopping the modules still running");
            if let Ok(running) = self.shared.running.lock() {
                for cancel in running.values() {
                    cancel.send_if_modified(|c| set_once(c, Cancel::LeaseLost));
                }
            }
            // Each driver ends its module within its own grace; then the finish is written.
            let left = self
                .settled(self.shared.config.grace + Duration::from_secs(5))
                .await;
            if left > 0 {
                tracing::warn!(
                    left,
                    "runs not recorded at shutdown: their leases will run out"
                );
            }
        }
        tracing::info!("engine stopped");
    }

    /// Waits at most `limit` for every run to be recorded; says how many are left.
    async fn settled(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while self.running() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.running()
    }
}

/// Claims due operations while slots are free, and starts a run for each.
async fn claimer(shared: Arc<Shared>, done: mpsc::UnboundedSender<FinishedRun>) {
    let node = shared.services.node().to_owned();
    loop {
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let free = shared.slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            match claim_and_start(&shared, &node, free, &done).await {
                Ok(n) => claimed = n,
                Err(error) => tracing::warn!(%error, "claiming due operations failed"),
            }
        }
        if claimed > 0 && claimed == free {
            // Took all it could: there may be more. Claim again once half the slots are free
            // (or after 2 ms): one claim of many costs about what a claim of one does.
            let want = (shared.config.workers / 2).max(1);
            let deadline = tokio::time::Instant::now() + Duration::from_millis(2);
            while shared.slots.available_permits() < want {
                if tokio::time::timeout_at(deadline, shared.wake.notified())
                    .await
                    .is_err()
                {
                    break;
                }
            }
            continue;
        }
        // Nothing (more) due: wait for a change, a freed slot, or the poll interval.
        let _ = tokio::time::timeout(shared.config.poll, shared.wake.notified()).await;
    }
}

async fn claim_and_start(
    shared: &Arc<Shared>,
    node: &str,
    free: usize,
    done: &mpsc::UnboundedSender<FinishedRun>,
) -> Result<usize, app::service::engine::EngineError> {
    let limit = u32::try_from(free).unwrap_or(u32::MAX);
    // Asked before the claim: the lease runs from about now (the node's own clock, monotonic).
    let claimed_at = Instant::now();
    let claims = shared
        .services
        .claim_operations(node, limit, shared.config.lease)
        .await?;
    if claims.is_empty() {
        return Ok(0);
    }
    let modules = shared.services.modules_by_id().await?;
    let count = claims.len();
    let metrics = crate::metrics::global();
    for claim in claims {
        let Ok(permit) = shared.slots.clone().acquire_owned().await else {
            break;
        };
        if let Some(module) = modules.get(&claim.module_id) {
            metrics.claimed(&module.name, claim.due, claim.started);
        }
        let (cancel_tx, cancel_rx) = watch::channel(None);
        if let Ok(mut running) = shared.running.lock() {
            running.insert(claim.token.clone(), cancel_tx);
            metrics.leases_held(node, running.len());
        }
        let shared = shared.clone();
        let done = done.clone();
        let module = modules.get(&claim.module_id).cloned();
        tokio::spawn(async move {
            let run = if claimed_at.elapsed() >= shared.config.lease / 2 {
                // Half the lease went by between the claim and the start (this node was
                // stopped, or starved): the lease may be gone already; the operation goes back,
                // due at once, rather than run where another node may run it too.
                FinishedRun {
                    claim,
                    max_tries: i64::MAX,
                    result: RunResult::Interrupted {
                        log: "[billops] not started: the claim was too old to trust its lease\n"
                            .into(),
                    },
                }
            } else {
                run_one(&shared, claim, module, cancel_rx).await
            };
            drop(permit);
            shared.wake.notify_one();
            let _ = done.send(run);
        });
    }
    Ok(count)
}

/// Runs one claimed operation to its end.
async fn run_one(
    shared: &Shared,
    claim: Claim,
    module: Option<ModuleRecord>,
    cancel: watch::Receiver<Option<Cancel>>,
) -> FinishedRun {
    let Some(module) = module else {
        // Deleted between claim and run: cannot happen with foreign keys, but never panic.
        // What follows is the service's rule (`decide`).
        return FinishedRun {
            max_tries: 0,
            result: RunResult::ModuleMissing,
            claim,
        };
    };
    let driver = shared.drivers.for_module(&module);
    let job = Job {
        claim: claim.clone(),
        module: module.clone(),
    };
    let started = Instant::now();
    let result = driver.run(&job, cancel).await;
    crate::metrics::global().attempt(&module.name, outcome_of(&result), started.elapsed());
    FinishedRun {
        claim,
        max_tries: module.max_tries,
        result,
    }
}

/// Writes finished runs in batches, on PostgreSQL two transactions at a time (they touch
/// different rows, and the server then works on two cores); a failed write is retried until the leases would
/// have run out (after that the rescuer has the operations anyway).
async fn finisher(shared: Arc<Shared>, mut done: mpsc::UnboundedReceiver<FinishedRun>) {
    let batch_size = shared.config.finish_batch.max(1);
    // SQLite has one writer at a time: a second transaction would only wait for the lock.
    let parallel = if shared.services.store().backend() == "postgres" {
        2
    } else {
        1
    };
    let in_flight = Arc::new(Semaphore::new(parallel));
    while let Some(first) = done.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        // Runs claimed together end together, but their tasks reach the channel one by one:
        // a moment's wait gathers them into one transaction instead of a few of one run each.
        let gathered_by = tokio::time::Instant::now() + FINISH_GATHER;
        while batch.len() < batch_size {
            match done.try_recv() {
                Ok(run) => batch.push(run),
                Err(_) => match tokio::time::timeout_at(gathered_by, done.recv()).await {
                    Ok(Some(run)) => batch.push(run),
                    _ => break,
                },
            }
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            record(&shared, &batch).await;
            drop(permit);
        });
    }
}

/// Records one batch of finished runs. A write that fails (the database restarting, its
/// sessions dropped) is tried again, backing off up to 2 s, for up to a minute: each finish
/// names its attempt's token, so a late write changes nothing once another node has rescued
/// the operation, and until then it spares the module a second run.
async fn record(shared: &Shared, batch: &[FinishedRun]) {
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match shared.services.finish_runs(batch).await {
            Ok(_) => break,
            Err(error) if started.elapsed() < RECORD_PATIENCE => {
                tracing::warn!(%error, "recording finished runs failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(error) => {
                tracing::error!(%error, count = batch.len(), "giving up recording finished runs");
                break;
            }
        }
    }
    if let Ok(mut running) = shared.running.lock() {
        for run in batch {
            running.remove(&run.claim.token);
        }
        crate::metrics::global().leases_held(shared.services.node(), running.len());
    }
}

/// How a run ended, as the history names it.
fn outcome_of(result: &RunResult) -> &'static str {
    match result {
        RunResult::Ok { .. } => AttemptOutcome::Ok.raw(),
        RunResult::Failed { .. } | RunResult::ModuleMissing => AttemptOutcome::Error.raw(),
        RunResult::Stopped { .. } => AttemptOutcome::Stopped.raw(),
        RunResult::Interrupted { .. } => AttemptOutcome::Interrupted.raw(),
    }
}

/// Longest a finished run waits for others to share its transaction.
const FINISH_GATHER: Duration = Duration::from_millis(1);

/// How long a finish that cannot be written is tried again.
const RECORD_PATIENCE: Duration = Duration::from_secs(60);

/// Renews this node's leases every third of the lease, and at once (at most every 200 ms)
/// when something changed, to hear stop requests quickly. Cancels runs whose lease is gone or
/// whose stop was asked; cancels every run when renewing keeps failing for a whole lease.
async fn lease_keeper(shared: Arc<Shared>) {
    let node = shared.services.node().to_owned();
    let mut changes = shared.services.subscribe();
    let interval = shared.config.lease / 3;
    let mut last_ok = Instant::now();
    loop {
        let tick = tokio::time::sleep(interval);
        tokio::select! {
            _ = tick => {}
            _ = may_ask_a_stop(&mut changes) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                while changes.try_recv().is_ok() {}
            }
        }
        // The runs known before renewing: a run claimed while the renewal is under way is
        // missing from its answer without having lost anything.
        let asked: HashSet<String> = shared
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        if asked.is_empty() {
            last_ok = Instant::now();
            continue;
        }
        match shared
            .services
            .renew_leases(&node, shared.config.lease)
            .await
        {
            Ok(held) => {
                last_ok = Instant::now();
                let verdicts = cancellations(&asked, &held);
                if let Ok(running) = shared.running.lock() {
                    for (token, reason) in verdicts {
                        if let Some(cancel) = running.get(token) {
                            cancel.send_if_modified(|c| set_once(c, reason));
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "renewing leases failed");
                if last_ok.elapsed() >= shared.config.lease {
                    if let Ok(running) = shared.running.lock() {
                        for cancel in running.values() {
                            cancel.send_if_modified(|c| set_once(c, Cancel::LeaseLost));
                        }
                    }
                }
            }
        }
    }
}

/// Waits for a change that may ask one of this node's runs to stop: any but the engines' own
/// claims, finishes and rescues (renewing after each of those spent a busy node's database on
/// rewriting leases that had just been taken). Changes missed are a hint as well.
async fn may_ask_a_stop(
    changes: &mut tokio::sync::broadcast::Receiver<app::service::engine::Changed>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match changes.recv().await {
            Ok(changed) if changed.by_engine => continue,
            Ok(_) | Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Which of the runs `asked` about must end, and why: those whose stop was requested, and those
/// whose lease is no longer this node's (rescued by another node after it expired).
fn cancellations<'a>(asked: &'a HashSet<String>, held: &[HeldLease]) -> Vec<(&'a str, Cancel)> {
    let held: HashMap<&str, bool> = held
        .iter()
        .map(|h| (h.token.as_str(), h.stop_requested))
        .collect();
    asked
        .iter()
        .filter_map(|token| match held.get(token.as_str()) {
            Some(true) => Some((token.as_str(), Cancel::Stop)),
            Some(false) => None,
            None => Some((token.as_str(), Cancel::LeaseLost)),
        })
        .collect()
}

/// Sets a cancellation unless one is already set; true when it changed.
fn set_once(current: &mut Option<Cancel>, reason: Cancel) -> bool {
    if current.is_some() {
        return false;
    }
    *current = Some(reason);
    true
}

/// Wakes the claimer when operations change here or on another node.
async fn waker(shared: Arc<Shared>) {
    let mut changes = shared.services.subscribe();
    loop {
        match changes.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                shared.wake.notify_one()
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Returns dead nodes' operations for a restart, and folds the operation counts' deltas: at
/// start, then every half lease (at least every second).
async fn rescuer(shared: Arc<Shared>) {
    let interval = (shared.config.lease / 2).max(Duration::from_secs(1));
    loop {
        // This node's own runs are not rescued here: they end (or are stopped) and are
        // recorded by this node; other nodes rescue them if this one is gone.
        let own: Vec<String> = shared
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        match shared.services.rescue_expired(&own).await {
            Ok(count) => crate::metrics::global().rescued(count),
            Err(error) => tracing::warn!(%error, "rescuing expired leases failed"),
        }
        // The counts' deltas (PostgreSQL) are folded as often, so reading them stays cheap.
        if let Err(error) = shared.services.compact_counts().await {
            tracing::warn!(%error, "folding the operation counts failed");
        }
        if let Err(error) = shared.services.compact_failures().await {
            tracing::warn!(%error, "folding the failure groups' counts failed");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Runs bulk jobs (every node, with workers or not: they are admins' changes, not module
/// runs): takes the oldest job no live node holds and runs it a batch at a time, each batch one
/// transaction, with a pause between batches so that claims, finishes and pages get the
/// database in between. A job whose node dies is taken over when its lease runs out.
async fn bulk_runner(shared: Arc<Shared>) {
    let owner = format!("{}-bulk", shared.services.node());
    let lease = shared.config.lease;
    loop {
        match shared.services.claim_bulk_job(&owner, lease, None).await {
            Ok(Some(job)) => {
                tracing::info!(
                    job = job.view.id,
                    action = job.view.action.raw(),
                    "running a bulk job"
                );
                loop {
                    match shared.services.run_bulk_batch(&job, &owner, lease).await {
                        Ok(outcome) if outcome.stop => break,
                        Ok(_) => tokio::time::sleep(shared.config.bulk_pause).await,
                        Err(error) => {
                            // Its lease runs out and it is taken up again from its cursor.
                            tracing::warn!(%error, job = job.view.id, "a bulk job's batch failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "looking for bulk jobs failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Samples the queue for the charts and compacts their rollups, once a minute, just after the
/// minute turns (by the system clock).
async fn rollup_keeper(shared: Arc<Shared>) {
    loop {
        if let Err(error) = shared.services.keep_rollups().await {
            tracing::warn!(%error, "keeping the charts' rollups failed");
        }
        let into_minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() % 60_000) as u64;
        tokio::time::sleep(Duration::from_millis(60_000 - into_minute + 500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(token: &str, stop_requested: bool) -> HeldLease {
        HeldLease {
            token: token.into(),
            stop_requested,
        }
    }

    fn asked(tokens: &[&str]) -> HashSet<String> {
        tokens.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn runs_whose_leases_the_renewal_still_holds_are_left_alone() {
        // Only runs asked about are judged: one claimed while the renewal was under way (and so
        // missing from its answer) is not in `asked`, which the lease keeper takes beforehand.
        let asked = asked(&["a", "b"]);
        let verdicts = cancellations(&asked, &[held("a", false), held("b", false)]);
        assert!(verdicts.is_empty(), "{verdicts:?}");
    }

    #[test]
    fn a_run_missing_from_the_renewal_has_lost_its_lease_and_a_stop_request_stops() {
        let asked = asked(&["kept", "stopped", "rescued"]);
        let mut verdicts = cancellations(&asked, &[held("kept", false), held("stopped", true)]);
        verdicts.sort_by_key(|(token, _)| *token);
        assert_eq!(
            verdicts,
            vec![("rescued", Cancel::LeaseLost), ("stopped", Cancel::Stop)]
        );
    }
}
