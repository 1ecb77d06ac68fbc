//! Benchmark of the legacy list (`func=runningoperation`, `p_cnt=100`): fills a fresh store with
//! 10k, 100k and 1M current operations, a tenth of them a dead node's runs; times the start-up
//! rescue of those runs with an admin's edits meanwhile; puts 1,000 operations under way (two
//! nodes' worth); then prints p50 and p99 server-side latency (through the router, no socket)
//! of the first and a deep page, unfiltered and filtered by client, status,
//! module, error text and failure group; every sort column both ways (first page, page 51 and
//! page 5,000, the UI's deepest, by number and as the UI reaches it, by seek); the failures
//! view and `runningoperation.failures`; a bulk job over an eighth of the operations with the
//! list read meanwhile; the whole list exported as CSV (rows/s, peak memory); a metrics scrape;
//! then requests per second over loopback with 8 keep-alive connections, and the process's
//! resident memory after it all.
//!
//! `cargo bench -p server --bench list`; environment:
//! - `BENCH_SIZES` (default `10000,100000,1000000`)
//! - `BENCH_BACKENDS` (default `sqlite,postgres`); PostgreSQL needs `BILLOPS_TEST_POSTGRES_URL`
//!   (a server where the user may create databases), as the tests do.
//! - `BENCH_ITERATIONS` (default 200 per scenario)
//! - `BENCH_RUNNING` (default 1000): operations under way while the list is read

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::store::fixtures::Fixtures;
use app::store::{NewItem, OperationFields};
use app::types::chart::ChartWindow;
use app::types::OperationState;
use app::types::{AttemptOutcome, Intname, ItemStatus, Level, ModuleKind, Timestamp};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const MODULES: i64 = 8;
const WEEK_MS: i64 = 7 * 24 * 3_600_000;
const ERRORS: [&str; 4] = [
    "Could not connect to the panel: connection refused",
    "Not enough disk space on the node",
    "No free IP address in the node's pool",
    "Registrar answered: domain is locked for transfer",
];

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Fills the store: `n` services and one current operation each, spread over `n / 50` clients
/// and 8 modules; 40 % waiting, 10 % running (a dead node's runs, their leases long out), 30 %
/// failed, 20 % needing attention.
async fn fill(services: &Services, store: &Arc<dyn Fixtures>, n: i64) -> anyhow_free::Result<()> {
    let a = Actor::command_line();
    for m in 0..MODULES {
        services
            .add_module(
                &a,
                &ModuleInput::new(&format!("module-{m}"), ModuleKind::Exec, "/bin/true"),
            )
            .await
            .map_err(|e| format!("{e:?}"))?;
    }
    let clients = (n / 50).max(1);
    for c in 0..clients {
        services
            .add_client(&a, &format!("client-{c}"), None)
            .await
            .map_err(|e| format!("{e:?}"))?;
    }
    let now = services.now();
    let chunk = 50_000;
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let items: Vec<NewItem> = (start..end)
            .map(|i| NewItem {
                client_id: i % clients + 1,
                module_id: i % MODULES + 1,
                itemtype: ["vds", "vhost", "domain", "ssl"][(i % 4) as usize].into(),
                name: format!("host{i}.example"),
                status: ItemStatus::Active,
                created: now,
            })
            .collect();
        store
            .bulk_insert_items(&items)
            .await
            .map_err(|e| e.to_string())?;
        let ops: Vec<(OperationFields, OperationState, Option<String>)> = (start..end)
            .map(|i| {
                let (state, manual) = match i % 10 {
                    0..=3 => (OperationState::Waiting, false),
                    4 => (OperationState::Running, false),
                    5..=7 => (OperationState::Error, false),
                    _ => (OperationState::Error, true),
                };
                let error =
                    (state == OperationState::Error).then(|| ERRORS[(i % 4) as usize].to_owned());
                let fields = OperationFields {
                    intname: [
                        Intname::Open,
                        Intname::Suspend,
                        Intname::Prolong,
                        Intname::Close,
                    ][(i % 4) as usize],
                    item_id: i + 1,
                    client_id: i % clients + 1,
                    module_id: i % MODULES + 1,
                    itemtype: ["vds", "vhost", "domain", "ssl"][(i % 4) as usize].into(),
                    cdate: Timestamp(now.0 - (n - i) * 1000),
                    trycount: i % 7,
                    manual,
                    comment: String::new(),
                };
                (fields, state, error)
            })
            .collect();
        store
            .bulk_insert_operations(&ops)
            .await
            .map_err(|e| e.to_string())?;
        // One finished attempt per operation, spread over the last 7 days, a third failed:
        // what the dashboard charts.
        let attempts: Vec<(i64, i64, Timestamp, AttemptOutcome)> = (start..end)
            .map(|i| {
                let outcome = if i % 3 == 0 {
                    AttemptOutcome::Error
                } else {
                    AttemptOutcome::Ok
                };
                (
                    i + 1,
                    i + 1,
                    Timestamp(now.0 - (i * 7_919) % WEEK_MS),
                    outcome,
                )
            })
            .collect();
        store
            .bulk_insert_attempts(&attempts)
            .await
            .map_err(|e| e.to_string())?;
        start = end;
    }
    Ok(())
}

