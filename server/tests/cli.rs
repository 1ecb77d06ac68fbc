//! The `billops` command line, run as a real process on a fresh SQLite file (and once on
//! PostgreSQL): each `add` prints the new id alone on its last line; errors go to stderr with a
//! non-zero status and say what was wrong.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

struct Db {
    _dir: tempfile::TempDir,
    url: String,
}

fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    Db { _dir: dir, url }
}

fn billops(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_billops"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("BILLOPS_LOG", "error")
        // The repository's modules directory, as `scripts/run` has it (the tests run in server/).
        .env("BILLOPS_MODULES_DIR", "../modules")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run billops")
}

/// Runs a command that must succeed and returns the last line of its output.
fn last_line(db: &str, args: &[&str]) -> String {
    let out = billops(db, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_owned()
}

fn fails_saying(db: &str, args: &[&str], needle: &str) {
    let out = billops(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(
        out.stdout.is_empty(),
        "{args:?} printed to stdout on failure"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: stderr {stderr:?} lacks {needle:?}"
    );
}

/// Registers a module, a client and a service; returns their ids.
fn register(db: &str) -> (i64, i64, i64) {
    let module: i64 = last_line(
        db,
        &[
            "module",
            "add",
            "VM",
            "--kind",
            "exec",
            "--program",
            "/bin/true",
            "--outside-modules-dir",
            "--panel-url",
            "https://vm.example",
        ],
    )
    .parse()
    .expect("module id");
    let client: i64 = last_line(
        db,
        &[
            "client",
            "add",
            "Northwind",
            "--email",
            "ops@northwind.example",
        ],
    )
    .parse()
    .expect("client id");
    let service: i64 = last_line(
        db,
        &[
            "service",
            "add",
            "--client",
            &client.to_string(),
            "--module",
            &module.to_string(),
            "--itemtype",
            "vds",
            "--name",
            "vm1.example",
        ],
    )
    .parse()
    .expect("service id");
    (module, client, service)
}

#[test]
fn each_add_prints_the_new_id_alone_on_its_last_line() {
    let db = sqlite();
    let (module, client, service) = register(&db.url);
    assert_eq!((module, client, service), (1, 1, 1));
    let second: i64 = last_line(&db.url, &["client", "add", "Acme"])
        .parse()
        .expect("id");
    assert_eq!(second, 2);
    let user: i64 = last_line(
        &db.url,
        &[
            "user",
            "add",
            "anna",
            "--password",
            "long-password",
            "--level",
            "user",
            "--client",
            "1",
        ],
    )
    .parse()
    .expect("user id");
    assert_eq!(user, 1);
}

#[test]
fn an_http_module_secret_is_never_listed() {
    let db = sqlite();
    last_line(
        &db.url,
        &[
            "module",
            "add",
            "Hook",
            "--kind",
            "http",
            "--url",
            "https://hook.example/x",
            "--secret",
            "topsecret42",
            "--max-tries",
            "3",
        ],
    );
    let out = billops(&db.url, &["module", "list"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        listing.contains("Hook\thttp\thttps://hook.example/x\t***"),
        "{listing}"
    );
    assert!(!listing.contains("topsecret42"));
}

#[test]
fn bad_input_fails_with_a_message_on_stderr() {
    let db = sqlite();
    register(&db.url);
    fails_saying(&db.url, &["client", "add", "  "], "'name' is required");
    fails_saying(
        &db.url,
        &[
            "service",
            "add",
            "--client",
            "99",
            "--module",
            "1",
            "--itemtype",
            "vds",
            "--name",
            "x",
        ],
        "'client' 99 does not exist",
    );
    fails_saying(
        &db.url,
        &[
            "module",
            "add",
            "VM",
            "--kind",
            "exec",
            "--program",
            "/bin/true",
            "--outside-modules-dir",
        ],
        "already taken",
    );
    fails_saying(
        &db.url,
        &[
            "module",
            "add",
            "Anywhere",
            "--kind",
            "exec",
            "--program",
            "/bin/true",
        ],
        "must name a program inside the modules directory",
    );
    fails_saying(
        &db.url,
        &[
            "module",
            "add",
            "Climbing",
            "--kind",
            "exec",
            "--program",
            "../modules/../scripts/run",
        ],
        "inside the modules directory",
    );
    fails_saying(&db.url, &["module", "add", "X", "--kind", "http"], "--url");
    fails_saying(
        &db.url,
        &[
            "module",
            "add",
            "Y",
            "--kind",
            "http",
            "--url",
            "ftp://nope",
        ],
        "http:// or https://",
    );
    fails_saying(
        &db.url,
        &[
            "module",
            "add",
            "Z",
            "--kind",
            "exec",
            "--program",
            "/bin/true",
            "--outside-modules-dir",
            "--max-running",
            "0",
        ],
        "1 or more",
    );
    fails_saying(
        &db.url,
        &[
            "user",
            "add",
            "bob",
            "--password",
            "short",
            "--level",
            "admin",
        ],
        "at least 8",
    );
    fails_saying(
        &db.url,
        &[
            "user",
            "add",
            "bob",
            "--password",
            "long-password",
            "--level",
            "boss",
        ],
        "invalid value 'boss'",
    );
    fails_saying("mysql://x", &["migrate"], "unsupported database URL");
}

#[test]
fn demo_loads_once_and_prints_fresh_admin_credentials() {
    let db = sqlite();
    let out = billops(&db.url, &["demo", "--program", "../modules/demo-module.sh"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "demo data loaded: 4 processing modules, 20 clients, 100 services, 200 operations"
        ),
        "{text}"
    );
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("admin password: "))
        .expect("password line")
        .to_owned();
    assert_eq!(password.len(), 16);
    let again = billops(&db.url, &["demo", "--program", "../modules/demo-module.sh"]);
    let again_text = String::from_utf8_lossy(&again.stdout);
    assert!(
        again_text.contains("demo data left as it is"),
        "{again_text}"
    );
    assert!(!again_text.contains(&password), "a new password every time");
}

/// A `billops serve` node, killed when dropped (a failing test leaves nothing running).
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `billops serve` with its engine on `db` and returns once it listens.
fn serve(db: &str, dir: &std::path::Path) -> Node {
    let out = dir.join("serve.out");
    let node = Node(
        Command::new(env!("CARGO_BIN_EXE_billops"))
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "8"])
            .env("DATABASE_URL", db)
            .env("BILLOPS_LOG", "error")
            .env("BILLOPS_MODULES_DIR", "../modules")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::fs::File::create(&out).expect("node output"))
            .spawn()
            .expect("start billops serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("billops listening on")
    {
        assert!(Instant::now() < deadline, "billops serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    node
}

/// How many operations the database at `url` holds, read through the store.
async fn operations_in(url: &str) -> u64 {
    let store = app::store::connect(url).await.expect("open the database");
    store
        .count_all_operations()
        .await
        .expect("count operations")
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_opens_with_every_operation() {
    let db = sqlite();
    last_line(&db.url, &["demo", "--program", "../modules/demo-module.sh"]);
    let node = serve(&db.url, db._dir.path());
    // A quote in the name: the path reaches SQLite as data, never as SQL text.
    let copy = db._dir.path().join("o'clock copy.db");
    let copy_name = copy.to_str().expect("utf-8 path");
    let said = last_line(&db.url, &["backup", copy_name]);
    drop(node);
    let bytes = std::fs::metadata(&copy).expect("the copy exists").len();
    assert_eq!(said, format!("backup written: {copy_name} ({bytes} bytes)"));
    let copied = operations_in(&format!("sqlite://{copy_name}")).await;
    assert_eq!(copied, 200, "the demo's operations, all of them");
    assert_eq!(copied, operations_in(&db.url).await);
}

#[test]
fn a_backup_is_private_never_overwrites_a_file_and_leaves_none_when_it_fails() {
    let db = sqlite();
    register(&db.url);
    let copy = db._dir.path().join("copy.db");
    let copy_name = copy.to_str().expect("utf-8 path");
    last_line(&db.url, &["backup", copy_name]);
    let mode = std::fs::metadata(&copy).expect("the copy").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600,
        "password hashes and module secrets: for the owner only"
    );
    let before = std::fs::read(&copy).expect("the copy");
    fails_saying(
        &db.url,
        &["backup", copy_name],
        "already exists: a backup never overwrites a file",
    );
    assert_eq!(std::fs::read(&copy).expect("the copy"), before, "unchanged");
    // Not even an empty file, which SQLite itself would write into.
    let empty = db._dir.path().join("empty.db");
    std::fs::write(&empty, "").expect("empty file");
    fails_saying(
        &db.url,
        &["backup", empty.to_str().expect("utf-8 path")],
        "already exists",
    );
    assert_eq!(std::fs::metadata(&empty).expect("still there").len(), 0);
    let nowhere = db._dir.path().join("missing-dir").join("copy.db");
    fails_saying(
        &db.url,
        &["backup", nowhere.to_str().expect("utf-8 path")],
        "cannot write",
    );
}

#[test]
fn the_same_commands_work_on_postgres() {
    let Ok(admin_url) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err() && std::env::var("BILLOPS_SKIP_POSTGRES").is_ok(),
            "BILLOPS_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    let name = format!("billops_cli_{}", std::process::id());
    let psql = |sql: &str| {
        // The URL's own database is reachable: create and drop ours through the binary's store.
        Command::new("psql")
            .arg(&admin_url)
            .args(["-qtAc", sql])
            .output()
            .expect("psql")
    };
    assert!(psql(&format!("DROP DATABASE IF EXISTS {name}"))
        .status
        .success());
    assert!(psql(&format!("CREATE DATABASE {name}")).status.success());
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("odd URL"),
    };
    let (module, client, service) = register(&url);
    assert_eq!((module, client, service), (1, 1, 1));
    fails_saying(&url, &["client", "add", ""], "'name' is required");
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    fails_saying(
        &url,
        &["backup", copy.to_str().expect("utf-8 path")],
        "back up a PostgreSQL database with pg_dump",
    );
    assert!(!copy.exists(), "no file left behind");
    assert!(psql(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .status
        .success());
}

/// `job N: ACTION STATE: DONE of TOTAL changed...` read back.
fn job_counts(line: &str) -> (i64, i64) {
    let (_, rest) = line.split_once(": ").expect("job line");
    let (_, counts) = rest.split_once(": ").expect("counts");
    let mut words = counts.split_whitespace();
    let done = words.next().and_then(|w| w.parse().ok()).expect("done");
    assert_eq!(words.next(), Some("of"), "{line}");
    let total = words.next().and_then(|w| w.parse().ok()).expect("total");
    (done, total)
}

#[test]
fn operations_runs_a_bulk_job_on_what_the_flags_match_and_prints_its_summary() {
    let db = sqlite();
    last_line(&db.url, &["demo", "--program", "../modules/demo-module.sh"]);
    // Every failed operation is stopped: each turns manual, so a second run finds none.
    let line = last_line(&db.url, &["operations", "stop", "--status", "error"]);
    assert!(line.starts_with("job 1: stop done: "), "{line}");
    let (done, total) = job_counts(&line);
    assert!(done > 0 && done == total, "{line}");
    let again = last_line(&db.url, &["operations", "stop", "--status", "error"]);
    assert_eq!(job_counts(&again), (0, 0), "{again}");
    // Those needing attention get a task each, except those that have one (named).
    let tasks = last_line(&db.url, &["operations", "taskcreate", "--status", "manual"]);
    let (created, matched) = job_counts(&tasks);
    assert!(created >= done && created < matched, "{tasks}");
    assert!(tasks.contains("had a task already"), "{tasks}");
    // A running operation is not deleted: the summary says why.
    let deleted = last_line(&db.url, &["operations", "delete", "--status", "running"]);
    assert!(deleted.contains("running"), "{deleted}");
    assert_eq!(job_counts(&deleted).0, 0, "{deleted}");
    // Bad flags are named, and nothing is queued.
    fails_saying(
        &db.url,
        &["operations", "delete", "--failure", "nothex"],
        "failure",
    );
    fails_saying(
        &db.url,
        &["operations", "start", "--status", "bogus"],
        "status",
    );
}
