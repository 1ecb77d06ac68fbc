//! The failures view (`/failures`, staff): one row per failure group, most operations first,
//! with its message template, a real sample, module, error type, operations and clients
//! affected, first and last seen, a sparkline of failures per hour, and (admins) the actions on
//! the whole group. Rendered on the server only (no island): plain form posts, so none of it
//! reaches the WASM bundle.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::sync_view::Erase;
use super::{staff_page_of, when};
use crate::api::get_failures;
use crate::types::failure::{
    skip_reason_label, FailureAction, FailureGroup, FailuresView, SPARK_HOURS,
};
use crate::types::Lang;

/// What the last action did, as the URL carries it back (numbers and fixed codes only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Outcome {
    did: Option<FailureAction>,
    done: u64,
    skipped: Vec<(String, u64)>,
    task: Option<i64>,
    failed: Option<String>,
}

/// The failure groups, and the outcome of the last action (`?did=&done=&skipped=&task=` or
/// `?failed=`).
#[component]
pub fn FailuresPage() -> impl IntoView {
    let query = use_query_map();
    let outcome = Memo::new(move |_| {
        let q = query.read();
        Outcome {
            did: q.get("did").and_then(|d| FailureAction::parse(&d)),
            done: q.get("done").and_then(|d| d.parse().ok()).unwrap_or(0),
            skipped: q
                .get("skipped")
                .unwrap_or_default()
                .split(',')
                .filter_map(|pair| {
                    let (reason, n) = pair.split_once('.')?;
                    Some((reason.to_owned(), n.parse().ok()?))
                })
                .collect(),
            task: q.get("task").and_then(|t| t.parse().ok()),
            failed: q.get("failed"),
        }
    });
    staff_page_of(
        "failures",
        outcome,
        |_| get_failures(),
        |outcome, view, lang| view! { <Groups view outcome lang/> }.erase(),
    )
}

/// What a refusal code says, in `lang`.
fn refusal(code: &str, lang: Lang) -> &'static str {
    match code {
        "access" => lang.pick(
            "Только администратор может это сделать.",
            "Only an admin may do that.",
        ),
        "missed" => lang.pick(
            "В этой группе больше нет текущих операций.",
            "That group has no current operations any more.",
        ),
        "value" => lang.pick("Неверный запрос.", "That request was not understood."),
        _ => lang.pick(
            "Внутренняя ошибка; попробуйте ещё раз.",
            "Internal error; try again.",
        ),
    }
}

/// The sentence saying what the last action did.
fn summary(outcome: &Outcome, lang: Lang) -> Option<String> {
    let did = outcome.did?;
    let verb = match did {
        FailureAction::Start => lang.pick("Запущено", "Started"),
        FailureAction::Stop => lang.pick("Остановлено", "Stopped"),
        FailureAction::TaskCreate => lang.pick("Связано с задачей", "Linked to the task"),
    };
    let mut text = format!("{verb}: {}", outcome.done);
    if let Some(task) = outcome.task {
        text.push_str(&format!(" (#{task})"));
    }
    let skipped: Vec<String> = outcome
        .skipped
        .iter()
        .filter_map(|(code, n)| skip_reason_label(code, lang).map(|label| format!("{n} {label}")))
        .collect();
    if !skipped.is_empty() {
        text.push_str(&format!(
            "; {}: {}",
            lang.pick("пропущено", "left as they were"),
            skipped.join(", ")
        ));
    }
    text.push('.');
    Some(text)
}