/// Tiny error plumbing without another dependency.
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, String>;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Latencies of one list request repeated: p50, p99 and the rows of its page.
struct Timed {
    p50: Duration,
    p99: Duration,
    rows: usize,
}

impl Timed {
    fn print(&self, scenario: &str) {
        println!(
            "{:<28} {:>9} {:>9} {:>7}",
            scenario,
            ms(self.p50),
            ms(self.p99),
            self.rows
        );
    }
}

/// Calls the list `query` (a tenth of `iterations` to warm up, then `iterations` timed) and
/// checks it answers a list.
async fn time_list(
    router: &axum::Router,
    query: &str,
    iterations: usize,
) -> anyhow_free::Result<Timed> {
    let body = call(router, query).await;
    let rows = serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| format!("{e}: {body}"))?
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| format!("not a list: {body}"))?;
    for _ in 0..iterations / 10 {
        call(router, query).await;
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        call(router, query).await;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(Timed {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        rows,
    })
}

async fn call(router: &axum::Router, query: &str) -> String {
    let response = router
        .clone()
        .oneshot(
            Request::get(format!("/billmgr?{query}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Requests per second of the unfiltered first page over loopback, 8 keep-alive connections, 3 s.
async fn loopback_rps(router: axum::Router, path: String) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut workers = Vec::new();
    for _ in 0..8 {
        let path = path.clone();
        workers.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            let mut done = 0u64;
            let mut buf = vec![0u8; 1 << 20];
            while Instant::now() < deadline {
                stream.write_all(request.as_bytes()).await.expect("write");
                // Read one response: headers, then content-length bytes.
                let mut have = 0;
                let (header_end, length) = loop {
                    let n = stream.read(&mut buf[have..]).await.expect("read");
                    assert!(n > 0, "connection closed");
                    have += n;
                    if let Some(pos) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (pos + 4, length);
                    }
                };
                while have < header_end + length {
                    let n = stream.read(&mut buf[have..]).await.expect("read");
                    assert!(n > 0, "connection closed");
                    have += n;
                }
                done += 1;
            }
            done
        }));
    }
    let start = Instant::now();
    let mut total = 0;
    for w in workers {
        total += w.await.expect("worker");
    }
    server.abort();
    total as f64 / start.elapsed().as_secs_f64().max(3.0)
}

