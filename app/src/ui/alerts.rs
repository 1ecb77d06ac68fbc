//! The alert webhooks page (`/alerts`, admins): the hooks (URLs cut to scheme and host, secrets
//! never shown), a Delete button on each, and a form to add one; plain form posts, no island.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::staff_page_of;
use super::sync_view::Erase;
use crate::api::alert_hooks;
use crate::types::alert::HookView;
use crate::types::Lang;

/// The webhooks, and what the last add or delete refused (`?failed=`).
#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let failed = Memo::new(move |_| query.read().get("failed").unwrap_or_default());
    staff_page_of(
        "alerts",
        failed,
        |_| alert_hooks(),
        |failed, hooks, lang| view! { <Hooks hooks failed lang/> }.erase(),
    )
}

/// What a refusal code says, in `lang`.
fn refusal(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "url" => lang.pick(
            "Адрес должен начинаться с http:// или https:// и называть сервер.",
            "The URL must start with http:// or https:// and name a host.",
        ),
        "secret" => lang.pick("Секрет слишком длинный.", "The secret is too long."),
        "on" => lang.pick("Неизвестное событие.", "Unknown event."),
        "access" => lang.pick(
            "Только администратор может это сделать.",
            "Only an admin may do that.",
        ),
        "missed" => lang.pick("Такого адреса уже нет.", "That webhook is gone already."),
        "internal" => lang.pick(
            "Внутренняя ошибка; попробуйте ещё раз.",
            "Internal error; try again.",
        ),
        _ => return None,
    })
}

#[component]
fn Hooks(hooks: Vec<HookView>, failed: String, lang: Lang) -> impl IntoView {
    let empty = hooks.is_empty();
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{lang.pick("Оповещения", "Alert webhooks")}</h1>
        </header>
        <p><a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a></p>
        {refusal(&failed, lang).map(|text| view! { <p class="error" role="alert">{text}</p> })}
        {empty.then(|| view! { <p class="notice">{lang.pick("Адресов нет.", "No webhooks yet.")}</p> })}
        <table class="attempts" id="hooks">
            <thead>
                <tr>
                    <th scope="col">"Id"</th>
                    <th scope="col">"URL"</th>
                    <th scope="col">{lang.pick("События", "Events")}</th>
                    <th scope="col">{lang.pick("Подпись", "Signed")}</th>
                    <th scope="col">{lang.pick("Добавлен", "Added")}</th>
                    <th scope="col"><span class="visually-hidden">{lang.pick("Действия", "Actions")}</span></th>
                </tr>
            </thead>
            <tbody>
                {hooks
                    .into_iter()
                    .map(|hook| view! {
                        <tr data-id=hook.id>
                            <td>{hook.id}</td>
                            <td>{hook.url}</td>
                            <td>{hook.events}</td>
                            <td>{if hook.signed { lang.pick("да", "yes") } else { lang.pick("нет", "no") }}</td>
                            <td>{hook.created_at.format()}</td>
                            <td>
                                <form method="post" action="/api/alert_delete">
                                    <input type="hidden" name="id" value=hook.id/>
                                    <button type="submit" aria-label=format!("{} #{}", lang.pick("Удалить адрес", "Delete webhook"), hook.id)>
                                        {lang.pick("Удалить", "Delete")}
                                    </button>
                                </form>
                            </td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>{lang.pick("Добавить", "Add a webhook")}</h2>
        <form class="journal-filter" method="post" action="/api/alert_add">
            <label>"URL" <input name="url" type="url" required placeholder="https://hooks.slack.com/services/…"/></label>
            <label>
                {lang.pick("Секрет (подпись HMAC)", "Secret (HMAC signature)")}
                <input name="secret" type="password" autocomplete="new-password"/>
            </label>
            <fieldset class="events">
                <legend>{lang.pick("События (ничего: все)", "Events (none: all)")}</legend>
                <label><input type="checkbox" name="manual" value="on"/>" manual"</label>
                <label><input type="checkbox" name="burst" value="on"/>" burst"</label>
                <label><input type="checkbox" name="circuit" value="on"/>" circuit"</label>
            </fieldset>
            <button type="submit" class="primary">{lang.pick("Добавить", "Add")}</button>
        </form>
    }
}
