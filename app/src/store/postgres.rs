//! The PostgreSQL backend: any number of server nodes share one database.

use std::time::Duration;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
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

    /// PostgreSQL takes concurrent writers: no gate.
    async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

    /// Tells every node listening on [`CHANNEL`].
    async fn notify_nodes(pool: &Pool<Postgres>, payload: &str) -> sqlx::Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Listens on [`CHANNEL`] on a connection of its own.
    async fn listen_nodes(
        pool: &Pool<Postgres>,
    ) -> sqlx::Result<Option<Box<dyn super::ChangeListener>>> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Box::new(Listener(listener))))
    }
}

/// The `LISTEN`/`NOTIFY` channel billops nodes talk on.
pub const CHANNEL: &str = "billops";

/// A `LISTEN` connection.
struct Listener(PgListener);

#[async_trait::async_trait]
impl super::ChangeListener for Listener {
    async fn recv(&mut self) -> sqlx::Result<String> {
        Ok(self.0.recv().await?.payload().to_owned())
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
    "ILIKE",
    None,
    // Claims from several nodes queue here, one at a time; NO KEY UPDATE does not block the
    // key-share locks that inserting operations (foreign keys) take on module rows.
    " FOR NO KEY UPDATE",
    // An operation an admin is editing is left for the next claim.
    " FOR UPDATE SKIP LOCKED"
);
