//! The charts: the dashboard (all modules' attempts per hour, the queue by status over time,
//! each module's success rate, then each module's attempts) and a module's own chart on its
//! page. They are read from the rollups the database keeps ([`crate::store::rollups`]): one
//! row per module and hour, so a chart costs the same at 10 thousand attempts or 10 million.
//! Staff only.

pub mod svg;

use std::collections::HashMap;

use self::svg::{RateBar, Series, Ticks};
use super::{internal, Actor, Denied, Services};
use crate::store::rollups::{bucket_of, AttemptHour, HOUR_MS};
use crate::store::{ModuleRecord, StoreError};
use crate::types::chart::{Chart, ChartWindow, Dashboard, ModuleRate};
use crate::types::{AppError, Lang, Status, Timestamp};

/// Why charts could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ChartError> for AppError {
    fn from(error: ChartError) -> AppError {
        match error {
            ChartError::Denied(_) => AppError::Access,
            ChartError::Store(e) => internal(&e),
        }
    }
}

/// The most modules the dashboard draws a chart of (those with the most failures first).
const MODULE_CHARTS: usize = 24;

/// The hours a window at `now` covers, oldest first; the last is the current hour.
pub fn hours_of(window: ChartWindow, now: Timestamp) -> Vec<Timestamp> {
    let last = bucket_of(now, HOUR_MS).0;
    (0..window.hours())
        .rev()
        .map(|back| Timestamp(last - back * HOUR_MS))
        .collect()
}

fn ticks(window: ChartWindow) -> Ticks {
    match window {
        ChartWindow::Day => Ticks::EveryThreeHours,
        ChartWindow::Week => Ticks::Midnights,
    }
}

/// Attempts per hour of the modules `wanted` keeps, summed, as the three series of a chart.
fn attempt_series(
    hours: &[Timestamp],
    rows: &[AttemptHour],
    wanted: impl Fn(i64) -> bool,
    lang: Lang,
) -> Vec<Series> {
    let index: HashMap<i64, usize> = hours.iter().enumerate().map(|(i, h)| (h.0, i)).collect();
    let mut ok = vec![0; hours.len()];
    let mut failed = vec![0; hours.len()];
    let mut other = vec![0; hours.len()];
    for row in rows.iter().filter(|r| wanted(r.module_id)) {
        if let Some(&i) = index.get(&row.hour.0) {
            ok[i] += row.ok;
            failed[i] += row.failed;
            other[i] += row.other;
        }
    }
    vec![
        Series {
            class: "s-ok",
            label: lang.pick("Успешно", "Succeeded").into(),
            values: ok,
        },
        Series {
            class: "s-failed",
            label: lang.pick("Ошибка", "Failed").into(),
            values: failed,
        },
        Series {
            class: "s-other",
            label: lang.pick("Прервано", "Interrupted or stopped").into(),
            values: other,
        },
    ]
}

/// The figures of a chart by the hour: a header, then each hour with anything in it (or, given
/// `present`, each hour measured).
fn hour_table(
    hours: &[Timestamp],
    series: &[Series],
    present: Option<&[bool]>,
    lang: Lang,
) -> Vec<Vec<String>> {
    let mut header = vec![lang.pick("Час (UTC)", "Hour (UTC)").to_string()];
    header.extend(series.iter().map(|s| s.label.clone()));
    let mut table = vec![header];
    for (i, hour) in hours.iter().enumerate() {
        let shown = match present {
            Some(present) => present[i],
            None => series.iter().any(|s| s.values[i] != 0),
        };
        if !shown {
            continue;
        }
        let mut row = vec![hour.format()[..16].to_string()];
        row.extend(series.iter().map(|s| s.values[i].to_string()));
        table.push(row);
    }
    table
}

/// A chart of attempts per hour.
fn attempts_chart(
    key: String,
    title: String,
    hours: &[Timestamp],
    series: Vec<Series>,
    window: ChartWindow,
    href: Option<String>,
    lang: Lang,
) -> Chart {
    Chart {
        svg: svg::stacked_bars(&title, hours, &series, ticks(window)),
        table: hour_table(hours, &series, None, lang),
        key,
        title,
        href,
    }
}

