//! The schema migrations of each backend, embedded in the binary. Forward-only: a migration
//! once released is never edited; a change is a new file in `migrations/<backend>/`.

/// One migration: its version (the file's number), name and SQL.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite migrations, oldest first.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "login_key",
        sql: include_str!("../../../migrations/sqlite/0002_login_key.sql"),
    },
    Migration {
        version: 3,
        name: "error_message",
        sql: include_str!("../../../migrations/sqlite/0003_error_message.sql"),
    },
    Migration {
        version: 4,
        name: "engine",
        sql: include_str!("../../../migrations/sqlite/0004_engine.sql"),
    },
    Migration {
        version: 5,
        name: "session_limits",
        sql: include_str!("../../../migrations/sqlite/0005_session_limits.sql"),
    },
    Migration {
        version: 6,
        name: "operation_count",
        sql: include_str!("../../../migrations/sqlite/0006_operation_count.sql"),
    },
    Migration {
        version: 7,
        name: "alert",
        sql: include_str!("../../../migrations/sqlite/0007_alert.sql"),
    },
    Migration {
        version: 8,
        name: "rollup",
        sql: include_str!("../../../migrations/sqlite/0008_rollup.sql"),
    },
    Migration {
        version: 9,
        name: "circuit",
        sql: include_str!("../../../migrations/sqlite/0009_circuit.sql"),
    },
    Migration {
        version: 10,
        name: "journal_page",
        sql: include_str!("../../../migrations/sqlite/0010_journal_page.sql"),
    },
    Migration {
        version: 11,
        name: "failure_group",
        sql: include_str!("../../../migrations/sqlite/0011_failure_group.sql"),
    },
    Migration {
        version: 12,
        name: "bulk_job",
        sql: include_str!("../../../migrations/sqlite/0012_bulk_job.sql"),
    },
    Migration {
        version: 13,
        name: "sort_indexes",
        sql: include_str!("../../../migrations/sqlite/0013_sort_indexes.sql"),
    },
    // 14 is PostgreSQL's alone (its attempt writes).
    Migration {
        version: 15,
        name: "attempt_once",
        sql: include_str!("../../../migrations/sqlite/0015_attempt_once.sql"),
    },
];

/// PostgreSQL migrations, oldest first.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "login_key",
        sql: include_str!("../../../migrations/postgres/0002_login_key.sql"),
    },
    Migration {
        version: 3,
        name: "error_message",
        sql: include_str!("../../../migrations/postgres/0003_error_message.sql"),
    },
    Migration {
        version: 4,
        name: "engine",
        sql: include_str!("../../../migrations/postgres/0004_engine.sql"),
    },
    Migration {
        version: 5,
        name: "session_limits",
        sql: include_str!("../../../migrations/postgres/0005_session_limits.sql"),
    },
    Migration {
        version: 6,
        name: "operation_count",
        sql: include_str!("../../../migrations/postgres/0006_operation_count.sql"),
    },
    Migration {
        version: 7,
        name: "alert",
        sql: include_str!("../../../migrations/postgres/0007_alert.sql"),
    },
    Migration {
        version: 8,
        name: "rollup",
        sql: include_str!("../../../migrations/postgres/0008_rollup.sql"),
    },
    Migration {
        version: 9,
        name: "circuit",
        sql: include_str!("../../../migrations/postgres/0009_circuit.sql"),
    },
    Migration {
        version: 10,
        name: "journal_page",
        sql: include_str!("../../../migrations/postgres/0010_journal_page.sql"),
    },
    Migration {
        version: 11,
        name: "failure_group",
        sql: include_str!("../../../migrations/postgres/0011_failure_group.sql"),
    },
    Migration {
        version: 12,
        name: "bulk_job",
        sql: include_str!("../../../migrations/postgres/0012_bulk_job.sql"),
    },
    Migration {
        version: 13,
        name: "sort_indexes",
        sql: include_str!("../../../migrations/postgres/0013_sort_indexes.sql"),
    },
    Migration {
        version: 14,
        name: "attempt_writes",
        sql: include_str!("../../../migrations/postgres/0014_attempt_writes.sql"),
    },
    Migration {
        version: 15,
        name: "attempt_once",
        sql: include_str!("../../../migrations/postgres/0015_attempt_once.sql"),
    },
    Migration {
        version: 16,
        name: "item_fillfactor",
        sql: include_str!("../../../migrations/postgres/0016_item_fillfactor.sql"),
    },
    Migration {
        version: 17,
        name: "running_apart",
        sql: include_str!("../../../migrations/postgres/0017_running_apart.sql"),
    },
];

/// Wall-clock now in epoch milliseconds (for `applied_at` only; the service has its own clock).
pub(crate) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
