//! The fault matrix: nothing is lost and nothing succeeds twice when nodes and the database fail.
//! `billops serve` processes drain a queue of operations whose module records each execution
//! (start, end, SIGTERM), and faults strike one after another, each after a share of the queue
//! has drained:
//! - on SQLite (one node): the node is killed (SIGKILL) and started again; and, in a run of its
//!   own on a tmpfs of 32 MiB, the disk fills up twice for longer than a lease (as root);
//! - on PostgreSQL (two nodes): a node is killed and started again; the other is frozen
//!   (SIGSTOP) for longer than its lease, then thawed; every database session is terminated
//!   (`pg_terminate_backend`); and, when `BILLOPS_TEST_POSTGRES_RESTART` names the command
//!   (`scripts/test` sets it for the cluster it starts), PostgreSQL is restarted.
//!
//! Afterwards: the current list is empty; every operation has exactly one successful attempt; a
//! module ran to success twice only where the first run ended while its node was frozen (the
//! engine fences its node's writes, not a module's own side effects); executions of one service
//! never overlapped; every node still runs and answers HTTP. The number of operations is
//! `BILLOPS_KILL_TEST_OPS` (default 1,000; never fewer than 200).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::store::fixtures::Fixtures;
use app::store::{NewItem, OperationFields, Store};
use app::types::OperationState;
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

/// A running `billops serve` node and where it said it listens.
struct Node {
    child: Child,
    out: std::path::PathBuf,
}

impl Node {
    /// The address the node printed (`billops listening on http://ADDR`), once it has.
    async fn address(&self) -> String {
        let mut found = String::new();
        wait_until("the node to listen", Duration::from_secs(60), async || {
            found = std::fs::read_to_string(&self.out)
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("billops listening on http://"))
                .unwrap_or_default()
                .to_owned();
            !found.is_empty()
        })
        .await;
        found
    }

    /// True when the node answers a page over HTTP (its login form).
    async fn answers(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.address().await;
        let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
            return false;
        };
        let request =
            format!("GET /login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
        read.await.is_ok() && answer.starts_with(b"HTTP/1.1 200")
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, signal).expect("signal the node");
    }
}

/// A `billops serve` node on `url`, its log and output in `dir`.
fn node(url: &str, dir: &Path, name: &str) -> Node {
    node_with(url, dir, name, &[])
}

/// A node with more command-line arguments.
fn node_with(url: &str, dir: &Path, name: &str, extra: &[&str]) -> Node {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("node log");
    let out = dir.join(format!("{name}.out"));
    let stdout = std::fs::File::create(&out).expect("node output");
    let child = Command::new(env!("CARGO_BIN_EXE_billops"))
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
        .args(extra)
        .env("DATABASE_URL", url)
        .env("BILLOPS_LOG", "warn")
        .stdout(stdout)
        .stderr(log)
        .spawn()
        .expect("start billops serve");
    Node { child, out }
}

/// What strikes the nodes while they drain the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fault {
    /// The first node is killed (SIGKILL) and started again.
    Kill,
    /// The last node is stopped (SIGSTOP) for longer than its lease, then continued.
    Freeze,
    /// Every session of the database is terminated (PostgreSQL), as a pooler restart does.
    DropSessions { admin_url: String, database: String },
    /// PostgreSQL restarts (a minor upgrade) by this shell command.
    RestartDatabase(String),
    /// The file system holding the (SQLite) database fills up for a while, then has room again.
    DiskFull(std::path::PathBuf),
}

/// How long a file-system fault lasts: longer than a lease (2 s), so that the node also
/// cannot renew and stops its modules.
const FS_FAULT: Duration = Duration::from_secs(4);

