//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database created on the server
//! that `BILLOPS_TEST_POSTGRES_URL` names (scripts/test starts a local one) and dropped after.
//! Without that variable the PostgreSQL half fails, unless `BILLOPS_SKIP_POSTGRES=1` is set
//! outside CI; in CI (`CI=true`) it always fails, never skips.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use app::service::{Actor, ManualClock, Services};
use app::store::fixtures::{self, Fixtures};
use app::store::Store;
use app::types::{Lang, Level, Timestamp};
use sqlx::Connection;

/// 2025-01-10 12:00:00 UTC: where every test clock starts.
pub const T0: Timestamp = Timestamp(1_736_510_400_000);

/// A migrated, empty store and what must be cleaned up after it.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    /// The same store, with its bulk inserts.
    pub fixtures: Arc<dyn Fixtures>,
    pub clock: Arc<ManualClock>,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    /// The service layer over this store, with a hand-moved clock standing at [`T0`].
    pub fn services(&self) -> Services {
        Services::new(self.store.clone(), self.clock.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            // Drop runs outside async: use a runtime of our own on a thread of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

fn new_db(
    fixtures: Arc<dyn Fixtures>,
    dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
) -> TestDb {
    TestDb {
        store: fixtures.clone(),
        fixtures,
        clock: Arc::new(ManualClock::new(T0)),
        _dir: dir,
        pg_drop,
    }
}

/// A fresh SQLite database in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = fixtures::connect(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    new_db(store, Some(dir), None)
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// A fresh PostgreSQL database, or `None` when skipping was asked for outside CI.
pub async fn postgres() -> Option<TestDb> {
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    let Ok(admin_url) = std::env::var("BILLOPS_TEST_POSTGRES_URL") else {
        if !in_ci && std::env::var("BILLOPS_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: PostgreSQL half (BILLOPS_SKIP_POSTGRES=1)");
            return None;
        }
        panic!(
            "BILLOPS_TEST_POSTGRES_URL is not set: run scripts/test (it starts a local PostgreSQL), \
             or point it at a server where this user may create databases"
        );
    };
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "billops_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_subsec_micros()
    );
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to BILLOPS_TEST_POSTGRES_URL: {e}"));
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let store = fixtures::connect(&with_database(&admin_url, &name))
        .await
        .expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    Some(new_db(store, None, Some((admin_url, name))))
}

/// Runs each named async test function (taking a `&TestDb`) on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::support::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// The command-line admin: full rights, no user id, no session.
pub fn admin() -> Actor {
    Actor::command_line()
}

/// An actor of another level (no session).
pub fn actor_with(level: Level, client_id: Option<i64>) -> Actor {
    Actor {
        user_id: None,
        user_name: format!("{}-tester", level.raw()),
        level,
        client_id,
        session_hash: None,
        parent_hash: None,
        lang: Lang::En,
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
