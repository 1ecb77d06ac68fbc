//! The PostgreSQL backend: any number of server nodes share one database.

use std::time::Duration;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

/// The longest any one statement may run, in milliseconds.
pub const STATEMENT_TIMEOUT_MS: u64 = 5_000;

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: Pool<Postgres>,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names. Every statement is cut at
    /// [`STATEMENT_TIMEOUT_MS`], so that no list query can hold a connection for long, and the
    /// planner is told that index reads are cheap.
    pub async fn connect(url: &str) -> sqlx::Result<PgStore> {
        // random_page_cost 1.1 (SSD storage): at PostgreSQL's default of 4 the planner prefers
        // sorting thousands of rows to walking an index in order for one page.
        let options = PgConnectOptions::from_str(url)?.options([
            ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
            ("random_page_cost", "1.1".to_owned()),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(PgStore { pool })
    }
}

super::sql::impl_store!(
    PgStore,
    Postgres,
    sqlx::postgres::PgRow,
    "postgres",
    // Nodes starting together: the first migrates, the others wait here and find it done.
    Some("SELECT pg_advisory_xact_lock(727001)"),
    super::migrate::POSTGRES,
    // Autovacuum analyses too, but only after enough churn; this keeps plans right after bulk
    // changes. It samples, so it stays cheap on large tables.
    "ANALYZE operation, item",
    "ILIKE"
);
