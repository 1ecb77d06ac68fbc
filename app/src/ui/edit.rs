//! The edit form of an operation (view, create, change): type, service, tries, creation time,
//! manual, comment. The server names every wrong field; what was typed stays.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::island::{hand_over, take};
use super::sync_view::Erase;
use super::{failure, load, ready};
use crate::api::{current_session, edit_form, save_operation};
use crate::types::{AppError, FieldError, Intname, Lang, Level, OperationInput};

/// `/operation/:id/edit` and `/new`.
#[component]
pub fn EditPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let session = load(|| (), |_| current_session());
    let form = load(move || id.get(), edit_form);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = match session.await {
                    Ok(Some(info)) => info,
                    Ok(None) => return failure("edit", AppError::Auth, Lang::En),
                    Err(e) => return failure("edit", e, Lang::En),
                };
                match form.await {
                    Ok(input) => {
                        let data = EditData { id: id.get_untracked(), input, lang: info.lang, can_change: info.level == Level::Admin };
                        let carrier = hand_over("edit", data);
                        view! { {carrier} <EditForm/> }.erase()
                    }
                    Err(e) => failure("edit", e, info.lang),
                }
            })}
        </Suspense>
    }
}

/// Sets field `name` of `input`.
fn set(input: &mut OperationInput, name: &str, value: String) {
    let slot = match name {
        "intname" => &mut input.intname,
        "item" => &mut input.item,
        "trycount" => &mut input.trycount,
        "cdate" => &mut input.cdate,
        "manual" => &mut input.manual,
        "comment" => &mut input.comment,
        _ => return,
    };
    *slot = Some(value);
}

fn get(input: &OperationInput, name: &str) -> String {
    match name {
        "intname" => &input.intname,
        "item" => &input.item,
        "trycount" => &input.trycount,
        "cdate" => &input.cdate,
        "manual" => &input.manual,
        "comment" => &input.comment,
        _ => &None,
    }
    .clone()
    .unwrap_or_default()
}

/// What the edit form starts from: the operation (none: a new one), its fields, the language and
/// whether the session may change it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct EditData {
    id: Option<i64>,
    input: OperationInput,
    lang: Lang,
    can_change: bool,
}

/// The form: it runs in the browser, sends the fields to `save_operation` and shows the
/// server's field errors beside the fields, keeping what was typed; saved, it returns to the list.
#[island]
fn EditForm() -> impl IntoView {
    take::<EditData>("edit").map(|data| view! { <EditFormBody data/> })
}

/// The form itself, from the data the page handed over.
#[component]
fn EditFormBody(data: EditData) -> impl IntoView {
    let EditData {
        id,
        input,
        lang,
        can_change,
    } = data;
    let draft = RwSignal::new(input);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let ready = ready();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = draft.get_untracked();
        leptos::task::spawn_local(async move {
            match save_operation(id, input).await {
                Ok(_) => {
                    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
                    let _ = window().location().set_href("/");
                }
                Err(AppError::Value { fields }) => {
                    failure.set(None);
                    errors.set(fields);
                }
                Err(e) => {
                    errors.set(Vec::new());
                    failure.set(Some(e.message(lang)));
                }
            }
        });
    };
    let field = move |name: &'static str, label: &'static str, kind: &'static str| {
        let error = move || {
            errors
                .read()
                .iter()
                .find(|e| e.field == name)
                .map(|e| view! { <span class="field-error" id=format!("edit-error-{name}") role="alert">{e.message(lang)}</span> })
        };
        let invalid = move || errors.read().iter().any(|e| e.field == name).to_string();
        let value = move || get(&draft.read(), name);
        let control = match kind {
            "intname" => view! {
                <select name=name disabled=!can_change aria-invalid=invalid prop:value=value
                    on:change=move |ev| draft.update(|d| set(d, name, event_target_value(&ev)))>
                    <option value="">"—"</option>
                    {Intname::ALL
                        .iter()
                        .map(|i| view! { <option value=i.raw() selected=get(&draft.read_untracked(), name) == i.raw()>{i.label(lang)}</option> })
                        .collect_view()}
                </select>
            }
                .erase(),
            "manual" => view! {
                <input type="checkbox" name=name disabled=!can_change
                    prop:checked=move || get(&draft.read(), name) == "on"
                    on:change=move |ev| draft.update(|d| set(d, name, if event_target_checked(&ev) { "on".into() } else { "off".into() }))/>
            }
                .erase(),
            "comment" => view! {
                <textarea name=name rows="3" disabled=!can_change aria-invalid=invalid prop:value=value
                    on:input=move |ev| draft.update(|d| set(d, name, event_target_value(&ev)))></textarea>
            }
                .erase(),
            _ => view! {
                <input name=name disabled=!can_change aria-invalid=invalid aria-describedby=format!("edit-error-{name}") prop:value=value
                    on:input=move |ev| draft.update(|d| set(d, name, event_target_value(&ev)))/>
            }
                .erase(),
        };
        view! {
            <div class="field">
                <label><span>{label}</span>{control}</label>
                {error}
            </div>
        }
    };
    let title = match id {
        Some(id) => format!("{} #{id}", lang.pick("Операция", "Operation")),
        None => lang.pick("Новая операция", "New operation").to_owned(),
    };
    view! {
        <main class="page edit" data-ready=move || ready.get().to_string()>
            <header class="topbar">
                <a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a>
                <h1>{title}</h1>
            </header>
            <form class="edit-form" on:submit=submit aria-label=lang.pick("Операция", "Operation")>
                {field("intname", lang.pick("Операция", "Operation"), "intname")}
                {field("item", lang.pick("Услуга (id)", "Service (id)"), "text")}
                {field("trycount", lang.pick("Количество попыток", "Attempts"), "text")}
                {field("cdate", lang.pick("Дата создания (UTC)", "Created (UTC)"), "text")}
                {field("manual", lang.pick("Ручной режим (без автоматических перезапусков)", "Manual (no automatic restarts)"), "manual")}
                {field("comment", lang.pick("Комментарий", "Comment"), "comment")}
                {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                {can_change.then(|| view! {
                    <div class="filter-buttons">
                        <button type="submit" class="primary">{lang.pick("Сохранить", "Save")}</button>
                        <a href="/">{lang.pick("Отмена", "Cancel")}</a>
                    </div>
                })}
            </form>
        </main>
    }
}
