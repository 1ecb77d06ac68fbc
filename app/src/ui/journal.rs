//! The journal page (`/journal`): who did what to which object, when, newest first; a plain
//! GET form narrows it (user, kind of object, object id, from, to) and "Older" pages on. Server
//! rendered, no island: none of it is in the WASM.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::sync_view::Erase;
use super::{staff_page_of, when};
use crate::api::get_journal;
use crate::types::journal::{JournalForm, JournalPage};
use crate::types::Lang;

/// The journal, narrowed as the URL says.
#[component]
pub fn JournalPage() -> impl IntoView {
    let query = use_query_map();
    let form = Memo::new(move |_| {
        let q = query.read();
        let get = |key: &str| q.get(key).unwrap_or_default();
        JournalForm {
            user: get("user"),
            object: get("object"),
            id: get("id"),
            from: get("from"),
            to: get("to"),
            before: get("before"),
        }
    });
    staff_page_of("journal", form, get_journal, |_, page, lang| {
        view! { <Journal page lang/> }.erase()
    })
}

#[component]
fn Journal(page: JournalPage, lang: Lang) -> impl IntoView {
    let JournalPage {
        form,
        rows,
        next,
        now,
    } = page;
    let older = next.map(|before| form.href(Some(before)));
    let first = (!form.before.is_empty()).then(|| form.href(None));
    let field = |name: &'static str, label: &'static str, value: String, hint: &'static str| {
        view! {
            <label>
                {label}
                <input name=name value=value placeholder=hint/>
            </label>
        }
    };
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{lang.pick("Журнал", "Journal")}</h1>
        </header>
        <p><a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a></p>
        <form class="journal-filter" method="get" action="/journal" aria-label=lang.pick("Отбор", "Filter")>
            {field("user", lang.pick("Пользователь", "User"), form.user.clone(), "admin")}
            {field("object", lang.pick("Объект", "Object"), form.object.clone(), "processing")}
            {field("id", "Id", form.id.clone(), "")}
            {field("from", lang.pick("С (UTC)", "From (UTC)"), form.from.clone(), "2026-12-01 00:00")}
            {field("to", lang.pick("По (UTC)", "To (UTC)"), form.to.clone(), "")}
            <button type="submit">{lang.pick("Показать", "Show")}</button>
            <a href="/journal">{lang.pick("Сбросить", "Reset")}</a>
        </form>
        <table class="attempts" id="journal">
            <thead>
                <tr>
                    <th scope="col">{lang.pick("Когда", "When")}</th>
                    <th scope="col">{lang.pick("Кто", "Who")}</th>
                    <th scope="col">{lang.pick("Действие", "Action")}</th>
                    <th scope="col">{lang.pick("Объект", "Object")}</th>
                    <th scope="col">{lang.pick("Подробности", "Detail")}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|row| {
                        let object = match row.object_id {
                            Some(id) => format!("{} #{id}", row.object),
                            None => row.object.clone(),
                        };
                        view! {
                            <tr data-id=row.id>
                                <td class="when">{when(row.at, now, lang)}</td>
                                <td>{row.user}</td>
                                <td>{row.action}</td>
                                <td>
                                    {match row.href {
                                        Some(href) => Either::Left(view! { <a href=href>{object}</a> }),
                                        None => Either::Right(object),
                                    }}
                                </td>
                                <td>{row.detail}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label=lang.pick("Страницы", "Pages")>
            {first.map(|href| view! { <a href=href>{lang.pick("← Новые", "← Newest")}</a> })}
            {older.map(|href| view! { <a href=href rel="next">{lang.pick("Старше →", "Older →")}</a> })}
        </nav>
    }
}
