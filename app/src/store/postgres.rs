//! The PostgreSQL backend: any number of server nodes share one database.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

/// A store in a PostgreSQL database.
pub struct PgStore {
    pool: Pool<Postgres>,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names.
    pub async fn connect(url: &str) -> sqlx::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
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
    super::migrate::POSTGRES
);
