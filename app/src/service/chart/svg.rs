//! Drawing charts as SVG markup: stacked bars per hour, lines per hour, and horizontal bars of
//! a percentage. Colours come from the page's stylesheet (classes, no inline colours), so a
//! chart follows the light or dark theme; every text drawn is escaped here.

use std::fmt::Write;

use crate::types::{Lang, Timestamp};

/// Width of every chart's drawing, in its own units (it scales to its box).
const WIDTH: f64 = 720.0;
/// Left margin: the values' axis.
const LEFT: f64 = 48.0;
/// Right margin.
const RIGHT: f64 = 8.0;
/// The legend's band at the top.
const TOP: f64 = 24.0;
/// Height of the plot.
const PLOT: f64 = 168.0;
/// Height of the time axis' labels under the plot.
const BOTTOM: f64 = 22.0;

/// One series: its class (its colour in the stylesheet), its name, one value per hour.
pub struct Series {
    pub class: &'static str,
    pub label: String,
    pub values: Vec<i64>,
}

/// How hours are labelled on the time axis.
#[derive(Clone, Copy)]
pub enum Ticks {
    /// "15:00" every 3 hours (a day's chart).
    EveryThreeHours,
    /// "12-01" at each midnight (a week's chart).
    Midnights,
}

/// Escapes `text` for SVG text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The smallest "round" step (1, 2 or 5 times a power of ten) at least `raw`.
fn round_step(raw: f64) -> f64 {
    if raw <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// The top of the values' axis for a largest value `max`, and its step (four steps at most).
fn axis(max: i64) -> (f64, f64) {
    let step = round_step(max.max(1) as f64 / 4.0);
    let top = (max.max(1) as f64 / step).ceil() * step;
    (top, step)
}

/// `<svg>` opening with the accessible name `title`.
fn open(out: &mut String, height: f64, class: &str, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart {class}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">"#,
        escape(title)
    );
}

/// The legend along the top.
fn legend(out: &mut String, series: &[Series]) {
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            r#"<rect class="{}" x="{x}" y="6" width="10" height="10"/><text class="legend" x="{}" y="15">{}</text>"#,
            s.class,
            x + 14.0,
            escape(&s.label)
        );
        x += 24.0 + 7.0 * s.label.chars().count() as f64;
    }
}

/// The values' grid and labels, and the time axis' labels.
fn frame(out: &mut String, hours: &[Timestamp], top: f64, step: f64, ticks: Ticks) {
    let mut value = 0.0;
    while value <= top + 0.5 {
        let y = TOP + PLOT - value / top * PLOT;
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            value as i64
        );
        value += step;
    }
    let slot = slot(hours.len());
    for (i, hour) in hours.iter().enumerate() {
        let formatted = hour.format();
        let label = match ticks {
            Ticks::EveryThreeHours if formatted[11..13].parse::<u32>().unwrap_or(1) % 3 == 0 => {
                &formatted[11..16]
            }
            Ticks::Midnights if &formatted[11..16] == "00:00" => &formatted[5..10],
            _ => continue,
        };
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            LEFT + slot * (i as f64 + 0.5),
            TOP + PLOT + BOTTOM - 6.0
        );
    }
}

/// The width of one hour on the time axis.
fn slot(hours: usize) -> f64 {
    (WIDTH - LEFT - RIGHT) / hours.max(1) as f64
}

