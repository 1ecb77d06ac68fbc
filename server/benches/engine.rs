//! Benchmark of the engine's throughput: operations per second drained by one node, from the
//! engine's start until the current list is empty, with an in-process no-op module and with the
//! `exec` module running `true`, on SQLite and on PostgreSQL. Every operation still leaves its
//! attempt row (checked on a sample after each run). With `BENCH_GRAPHILE=1`, the same
//! PostgreSQL then drains as many no-op jobs through graphile-worker 0.18 in its fastest
//! documented configuration (`server/benches/graphile/`, installed by `npm ci` there), and the
//! ratio is printed. First it measures what the machine can fork and reap: `true` alone, 16
//! at once, the ceiling `exec` is compared with.
//!
//! `cargo bench -p server --bench engine`; environment:
//! - `BENCH_BACKENDS` (default `sqlite,postgres`); PostgreSQL needs `BILLOPS_TEST_POSTGRES_URL`
//! - `BENCH_NOOP_OPS` (default 50000), `BENCH_EXEC_OPS` (default 3000)
//! - `BENCH_WORKERS` (default 500 for no-op; `exec` runs 16 at once)
//! - `BENCH_GRAPHILE=1` to run graphile-worker too (Node.js and `npm ci` in benches/graphile)

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::store::fixtures::Fixtures;
use app::store::{NewItem, OperationFields};
use app::types::OperationState;
use app::types::{AttemptOutcome, Intname, ItemStatus, ModuleKind, OperationFilter, Timestamp};
use server::engine::driver::NoopDriver;
use server::engine::{Drivers, Engine, EngineConfig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh database of `backend`: (URL, the name to drop after).
fn fresh(backend: &str, tag: &str) -> Option<(String, Option<String>, Option<tempfile::TempDir>)> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().ok()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            Some((url, None, Some(dir)))
        }
        "postgres" => {
            let Ok(admin) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
                eprintln!("postgres: BILLOPS_TEST_POSTGRES_URL is not set; skipped");
                return None;
            };
            let name = format!("billops_bench_engine_{tag}_{}", std::process::id());
            psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
            if !psql(&admin, &format!("CREATE DATABASE {name}")) {
                eprintln!("postgres: cannot create {name}");
                return None;
            }
            let (base, _) = admin.rsplit_once('/')?;
            Some((format!("{base}/{name}"), Some(name), None))
        }
        other => {
            eprintln!("unknown backend {other}");
            None
        }
    }
}

fn psql(admin: &str, sql: &str) -> bool {
    std::process::Command::new("psql")
        .arg(admin)
        .args(["-qtAc", sql])
        .status()
        .is_ok_and(|s| s.success())
}