/// Each module's attempts over the whole window.
fn rates(modules: &[ModuleRecord], rows: &[AttemptHour]) -> Vec<ModuleRate> {
    modules
        .iter()
        .map(|m| {
            let mine = rows.iter().filter(|r| r.module_id == m.id);
            let (ok, failed, other) = mine.fold((0, 0, 0), |(o, f, x), r| {
                (o + r.ok, f + r.failed, x + r.other)
            });
            ModuleRate {
                id: m.id,
                name: m.name.clone(),
                ok,
                failed,
                other,
            }
        })
        .collect()
}

/// "97.5 % of 400" or "no attempts".
fn rate_note(rate: &ModuleRate, lang: Lang) -> String {
    match rate.percent() {
        Some(percent) => format!(
            "{percent:.1} % {} {}",
            lang.pick("из", "of"),
            rate.ok + rate.failed
        ),
        None => lang.pick("попыток не было", "no attempts").into(),
    }
}

/// The class (colour) of a status' line.
fn queue_class(status: Status) -> &'static str {
    match status {
        Status::Waiting => "q-waiting",
        Status::Running => "q-running",
        Status::Error => "q-error",
        Status::Manual => "q-manual",
    }
}

/// The href of module `id`'s page.
pub fn module_href(id: i64) -> String {
    format!("/modules/{id}")
}

impl Services {
    /// The dashboard over `window`, in the caller's language.
    pub async fn dashboard(
        &self,
        actor: &Actor,
        window: ChartWindow,
    ) -> Result<Dashboard, ChartError> {
        actor.require_staff()?;
        let lang = actor.lang;
        let now = self.clock.now();
        let hours = hours_of(window, now);
        let modules = self.store.list_modules().await?;
        let attempts = self.store.attempts_by_hour(hours[0]).await?;
        let queue = self.store.queue_by_hour(hours[0]).await?;
        let mut charts = Vec::new();

        let series = attempt_series(&hours, &attempts, |_| true, lang);
        charts.push(attempts_chart(
            "attempts".into(),
            format!(
                "{} · {}",
                lang.pick("Попытки по часам", "Attempts per hour"),
                window.label(lang)
            ),
            &hours,
            series,
            window,
            None,
            lang,
        ));

        let index: HashMap<i64, usize> = hours.iter().enumerate().map(|(i, h)| (h.0, i)).collect();
        let mut present = vec![false; hours.len()];
        for row in &queue {
            if let Some(&i) = index.get(&row.hour.0) {
                present[i] = true;
            }
        }
        let series: Vec<Series> = Status::ALL
            .into_iter()
            .map(|status| {
                let mut values = vec![0; hours.len()];
                for row in queue.iter().filter(|r| r.status == status) {
                    if let Some(&i) = index.get(&row.hour.0) {
                        values[i] += row.n;
                    }
                }
                Series {
                    class: queue_class(status),
                    label: status.label(lang).to_string(),
                    values,
                }
            })
            .collect();
        let title = format!(
            "{} · {}",
            lang.pick("Операции в работе", "Current operations"),
            window.label(lang)
        );
        charts.push(Chart {
            svg: svg::lines(&title, &hours, &series, &present, ticks(window)),
            table: hour_table(&hours, &series, Some(&present), lang),
            key: "queue".into(),
            title,
            href: None,
        });

        let mut rates = rates(&modules, &attempts);
        let title = format!(
            "{} · {}",
            lang.pick("Доля успешных попыток", "Success rate"),
            window.label(lang)
        );
        let bars: Vec<RateBar> = rates
            .iter()
            .map(|r| RateBar {
                label: r.name.clone(),
                percent: r.percent(),
                note: rate_note(r, lang),
            })
            .collect();
        let mut table = vec![vec![
            lang.pick("Обработчик", "Processing module").to_string(),
            lang.pick("Успешно", "Succeeded").to_string(),
            lang.pick("Ошибка", "Failed").to_string(),
            lang.pick("Прервано", "Interrupted or stopped").to_string(),
            lang.pick("Доля успешных", "Success rate").to_string(),
        ]];
        table.extend(rates.iter().map(|r| {
            vec![
                r.name.clone(),
                r.ok.to_string(),
                r.failed.to_string(),
                r.other.to_string(),
                rate_note(r, lang),
            ]
        }));
        charts.push(Chart {
            svg: svg::rate_bars(&title, &bars, lang),
            table,
            key: "rate".into(),
            title,
            href: None,
        });

        // One chart per module that had attempts, most failures first.
        rates.retain(|r| r.ok + r.failed + r.other > 0);
        rates.sort_by(|a, b| b.failed.cmp(&a.failed).then(a.id.cmp(&b.id)));
        for rate in rates.iter().take(MODULE_CHARTS) {
            let series = attempt_series(&hours, &attempts, |m| m == rate.id, lang);
            charts.push(attempts_chart(
                format!("module-{}", rate.id),
                format!("#{} {}", rate.id, rate.name),
                &hours,
                series,
                window,
                Some(module_href(rate.id)),
                lang,
            ));
        }
        Ok(Dashboard {
            window,
            now,
            charts,
        })
    }