/// A tmpfs of `mib` MiB mounted at `at` for the life of this value (root only).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u32) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed",
            at.display()
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs `sql` with psql as the admin.
fn psql(admin_url: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(admin_url)
        .args(["-qtAc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers a recording module and `n` due operations, one per service; returns the log path.
async fn queue(store: &Arc<dyn Fixtures>, dir: &Path, n: usize) -> std::path::PathBuf {
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

/// How many operations are current; while the database is away (a restart), as many as can be.
async fn current(store: &dyn Store) -> u64 {
    store
        .page_operations(&ListQuery::default(), 100_000)
        .await
        .map_or(u64::MAX, |(_, total)| total)
}

async fn wait_until(what: &str, limit: Duration, check: impl AsyncFnMut() -> bool) {
    assert!(waited(limit, check).await, "timed out waiting for: {what}");
}

/// True once `check` holds; false when `limit` passed first.
async fn waited(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !check().await {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// The last lines of every node's log in `dir`, to say why a run did not end.
fn node_logs(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {}\n", path.display()));
            for line in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
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

/// Runs the drain on `url` with `nodes` nodes through `faults`, one after another.
async fn drain_through(url: &str, dir: &Path, nodes: usize, faults: &[Fault]) {
    let n = operations_wanted();
    let store = app::store::fixtures::connect(url).await.expect("open");
    store.migrate().await.expect("migrate");
    let record = queue(&store, dir, n).await;
    let mut children: Vec<Node> = (0..nodes)
        .map(|i| node(url, dir, &format!("node{i}")))
        .collect();
    let mut killed_at = 0;
    // When each fault struck and ended, by kind.
    let mut windows: Vec<(&'static str, u128, u128)> = Vec::new();
    let share = n / (faults.len() + 2);
    for (i, fault) in faults.iter().enumerate() {
        let left = (n - share * (i + 1)) as u64;
        let ready = waited(Duration::from_secs(300), async || {
            current(&*store).await <= left
        })
        .await;
        assert!(
            ready,
            "timed out waiting for {left} operations left before {fault:?}\n{}",
            node_logs(dir)
        );
        eprintln!(
            "fault: {fault:?} with {} operations left",
            current(&*store).await
        );
        let from = now_ns();
        let kind = match fault {
            Fault::Kill => {
                children[0].child.kill().expect("SIGKILL node 0");
                killed_at = now_ns();
                children[0].child.wait().expect("reap node 0");
                children[0] = node(url, dir, &format!("node0-after-fault{i}"));
                "kill"
            }
            Fault::Freeze => {
                let last = children.last().expect("a node");
                last.signal(rustix::process::Signal::STOP);
                // Three leases (2 s each): another node rescues what it held.
                tokio::time::sleep(Duration::from_secs(6)).await;
                last.signal(rustix::process::Signal::CONT);
                "freeze"
            }
            Fault::DropSessions {
                admin_url,
                database,
            } => {
                // The nodes' sessions: an autovacuum worker busy in the same database is the
                // superuser's, and not ours to end (the test's role may not).
                psql(
                    admin_url,
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{database}' AND pid <> pg_backend_pid() \
                         AND backend_type = 'client backend'"
                    ),
                );
                "sessions dropped"
            }
            Fault::DiskFull(at) => {
                use std::io::Write;
                let filler = at.join("filler");
                let mut file = std::fs::File::create(&filler).expect("filler");
                let chunk = vec![0u8; 64 * 1024];
                while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
                drop(file);
                tokio::time::sleep(FS_FAULT).await;
                std::fs::remove_file(&filler).expect("room again");
                "disk full"
            }
            Fault::RestartDatabase(command) => {
                let status = Command::new("sh")
                    .args(["-c", command])
                    .status()
                    .expect("restart the database");
                assert!(status.success(), "{command} failed");
                "database restart"
            }
        };
        windows.push((kind, from, now_ns()));
        // A lease and a half to recover before the next fault, so that each is seen alone.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let drained = waited(Duration::from_secs(300), async || {
        current(&*store).await == 0
    })
    .await;
    assert!(
        drained,
        "the queue did not drain: {} left\n{}",
        current(&*store).await,
        node_logs(dir)
    );
    for (i, node) in children.iter_mut().enumerate() {
        assert!(
            node.child.try_wait().expect("node state").is_none(),
            "node {i} exited: a node never exits because its database went away"
        );
        assert!(node.answers().await, "node {i} no longer answers HTTP");
    }
    for node in &mut children {
        let _ = node.child.kill();
        let _ = node.child.wait();
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
        interrupted >= 1 || !faults.contains(&Fault::Kill),
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
    // A module ran to success twice only where its first run ended while its node could not
    // write the finish: frozen, or killed just after the run ended (the engine fences its
    // node's writes, not a module's own side effects).
    let mut finished: HashMap<i64, Vec<(u128, u128)>> = HashMap::new();
    for run in runs.values().filter(|r| !r.stopped) {
        if let Some(end) = run.end {
            finished
                .entry(run.operation)
                .or_default()
                .push((run.start, end));
        }
    }
    // A finish is written in a batch a moment after the run: a run that ended shortly before
    // the fault may not have been written yet either.
    let before = 1_000_000_000;
    let node_fault = |(start, end): (u128, u128)| {
        windows.iter().any(|(kind, from, to)| match *kind {
            // Killed after the run ended, before its finish was written.
            "kill" => end + before >= *from && end <= *to,
            // Running while its node was frozen, or started by it just as it thawed (from a
            // claim made before): the node could write nothing until thawed, by when another
            // node had taken the operation over.
            "freeze" => end + before >= *from && start <= *to + before,
            _ => false,
        })
    };
    let mut twice = 0;
    for (operation, mut ends) in finished {
        ends.sort();
        if ends.len() > 1 {
            twice += 1;
            let relative: Vec<String> = ends
                .iter()
                .map(|(_, end)| {
                    let near: Vec<String> = windows
                        .iter()
                        .map(|(kind, from, _)| {
                            format!(
                                "{:+} ms from the {kind}",
                                (*end as i128 - *from as i128) / 1_000_000
                            )
                        })
                        .collect();
                    near.join(", ")
                })
                .collect();
            assert!(
                ends[..ends.len() - 1].iter().all(|run| node_fault(*run)),
                "operation {operation}: finished {} times, not because a node was frozen or \
                 killed: {relative:?}",
                ends.len()
            );
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
        "{n} operations, {nodes} node(s), faults {faults:?}: {interrupted} runs interrupted, \
         {unfinished} module executions killed with their node, {stopped} stopped for a lost \
         lease, {twice} run to success twice (a first run's finish lost with a frozen or killed \
         node), none lost, none recorded as done twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_node_loses_nothing_and_records_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kill.db").display());
    drain_through(&url, dir.path(), 1, &[Fault::Kill]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_node_rides_out_a_full_disk() {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root: the file-system faults need a tmpfs of their own"
        );
        eprintln!("not run: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("fs");
    let _mount = Tmpfs::mount(&at, 32);
    let url = format!("sqlite://{}", at.join("faults.db").display());
    let faults = [Fault::DiskFull(at.clone()), Fault::DiskFull(at.clone())];
    drain_through(&url, dir.path(), 1, &faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_survive_a_kill_a_freeze_dropped_sessions_and_a_restart() {
    let Ok(admin_url) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err() && std::env::var("BILLOPS_SKIP_POSTGRES").is_ok(),
            "BILLOPS_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    let name = format!("billops_kill_{}", std::process::id());
    psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"));
    psql(&admin_url, &format!("CREATE DATABASE {name}"));
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("the PostgreSQL URL names no database"),
    };
    let mut faults = vec![
        Fault::Kill,
        Fault::Freeze,
        Fault::DropSessions {
            admin_url: admin_url.clone(),
            database: name.clone(),
        },
    ];
    match std::env::var("BILLOPS_TEST_POSTGRES_RESTART") {
        Ok(command) if !command.trim().is_empty() => faults.push(Fault::RestartDatabase(command)),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI starts its own PostgreSQL: BILLOPS_TEST_POSTGRES_RESTART must say how to restart it"
            );
            eprintln!("not restarting PostgreSQL: BILLOPS_TEST_POSTGRES_RESTART is not set");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    drain_through(&url, dir.path(), 2, &faults).await;
    // The server may still be coming back from the restart.
    wait_until(
        "PostgreSQL to answer",
        Duration::from_secs(60),
        async || {
            Command::new("psql")
                .arg(&admin_url)
                .args(["-qtAc", "select 1"])
                .output()
                .is_ok_and(|o| o.status.success())
        },
    )
    .await;
    psql(&admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"));
}

/// Writes an executable script.
fn script(path: &Path, body: &str) -> String {
    std::fs::write(path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_told_to_stop_finishes_what_it_can_and_returns_the_rest_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("stop.db").display());
    let store = app::store::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let admin = Actor::command_line();
    let client = services.add_client(&admin, "Client", None).await.unwrap();
    let mut ops = Vec::new();
    for (name, seconds) in [("quick", 1), ("slow", 120)] {
        let program = script(
            &dir.path().join(format!("{name}.sh")),
            &format!("sleep {seconds}"),
        );
        let module = services
            .add_module(&admin, &ModuleInput::new(name, ModuleKind::Exec, &program))
            .await
            .unwrap();
        let item = services
            .add_item(
                &admin,
                client,
                module,
                "vds",
                &format!("{name}.example"),
                ItemStatus::Ordered,
            )
            .await
            .unwrap();
        let input = app::types::OperationInput {
            intname: Some("open".into()),
            item: Some(item.to_string()),
            ..Default::default()
        };
        ops.push(services.create_operation(&admin, &input).await.unwrap());
    }
    let mut node = node_with(&url, dir.path(), "stopping", &["--shutdown-secs", "4"]);
    wait_until("both modules to run", Duration::from_secs(60), async || {
        let mut running = 0;
        for op in &ops {
            let attempts = store.list_attempts(*op).await.unwrap_or_default();
            running += attempts
                .iter()
                .filter(|a| a.outcome == AttemptOutcome::Running)
                .count();
        }
        running == 2
    })
    .await;
    let asked = Instant::now();
    node.signal(rustix::process::Signal::TERM);
    let status = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "the node did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a node told to stop exits 0: {status}");
    let quick = store.get_operation(ops[0]).await.unwrap().unwrap();
    assert_eq!(
        quick.state,
        OperationState::Done,
        "the quick run finished within the grace"
    );
    let slow = store.get_operation(ops[1]).await.unwrap().unwrap();
    assert_eq!(
        slow.state,
        OperationState::Error,
        "the slow run was returned"
    );
    assert!(!slow.fields.manual);
    assert!(
        slow.next_run_at.0 <= services.now().0,
        "due again at once, not after a lease"
    );
    let attempts = store.list_attempts(ops[1]).await.unwrap();
    assert_eq!(attempts[0].outcome, AttemptOutcome::Interrupted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_before_its_database_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("not-yet");
    let url = format!("sqlite://{}", later.join("late.db").display());
    let mut node = node(&url, dir.path(), "early");
    let log = dir.path().join("early.log");
    wait_until(
        "the node to say it waits",
        Duration::from_secs(30),
        async || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("the database cannot be reached yet")
        },
    )
    .await;
    assert!(
        node.child.try_wait().unwrap().is_none(),
        "still running, waiting"
    );
    std::fs::create_dir(&later).unwrap();
    let address = node.address().await;
    assert!(!address.is_empty());
    assert!(node.answers().await);
    let _ = node.child.kill();
    let _ = node.child.wait();
}