/// A module running `target` (at most `cap` at once) and `n` due operations.
async fn queue(store: &Arc<dyn Fixtures>, n: usize, target: &str, cap: i64) {
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let admin = Actor::command_line();
    let mut module = ModuleInput::new("Bench", ModuleKind::Exec, target);
    module.max_running = cap;
    let module = services.add_module(&admin, &module).await.expect("module");
    let client = services
        .add_client(&admin, "Client", None)
        .await
        .expect("client");
    let now = services.now();
    let items: Vec<NewItem> = (0..n)
        .map(|i| NewItem {
            client_id: client,
            module_id: module,
            itemtype: "vds".into(),
            name: format!("vm{i}"),
            status: ItemStatus::Ordered,
            created: now,
        })
        .collect();
    store.bulk_insert_items(&items).await.expect("items");
    let ops: Vec<_> = (1..=n as i64)
        .map(|item_id| {
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
    store
        .bulk_insert_operations(&ops)
        .await
        .expect("operations");
    store.maintain().await.expect("statistics");
}

/// Drains `n` operations with `drivers`; returns operations per second.
async fn drain(url: &str, n: usize, workers: usize, drivers: Drivers, target: &str) -> f64 {
    let store = app::store::fixtures::connect(url).await.expect("open");
    store.migrate().await.expect("migrate");
    // The module's cap is the node's workers for `exec`; for the no-op module it is out of the
    // way, so that claims are not held back by finishes still being written.
    let cap = if target == "noop" {
        n as i64
    } else {
        workers as i64
    };
    queue(&store, n, target, cap).await;
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let config = EngineConfig {
        workers,
        poll: Duration::from_millis(20),
        ..EngineConfig::default()
    };
    let started = Instant::now();
    let engine = Engine::start(services, config, drivers);
    loop {
        // Whether any operation is still current, as graphile-worker's side counts its jobs.
        let left = store
            .count_operations(&OperationFilter::default(), 1)
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    drop(engine);
    // Every operation left its history: check a sample.
    for id in (1..=n as i64).step_by((n / 50).max(1)) {
        let attempts = store.list_attempts(id).await.expect("attempts");
        assert!(
            attempts.len() == 1 && attempts[0].outcome == AttemptOutcome::Ok,
            "operation {id}: {attempts:?}"
        );
    }
    n as f64 / elapsed.as_secs_f64()
}

/// graphile-worker draining `n` no-op jobs on `url`; jobs per second, or `None`.
fn graphile(url: &str, n: usize) -> Option<f64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/graphile");
    if !dir.join("node_modules/graphile-worker").exists() {
        eprintln!(
            "graphile-worker is not installed: run `npm ci` in {}",
            dir.display()
        );
        return None;
    }
    let out = std::process::Command::new("node")
        .arg(dir.join("drain.mjs"))
        .env("DATABASE_URL", url)
        .env("JOBS", n.to_string())
        .current_dir(&dir)
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!(
            "graphile-worker failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("jobs_per_second="))
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backends: Vec<String> = std::env::var("BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let noop_ops: usize = env_or("BENCH_NOOP_OPS", 50_000);
    let exec_ops: usize = env_or("BENCH_EXEC_OPS", 3_000);
    let workers: usize = env_or("BENCH_WORKERS", 500);
    let true_path = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("true");
    let ceiling = runtime.block_on(fork_ceiling(true_path, exec_ops, 16));
    println!(
        "fork ceiling: {true_path} alone  {exec_ops:>7} runs {ceiling:>9.0} runs/s  (16 at once)"
    );
    println!("engine throughput, one node (operations per second, start to empty list)");
    for backend in &backends {
        if let Some((url, name, _dir)) = fresh(backend, "noop") {
            let rate = runtime.block_on(drain(
                &url,
                noop_ops,
                workers,
                Drivers::only(Arc::new(NoopDriver)),
                "noop",
            ));
            println!("{backend:>8}  no-op module   {noop_ops:>7} ops  {rate:>9.0} ops/s  ({workers} at once)");
            if backend == "postgres" && std::env::var("BENCH_GRAPHILE").is_ok_and(|v| v == "1") {
                if let Some(theirs) = graphile(&url, noop_ops) {
                    println!(
                        "{backend:>8}  graphile-worker 0.18 (24 concurrent, localQueue 500, batched completion) \
                         {noop_ops:>7} jobs  {theirs:>9.0} jobs/s;  billops / graphile-worker = {:.2}",
                        rate / theirs
                    );
                }
            }
            drop_db(name);
        }
        if let Some((url, name, _dir)) = fresh(backend, "exec") {
            let rate = runtime.block_on(drain(
                &url,
                exec_ops,
                16,
                Drivers::real(Duration::from_secs(1)),
                true_path,
            ));
            println!(
                "{backend:>8}  exec `true`    {exec_ops:>7} ops  {rate:>9.0} ops/s  (16 at once; {:.0} % of the fork ceiling)",
                100.0 * rate / ceiling
            );
            drop_db(name);
        }
    }
}

/// What this machine can fork and reap: `n` runs of `program` alone, `at_once` at a time, each
/// spawned with its output piped as a module's is, its standard output read to the end (`true`
/// writes nothing), and waited for.
async fn fork_ceiling(program: &str, n: usize, at_once: usize) -> f64 {
    use tokio::io::AsyncReadExt;
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(at_once));
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..n {
        let permit = permits.clone().acquire_owned().await.expect("semaphore");
        let program = program.to_owned();
        runs.spawn(async move {
            let mut child = tokio::process::Command::new(program)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn");
            let mut out = Vec::new();
            if let Some(mut stdout) = child.stdout.take() {
                let _ = stdout.read_to_end(&mut out).await;
            }
            let _ = child.wait().await;
            drop(permit);
        });
    }
    while runs.join_next().await.is_some() {}
    n as f64 / started.elapsed().as_secs_f64()
}

fn drop_db(name: Option<String>) {
    if let (Some(name), Ok(admin)) = (name, std::env::var("BILLOPS_TEST_POSTGRES_URL")) {
        psql(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
}