async fn bench(backend: &str, url: &str, n: i64, iterations: usize) -> anyhow_free::Result<()> {
    let store: Arc<dyn Fixtures> = app::store::fixtures::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let started = Instant::now();
    fill(&services, &store, n).await?;
    let fill_time = started.elapsed();
    services
        .add_user(
            &Actor::command_line(),
            "bench",
            "bench-password",
            Level::Admin,
            None,
        )
        .await
        .map_err(|e| format!("{e:?}"))?;
    let router = server::router::router(
        services.clone(),
        server::config::site_options("127.0.0.1:0".parse().expect("addr")),
    );
    let auth = call(
        &router,
        "func=auth&username=bench&password=bench-password&out=JSONdata",
    )
    .await;
    let session: serde_json::Value = serde_json::from_str(&auth).map_err(|e| e.to_string())?;
    let sid = session["auth"].as_str().ok_or("no session")?.to_owned();
    // A node starting on this database analyses it, returns the dead node's runs, then runs
    // its own, its upkeep folding the counts below: the list is read in that steady state,
    // with `BENCH_RUNNING` operations under way (what two nodes of 500 workers hold), spread
    // over the ids.
    services.maintain().await.map_err(|e| format!("{e:?}"))?;
    rescue(&services, &router, &sid).await?;
    let running: i64 = std::env::var("BENCH_RUNNING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_i64)
        .clamp(0, n);
    for k in 0..running {
        let id = 1 + k * (n / running.max(1));
        store
            .force_state(id, OperationState::Running, None, services.now())
            .await
            .map_err(|e| e.to_string())?;
    }
    // What a running server's upkeep does every few minutes (and once at start), and its
    // rollup keeper every minute (PostgreSQL: the bulk load's deltas folded).
    services.maintain().await.map_err(|e| format!("{e:?}"))?;
    // The bulk load left a backlog of deltas (one per module and minute of each 1,000-row
    // insert): folded in steps, as the keeper would over its next minutes.
    for _ in 0..100 {
        if services.keep_rollups().await.map_err(|e| e.to_string())? == 0 {
            break;
        }
    }
    // The failed operations in their failure groups (one per module and message), their
    // counts folded as every node's rescuer does.
    let grouped = Instant::now();
    let mut in_groups = 0;
    for m in 1..=MODULES {
        for e in ERRORS {
            let mark = app::service::failure::fingerprint(m, "connect", e);
            in_groups += store
                .bulk_group_failures(&mark, e, services.now())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let mut folds = 0;
    while services
        .compact_failures()
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        folds += 1;
    }
    println!(
        "{in_groups} operations put in failure groups, counts folded in {folds} runs, in {:.1} s",
        grouped.elapsed().as_secs_f64()
    );
    if backend == "postgres" {
        // The steady state autovacuum keeps (visibility map set, so index-only scans stay so;
        // the folded deltas' dead rows gone).
        let _ = std::process::Command::new("psql")
            .arg(url)
            .args([
                "-qtAc",
                "VACUUM ANALYZE operation, attempt_rollup, attempt_rollup_delta, failure_group, failure_client, failure_hour, failure_delta",
            ])
            .status();
    }
    println!(
        "\n{backend}, {n} current operations (filled in {:.1} s)",
        fill_time.as_secs_f64()
    );
    println!(
        "{:<28} {:>9} {:>9} {:>7}",
        "scenario (p_cnt=100)", "p50 ms", "p99 ms", "rows"
    );
    let clients = (n / 50).max(1);
    let filters = [
        ("unfiltered", String::new()),
        ("client", format!("client={}", clients / 2 + 1)),
        ("status=error", "status=error".to_owned()),
        ("module", "processingmodule=3".to_owned()),
        ("error text", "errortext=disk+space".to_owned()),
        (
            "failure group",
            format!(
                "failure={}",
                app::service::failure::fingerprint(3, "connect", ERRORS[2]).key
            ),
        ),
    ];
    for (name, filter) in filters {
        // Save the filter once (as an admin would), then list with it.
        let saved = call(
            &router,
            &format!("func=runningoperation.filter&sok=ok&auth={sid}&{filter}&out=JSONdata"),
        )
        .await;
        if saved != r#"{"ok":""}"# {
            return Err(format!("saving filter {name}: {saved}"));
        }
        for (page_name, page) in [("first page", 1), ("deep page (51)", 51)] {
            let query =
                format!("func=runningoperation&auth={sid}&p_cnt=100&p_num={page}&out=JSONdata");
            let timed = time_list(&router, &query, iterations).await?;
            timed.print(&format!("{name}, {page_name}"));
        }
    }
    call(
        &router,
        &format!("func=runningoperation.filter&sok=ok&auth={sid}&out=JSONdata"),
    )
    .await;
    // Every column the list sorts by, both ways, unfiltered: the first page, page 51, and
    // page 5,000 as the UI's pager reaches it (where there are that many).
    println!(
        "{:<28} {:>9} {:>9} {:>7}",
        "sort (unfiltered, p_cnt=100)", "p50 ms", "p99 ms", "rows"
    );
    let deepest = u64::try_from(n / 100).unwrap_or(1).clamp(1, 5_000);
    for column in app::types::SortColumn::ALL {
        for order in ["asc", "desc"] {
            for page in [1, 51, deepest] {
                let query = format!(
                    "func=runningoperation&auth={sid}&p_cnt=100&p_num={page}&p_sort={}&p_order={order}&out=JSONdata",
                    column.name()
                );
                // The deepest page is an offset of half a million rows: fewer repeats.
                let repeats = if page > 51 {
                    (iterations / 10).max(5)
                } else {
                    iterations
                };
                let timed = time_list(&router, &query, repeats).await?;
                timed.print(&format!("{} {order}, page {page}", column.name()));
            }
            // The UI reaches a deep page by "Next →": a seek past the page before's last row.
            if deepest > 1 {
                let sort = column;
                let order = app::types::SortOrder::parse(order).unwrap_or_default();
                let query = |page: u32, seek| app::types::ListQuery {
                    sort,
                    order,
                    page,
                    page_size: 100,
                    seek,
                    ..app::types::ListQuery::default()
                };
                let admin = Actor::command_line();
                let deepest = u32::try_from(deepest).unwrap_or(u32::MAX);
                let before = services
                    .list_operations(&admin, query(deepest - 1, None))
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let last = before
                    .rows
                    .last()
                    .ok_or("an empty page before the deepest")?;
                let seek = app::types::page::Seek::at(last, sort, true);
                let mut times = Vec::new();
                let mut rows = 0;
                for _ in 0..iterations {
                    let t = Instant::now();
                    let page = services
                        .list_operations(&admin, query(deepest, Some(seek.clone())))
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                    times.push(t.elapsed());
                    rows = page.rows.len();
                }
                times.sort();
                Timed {
                    p50: percentile(&times, 0.5),
                    p99: percentile(&times, 0.99),
                    rows,
                }
                .print(&format!(
                    "{} {}, page {deepest} by seek",
                    sort.name(),
                    order.name()
                ));
            }
        }
    }
    println!("{}", export_csv(&router, &sid).await?);
    // A Prometheus scrape: the database's counts and each module's oldest due operation, as
    // a node whose rescuer has folded the counts' deltas (PostgreSQL) sees them.
    services.compact_counts().await.map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        server::metrics::global()
            .render(&services)
            .await
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "metrics scrape (render /metrics): p50 {} ms, p99 {} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    // The failures view and `runningoperation.failures`: every group with its counts and
    // sparkline, read from the kept counts.
    let mut times = Vec::with_capacity(iterations);
    let mut groups = 0;
    for _ in 0..iterations {
        let t = Instant::now();
        let view = services
            .failures_view(&Actor::command_line())
            .await
            .map_err(|e| format!("{e:?}"))?;
        times.push(t.elapsed());
        groups = view.groups.len();
    }
    times.sort();
    println!(
        "failures view ({groups} groups): p50 {} ms, p99 {} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    let query = format!("func=runningoperation.failures&auth={sid}&out=JSONdata");
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        call(&router, &query).await;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "func=runningoperation.failures: p50 {} ms, p99 {} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    // The dashboard over 7 days (every module's chart, SVG drawn), from the rollups as a node's
    // keeper leaves them: minutes of the last two hours, hours before.
    services.keep_rollups().await.map_err(|e| e.to_string())?;
    let admin = Actor::command_line();
    let mut times = Vec::with_capacity(iterations);
    let mut size = 0;
    for _ in 0..iterations {
        let t = Instant::now();
        let dashboard = services
            .dashboard(&admin, ChartWindow::Week)
            .await
            .map_err(|e| format!("{e:?}"))?;
        times.push(t.elapsed());
        size = dashboard.charts.iter().map(|c| c.svg.len()).sum::<usize>();
    }
    times.sort();
    println!(
        "dashboard, 7 days, {n} attempts ({} kB of SVG): p50 {} ms, p99 {} ms",
        size / 1000,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    bulk_job(&services, &router, &sid).await?;
    let rps = loopback_rps(
        router,
        format!("/billmgr?func=runningoperation&auth={sid}&p_cnt=100&out=JSONdata"),
    )
    .await;
    println!("loopback, unfiltered first page, 8 connections: {rps:.0} requests/s");
    println!(
        "resident memory after the run: {} MiB (peak since the export: {} MiB)",
        memory_mib("VmRSS"),
        memory_mib("VmHWM")
    );
    Ok(())
}

/// A bulk job (Start) on one module's operations (an eighth of them), run a batch at a time
/// as a node's runner does, while a reader lists the first page over and over: prints each
/// batch's transaction (the time it holds the write lock) and the list's latency meanwhile.
async fn bulk_job(
    services: &Services,
    router: &axum::Router,
    sid: &str,
) -> anyhow_free::Result<()> {
    use app::types::bulk::BulkAction;
    let admin = Actor::command_line();
    let filter = app::types::OperationFilter {
        processingmodule: Some(3),
        ..Default::default()
    };
    let job = services
        .queue_bulk_job(&admin, BulkAction::Start, &filter)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let lease = Duration::from_secs(30);
    let held = services
        .claim_bulk_job("bench", lease, Some(job.id))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the job was not claimed")?;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (router, done) = (router.clone(), done.clone());
        let query = format!("func=runningoperation&auth={sid}&p_cnt=100&out=JSONdata");
        tokio::spawn(async move {
            let mut times = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                call(&router, &query).await;
                times.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            times
        })
    };
    let started = Instant::now();
    let mut batches = Vec::new();
    let last = loop {
        let t = Instant::now();
        let outcome = services
            .run_bulk_batch(&held, "bench", lease)
            .await
            .map_err(|e| format!("{e:?}"))?;
        batches.push(t.elapsed());
        if outcome.stop {
            break outcome.job;
        }
        // The runner's pause between batches.
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let total = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = reader.await.map_err(|e| e.to_string())?;
    batches.sort();
    reads.sort();
    println!(
        "bulk job (start, {} operations, {} batches of 500): {:.1} s, {:.0} operations/s; \
         a batch's transaction p50 {} ms, p99 {} ms, max {} ms",
        last.handled(),
        batches.len(),
        total.as_secs_f64(),
        last.handled() as f64 / total.as_secs_f64(),
        ms(percentile(&batches, 0.5)),
        ms(percentile(&batches, 0.99)),
        ms(*batches.last().unwrap_or(&Duration::ZERO)),
    );
    if !reads.is_empty() {
        println!(
            "  the list's first page meanwhile ({} reads): p50 {} ms, p99 {} ms, max {} ms",
            reads.len(),
            ms(percentile(&reads, 0.5)),
            ms(percentile(&reads, 0.99)),
            ms(*reads.last().unwrap_or(&Duration::ZERO)),
        );
    }
    Ok(())
}

/// The start-up rescue: the fill left a tenth of the operations running under leases that ran
/// out long ago (a dead node's). Rescues them all as a starting node does, while an admin edits
/// an operation's comment over and over: prints the rescue's rate and the edits' latency
/// meanwhile (an edit waits for one batch's transaction at most, never for the whole rescue).
async fn rescue(services: &Services, router: &axum::Router, sid: &str) -> anyhow_free::Result<()> {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (router, done) = (router.clone(), done.clone());
        let query = format!(
            "func=runningoperation.edit&auth={sid}&sok=ok&elid=1&comment=checked&out=JSONdata"
        );
        tokio::spawn(async move {
            let mut times = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let answer = call(&router, &query).await;
                times.push(t.elapsed());
                assert!(!answer.contains("\"error\""), "the edit failed: {answer}");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            times
        })
    };
    let started = Instant::now();
    let rescued = services
        .rescue_expired(&[])
        .await
        .map_err(|e| format!("{e:?}"))?;
    let total = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut edits = writer.await.map_err(|e| e.to_string())?;
    edits.sort();
    println!(
        "start-up rescue ({rescued} expired runs, transactions of {}): {:.1} s, {:.0} operations/s",
        app::service::engine::RESCUE_BATCH,
        total.as_secs_f64(),
        rescued as f64 / total.as_secs_f64(),
    );
    if !edits.is_empty() {
        println!(
            "  an admin's edit meanwhile ({} edits): p50 {} ms, p99 {} ms, max {} ms",
            edits.len(),
            ms(percentile(&edits, 0.5)),
            ms(percentile(&edits, 0.99)),
            ms(*edits.last().unwrap_or(&Duration::ZERO)),
        );
    }
    Ok(())
}

/// A figure of this process's memory from `/proc/self/status` (`VmRSS`, `VmHWM`), in MiB.
fn memory_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim_start_matches(':').trim().strip_suffix("kB"))
                    .and_then(|kib| kib.trim().parse::<u64>().ok())
            })
        })
        .map_or(0, |kib| kib / 1024)
}