/// A chart of stacked bars, one bar per hour, one segment per series.
pub fn stacked_bars(title: &str, hours: &[Timestamp], series: &[Series], ticks: Ticks) -> String {
    let totals: Vec<i64> = (0..hours.len())
        .map(|i| series.iter().map(|s| s.values[i]).sum())
        .collect();
    let (top, step) = axis(totals.iter().copied().max().unwrap_or(0));
    let mut out = String::new();
    open(&mut out, TOP + PLOT + BOTTOM, "bars", title);
    legend(&mut out, series);
    frame(&mut out, hours, top, step, ticks);
    let slot = slot(hours.len());
    let width = (slot * 0.8).max(1.0);
    for (i, hour) in hours.iter().enumerate() {
        if totals[i] == 0 {
            continue;
        }
        let mut tip = hour.format()[..16].to_string();
        for s in series {
            let _ = write!(tip, " · {} {}", s.label, s.values[i]);
        }
        let _ = write!(out, "<g><title>{}</title>", escape(&tip));
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let mut base = TOP + PLOT;
        for s in series {
            let value = s.values[i];
            if value == 0 {
                continue;
            }
            let height = value as f64 / top * PLOT;
            base -= height;
            let _ = write!(
                out,
                r#"<rect class="{}" x="{x:.1}" y="{base:.1}" width="{width:.1}" height="{height:.1}"/>"#,
                s.class
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// A chart of lines, one point per hour, one line per series; hours that are not `present`
/// (nothing was measured) break the lines, and a lone measured hour is a dot.
pub fn lines(
    title: &str,
    hours: &[Timestamp],
    series: &[Series],
    present: &[bool],
    ticks: Ticks,
) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (top, step) = axis(max);
    let mut out = String::new();
    open(&mut out, TOP + PLOT + BOTTOM, "lines", title);
    legend(&mut out, series);
    frame(&mut out, hours, top, step, ticks);
    let slot = slot(hours.len());
    let point = |i: usize, v: i64| {
        (
            LEFT + slot * (i as f64 + 0.5),
            TOP + PLOT - v as f64 / top * PLOT,
        )
    };
    for s in series {
        let _ = write!(
            out,
            r#"<g class="{}"><title>{}</title>"#,
            s.class,
            escape(&s.label)
        );
        let mut run: Vec<(f64, f64)> = Vec::new();
        for i in 0..=hours.len() {
            if i < hours.len() && present.get(i).copied().unwrap_or(false) {
                run.push(point(i, s.values[i]));
                continue;
            }
            match run.as_slice() {
                [] => {}
                [(x, y)] => {
                    let _ = write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3"/>"#);
                }
                points => {
                    let points: Vec<String> = points
                        .iter()
                        .map(|(x, y)| format!("{x:.1},{y:.1}"))
                        .collect();
                    let _ = write!(out, r#"<polyline points="{}"/>"#, points.join(" "));
                }
            }
            run.clear();
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// One bar of a percentage chart: its label, its percentage (none: nothing to say) and the
/// text written beside it.
pub struct RateBar {
    pub label: String,
    pub percent: Option<f64>,
    pub note: String,
}

/// Horizontal bars of a percentage, one row each.
pub fn rate_bars(title: &str, rows: &[RateBar], lang: Lang) -> String {
    const ROW: f64 = 24.0;
    const LABEL: f64 = 180.0;
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    let mut out = String::new();
    open(&mut out, height, "rates", title);
    if rows.is_empty() {
        let _ = write!(
            out,
            r#"<text class="tick" x="{LEFT}" y="18">{}</text>"#,
            lang.pick("Попыток не было.", "No attempts.")
        );
    }
    let span = WIDTH - LABEL - 200.0;
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let mut label: String = row.label.chars().take(24).collect();
        if row.label.chars().count() > 24 {
            label.push('…');
        }
        let _ = write!(
            out,
            r#"<text class="legend" x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="track" x="{LABEL}" y="{y:.1}" width="{span:.1}" height="16"/>"#,
            LABEL - 8.0,
            y + 12.0,
            escape(&label)
        );
        if let Some(percent) = row.percent {
            let _ = write!(
                out,
                r#"<rect class="s-ok" x="{LABEL}" y="{y:.1}" width="{:.1}" height="16"/>"#,
                span * percent / 100.0
            );
        }
        let _ = write!(
            out,
            r#"<text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL + span + 8.0,
            y + 12.0,
            escape(&row.note)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_step_above_the_largest_value() {
        assert_eq!(axis(0), (1.0, 1.0));
        assert_eq!(axis(3), (3.0, 1.0));
        assert_eq!(axis(7), (8.0, 2.0));
        assert_eq!(axis(1_400), (1_500.0, 500.0));
        assert_eq!(axis(10_000), (10_000.0, 5_000.0));
    }

    #[test]
    fn hours_not_measured_break_a_line_and_a_lone_hour_is_a_dot() {
        let hours: Vec<Timestamp> = (0..5).map(|h| Timestamp(h * 3_600_000)).collect();
        let svg = lines(
            "t",
            &hours,
            &[Series {
                class: "q-waiting",
                label: "Waiting".into(),
                values: vec![1, 2, 0, 0, 3],
            }],
            &[true, true, false, false, true],
            Ticks::EveryThreeHours,
        );
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
    }

    #[test]
    fn text_in_a_drawing_is_escaped() {
        let svg = rate_bars(
            "<script>",
            &[RateBar {
                label: "VM \"Frankfurt\" <b>&".into(),
                percent: Some(50.0),
                note: "50 %".into(),
            }],
            Lang::En,
        );
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(
            svg.contains("VM &quot;Frankfurt&quot; &lt;b&gt;&amp;"),
            "{svg}"
        );
    }

    #[test]
    fn a_bar_is_as_tall_as_its_share_of_the_axis() {
        let hours = [Timestamp(0), Timestamp(3_600_000)];
        let svg = stacked_bars(
            "t",
            &hours,
            &[
                Series {
                    class: "s-ok",
                    label: "OK".into(),
                    values: vec![4, 0],
                },
                Series {
                    class: "s-failed",
                    label: "Failed".into(),
                    values: vec![4, 0],
                },
            ],
            Ticks::EveryThreeHours,
        );
        // Top of the axis 8 (steps of 2): each half of the bar is half the plot.
        assert_eq!(svg.matches(r#"height="84.0""#).count(), 2, "{svg}");
        assert_eq!(svg.matches("<g>").count(), 1, "an empty hour draws no bar");
        assert!(svg.contains(">00:00</text>"), "{svg}");
    }
}
