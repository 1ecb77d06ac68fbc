//! The engine with real processing modules (programs run as processes, an HTTP endpoint on
//! loopback) on a SQLite store: restarts by schedule with a hand-moved clock, stopping a
//! module that will not stop by itself, the `http` driver's signature and secret masking.
//! Each test waits for the state it expects (polling the store, with a deadline) and never
//! sleeps in place of an assertion.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::service::{Actor, Clock, ManualClock, ModuleInput, Services, SystemClock};
use app::store::Store;
use app::types::queue::{ClaimRequest, OperationState};
use app::types::{AttemptOutcome, ItemStatus, ModuleKind, OperationInput, Timestamp};
use server::engine::{Drivers, Engine, EngineConfig};

/// 2025-01-10 12:00:00 UTC.
const T0: Timestamp = Timestamp(1_736_510_400_000);

struct World {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("engine.db").display());
    let store = app::store::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    World { dir, store }
}

/// Writes an executable shell script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A module, a client, a service of it and an `open` operation on it; returns (module, op).
async fn one_operation(services: &Services, module: ModuleInput) -> (i64, i64) {
    let admin = Actor::command_line();
    let module = services.add_module(&admin, &module).await.expect("module");
    let client = services
        .add_client(&admin, "Client", None)
        .await
        .expect("client");
    let item = services
        .add_item(
            &admin,
            client,
            module,
            "vds",
            "vm1.example",
            ItemStatus::Ordered,
        )
        .await
        .expect("item");
    let op = services
        .create_operation(
            &admin,
            &OperationInput {
                intname: Some("open".into()),
                item: Some(item.to_string()),
                ..OperationInput::default()
            },
        )
        .await
        .expect("operation");
    (module, op)
}

/// Polls `check` every 20 ms until it holds; fails after 30 s saying what was awaited.
async fn wait_for<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn fast(workers: usize) -> EngineConfig {
    EngineConfig {
        workers,
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        grace: Duration::from_secs(1),
        finish_batch: 100,
        bulk_pause: Duration::from_millis(1),
    }
}

