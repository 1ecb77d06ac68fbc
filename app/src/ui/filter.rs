//! The filter of the operations list: a panel with every filter field (saved per user, the
//! same filter the legacy API reads), and the "filter active" bar with its reset.

use leptos::prelude::*;

use super::sync_view::Erase;

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
use crate::api::filter_choices;
use crate::api::save_filter;
use crate::types::{AppError, FieldError, FilterForm, Intname, Lang, Status};

/// A field's label.
fn label(name: &str, lang: Lang) -> &'static str {
    match name {
        "id" => "Id",
        "intname" => lang.pick("Операция", "Operation"),
        "item" => lang.pick("Услуга (id)", "Service (id)"),
        "itemtype" => lang.pick("Тип продукта", "Product type"),
        "client" => lang.pick("Клиент", "Client"),
        "processingmodule" => lang.pick("Обработчик", "Processing module"),
        "status" => lang.pick("Статус", "Status"),
        "manual" => lang.pick("Ручной режим", "Manual"),
        "hastask" => lang.pick("Есть задача", "Has a task"),
        "cdatefrom" => lang.pick("Создана с", "Created from"),
        "cdateto" => lang.pick("Создана по", "Created to"),
        "mintrycount" => lang.pick("Попыток не меньше", "Attempts at least"),
        "errortext" => lang.pick("Текст ошибки содержит", "Error text contains"),
        "failure" => lang.pick("Группа сбоев", "Failure group"),
        _ => "",
    }
}

/// Sets field `name` of `form`.
fn set(form: &mut FilterForm, name: &str, value: String) {
    let slot = match name {
        "id" => &mut form.id,
        "intname" => &mut form.intname,
        "item" => &mut form.item,
        "itemtype" => &mut form.itemtype,
        "client" => &mut form.client,
        "processingmodule" => &mut form.processingmodule,
        "status" => &mut form.status,
        "manual" => &mut form.manual,
        "hastask" => &mut form.hastask,
        "cdatefrom" => &mut form.cdatefrom,
        "cdateto" => &mut form.cdateto,
        "mintrycount" => &mut form.mintrycount,
        "errortext" => &mut form.errortext,
        "failure" => &mut form.failure,
        _ => return,
    };
    *slot = value;
}

/// The saved filter (`saved`, read again by the list after a change), shown as a bar when it
/// narrows the list, and the panel to change it. `open` toggles the panel (the `/` key opens it
/// too); `refresh` is bumped after a change.
#[component]
pub fn Filter(
    saved: RwSignal<Result<FilterForm, AppError>>,
    lang: Lang,
    open: RwSignal<bool>,
    refresh: RwSignal<u64>,
) -> impl IntoView {
    view! {
        {move || match saved.get() {
            Ok(form) => view! {
                <FilterBar form=form.clone() lang open refresh/>
                {move || open.get().then(|| view! { <FilterPanel form=form.clone() lang open refresh/> })}
            }
                .erase(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.erase(),
        }}
    }
}

/// "Filter active: ..." with a reset, or just the button that opens the panel.
#[component]
fn FilterBar(
    form: FilterForm,
    lang: Lang,
    open: RwSignal<bool>,
    refresh: RwSignal<u64>,
) -> impl IntoView {
    let active: Vec<String> = form
        .fields()
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}: {value}", label(name, lang)))
        .collect();
    let is_active = !active.is_empty();
    let reset = move |_| {
        leptos::task::spawn_local(async move {
            if save_filter(FilterForm::default()).await.is_ok() {
                refresh.update(|n| *n += 1);
            }
        });
    };
    view! {
        <div class="filterbar" class:active=is_active data-active=is_active.to_string()>
            <button
                type="button"
                aria-expanded=move || open.get().to_string()
                aria-controls="filter-panel"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {lang.pick("Фильтр", "Filter")}
            </button>
            {is_active.then(|| view! {
                <span class="filter-active" role="status">
                    {format!("{}: {}", lang.pick("Фильтр включён", "Filter active"), active.join(" · "))}
                </span>
                <button type="button" class="reset" on:click=reset>{lang.pick("Сбросить", "Reset")}</button>
            })}
        </div>
    }
}

