//! Charts as the pages receive them: SVG drawn on the server ([`crate::service::chart`]), so
//! the browser's bundle holds no chart code, with the figures beside it as a table for readers
//! who cannot see the drawing.

use serde::{Deserialize, Serialize};

use super::{Lang, Timestamp};

/// How far back a chart looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChartWindow {
    /// The last 24 hours, by the hour.
    #[default]
    Day,
    /// The last 7 days, by the hour.
    Week,
}

impl ChartWindow {
    /// Both windows, shortest first.
    pub const ALL: [ChartWindow; 2] = [ChartWindow::Day, ChartWindow::Week];

    /// How it is written in URLs (`?window=24h`).
    pub fn raw(self) -> &'static str {
        match self {
            ChartWindow::Day => "24h",
            ChartWindow::Week => "7d",
        }
    }

    /// Reads a URL's value back.
    pub fn parse(raw: &str) -> Option<ChartWindow> {
        ChartWindow::ALL.into_iter().find(|w| w.raw() == raw)
    }

    /// How many hours it covers.
    pub fn hours(self) -> i64 {
        match self {
            ChartWindow::Day => 24,
            ChartWindow::Week => 24 * 7,
        }
    }

    /// Its name on a page.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ChartWindow::Day => lang.pick("24 часа", "24 hours"),
            ChartWindow::Week => lang.pick("7 дней", "7 days"),
        }
    }
}

/// One chart: its drawing and the same figures as a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    /// A name for tests and anchors (`attempts`, `queue`, `rate`, `module-3`).
    pub key: String,
    pub title: String,
    /// `<svg>` markup; every text in it escaped where it was drawn.
    pub svg: String,
    /// The figures: a header row, then one row per bucket or module.
    pub table: Vec<Vec<String>>,
    /// Where the chart's subject has a page of its own (a module's).
    pub href: Option<String>,
}

/// One module's attempts over a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleRate {
    pub id: i64,
    pub name: String,
    pub ok: i64,
    pub failed: i64,
    pub other: i64,
}

impl ModuleRate {
    /// Successes among attempts that succeeded or failed, in percent; `None` without any.
    pub fn percent(&self) -> Option<f64> {
        let decided = self.ok + self.failed;
        (decided > 0).then(|| self.ok as f64 * 100.0 / decided as f64)
    }
}

/// The dashboard page (`/dashboard`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub window: ChartWindow,
    /// When it was drawn (server clock).
    pub now: Timestamp,
    /// All modules' attempts, the queue over time, the success rate per module, then one
    /// chart of attempts per module.
    pub charts: Vec<Chart>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_back_from_its_raw_value() {
        for window in ChartWindow::ALL {
            assert_eq!(ChartWindow::parse(window.raw()), Some(window));
        }
        assert_eq!(ChartWindow::parse("1y"), None);
    }

    #[test]
    fn a_module_without_decided_attempts_has_no_rate() {
        let mut rate = ModuleRate {
            id: 1,
            name: "m".into(),
            ok: 0,
            failed: 0,
            other: 4,
        };
        assert_eq!(rate.percent(), None);
        rate.ok = 3;
        rate.failed = 1;
        assert_eq!(rate.percent(), Some(75.0));
    }
}