async fn attempts(store: &dyn Store, op: i64) -> Vec<app::types::AttemptRow> {
    store.list_attempts(op).await.expect("attempts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_module_is_restarted_on_schedule_then_turns_manual_with_one_task() {
    let w = world().await;
    let clock = Arc::new(ManualClock::new(T0));
    let services = Services::new(w.store.clone(), clock.clone());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../modules/demo-module.sh");
    let failing = script(
        w.dir.path(),
        "failing.sh",
        &format!("DEMO_MODULE_FAIL=always exec {} \"$@\"", demo.display()),
    );
    let mut module = ModuleInput::new("Always down", ModuleKind::Exec, &failing.to_string_lossy());
    module.max_tries = 3;
    let (_, op) = one_operation(&services, module).await;
    let _engine = Engine::start(
        services.clone(),
        fast(2),
        Drivers::real(Duration::from_secs(1)),
    );
    let store = &*w.store;

    let mut expected_waits = vec![60_000_i64, 120_000];
    for tries in 1..=3_usize {
        wait_for(&format!("try {tries} to fail"), || async {
            // Attempts first, then the state: read the other way round, a state from before
            // the next claim could meet that claim's running attempt.
            let rows = attempts(store, op).await;
            rows.len() == tries
                && rows
                    .last()
                    .is_some_and(|a| a.outcome != AttemptOutcome::Running)
                && store.get_operation(op).await.unwrap().unwrap().state == OperationState::Error
        })
        .await;
        let record = store.get_operation(op).await.unwrap().unwrap();
        let last = attempts(store, op).await.pop().unwrap();
        assert_eq!(last.outcome, AttemptOutcome::Error);
        assert_eq!(record.fields.trycount, tries as i64);
        assert_eq!(
            record.last_error, last.error_message,
            "the list shows the last error"
        );
        assert!(
            ["client", "quota", "value"].contains(&last.error_type.as_deref().unwrap()),
            "the error document's type: {:?}",
            last.error_type
        );
        if tries < 3 {
            assert!(!record.fields.manual);
            assert_eq!(record.task_id, None);
            let wait = record.next_run_at.0 - clock.now().0;
            let base = expected_waits.remove(0);
            assert!(
                (base * 9 / 10..=base * 11 / 10).contains(&wait),
                "try {tries}: next run in {wait} ms, expected {base} ms ± 10 %"
            );
            // Not a millisecond early...
            clock.advance(wait - 1);
            let early = store
                .claim_operations(&ClaimRequest {
                    owner: "probe".into(),
                    limit: 1,
                    now: clock.now(),
                    lease_until: clock.now(),
                })
                .await
                .unwrap();
            assert!(early.is_empty(), "due only after the backoff");
            // ...and on time.
            clock.advance(1);
        } else {
            assert!(record.fields.manual, "max tries reached: manual");
            let task = store
                .get_task(record.task_id.expect("a task"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(task.operation_id, op);
            assert_eq!(task.kind, "setup");
            let with_task = attempts(store, op)
                .await
                .iter()
                .filter(|a| a.task_id.is_some())
                .count();
            assert_eq!(with_task, 1, "exactly one task");
        }
    }
    // Manual now: hours later it is still not due for an automatic run.
    clock.advance(24 * 3_600_000);
    let later = store
        .claim_operations(&ClaimRequest {
            owner: "probe".into(),
            limit: 1,
            now: clock.now(),
            lease_until: clock.now(),
        })
        .await
        .unwrap();
    assert!(
        later.is_empty(),
        "a manual operation is not restarted automatically"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_terminates_a_module_that_ignores_sigterm_and_runs_forever() {
    let w = world().await;
    let services = Services::new(w.store.clone(), Arc::new(SystemClock));
    let pidfile = w.dir.path().join("module.pid");
    let stubborn = script(
        w.dir.path(),
        "stubborn.sh",
        &format!(
            "trap '' TERM\necho $$ > {}\necho 'working, forever'\nwhile true; do sleep 0.2; done",
            pidfile.display()
        ),
    );
    let module = ModuleInput::new("Stubborn", ModuleKind::Exec, &stubborn.to_string_lossy());
    let (_, op) = one_operation(&services, module).await;
    let engine = Engine::start(
        services.clone(),
        fast(2),
        Drivers::real(Duration::from_secs(1)),
    );
    let store = &*w.store;
    wait_for("the module to start", || async {
        pidfile.exists() && std::fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n'))
    })
    .await;
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let proc = PathBuf::from(format!("/proc/{pid}"));
    assert!(proc.exists());
    assert_eq!(
        store.get_operation(op).await.unwrap().unwrap().state,
        OperationState::Running
    );

    let outcome = services
        .stop_operations(&Actor::command_line(), &[op])
        .await
        .expect("stop");
    assert!(outcome.into_first_error().is_ok());
    wait_for("the attempt to be recorded as stopped", || async {
        attempts(store, op).await.last().map(|a| a.outcome) == Some(AttemptOutcome::Stopped)
    })
    .await;
    // Killed by now; reaped a moment later on a loaded machine.
    wait_for("the module process to be gone", || async { !proc.exists() }).await;
    // The node forgets the run just after its end is written.
    wait_for("the run to leave the node", || async {
        engine.running() == 0
    })
    .await;
    let record = store.get_operation(op).await.unwrap().unwrap();
    assert_eq!(record.state, OperationState::Error);
    assert!(record.fields.manual, "a stopped operation is manual");
    let attempt = attempts(store, op).await.pop().unwrap();
    let (_, log) = store.get_attempt(attempt.id).await.unwrap().unwrap();
    assert!(log.contains("working, forever"), "{log}");
    assert!(log.contains("SIGKILL after the grace period"), "{log}");
}

/// Runs `module`'s one operation on a fresh engine until its first attempt ends as `outcome`;
/// returns the operation.
async fn first_attempt(w: &World, module: ModuleInput, outcome: AttemptOutcome) -> i64 {
    let services = Services::new(w.store.clone(), Arc::new(SystemClock));
    let (_, op) = one_operation(&services, module).await;
    let _engine = Engine::start(services, fast(2), Drivers::real(Duration::from_secs(1)));
    let store = &*w.store;
    wait_for("the first attempt to end", || async {
        attempts(store, op).await.first().map(|a| a.outcome) == Some(outcome)
    })
    .await;
    op
}

/// True while process `pid` runs (a zombie, dead but not yet reaped, does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_module_sees_only_a_path_a_locale_and_its_operation() {
    let w = world().await;
    let seen = w.dir.path().join("env.txt");
    let module = script(w.dir.path(), "env.sh", &format!("env > {}", seen.display()));
    first_attempt(
        &w,
        ModuleInput::new("Env", ModuleKind::Exec, &module.to_string_lossy()),
        AttemptOutcome::Ok,
    )
    .await;
    assert!(
        std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "the test's own environment has variables a module must not see"
    );
    let env = std::fs::read_to_string(&seen).expect("the module wrote its environment");
    let names: Vec<&str> = env
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    // bash adds PWD, SHLVL and `_` of its own.
    let allowed = [
        "PATH",
        "LANG",
        "BILLOPS_OPERATION",
        "PWD",
        "SHLVL",
        "_",
        "OLDPWD",
    ];
    let foreign: Vec<&&str> = names.iter().filter(|n| !allowed.contains(n)).collect();
    assert!(foreign.is_empty(), "the module saw {foreign:?}");
    assert!(
        names.contains(&"BILLOPS_OPERATION") && names.contains(&"PATH"),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_module_leaves_running_ends_with_its_run() {
    let w = world().await;
    let pid_file = w.dir.path().join("child.pid");
    let module = script(
        w.dir.path(),
        "leaves.sh",
        &format!(
            "sleep 300 >/dev/null 2>&1 &\necho $! > {}\nexit 0",
            pid_file.display()
        ),
    );
    first_attempt(
        &w,
        ModuleInput::new("Leaves", ModuleKind::Exec, &module.to_string_lossy()),
        AttemptOutcome::Ok,
    )
    .await;
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    wait_for("the module's background child to be gone", || async {
        !alive(pid)
    })
    .await;
}

/// What an `http` module was sent: its signature headers and the body.
#[derive(Clone, Debug, Default)]
struct Sent {
    signature: String,
    timestamp: String,
    attempt: String,
    body: String,
}

/// A module endpoint on loopback (TLS with `tls`) at `/hook` that records what it is sent and
/// answers with `answer`; returns its address.
async fn hook(
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    answer: fn() -> axum::response::Response,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<Sent>>>) {
    use axum::http::HeaderMap;
    let seen: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let recorder = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let recorder = recorder.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                recorder.lock().unwrap().push(Sent {
                    signature: header("x-billops-signature"),
                    timestamp: header("x-billops-timestamp"),
                    attempt: header("x-billops-attempt"),
                    body,
                });
                answer()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    match tls {
        None => {
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Some(config) => {
            let listener = server::tls::TlsListener::new(listener, config).unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
    }
    (address, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_module_gets_a_signed_body_and_its_secret_never_reaches_the_log() {
    use axum::response::IntoResponse;
    let (address, seen) = hook(None, || {
        (
            axum::http::StatusCode::BAD_GATEWAY,
            "panel login failed for password hunter2-secret",
        )
            .into_response()
    })
    .await;
    let w = world().await;
    let mut module = ModuleInput::new("Hook", ModuleKind::Http, &format!("http://{address}/hook"));
    module.secret = Some("hunter2-secret".into());
    let op = first_attempt(&w, module, AttemptOutcome::Error).await;
    let store = &*w.store;
    let sent = seen.lock().unwrap()[0].clone();
    let timestamp: i64 = sent.timestamp.parse().expect("a timestamp in Unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - timestamp).abs() < 60, "{timestamp} is now");
    assert_eq!(
        sent.signature,
        server::engine::http::signature(
            "hunter2-secret",
            timestamp,
            &sent.attempt,
            sent.body.as_bytes()
        ),
        "the signature covers the timestamp, the attempt and the body"
    );
    let json: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(json["operation"]["id"], op);
    assert_eq!(json["operation"]["attempt"], sent.attempt.as_str());
    assert!(
        sent.attempt.ends_with(&format!(":{op}")),
        "the attempt's token: {}",
        sent.attempt
    );
    assert_eq!(json["operation"]["intname"], "open");
    assert_eq!(json["service"]["name"], "vm1.example");
    assert!(
        !sent.body.contains("hunter2"),
        "the body does not carry the secret"
    );
    let attempt = attempts(store, op).await.remove(0);
    assert_eq!(attempt.error_type.as_deref(), Some("http"));
    let (_, log) = store.get_attempt(attempt.id).await.unwrap().unwrap();
    assert!(log.contains("502 Bad Gateway"), "{log}");
    assert!(log.contains("password ***"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_module_is_reached_with_the_systems_roots() {
    use axum::response::IntoResponse;
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let config = server::tls::server_config(&cert, &key).unwrap();
    let (address, seen) = hook(Some(config), || "done".into_response()).await;
    // The system's roots, as `SSL_CERT_FILE` names them (here: the module's own certificate).
    std::env::set_var("SSL_CERT_FILE", &cert);
    let w = world().await;
    let url = format!("https://localhost:{}/hook", address.port());
    first_attempt(
        &w,
        ModuleInput::new("TLS", ModuleKind::Http, &url),
        AttemptOutcome::Ok,
    )
    .await;
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_keeps_its_tail_and_ends_at_the_time_limit() {
    use axum::response::IntoResponse;
    let (address, _) = hook(None, || {
        let chunks = futures_util::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(&[b'x'; 65536]))
        });
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::body::Body::from_stream(chunks),
        )
            .into_response()
    })
    .await;
    let w = world().await;
    let mut module = ModuleInput::new(
        "Endless",
        ModuleKind::Http,
        &format!("http://{address}/hook"),
    );
    module.timeout_secs = 2;
    let op = first_attempt(&w, module, AttemptOutcome::Error).await;
    let store = &*w.store;
    let attempt = attempts(store, op).await.remove(0);
    assert_eq!(attempt.error_type.as_deref(), Some("timeout"));
    let (_, log) = store.get_attempt(attempt.id).await.unwrap().unwrap();
    assert!(log.contains("HTTP 500"), "the status is kept");
    assert!(log.contains("xxxxxxxx"), "and the answer's tail");
    assert!(
        log.len() < 70 * 1024,
        "but only its tail: {} bytes",
        log.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_run_finishes_the_operation_and_the_service_follows() {
    let w = world().await;
    let services = Services::new(w.store.clone(), Arc::new(SystemClock));
    let ok = script(
        w.dir.path(),
        "ok.sh",
        "echo \"args: $*\"\necho \"json: $BILLOPS_OPERATION\"",
    );
    let (_, op) = one_operation(
        &services,
        ModuleInput::new("Fine", ModuleKind::Exec, &ok.to_string_lossy()),
    )
    .await;
    let _engine = Engine::start(
        services.clone(),
        fast(2),
        Drivers::real(Duration::from_secs(1)),
    );
    let store = &*w.store;
    wait_for("the operation to be done", || async {
        store.get_operation(op).await.unwrap().unwrap().state == OperationState::Done
    })
    .await;
    let record = store.get_operation(op).await.unwrap().unwrap();
    let item = store
        .get_item(record.fields.item_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        item.status,
        ItemStatus::Active,
        "an opened service is active"
    );
    let attempt = attempts(store, op).await.remove(0);
    assert_eq!(attempt.outcome, AttemptOutcome::Ok);
    let (_, log) = store.get_attempt(attempt.id).await.unwrap().unwrap();
    assert!(
        log.contains(&format!(
            "args: --command open --item {} --runningoperation {op}",
            item.id
        )),
        "{log}"
    );
    assert!(log.contains("\"intname\":\"open\""), "{log}");
}

/// A module and `n` operations on `n` services of three clients; returns (module, ops).
async fn many_operations(services: &Services, module: ModuleInput, n: usize) -> (i64, Vec<i64>) {
    let admin = Actor::command_line();
    let module = services.add_module(&admin, &module).await.expect("module");
    let mut clients = Vec::new();
    for c in 0..3 {
        clients.push(
            services
                .add_client(&admin, &format!("Client {c}"), None)
                .await
                .expect("client"),
        );
    }
    let mut ops = Vec::new();
    for i in 0..n {
        let item = services
            .add_item(
                &admin,
                clients[i % 3],
                module,
                "vds",
                &format!("vm{i}.example"),
                ItemStatus::Ordered,
            )
            .await
            .expect("item");
        ops.push(
            services
                .create_operation(
                    &admin,
                    &OperationInput {
                        intname: Some("open".into()),
                        item: Some(item.to_string()),
                        ..OperationInput::default()
                    },
                )
                .await
                .expect("operation"),
        );
    }
    (module, ops)
}

async fn circuit_of(store: &dyn Store, module: i64) -> app::types::circuit::CircuitView {
    store
        .circuits()
        .await
        .expect("circuits")
        .into_iter()
        .find(|c| c.module_id == module)
        .expect("the module's circuit")
}

async fn all_attempts(store: &dyn Store, ops: &[i64]) -> Vec<app::types::AttemptRow> {
    let mut all = Vec::new();
    for op in ops {
        all.extend(attempts(store, *op).await);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_opens_the_circuit_which_probes_closes_and_drains_the_queue_once() {
    use app::types::circuit::CircuitState;
    let w = world().await;
    let clock = Arc::new(ManualClock::new(T0));
    let services = Services::new(w.store.clone(), clock.clone());
    let dir = w.dir.path();
    let down = dir.join("down");
    std::fs::write(&down, "").expect("the panel is down");
    // While `down` exists the panel refuses everyone; otherwise the module records which
    // operation it carried out.
    let module = script(
        dir,
        "panel.sh",
        &format!(
            "op=\"$6\"\n\
             if [ -e {down} ]; then\n\
               echo '<doc><error type=\"client\" object=\"connect\"><msg>Could not connect to the panel: connection refused</msg></error></doc>'\n\
               exit 1\n\
             fi\n\
             echo \"$op\" >> {ran}\n",
            down = down.display(),
            ran = dir.join("ran").display()
        ),
    );
    let mut input = ModuleInput::new(
        "VMmanager Frankfurt",
        ModuleKind::Exec,
        &module.to_string_lossy(),
    );
    input.max_tries = 3;
    let (module, ops) = many_operations(&services, input, 12).await;
    let _engine = Engine::start(
        services.clone(),
        fast(2),
        Drivers::real(Duration::from_secs(1)),
    );
    let store = &*w.store;

    // Five different operations fail with the same error: the circuit opens.
    wait_for("the circuit to open", || async {
        circuit_of(store, module).await.state == CircuitState::Open
    })
    .await;
    let circuit = circuit_of(store, module).await;
    assert!(
        circuit
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("the same error on 5 operations")
                && r.contains("connection refused")),
        "{circuit:?}"
    );
    assert_eq!(circuit.retry_at, Some(Timestamp(T0.0 + 10_000)));
    wait_for("the runs under way to end", || async {
        all_attempts(store, &ops)
            .await
            .iter()
            .all(|a| a.outcome != AttemptOutcome::Running)
    })
    .await;
    let tried = all_attempts(store, &ops).await.len();
    assert!(
        (5..=7).contains(&tried),
        "five, and the runs under way as it opened (two at a time): {tried}"
    );
    // While open, nothing is claimed: the other operations keep their tries.
    tokio::time::sleep(Duration::from_millis(300)).await;
    clock.advance(9_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        all_attempts(store, &ops).await.len(),
        tried,
        "no claim while open"
    );

    // After 10 s one probe runs; the panel is still down: open again, the wait doubled.
    clock.advance(1_000);
    wait_for("a failed probe", || async {
        let c = circuit_of(store, module).await;
        c.state == CircuitState::Open && c.probes == 1
    })
    .await;
    assert_eq!(
        all_attempts(store, &ops).await.len(),
        tried + 1,
        "one probe"
    );
    let circuit = circuit_of(store, module).await;
    assert_eq!(circuit.retry_at, Some(Timestamp(T0.0 + 10_000 + 20_000)));
    assert!(circuit
        .reason
        .as_deref()
        .is_some_and(|r| r.starts_with("probe #")));

    // The panel is back; the next probe succeeds and closes the circuit; the queue drains,
    // the failed operations on their own schedule.
    std::fs::remove_file(&down).expect("the panel is back");
    clock.advance(20_000);
    wait_for("the circuit to close", || async {
        circuit_of(store, module).await.state == CircuitState::Closed
    })
    .await;
    clock.advance(180_000);
    wait_for("every operation to be done", || async {
        let mut done = 0;
        for op in &ops {
            if store.get_operation(*op).await.unwrap().unwrap().state == OperationState::Done {
                done += 1;
            }
        }
        done == ops.len()
    })
    .await;
    let ran = std::fs::read_to_string(dir.join("ran")).expect("ran");
    let mut ran: Vec<i64> = ran
        .lines()
        .map(|l| l.trim().parse().expect("an id"))
        .collect();
    ran.sort_unstable();
    let mut expected = ops.clone();
    expected.sort_unstable();
    assert_eq!(ran, expected, "every operation carried out exactly once");
    for op in &ops {
        let record = store.get_operation(*op).await.unwrap().unwrap();
        assert!(!record.fields.manual, "none needed attention");
        assert!(record.task_id.is_none(), "no task piled up");
    }
    let journal: Vec<String> = store
        .list_journal("processing", module)
        .await
        .expect("journal")
        .into_iter()
        .map(|j| j.action)
        .collect();
    assert!(
        journal.contains(&"processing.circuit.open".to_string()),
        "{journal:?}"
    );
    assert!(
        journal.contains(&"processing.circuit.close".to_string()),
        "{journal:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_that_belong_to_their_operations_never_open_the_circuit() {
    use app::types::circuit::CircuitState;
    let w = world().await;
    let clock = Arc::new(ManualClock::new(T0));
    let services = Services::new(w.store.clone(), clock.clone());
    // Every operation fails with its own message (its service's name is refused).
    let module = script(
        w.dir.path(),
        "registrar.sh",
        "echo \"<doc><error type=\\\"value\\\" object=\\\"domain\\\"><msg>Domain of operation $6 is invalid</msg></error></doc>\"\nexit 1",
    );
    let mut input = ModuleInput::new("Registrar", ModuleKind::Exec, &module.to_string_lossy());
    input.max_tries = 2;
    let (module, ops) = many_operations(&services, input, 8).await;
    let _engine = Engine::start(
        services.clone(),
        fast(2),
        Drivers::real(Duration::from_secs(1)),
    );
    let store = &*w.store;
    // Both tries of all eight fail, each on its own: every operation ends needing attention,
    // and the circuit stays closed.
    wait_for("the first tries", || async {
        let rows = all_attempts(store, &ops).await;
        rows.len() == 8 && rows.iter().all(|a| a.outcome == AttemptOutcome::Error)
    })
    .await;
    clock.advance(180_000);
    wait_for("every operation to need attention", || async {
        let mut manual = 0;
        for op in &ops {
            if store
                .get_operation(*op)
                .await
                .unwrap()
                .unwrap()
                .fields
                .manual
            {
                manual += 1;
            }
        }
        manual == ops.len()
    })
    .await;
    assert_eq!(all_attempts(store, &ops).await.len(), 16);
    assert_eq!(circuit_of(store, module).await.state, CircuitState::Closed);
}
