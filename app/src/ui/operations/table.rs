//! The table of operations: sortable headers, rows with their selection and links, the
//! pager and the page-size choice.

use leptos::prelude::*;

use super::shortcuts::Keys;
use super::{ListState, Selection, PAGE_SIZES};
use crate::api::{filter_to_client, panel_url, su_client};
use crate::types::dossier::Subject;
use crate::types::{ActionResult, Lang, OperationRow, Page, SortColumn, SortOrder, Timestamp};
use crate::ui::when;

/// The list itself, with sortable headers, a pager and a page-size choice.
#[component]
pub(super) fn OperationTable(
    page: Page<OperationRow>,
    lang: Lang,
    state: ListState,
    selection: RwSignal<Selection>,
    results: RwSignal<Vec<ActionResult>>,
    refresh: RwSignal<u64>,
    keys: Keys,
    can_change: bool,
) -> impl IntoView {
    let now = page.now;
    let last_page = page.total.div_ceil(u64::from(page.page_size.max(1))).max(1);
    let current = page.page;
    let total = if page.total_exact {
        page.total.to_string()
    } else {
        format!("{}+", page.total)
    };
    let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
    keys.page_ids.set(ids.clone());
    let last_clicked = RwSignal::new(None::<usize>);
    let all_ids = ids.clone();
    let all_selected =
        move || !all_ids.is_empty() && all_ids.iter().all(|id| selection.read().contains(id));
    let page_ids = ids.clone();
    let toggle_all = move |_| {
        let select = !page_ids
            .iter()
            .all(|id| selection.read_untracked().contains(id));
        selection.update(|s| {
            for id in &page_ids {
                if select {
                    s.insert(*id);
                } else {
                    s.remove(id);
                }
            }
        });
    };
    let rows = page.rows;
    let previous = ListState {
        page: current.saturating_sub(1).max(1),
        seek: page.previous.clone(),
        ..state.clone()
    }
    .href();
    let next = ListState {
        page: current.saturating_add(1),
        seek: page.next.clone(),
        ..state.clone()
    }
    .href();
    let sizes_state = state.clone();
    let export = format!(
        "/export/operations.csv?sort={}&order={}",
        state.sort.name(),
        state.order.name()
    );
    let export_excel = format!("{export}&bom=1");
    view! {
        <table class="operations" id="operations">
            <thead>
                <tr>
                    {can_change.then(|| view! {
                        <th scope="col" class="check">
                            <input
                                type="checkbox"
                                aria-label=lang.pick("Выбрать все на странице", "Select all on this page")
                                prop:checked=all_selected
                                on:change=toggle_all
                            />
                        </th>
                    })}
                    {SortColumn::ALL
                        .into_iter()
                        .map(|column| {
                            let sorted = state.sort == column;
                            let order = if sorted && state.order == SortOrder::Asc { SortOrder::Desc } else { SortOrder::Asc };
                            let href = ListState { page: 1, sort: column, order, seek: None, ..state.clone() }.href();
                            let aria = match (sorted, state.order) {
                                (false, _) => "none",
                                (true, SortOrder::Asc) => "ascending",
                                (true, SortOrder::Desc) => "descending",
                            };
                            let arrow = match (sorted, state.order) {
                                (false, _) => "",
                                (true, SortOrder::Asc) => " ▲",
                                (true, SortOrder::Desc) => " ▼",
                            };
                            view! {
                                <th scope="col" data-col=column.name() aria-sort=aria>
                                    <a href=href>{column.label(lang)}{arrow}</a>
                                </th>
                            }
                        })
                        .collect_view()}
                    <th scope="col" class="row-actions">
                        <span class="visually-hidden">{lang.pick("Переходы", "Go to")}</span>
                    </th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .enumerate()
                    .map(|(index, row)| {
                        let ids = ids.clone();
                        view! { <Row row lang now index ids selection last_clicked results refresh cursor=keys.cursor can_change/> }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label=lang.pick("Страницы", "Pages")>
            <span class="total">{format!("{}: {total}", lang.pick("Всего", "Total"))}</span>
            {(current > 1).then(|| view! { <a href=previous>{lang.pick("← Назад", "← Previous")}</a> })}
            <span>{format!("{current} / {last_page}")}</span>
            {(u64::from(current) < last_page).then(|| view! { <a href=next>{lang.pick("Вперёд →", "Next →")}</a> })}
            <span class="sizes">
                {lang.pick("На странице:", "Per page:")}
                {PAGE_SIZES
                    .into_iter()
                    .map(|size| {
                        let href = ListState { page: 1, size, seek: None, ..sizes_state.clone() }.href();
                        let current = (size == sizes_state.size).then_some("page");
                        view! { <a href=href aria-current=current>{size.to_string()}</a> }
                    })
                    .collect_view()}
            </span>
            <span class="export">
                <a href=export download title=lang.pick("Все строки списка с текущим фильтром и сортировкой", "Every row of the list, filtered and sorted as shown")>
                    {lang.pick("Выгрузить CSV", "Export CSV")}
                </a>
                <a href=export_excel download>{lang.pick("CSV для Excel", "CSV for Excel")}</a>
            </span>
        </nav>
    }
}

/// One operation; a click on its check box with Shift held selects the range from the last one.
#[component]
fn Row(
    row: OperationRow,
    lang: Lang,
    /// When the page was read: ages count from it.
    now: Timestamp,
    index: usize,
    ids: Vec<i64>,
    selection: RwSignal<Selection>,
    last_clicked: RwSignal<Option<usize>>,
    results: RwSignal<Vec<ActionResult>>,
    refresh: RwSignal<u64>,
    cursor: RwSignal<Option<i64>>,
    can_change: bool,
) -> impl IntoView {
    let id = row.id;
    let only_client = move |_| {
        leptos::task::spawn_local(async move {
            if filter_to_client(id).await.is_ok() {
                refresh.update(|n| *n += 1);
            }
        });
    };
    let status_class = format!("badge status-{}", row.status.raw());
    let title = row.last_error.clone().unwrap_or_default();
    let selected = move || selection.read().contains(&id);
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let select = !selection.read_untracked().contains(&id);
        let from = last_clicked
            .get_untracked()
            .filter(|_| ev.shift_key())
            .unwrap_or(index);
        let (a, b) = (from.min(index), from.max(index));
        selection.update(|s| {
            for other in &ids[a..=b] {
                if select {
                    s.insert(*other);
                } else {
                    s.remove(other);
                }
            }
        });
        last_clicked.set(Some(index));
    };
    let result = move || results.read().iter().find(|r| r.id == id).cloned();
    view! {
        <tr data-id=id class:selected=selected class:cursor=move || cursor.get() == Some(id) aria-current=move || (cursor.get() == Some(id)).then_some("true") data-result=move || result().map(|r| if r.error.is_none() { "ok" } else { "failed" })>
            {can_change.then(|| view! {
                <td class="check">
                    <input
                        type="checkbox"
                        aria-label=format!("{} #{id}", lang.pick("Выбрать операцию", "Select operation"))
                        prop:checked=selected
                        on:click=on_click
                    />
                </td>
            })}
            <td><a href=format!("/operation/{id}") title=lang.pick("История ошибок", "Error history")>{id}</a></td>
            <td>{row.desc(lang)}</td>
            <td><a href=Subject::Service.href(row.item_id)>{format!("#{} {}", row.item_id, row.item_name)}</a></td>
            <td>{row.itemtype.clone()}</td>
            <td>
                <a href=Subject::Client.href(row.client_id)>{row.client_name.clone()}</a>
                <button
                    type="button"
                    class="only"
                    title=lang.pick("Только операции этого клиента", "Only this client's operations")
                    aria-label=format!("{} {}", lang.pick("Только операции клиента", "Only operations of"), row.client_name)
                    on:click=only_client
                >
                    <svg class="icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
                        <path d="M1 2h14l-5.5 6.5V14l-3-1.5V8.5z" fill="currentColor"/>
                    </svg>
                </button>
            </td>
            <td class="when">{when(row.cdate, now, lang)}</td>
            <td class="num">{row.trycount}</td>
            <td>{row.module_name.clone()}</td>
            <td>{row.task_id.map(|t| view! { <a href=Subject::Task.href(t)>{format!("#{t}")}</a> })}</td>
            <td>
                <span class=status_class title=title data-status=row.status.raw()>
                    {row.status.label(lang)}
                </span>
                {move || result().and_then(|r| r.error).map(|e| view! { <span class="row-error">{e}</span> })}
            </td>
            <td class="row-actions">
                <a href=format!("/operation/{id}/edit") aria-label=format!("{} #{id}", lang.pick("Изменить операцию", "Edit operation"))>
                    {lang.pick("Изменить", "Edit")}
                </a>
                {can_change.then(|| view! {
                    <button
                        type="button"
                        class="link"
                        aria-label=format!("{} #{id}", lang.pick("Войти как клиент операции", "Log in as the client of operation"))
                        on:click=move |_| open_in_new_tab(id, results, lang, Goto::ClientArea)
                    >
                        {lang.pick("Войти как клиент", "Log in as client")}
                    </button>
                })}
                <button
                    type="button"
                    class="link"
                    aria-label=format!("{} #{id}", lang.pick("Перейти в панель обработчика операции", "Go to the module panel of operation"))
                    on:click=move |_| open_in_new_tab(id, results, lang, Goto::Panel)
                >
                    {lang.pick("В панель", "Go to panel")}
                </button>
            </td>
        </tr>
    }
}

/// Where a row's "go to" button leads.
#[derive(Clone, Copy)]
enum Goto {
    /// The client area, as the operation's client (`su`).
    ClientArea,
    /// The processing module's panel (`gotoserver`).
    Panel,
}

/// Opens a new tab at once (still within the click, so no popup blocker objects), then points
/// it where the server says; on a refusal the tab closes and the row shows why.
fn open_in_new_tab(id: i64, results: RwSignal<Vec<ActionResult>>, lang: Lang, goto: Goto) {
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    let tab = window()
        .open_with_url_and_target("about:blank", "_blank")
        .ok()
        .flatten();
    // What `rel="noopener"` does for a link: the new tab gets no handle on this one (a
    // panel's page could otherwise send the admin's tab elsewhere).
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    if let Some(tab) = &tab {
        let _ = tab.set_opener(&wasm_bindgen::JsValue::NULL);
    }
    leptos::task::spawn_local(async move {
        let target = match goto {
            Goto::ClientArea => su_client(id).await.map(|()| "/client".to_owned()),
            Goto::Panel => panel_url(id).await,
        };
        match target {
            Ok(url) => {
                #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
                if let Some(tab) = &tab {
                    let _ = tab.location().set_href(&url);
                }
                #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
                let _ = url;
            }
            Err(e) => {
                #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
                if let Some(tab) = &tab {
                    let _ = tab.close();
                }
                results.set(vec![ActionResult {
                    id,
                    error: Some(e.message(lang)),
                }]);
            }
        }
    });
}
