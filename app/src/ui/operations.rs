//! The current operations list: the seed's ten columns, statuses in the session's language.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_query_map;

use super::hydrated;
use crate::api::{current_session, list_operations, Logout};
use crate::types::{Lang, OperationRow, Page, SessionInfo};

/// Rows per page of the list.
const PAGE_SIZE: u32 = 50;

/// The operations page: redirects to the login form without a session.
#[component]
pub fn OperationsPage() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let session = Resource::new(|| (), |_| current_session());
    let operations = Resource::new(page, |page| list_operations(page, PAGE_SIZE, None, None));
    let hydrated = hydrated();
    view! {
        <div class="page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match session.await {
                        Ok(Some(info)) => {
                            let lang = info.lang;
                            let list = operations.await;
                            view! {
                                <Header info/>
                                {match list {
                                    Ok(page) => view! { <OperationTable page lang/> }.into_any(),
                                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                                }}
                            }
                                .into_any()
                        }
                        Ok(None) => {
                            super::redirect_status();
                            view! { <Redirect path="/login"/> }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(Lang::En)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The top bar: product name, who is logged in, and a logout button.
#[component]
fn Header(info: SessionInfo) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let title = info.lang.pick("Текущие операции", "Current operations");
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{title}</h1>
            <span class="who">{format!("{} ({})", info.user, info.level.raw())}</span>
            <ActionForm action=logout>
                <button type="submit">{info.lang.pick("Выйти", "Log out")}</button>
            </ActionForm>
        </header>
    }
}

/// The list itself, with a pager.
#[component]
fn OperationTable(page: Page<OperationRow>, lang: Lang) -> impl IntoView {
    let headers = [
        ("id", "Id", "Id"),
        ("desc", "Описание", "Description"),
        ("item", "Услуга/товар", "Service"),
        ("itemtype", "Тип продукта", "Product type"),
        ("client", "Клиент", "Client"),
        ("cdate", "Дата создания", "Created"),
        ("trycount", "Количество попыток", "Attempts"),
        ("processingmodule", "Обработчик", "Processing module"),
        ("task", "Задача", "Task"),
        ("status", "Статус", "Status"),
    ];
    let last_page = page.total.div_ceil(u64::from(page.page_size.max(1))).max(1);
    let current = page.page;
    let total = if page.total_exact {
        page.total.to_string()
    } else {
        format!("{}+", page.total)
    };
    let rows = page.rows;
    view! {
        <table class="operations" id="operations">
            <thead>
                <tr>
                    {headers
                        .into_iter()
                        .map(|(key, ru, en)| view! { <th scope="col" data-col=key>{lang.pick(ru, en)}</th> })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| view! { <Row row lang/> }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label=lang.pick("Страницы", "Pages")>
            <span class="total">{format!("{}: {total}", lang.pick("Всего", "Total"))}</span>
            <Show when=move || { current > 1 }>
                <A href=format!("/?page={}", current - 1)>{lang.pick("← Назад", "← Previous")}</A>
            </Show>
            <span>{format!("{current} / {last_page}")}</span>
            <Show when=move || { u64::from(current) < last_page }>
                <A href=format!("/?page={}", current + 1)>{lang.pick("Вперёд →", "Next →")}</A>
            </Show>
        </nav>
    }
}

/// One operation.
#[component]
fn Row(row: OperationRow, lang: Lang) -> impl IntoView {
    let status_class = format!("badge status-{}", row.status.raw());
    let title = row.last_error.clone().unwrap_or_default();
    view! {
        <tr data-id=row.id>
            <td>{row.id}</td>
            <td>{row.desc(lang)}</td>
            <td>{format!("#{} {}", row.item_id, row.item_name)}</td>
            <td>{row.itemtype.clone()}</td>
            <td>{row.client_name.clone()}</td>
            <td>{row.cdate.format()}</td>
            <td class="num">{row.trycount}</td>
            <td>{row.module_name.clone()}</td>
            <td>{row.task_id.map(|t| format!("#{t}")).unwrap_or_default()}</td>
            <td>
                <span class=status_class title=title data-status=row.status.raw()>
                    {row.status.label(lang)}
                </span>
            </td>
        </tr>
    }
}
