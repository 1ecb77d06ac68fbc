//! Nothing is lost and nothing runs twice when nodes die: `billops serve` processes drain a
//! queue of operations whose module records each execution, one node is killed (SIGKILL) in the
//! middle and started again. On PostgreSQL two nodes share the database; on SQLite there is one.
//! Afterwards: every operation is done, each with exactly one successful attempt; executions of
//! one service never overlapped (the killed node's modules die with it). The number of
//! operations is `BILLOPS_KILL_TEST_OPS` (default 1,000; never fewer than 200).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::store::{NewItem, OperationFields, OperationState, Store};
use app::types::{AttemptOutcome, Intname, ItemStatus, ListQuery, ModuleKind, Timestamp};

const WORKERS: usize = 8;

fn operations_wanted() -> usize {
    std::env::var("BILLOPS_KILL_TEST_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
        .max(200)
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A `billops serve` node on `url`, its log in `dir`.
fn node(url: &str, dir: &Path, name: &str) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("node log");
    Command::new(env!("CARGO_BIN_EXE_billops"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--lease-secs",
            "2",
            "--grace-secs",
            "1",
        ])
        .args(["--workers", &WORKERS.to_string()])
        .env("DATABASE_URL", url)
        .env("BILLOPS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start billops serve")
}

/// Registers a recording module and `n` due operations, one per service; returns the log path.
async fn queue(store: &Arc<dyn Store>, dir: &Path, n: usize) -> std::path::PathBuf {
    let record = dir.join("executions.txt");
    let program = dir.join("record.sh");
    std::fs::write(
        &program,
        format!(
            "#!/usr/bin/env bash\n\
             # --command X --item I --runningoperation O: one line at start and end (O_APPEND),\n\
             # one when stopped (SIGTERM); a SIGKILL leaves the start alone.\n\
             trap 'echo \"stopped $4 $6 $$ $(date +%s%N)\" >> {r}; exit 143' TERM\n\
             echo \"start $4 $6 $$ $(date +%s%N)\" >> {r}\n\
             sleep 0.0$(( RANDOM % 4 + 1 ))\n\
             echo \"end $4 $6 $$ $(date +%s%N)\" >> {r}\n",
            r = record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let admin = Actor::command_line();
    let mut module = ModuleInput::new("Recorder", ModuleKind::Exec, &program.to_string_lossy());
    module.max_running = 2 * WORKERS as i64;
    module.max_tries = 100;
    let module = services.add_module(&admin, &module).await.unwrap();
    let client = services.add_client(&admin, "Client", None).await.unwrap();
    let now = services.now();
    let items: Vec<NewItem> = (0..n)
        .map(|i| NewItem {
            client_id: client,
            module_id: module,
            itemtype: "vds".into(),
            name: format!("vm{i}.example"),
            status: ItemStatus::Ordered,
            created: now,
        })
        .collect();
    store.bulk_insert_items(&items).await.unwrap();
    let item_ids: Vec<i64> = store
        .list_items(Some(client))
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(item_ids.len(), n);
    let ops: Vec<_> = item_ids
        .iter()
        .map(|&item_id| {
            (
                OperationFields {
                    intname: Intname::Open,
                    item_id,
                    client_id: client,
                    module_id: module,
                    itemtype: "vds".into(),
                    cdate: Timestamp(now.0 - 1_000),
                    trycount: 0,
                    manual: false,
                    comment: String::new(),
                },
                OperationState::Waiting,
                None,
            )
        })
        .collect();
    store.bulk_insert_operations(&ops).await.unwrap();
    record
}

async fn current(store: &dyn Store) -> u64 {
    store
        .page_operations(&ListQuery::default(), 100_000)
        .await
        .expect("count")
        .1
}

async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One execution of the recording module (by operation and process id).
struct Run {
    item: i64,
    operation: i64,
    start: u128,
    end: Option<u128>,
    /// Ended by SIGTERM: a stop, or a lease this node no longer held.
    stopped: bool,
}

/// Runs the drain on `url` with `nodes` nodes, killing and restarting the first.
async fn drain_with_a_kill(url: &str, dir: &Path, nodes: usize) {
    let n = operations_wanted();
    let store = app::store::connect(url).await.expect("open");
    store.migrate().await.expect("migrate");
    let record = queue(&store, dir, n).await;
    let mut children: Vec<Child> = (0..nodes)
        .map(|i| node(url, dir, &format!("node{i}")))
        .collect();
    wait_until(
        "a quarter of the queue to drain",
        Duration::from_secs(120),
        async || current(&*store).await <= (n - n / 4) as u64,
    )
    .await;
    children[0].kill().expect("SIGKILL node 0");
    let killed_at = now_ns();
    children[0].wait().expect("reap node 0");
    children[0] = node(url, dir, "node0-again");
    wait_until("the queue to drain", Duration::from_secs(300), async || {
        current(&*store).await == 0
    })
    .await;
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }

    // Every operation done, exactly once.
    assert_eq!(store.count_all_operations().await.unwrap(), n as u64);
    let mut interrupted = 0;
    let mut not_ok: HashMap<i64, usize> = HashMap::new();
    let ids: Vec<i64> = (1..=n as i64).collect();
    for id in &ids {
        let op = store.get_operation(*id).await.unwrap().unwrap();
        assert_eq!(op.state, OperationState::Done, "operation {id}");
        let attempts = store.list_attempts(*id).await.unwrap();
        let ok = attempts
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Ok)
            .count();
        assert_eq!(ok, 1, "operation {id} completed {ok} times: {attempts:?}");
        assert!(attempts
            .iter()
            .all(|a| a.outcome != AttemptOutcome::Running));
        interrupted += attempts
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Interrupted)
            .count();
        not_ok.insert(*id, attempts.len() - ok);
    }
    assert!(
        interrupted >= 1,
        "the kill interrupted no run: it was not mid-run"
    );

    // The module's own record: one line at the start and one at the end of each execution.
    let text = std::fs::read_to_string(&record).unwrap();
    let mut runs: HashMap<(i64, u32), Run> = HashMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 5, "odd record line {line:?}");
        let item: i64 = parts[1].parse().unwrap();
        let operation: i64 = parts[2].parse().unwrap();
        let pid: u32 = parts[3].parse().unwrap();
        let at: u128 = parts[4].parse().unwrap();
        let run = runs.entry((operation, pid)).or_insert(Run {
            item,
            operation,
            start: at,
            end: None,
            stopped: false,
        });
        match parts[0] {
            "start" => run.start = at,
            "end" => run.end = Some(at),
            "stopped" => {
                run.end = Some(at);
                run.stopped = true;
            }
            other => panic!("odd record {other}"),
        }
    }
    // An execution cut short (killed with its node, or stopped because its node lost the lease)
    // never counts as a success: each belongs to an attempt of its operation that did not end
    // well. Only the killed node's executions end without a word, and it ran at most WORKERS.
    let mut cut_short: HashMap<i64, usize> = HashMap::new();
    for run in runs.values().filter(|r| r.end.is_none() || r.stopped) {
        *cut_short.entry(run.operation).or_default() += 1;
    }
    for (operation, cut) in &cut_short {
        let failed = not_ok.get(operation).copied().unwrap_or(0);
        assert!(
            *cut <= failed,
            "operation {operation}: {cut} executions cut short but {failed} attempts not ok"
        );
    }
    let unfinished = runs.values().filter(|r| r.end.is_none()).count();
    let stopped = runs.values().filter(|r| r.stopped).count();
    assert!(
        unfinished <= WORKERS,
        "{unfinished} executions never ended: more than the killed node ran"
    );
    // Executions of one service never overlap.
    let mut by_item: HashMap<i64, Vec<(u128, u128)>> = HashMap::new();
    for run in runs.values() {
        let end = run.end.unwrap_or(killed_at);
        by_item.entry(run.item).or_default().push((run.start, end));
    }
    assert_eq!(by_item.len(), n, "every service's module ran");
    for (item, mut spans) in by_item {
        spans.sort();
        for pair in spans.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "service {item}: an execution started before the previous one ended: {spans:?}"
            );
        }
    }
    eprintln!(
        "{n} operations, {nodes} node(s), one killed: {interrupted} runs interrupted, \
         {unfinished} module executions killed with it, {stopped} stopped for a lost lease, none lost, \
         none done twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_node_loses_nothing_and_runs_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kill.db").display());
    drain_with_a_kill(&url, dir.path(), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_share_the_queue_and_survive_a_kill() {
    let Ok(admin_url) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err() && std::env::var("BILLOPS_SKIP_POSTGRES").is_ok(),
            "BILLOPS_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    let name = format!("billops_kill_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .arg(&admin_url)
            .args(["-qtAc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("the PostgreSQL URL names no database"),
    };
    let dir = tempfile::tempdir().unwrap();
    drain_with_a_kill(&url, dir.path(), 2).await;
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}
