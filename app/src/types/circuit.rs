//! A processing module's circuit breaker as callers see it: its state, since when and why.
//! The rule that opens and closes it is in [`crate::service::circuit`].

use serde::{Deserialize, Serialize};

use super::{Lang, Timestamp};

/// Whether the engine runs a module's operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CircuitState {
    /// Operations run.
    #[default]
    Closed,
    /// The module fails for everyone: nothing runs until the next probe.
    Open,
    /// One operation is running as a probe; nothing else runs until it ends.
    Probing,
    /// An admin paused the module; only an admin resumes it.
    Paused,
}

impl CircuitState {
    /// Every state.
    pub const ALL: [CircuitState; 4] = [
        CircuitState::Closed,
        CircuitState::Open,
        CircuitState::Probing,
        CircuitState::Paused,
    ];

    /// The stored value (and the legacy API's `circuit`).
    pub fn raw(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::Probing => "probing",
            CircuitState::Paused => "paused",
        }
    }

    /// Reads a stored value back.
    pub fn parse(raw: &str) -> Option<CircuitState> {
        CircuitState::ALL.into_iter().find(|s| s.raw() == raw)
    }

    /// Its name on a page.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            CircuitState::Closed => lang.pick("Работает", "Running normally"),
            CircuitState::Open => lang.pick("Отключён: сбой", "Stopped: failing"),
            CircuitState::Probing => lang.pick("Проверка", "Probing"),
            CircuitState::Paused => lang.pick("Приостановлен", "Paused"),
        }
    }
}

/// One module's circuit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitView {
    pub module_id: i64,
    pub module_name: String,
    pub state: CircuitState,
    /// When it left `closed`.
    pub since: Option<Timestamp>,
    /// Why: the errors that opened it, or who paused it.
    pub reason: Option<String>,
    /// When the next probe may start (open), or a lost probe is given up (probing).
    pub retry_at: Option<Timestamp>,
    /// Failed probes in a row.
    pub probes: i64,
    /// The rule: this many different operations failing with a module-level error (0: never)...
    pub failures: i64,
    /// ...within this many seconds.
    pub window_secs: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circuit_state_reads_back_from_its_raw_value() {
        for state in CircuitState::ALL {
            assert_eq!(CircuitState::parse(state.raw()), Some(state));
        }
        assert_eq!(CircuitState::parse("half-open"), None);
    }
}