#[component]
fn FilterPanel(
    form: FilterForm,
    lang: Lang,
    open: RwSignal<bool>,
    refresh: RwSignal<u64>,
) -> impl IntoView {
    let draft = RwSignal::new(form);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    // The clients and modules to choose from, read when the panel opens (in the browser).
    let choices = RwSignal::new(None::<(Vec<(i64, String)>, Vec<(i64, String)>)>);
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    leptos::task::spawn_local(async move {
        choices.set(Some(filter_choices().await.unwrap_or_default()));
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = draft.get_untracked();
        leptos::task::spawn_local(async move {
            match save_filter(form).await {
                Ok(()) => {
                    errors.set(Vec::new());
                    failure.set(None);
                    open.set(false);
                    refresh.update(|n| *n += 1);
                }
                Err(AppError::Value { fields }) => errors.set(fields),
                Err(e) => failure.set(Some(e.message(lang))),
            }
        });
    };
    let error_of = move |name: &'static str| {
        move || {
            errors
                .read()
                .iter()
                .find(|e| e.field == name)
                .map(|e| view! { <span class="field-error" id=format!("filter-error-{name}") role="alert">{e.message(lang)}</span> })
        }
    };
    let text = move |name: &'static str, placeholder: &'static str| {
        view! {
            <div class="field">
                <label>
                    <span>{label(name, lang)}</span>
                    <input
                        name=name
                        placeholder=placeholder
                        aria-invalid=move || errors.read().iter().any(|e| e.field == name).to_string()
                        aria-describedby=format!("filter-error-{name}")
                        prop:value=move || draft.read().fields().iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).unwrap_or_default()
                        on:input=move |ev| draft.update(|f| set(f, name, event_target_value(&ev)))
                    />
                </label>
                {error_of(name)}
            </div>
        }
    };
    let select = move |name: &'static str, options: Vec<(String, String)>| {
        view! {
            <div class="field">
            <label>
                <span>{label(name, lang)}</span>
                <select
                    name=name
                    prop:value=move || draft.read().fields().iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).unwrap_or_default()
                    on:change=move |ev| draft.update(|f| set(f, name, event_target_value(&ev)))
                >
                    <option value="">{lang.pick("— любой —", "— any —")}</option>
                    {options
                        .into_iter()
                        .map(|(value, text)| {
                            let selected = draft.read_untracked().fields().iter().any(|(n, v)| *n == name && *v == value);
                            view! { <option value=value selected=selected>{text}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
                {error_of(name)}
            </div>
        }
    };
    let on_off = vec![
        ("on".to_owned(), lang.pick("да", "yes").to_owned()),
        ("off".to_owned(), lang.pick("нет", "no").to_owned()),
    ];
    let intnames: Vec<(String, String)> = Intname::ALL
        .iter()
        .map(|i| (i.raw().to_owned(), i.label(lang).to_owned()))
        .collect();
    let statuses: Vec<(String, String)> = Status::ALL
        .iter()
        .map(|s| (s.raw().to_owned(), s.label(lang).to_owned()))
        .collect();
    view! {
        <form class="filter-panel" id="filter-panel" on:submit=submit aria-label=lang.pick("Фильтр", "Filter")>
            {text("id", "")}
            {select("intname", intnames)}
            {text("item", "")}
            {text("itemtype", "vds, domain…")}
            {move || choices.get().map(|(modules, clients)| {
                let as_options = |list: Vec<(i64, String)>| list.into_iter().map(|(id, name)| (id.to_string(), name)).collect::<Vec<_>>();
                view! {
                    {select("client", as_options(clients))}
                    {select("processingmodule", as_options(modules))}
                }
            })}
            {select("status", statuses)}
            {select("manual", on_off.clone())}
            {select("hastask", on_off)}
            {text("cdatefrom", "YYYY-MM-DD HH:MM:SS")}
            {text("cdateto", "YYYY-MM-DD HH:MM:SS")}
            {text("mintrycount", "")}
            {text("errortext", "")}
            {text("failure", "")}
            <div class="filter-buttons">
                <button type="submit" class="primary">{lang.pick("Применить", "Apply")}</button>
                <button type="button" on:click=move |_| draft.set(FilterForm::default())>{lang.pick("Очистить", "Clear")}</button>
                <button type="button" on:click=move |_| open.set(false)>{lang.pick("Закрыть", "Close")}</button>
            </div>
            {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </form>
    }
}
