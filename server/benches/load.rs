//! The API under load while the engine drains: two `billops serve` nodes on one PostgreSQL
//! database drain a queue of operations (an `exec` module running `true`) while 200 concurrent
//! API clients list, filter, view, edit, start and stop through `/billmgr` over loopback
//! (keep-alive connections, spread over both nodes). Prints p50/p99 per kind of call, the
//! answers by kind (any 5xx or unexpected error document is counted and fails the run), and the
//! engine's throughput under that load; then checks that nothing was lost (every operation done
//! once, or left needing attention by a client's stop).
//!
//! `cargo bench -p server --bench load`; environment:
//! - `BILLOPS_TEST_POSTGRES_URL` (required): a server where the user may create databases
//! - `BENCH_LOAD_OPS` (default 50000), `BENCH_LOAD_CLIENTS` (default 200)

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::store::fixtures::Fixtures;
use app::store::{NewItem, OperationFields};
use app::types::OperationState;
use app::types::{AttemptOutcome, Intname, ItemStatus, Level, ListQuery, ModuleKind, Timestamp};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn psql(admin: &str, sql: &str) -> bool {
    Command::new("psql")
        .arg(admin)
        .args(["-qtAc", sql])
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts a node on `url`; returns it and the address it listens on.
#[expect(
    clippy::zombie_processes,
    reason = "the node is returned to the caller, which kills and waits for it"
)]
fn node(url: &str, dir: &std::path::Path, name: &str) -> (Child, String) {
    let out = dir.join(format!("{name}.out"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_billops"))
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "16"])
        .env("DATABASE_URL", url)
        .env("BILLOPS_LOG", "error")
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).expect("log"))
        .spawn()
        .expect("billops serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(address) = text
            .lines()
            .find_map(|l| l.strip_prefix("billops listening on http://"))
        {
            return (child, address.to_owned());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node {name} did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the clients saw, by kind of call.
#[derive(Default)]
struct Seen {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    answers: BTreeMap<String, u64>,
    unexpected: Vec<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let Ok(admin_url) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
        eprintln!("BILLOPS_TEST_POSTGRES_URL is not set: this benchmark needs PostgreSQL");
        std::process::exit(2);
    };
    let n: usize = env_or("BENCH_LOAD_OPS", 50_000);
    let clients: usize = env_or("BENCH_LOAD_CLIENTS", 200);
    let name = format!("billops_bench_load_{}", std::process::id());
    psql(
        &admin_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    assert!(
        psql(&admin_url, &format!("CREATE DATABASE {name}")),
        "create {name}"
    );
    let url = format!("{}/{name}", admin_url.rsplit_once('/').expect("db url").0);
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Fixtures> = app::store::fixtures::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let admin = Actor::command_line();
    services
        .add_user(&admin, "bench", "long-password", Level::Admin, None)
        .await
        .expect("user");
    let mut module = ModuleInput::new("True", ModuleKind::Exec, "/usr/bin/true");
    module.max_running = 32;
    module.max_tries = 100;
    let module = services.add_module(&admin, &module).await.expect("module");
    let now = services.now();
    let mut client_ids = Vec::new();
    for c in 0..(n / 50).max(1) {
        client_ids.push(
            services
                .add_client(&admin, &format!("Client {c}"), None)
                .await
                .expect("client"),
        );
    }
    let items: Vec<NewItem> = (0..n)
        .map(|i| NewItem {
            client_id: client_ids[i % client_ids.len()],
            module_id: module,
            itemtype: "vds".into(),
            name: format!("vm{i}.example"),
            status: ItemStatus::Ordered,
            created: now,
        })
        .collect();
    store.bulk_insert_items(&items).await.expect("items");
    let mut item_ids = Vec::new();
    for client in &client_ids {
        for item in store.list_items(Some(*client)).await.expect("items") {
            item_ids.push((item.id, item.client_id));
        }
    }
    let ops: Vec<_> = item_ids
        .iter()
        .map(|&(item_id, client_id)| {
            (
                OperationFields {
                    intname: Intname::Open,
                    item_id,
                    client_id,
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
    println!("queued {n} operations; 2 nodes (16 workers each), {clients} API clients");

    let (mut a, address_a) = node(&url, dir.path(), "a");
    let (mut b, address_b) = node(&url, dir.path(), "b");
    let addresses = [address_a, address_b];
    let started = Instant::now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let http: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build_http();
    // One session for every client, as a script's workers share one (a password per call
    // would be a password check, deliberately slow, per call).
    let login = format!(
        "http://{}/billmgr?func=auth&username=bench&password=long-password&out=JSONdata",
        addresses[0]
    );
    let response = http.get(login.parse().expect("uri")).await.expect("login");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let auth = format!(
        "auth={}",
        json["auth"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {json}"))
    );
    let mut tasks = Vec::new();
    for c in 0..clients {
        let http = http.clone();
        let seen = seen.clone();
        let draining = draining.clone();
        let address = addresses[c % 2].clone();
        let n = n as u64;
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut i: u64 = c as u64;
            while draining.load(std::sync::atomic::Ordering::Relaxed) {
                i = i
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let id = 1 + (i >> 33) % n;
                let (kind, query): (&'static str, String) = match (i >> 20) % 10 {
                    0..=3 => (
                        "list",
                        format!("func=runningoperation&p_cnt=50&p_num={}", 1 + (i >> 40) % 5),
                    ),
                    4 => (
                        "filter",
                        "func=runningoperation&filter=on&status=error&p_cnt=50".to_owned(),
                    ),
                    5 | 6 => ("view", format!("func=runningoperation.edit&elid={id}")),
                    7 => (
                        "edit",
                        format!("func=runningoperation.edit&sok=ok&elid={id}&comment=load"),
                    ),
                    8 => ("start", format!("func=runningoperation.start&elid={id}")),
                    _ => ("stop", format!("func=runningoperation.stop&elid={id}")),
                };
                let uri = format!("http://{address}/billmgr?{query}&{auth}&out=JSONdata");
                let begun = Instant::now();
                let answer = match http.get(uri.parse().expect("uri")).await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.into_body().collect().await.map(|b| b.to_bytes());
                        Ok((status, body.unwrap_or_default()))
                    }
                    Err(e) => Err(e.to_string()),
                };
                let took = begun.elapsed();
                let mut seen = seen.lock().expect("seen");
                seen.latencies.entry(kind).or_default().push(took);
                let verdict = match &answer {
                    Err(e) => format!("transport error: {e}"),
                    Ok((status, _)) if !status.is_success() => format!("HTTP {status}"),
                    Ok((_, body)) => {
                        let json: serde_json::Value =
                            serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
                        match json.get("error") {
                            None => "ok".into(),
                            Some(error) => {
                                format!("error {}", error["type"].as_str().unwrap_or("?"))
                            }
                        }
                    }
                };
                // Expected refusals: a change to an operation that finished meanwhile
                // (missed), a start of one running or a delete of one running (exists), a
                // second change racing (exists).
                let expected =
                    verdict == "ok" || verdict == "error missed" || verdict == "error exists";
                if !expected {
                    seen.unexpected.push(format!("{kind}: {verdict}"));
                }
                *seen
                    .answers
                    .entry(format!("{kind}: {verdict}"))
                    .or_default() += 1;
            }
        }));
    }
    // The engine drains while the clients call; stopped operations stay (needing attention).
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, current) = store
            .page_operations(&ListQuery::default(), 1_000_000)
            .await
            .unwrap_or_default();
        let manual = store
            .page_operations(
                &ListQuery {
                    filter: app::types::OperationFilter {
                        status: Some(app::types::Status::Manual),
                        ..Default::default()
                    },
                    ..ListQuery::default()
                },
                1_000_000,
            )
            .await
            .map(|(_, total)| total)
            .unwrap_or_default();
        if current <= manual || (current == last && started.elapsed() > Duration::from_secs(1800)) {
            break;
        }
        last = current;
    }
    let drained_in = started.elapsed();
    draining.store(false, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    for child in [&mut a, &mut b] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let seen = std::mem::take(&mut *seen.lock().expect("seen"));
    println!("\nlatency of the API calls under load (ms):");
    println!("{:<8} {:>9} {:>9} {:>9}", "call", "count", "p50", "p99");
    let mut total = 0;
    for (kind, latencies) in &seen.latencies {
        let mut sorted = latencies.clone();
        sorted.sort();
        total += sorted.len();
        println!(
            "{kind:<8} {:>9} {:>9.2} {:>9.2}",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99)
        );
    }
    println!("\nanswers:");
    for (answer, count) in &seen.answers {
        println!("  {answer:<40} {count}");
    }
    let done = store.count_all_operations().await.expect("count");
    let mut lost = 0;
    let mut twice = 0;
    for id in 1..=done as i64 {
        let op = store.get_operation(id).await.expect("op").expect("exists");
        let ok = store
            .list_attempts(id)
            .await
            .expect("attempts")
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Ok)
            .count();
        match (op.state, ok) {
            (OperationState::Done, 1) => {}
            (OperationState::Done, _) => twice += 1,
            (_, 0) if op.fields.manual => {}
            _ => lost += 1,
        }
    }
    println!(
        "\n{n} operations drained in {:.1} s under {total} API calls: {:.0} operations/s; \
         {} unexpected answers; {lost} lost; {twice} recorded as done twice",
        drained_in.as_secs_f64(),
        n as f64 / drained_in.as_secs_f64(),
        seen.unexpected.len()
    );
    psql(&admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"));
    assert!(
        seen.unexpected.is_empty(),
        "unexpected: {:?}",
        &seen.unexpected[..seen.unexpected.len().min(20)]
    );
    assert_eq!((lost, twice), (0, 0));
}