#[component]
fn Groups(view: FailuresView, outcome: Outcome, lang: Lang) -> impl IntoView {
    let FailuresView {
        groups,
        can_act,
        now,
    } = view;
    let empty = groups.is_empty();
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{lang.pick("Сбои", "Failures")}</h1>
        </header>
        <p><a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a></p>
        {outcome.failed.as_deref().map(|code| view! { <p class="error" role="alert">{refusal(code, lang)}</p> })}
        {summary(&outcome, lang).map(|text| view! { <p class="notice" role="status" id="failure-summary">{text}</p> })}
        {empty.then(|| view! {
            <p class="notice">{lang.pick("Сбоев нет: ни одна текущая операция не завершилась ошибкой.", "No failures: no current operation has failed.")}</p>
        })}
        <table class="attempts failures" id="failures">
            <thead>
                <tr>
                    <th scope="col">{lang.pick("Сообщение", "Message")}</th>
                    <th scope="col">{lang.pick("Обработчик", "Module")}</th>
                    <th scope="col">{lang.pick("Тип", "Type")}</th>
                    <th scope="col">{lang.pick("Операций", "Operations")}</th>
                    <th scope="col">{lang.pick("Клиентов", "Clients")}</th>
                    <th scope="col">{lang.pick("Впервые", "First seen")}</th>
                    <th scope="col">{lang.pick("Последний раз", "Last seen")}</th>
                    <th scope="col">{lang.pick("За 24 ч", "Last 24 h")}</th>
                    <th scope="col">{lang.pick("Действия", "Actions")}</th>
                </tr>
            </thead>
            <tbody>
                {groups
                    .into_iter()
                    .map(|group| view! { <Group group can_act now lang/> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Group(
    group: FailureGroup,
    can_act: bool,
    now: crate::types::Timestamp,
    lang: Lang,
) -> impl IntoView {
    let key = group.key.clone();
    let spark = sparkline(&group.per_hour, lang);
    let task = group.task_id.map(|task| {
        view! {
            <a class="task" href=format!("/tasks/{task}")>{format!("{} #{task}", lang.pick("Задача", "Task"))}</a>
        }
    });
    view! {
        <tr data-key=group.key.clone()>
            <td class="message">
                <code class="template">{group.template}</code>
                <details>
                    <summary>{lang.pick("Пример", "Sample")}</summary>
                    <code class="sample">{group.sample}</code>
                </details>
                <span class="key">{format!("id {}", group.key)}</span>
            </td>
            <td><a href=format!("/modules/{}", group.module_id)>{group.module_name}</a></td>
            <td>{group.error_type}</td>
            <td class="count">{group.operations}</td>
            <td class="count">{group.clients}</td>
            <td>{when(group.first_seen, now, lang)}</td>
            <td>{when(group.last_seen, now, lang)}</td>
            <td>{spark}</td>
            <td class="group-actions">
                <form method="post" action="/api/failure_filter">
                    <input type="hidden" name="key" value=key.clone()/>
                    <button type="submit">{lang.pick("Показать операции", "Show operations")}</button>
                </form>
                {task}
                {can_act.then(|| {
                    FailureAction::ALL
                        .into_iter()
                        .map(|action| view! {
                            <form method="post" action="/api/failure_action">
                                <input type="hidden" name="key" value=key.clone()/>
                                <input type="hidden" name="action" value=action.raw()/>
                                <button type="submit" data-action=action.raw()>{action.label(lang)}</button>
                            </form>
                        })
                        .collect_view()
                })}
            </td>
        </tr>
    }
}

/// Failures per hour as bars, the last hour rightmost, with the figures in its title.
fn sparkline(per_hour: &[i64], lang: Lang) -> impl IntoView {
    const WIDTH: usize = 4;
    const HEIGHT: i64 = 20;
    let max = per_hour.iter().copied().max().unwrap_or(0).max(1);
    let total: i64 = per_hour.iter().sum();
    let label = format!(
        "{}: {total} ({})",
        lang.pick("Сбоев за 24 ч", "Failures in 24 h"),
        per_hour
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let bars = per_hour
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            let h = (n * HEIGHT / max).max(1);
            view! {
                <rect x=(i * WIDTH).to_string() y=(HEIGHT - h).to_string() width=(WIDTH - 1).to_string() height=h.to_string()/>
            }
        })
        .collect_view();
    let title = label.clone();
    view! {
        <svg class="spark" role="img" aria-label=label width=(SPARK_HOURS * WIDTH).to_string() height=HEIGHT.to_string()
            viewBox=format!("0 0 {} {HEIGHT}", SPARK_HOURS * WIDTH)>
            <title>{title}</title>
            {bars}
        </svg>
    }
}