/// Streams the whole unfiltered list from `/export/operations.csv` through the router, frame by
/// frame as a client reads it, and reports rows, rows per second and the peak memory on the way.
async fn export_csv(router: &axum::Router, sid: &str) -> anyhow_free::Result<String> {
    let before = memory_mib("VmRSS");
    // Peak RSS from here on (Linux: "5" resets VmHWM to the current RSS).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let response = router
        .clone()
        .oneshot(
            Request::get("/export/operations.csv")
                .header("cookie", format!("billmgrses5={sid}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("export answered {}", response.status()));
    }
    let mut body = response.into_body();
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
            lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    Ok(format!(
        "CSV export of the whole list: {rows} rows, {:.1} MB in {elapsed:.2} s = {:.0} rows/s; \
         RSS {before} MiB before, peak {} MiB during",
        bytes as f64 / 1e6,
        rows as f64 / elapsed.max(1e-9),
        memory_mib("VmHWM")
    ))
}

#[tokio::main]
async fn main() {
    let sizes: Vec<i64> = env_list("BENCH_SIZES", "10000,100000,1000000")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let backends = env_list("BENCH_BACKENDS", "sqlite,postgres");
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().expect("temp dir");
    for backend in &backends {
        for &n in &sizes {
            let (url, cleanup) = match backend.as_str() {
                "sqlite" => (
                    format!(
                        "sqlite://{}",
                        dir.path().join(format!("bench-{n}.db")).display()
                    ),
                    None,
                ),
                "postgres" => {
                    let Ok(admin) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
                        eprintln!("postgres: BILLOPS_TEST_POSTGRES_URL is not set; skipped");
                        continue;
                    };
                    let name = format!("billops_bench_{n}");
                    let psql = |sql: String| {
                        std::process::Command::new("psql")
                            .arg(&admin)
                            .args(["-qtAc", &sql])
                            .status()
                    };
                    let _ = psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                    if !psql(format!("CREATE DATABASE {name}")).is_ok_and(|s| s.success()) {
                        eprintln!("postgres: cannot create {name}");
                        continue;
                    }
                    let base = admin
                        .rsplit_once('/')
                        .map_or(admin.clone(), |(b, _)| b.to_owned());
                    (format!("{base}/{name}"), Some((admin.clone(), name)))
                }
                other => {
                    eprintln!("unknown backend {other}");
                    continue;
                }
            };
            if let Err(e) = bench(backend, &url, n, iterations).await {
                eprintln!("{backend} {n}: {e}");
            }
            if let Some((admin, name)) = cleanup {
                let _ = std::process::Command::new("psql")
                    .arg(&admin)
                    .args([
                        "-qtAc",
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ])
                    .status();
            }
        }
    }
}