    /// Module `module`'s attempts per hour over the last day, and its success rates over the
    /// day and the week, for its page.
    pub(super) async fn module_chart(
        &self,
        module: &ModuleRecord,
        now: Timestamp,
        lang: Lang,
    ) -> Result<(Chart, [ModuleRate; 2]), StoreError> {
        let week = hours_of(ChartWindow::Week, now);
        let attempts = self.store.attempts_by_hour(week[0]).await?;
        let day = hours_of(ChartWindow::Day, now);
        let of_day: Vec<AttemptHour> = attempts
            .iter()
            .filter(|r| r.hour >= day[0])
            .cloned()
            .collect();
        let series = attempt_series(&day, &of_day, |m| m == module.id, lang);
        let chart = attempts_chart(
            format!("module-{}", module.id),
            format!(
                "{} · {}",
                lang.pick("Попытки по часам", "Attempts per hour"),
                ChartWindow::Day.label(lang)
            ),
            &day,
            series,
            ChartWindow::Day,
            None,
            lang,
        );
        let one = std::slice::from_ref(module);
        let [day_rate] = <[ModuleRate; 1]>::try_from(rates(one, &of_day)).expect("one module");
        let [week_rate] = <[ModuleRate; 1]>::try_from(rates(one, &attempts)).expect("one module");
        Ok((chart, [day_rate, week_rate]))
    }
}

/// A module's success rate as its page states it.
pub fn rate_fact(rate: &ModuleRate, lang: Lang) -> String {
    rate_note(rate, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_ends_with_the_current_hour() {
        let now = Timestamp(10 * HOUR_MS + 1_234);
        let hours = hours_of(ChartWindow::Day, now);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours.last(), Some(&Timestamp(10 * HOUR_MS)));
        assert_eq!(hours[0], Timestamp(-13 * HOUR_MS));
        assert_eq!(hours_of(ChartWindow::Week, now).len(), 168);
    }

    #[test]
    fn attempts_outside_the_window_or_the_module_are_left_out() {
        let hours = [Timestamp(0), Timestamp(HOUR_MS)];
        let row = |module_id, hour, ok| AttemptHour {
            module_id,
            hour: Timestamp(hour),
            ok,
            failed: 1,
            other: 0,
        };
        let rows = [row(1, 0, 2), row(2, HOUR_MS, 5), row(1, 9 * HOUR_MS, 7)];
        let series = attempt_series(&hours, &rows, |m| m == 1, Lang::En);
        assert_eq!(series[0].values, vec![2, 0]);
        assert_eq!(series[1].values, vec![1, 0]);
        let table = hour_table(&hours, &series, None, Lang::En);
        assert_eq!(table.len(), 2, "the header and the one hour with attempts");
        assert_eq!(table[1], vec!["1970-01-01 00:00", "2", "1", "0"]);
    }
}
