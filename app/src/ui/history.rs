//! An operation's error history (its attempts) and the log viewer of one attempt: monospace,
//! error lines highlighted, a copy button. Logs were masked of secrets when they were written.

use leptos::prelude::*;

use super::island::{hand_over, take};
use super::sync_view::Erase;
use super::{ready, staff_page};
use crate::api::{attempt_log, operation_history};
use crate::types::journal::OperationHistory;
use crate::types::{AttemptRow, Lang, Timestamp};

/// `/operation/:id`: the attempts of one operation.
#[component]
pub fn HistoryPage() -> impl IntoView {
    staff_page("history", operation_history, |id, history, lang| {
        let timeline = timeline(&history);
        view! {
            <Attempts id rows=history.attempts lang/>
            <Timeline entries=timeline lang/>
        }
        .erase()
    })
}

#[component]
fn Attempts(id: i64, rows: Vec<AttemptRow>, lang: Lang) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <header class="topbar">
            <a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a>
            <h1>{format!("{} #{id}", lang.pick("История ошибок операции", "Error history of operation"))}</h1>
            <a class="export" href=format!("/export/operation/{id}/history.csv") download>{lang.pick("Выгрузить CSV", "Export CSV")}</a>
        </header>
        {empty.then(|| view! { <p class="notice">{lang.pick("Попыток ещё не было.", "No attempts yet.")}</p> })}
        <table class="attempts" id="attempts">
            <thead>
                <tr>
                    <th scope="col">{lang.pick("Начало", "Started")}</th>
                    <th scope="col">{lang.pick("Длительность", "Duration")}</th>
                    <th scope="col">{lang.pick("Итог", "Outcome")}</th>
                    <th scope="col">{lang.pick("Тип ошибки", "Error type")}</th>
                    <th scope="col">{lang.pick("Сообщение", "Message")}</th>
                    <th scope="col">{lang.pick("Задача", "Task")}</th>
                    <th scope="col">{lang.pick("Журнал", "Log")}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|a| {
                        let duration = a
                            .finished
                            .map(|f| {
                                // Tenths of a second, rounded, in integers: no float formatting
                                // code in the bundle for one column.
                                let tenths = ((f.0 - a.createdate.0).max(0) + 50) / 100;
                                format!("{}.{} s", tenths / 10, tenths % 10)
                            })
                            .unwrap_or_else(|| "…".into());
                        view! {
                            <tr data-id=a.id data-outcome=a.outcome.raw()>
                                <td><time>{a.createdate.format()}</time></td>
                                <td class="num">{duration}</td>
                                <td><span class=format!("badge outcome-{}", a.outcome.raw())>{a.outcome.raw()}</span></td>
                                <td>{a.error_type.clone().unwrap_or_default()}</td>
                                <td>{a.error_message.clone().unwrap_or_default()}</td>
                                <td>{a.task_id.map(|t| format!("#{t}")).unwrap_or_default()}</td>
                                <td>{a.has_log().then(|| view! { <a href=format!("/attempt/{}", a.id)>{lang.pick("Журнал", "Log")}</a> })}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One moment of an operation's timeline: an attempt's start and end, or a journal row.
struct Moment {
    at: Timestamp,
    who: String,
    what: String,
    href: Option<String>,
}

/// The attempts and the journal rows of a history, oldest first (at one instant: the journal
/// row, then the attempt it started).
fn timeline(history: &OperationHistory) -> Vec<Moment> {
    let mut moments: Vec<(Timestamp, u8, Moment)> = history
        .journal
        .iter()
        .map(|j| {
            let what = if j.detail.is_empty() {
                j.action.clone()
            } else {
                format!("{}: {}", j.action, j.detail)
            };
            (
                j.at,
                0,
                Moment {
                    at: j.at,
                    who: j.user.clone(),
                    what,
                    href: None,
                },
            )
        })
        .collect();
    for a in &history.attempts {
        let mut what = if a.has_log() {
            format!("attempt #{} → {}", a.id, a.outcome.raw())
        } else {
            format!("attempt → {}", a.outcome.raw())
        };
        if let Some(message) = &a.error_message {
            what.push_str(": ");
            what.push_str(message);
        }
        moments.push((
            a.createdate,
            1,
            Moment {
                at: a.createdate,
                who: "engine".into(),
                what,
                href: a.has_log().then(|| format!("/attempt/{}", a.id)),
            },
        ));
    }
    moments.sort_by_key(|(at, order, _)| (*at, *order));
    moments.into_iter().map(|(_, _, m)| m).collect()
}

/// The timeline: attempts and journal rows interleaved, oldest first.
#[component]
fn Timeline(entries: Vec<Moment>, lang: Lang) -> impl IntoView {
    view! {
        <h2>{lang.pick("Хронология", "Timeline")}</h2>
        <ol class="timeline" id="timeline">
            {entries
                .into_iter()
                .map(|m| view! {
                    <li>
                        <time>{m.at.format()}</time>
                        " "
                        <span class="who">{m.who}</span>
                        " "
                        {match m.href {
                            Some(href) => leptos::either::Either::Left(view! { <a href=href>{m.what}</a> }),
                            None => leptos::either::Either::Right(m.what),
                        }}
                    </li>
                })
                .collect_view()}
        </ol>
    }
}

/// `/attempt/:id`: the log of one attempt.
#[component]
pub fn LogPage() -> impl IntoView {
    staff_page("log", attempt_log, |_, (attempt, text), lang| {
        view! { <LogView attempt text lang/> }.erase()
    })
}

/// True for a line that reports an error: it is highlighted.
fn is_error_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.contains("error") || lower.contains("<doc>") || lower.contains("failed")
}

#[component]
fn LogView(attempt: AttemptRow, text: String, lang: Lang) -> impl IntoView {
    let lines: Vec<(usize, String)> = text.lines().map(str::to_owned).enumerate().collect();
    // Before the view: the copy button reads it while the view is built.
    let carrier = hand_over("copy-log", lang);
    view! {
        <header class="topbar">
            <a href=format!("/operation/{}", attempt.operation_id)>{lang.pick("← История ошибок", "← Error history")}</a>
            <h1>{format!("{} #{} ({})", lang.pick("Журнал попытки", "Log of attempt"), attempt.id, attempt.outcome.raw())}</h1>
            {carrier}
            <CopyLog/>
        </header>
        {attempt.error_message.clone().map(|m| view! { <p class="error-message">{m}</p> })}
        <pre class="logview" id="log" role="region" tabindex="0" aria-label=lang.pick("Журнал", "Log")>
            {lines
                .into_iter()
                .map(|(n, line)| {
                    let error = is_error_line(&line);
                    view! {
                        <span class="line" class:error-line=error data-line=n + 1>{line}"\n"</span>
                    }
                })
                .collect_view()}
        </pre>
    }
}

/// The copy button: puts the text of the log beside it (`#log`) on the clipboard.
#[island]
fn CopyLog() -> impl IntoView {
    let lang = take::<Lang>("copy-log").unwrap_or(Lang::En);
    let copied = RwSignal::new(false);
    let ready = ready();
    let copy = move |_| {
        #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
        if let Some(text) = document()
            .get_element_by_id("log")
            .and_then(|log| log.text_content())
        {
            let _ = window().navigator().clipboard().write_text(&text);
        }
        copied.set(true);
    };
    view! {
        <button type="button" data-ready=move || ready.get().to_string() on:click=copy>
            {move || if copied.get() { lang.pick("Скопировано", "Copied") } else { lang.pick("Копировать", "Copy") }}
        </button>
    }
}
