//! The current operations list: the seed's ten columns, statuses in the session's language,
//! sorting, paging and page size held in the URL, selection with group actions and per-row
//! results, and live updates from the server's change stream.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::filter::Filter;
use super::sync_view::Erase;
use super::{failure, load, ready, when, Packed};
use crate::api::{
    current_session, filter_to_client, get_filter, list_operations, panel_url, run_action,
    set_lang, su_client,
};
use crate::types::dossier::Subject;
use crate::types::{
    ActionResult, AppError, FilterForm, Lang, Level, OperationAction, OperationRow, Page,
    SessionInfo, SortColumn, SortOrder, Timestamp,
};

/// Rows per page unless the URL says otherwise.
const PAGE_SIZE: u32 = 50;
/// The page sizes offered.
const PAGE_SIZES: [u32; 4] = [20, 50, 100, 200];

/// The list's state as the URL holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ListState {
    page: u32,
    size: u32,
    sort: SortColumn,
    order: SortOrder,
}

impl ListState {
    /// The state in the current URL's query.
    fn from_query() -> ListState {
        let query = use_query_map();
        let q = query.read_untracked();
        let number = |key: &str| q.get(key).and_then(|v| v.parse::<u32>().ok());
        ListState {
            page: number("page").unwrap_or(1).max(1),
            size: number("size")
                .filter(|s| PAGE_SIZES.contains(s))
                .unwrap_or(PAGE_SIZE),
            sort: q
                .get("sort")
                .and_then(|s| SortColumn::parse(&s))
                .unwrap_or_default(),
            order: q
                .get("order")
                .and_then(|o| SortOrder::parse(&o))
                .unwrap_or_default(),
        }
    }

    /// The URL of this state.
    fn href(&self) -> String {
        format!(
            "/?page={}&size={}&sort={}&order={}",
            self.page,
            self.size,
            self.sort.name(),
            self.order.name()
        )
    }

    /// Reads this state's page of the list.
    async fn fetch(self) -> Result<Page<OperationRow>, AppError> {
        list_operations(
            self.page,
            self.size,
            Some(self.sort.name().into()),
            Some(self.order.name().into()),
        )
        .await
    }
}

/// The operations page, rendered on the server (sorting and paging are links): the session,
/// the page of the list and the saved filter, handed to the [`OperationsList`] island.
/// Redirects to the login form without a session.
#[component]
pub fn OperationsPage() -> impl IntoView {
    let state = ListState::from_query();
    let session = load(|| (), |_| current_session());
    let fetch = state.clone();
    let operations = load(|| (), move |_| fetch.clone().fetch());
    let filter = load(|| (), |_| get_filter());
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || {
                let state = state.clone();
                Suspend::new(async move {
                    match session.await {
                        Ok(Some(info)) => {
                            let page = operations.await;
                            let filter = filter.await;
                            let data = Packed(ListData { info, page, state, filter });
                            view! { <OperationsList data/> }.erase()
                        }
                        Ok(None) => failure("", AppError::Auth, Lang::En),
                        Err(e) => failure("", e, Lang::En),
                    }
                })
            }}
        </Suspense>
    }
}

/// What the list island starts from: the session, the page the server read, the list's state
/// in the URL and the saved filter.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct ListData {
    info: SessionInfo,
    page: Result<Page<OperationRow>, AppError>,
    state: ListState,
    filter: Result<FilterForm, AppError>,
}

/// The list with everything that acts on it: header (live indicator, language, theme), filter,
/// action bar, table and pager, keyboard shortcuts. The one part of the page that runs in the
/// browser: it starts from the rows the server read, and reads them again after an action, a
/// filter change or a live update.
#[island]
fn OperationsList(data: Packed<ListData>) -> impl IntoView {
    let ListData {
        info,
        page,
        state,
        filter,
    } = data.0;
    let lang = info.lang;
    let can_change = info.level == Level::Admin;
    // Bumped by live updates and after actions: the list and the filter are read again.
    let refresh = RwSignal::new(0_u64);
    let page = RwSignal::new(page);
    let saved = RwSignal::new(filter);
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new({
        let state = state.clone();
        move |_| {
            let wanted = refresh.get();
            if wanted == 0 {
                return;
            }
            let state = state.clone();
            leptos::task::spawn_local(async move {
                let (rows, filter) = (state.fetch().await, get_filter().await);
                // An older answer arriving after a newer request is dropped.
                if refresh.get_untracked() == wanted {
                    page.set(rows);
                    saved.set(filter);
                }
            });
        }
    });
    let selection = RwSignal::new(BTreeSet::<i64>::new());
    let results = RwSignal::new(Vec::<ActionResult>::new());
    let filter_open = RwSignal::new(false);
    let keys = Keys {
        page_ids: RwSignal::new(Vec::new()),
        cursor: RwSignal::new(None),
        requested: RwSignal::new(None),
        help: RwSignal::new(false),
    };
    shortcuts(keys, selection, filter_open);
    let ready = ready();
    let live = live_updates(refresh);
    view! {
        <div class="page" data-ready=move || ready.get().to_string()>
            <Header info live/>
            {move || keys.help.get().then(|| view! { <Help lang/> })}
            <Filter saved lang open=filter_open refresh/>
            {can_change.then(|| view! { <ActionBar lang selection results refresh requested=keys.requested/> })}
            {move || match page.get() {
                Ok(page) => view! {
                    <OperationTable page lang state=state.clone() selection results refresh keys can_change/>
                }
                    .erase(),
                Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.erase(),
            }}
        </div>
    }
}

/// Whether live updates are on, and whether the stream is connected.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    pub paused: RwSignal<bool>,
    pub connected: RwSignal<bool>,
}

/// Listens to the server's change stream (`/events`, server-sent events) and bumps `refresh`,
/// at most once a second, while not paused. In the browser only.
fn live_updates(refresh: RwSignal<u64>) -> Live {
    let live = Live {
        paused: RwSignal::new(false),
        connected: RwSignal::new(false),
    };
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let dirty = RwSignal::new(false);
        Effect::new(move |_| {
            let Ok(source) = web_sys::EventSource::new("/events") else {
                return;
            };
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                dirty.set(true);
            });
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let on_open = Closure::<dyn FnMut()>::new(move || live.connected.set(true));
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let on_error = Closure::<dyn FnMut()>::new(move || live.connected.set(false));
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            on_cleanup(move || source.close());
        });
        let _ = set_interval_with_handle(
            move || {
                if dirty.get_untracked() && !live.paused.get_untracked() {
                    dirty.set(false);
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1000),
        );
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = refresh;
    live
}

/// The top bar: product name, the live indicator, who is logged in, and a logout button.
#[component]
fn Header(info: SessionInfo, live: Live) -> impl IntoView {
    let lang = info.lang;
    let title = lang.pick("Текущие операции", "Current operations");
    let label = move || match (live.paused.get(), live.connected.get()) {
        (true, _) => lang.pick("Пауза", "Paused"),
        (false, true) => lang.pick("В реальном времени", "Live"),
        (false, false) => lang.pick("Нет связи", "Offline"),
    };
    let state = move || match (live.paused.get(), live.connected.get()) {
        (true, _) => "paused",
        (false, true) => "live",
        (false, false) => "offline",
    };
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{title}</h1>
            <button
                type="button"
                class="live"
                data-live=state
                aria-pressed=move || (!live.paused.get()).to_string()
                title=lang.pick("Обновлять список при изменениях (пауза по нажатию)", "Update the list as things change (click to pause)")
                on:click=move |_| live.paused.update(|p| *p = !*p)
            >
                <span class="dot" aria-hidden="true"></span>
                {label}
            </button>
            <span class="who">{format!("{} ({})", info.user, info.level.raw())}</span>
            <select
                class="lang"
                aria-label=lang.pick("Язык", "Language")
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    leptos::task::spawn_local(async move {
                        if set_lang(chosen).await.is_ok() {
                            #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
                            let _ = window().location().reload();
                        }
                    });
                }
            >
                <option value="en" selected=lang == Lang::En>"English"</option>
                <option value="ru" selected=lang == Lang::Ru>"Русский"</option>
            </select>
            <super::theme::ThemeSwitch lang/>
            // A plain form post: the server ends the session and redirects to the login form.
            <form method="post" action="/api/logout">
                <button type="submit">{lang.pick("Выйти", "Log out")}</button>
            </form>
        </header>
    }
}

/// Start, Stop, Create task, Delete for the selected rows; Delete asks first, naming them.
#[component]
fn ActionBar(
    lang: Lang,
    selection: RwSignal<BTreeSet<i64>>,
    results: RwSignal<Vec<ActionResult>>,
    refresh: RwSignal<u64>,
    requested: RwSignal<Option<OperationAction>>,
) -> impl IntoView {
    let pending_delete = RwSignal::new(Vec::<i64>::new());
    let busy = RwSignal::new(false);
    let run = move |action: OperationAction, ids: Vec<i64>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match run_action(action, ids).await {
                Ok(outcome) => {
                    selection.update(|s| {
                        for r in outcome.iter().filter(|r| r.error.is_none()) {
                            if action == OperationAction::Delete {
                                s.remove(&r.id);
                            }
                        }
                    });
                    results.set(outcome);
                }
                Err(e) => results.set(vec![ActionResult {
                    id: 0,
                    error: Some(e.message(lang)),
                }]),
            }
            busy.set(false);
            refresh.update(|n| *n += 1);
        });
    };
    let count = move || selection.read().len();
    // A keyboard shortcut asked for an action on the selection (in the browser: an effect
    // here would keep server rendering waiting in a workspace build, where `hydrate` is on).
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = requested;
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new(move |_| {
        if let Some(action) = requested.get() {
            requested.set(None);
            let ids: Vec<i64> = selection.get_untracked().into_iter().collect();
            if !ids.is_empty() {
                run(action, ids);
            }
        }
    });
    view! {
        <section class="actions" aria-label=lang.pick("Действия", "Actions")>
            <span class="selected" data-count=count>
                {move || format!("{}: {}", lang.pick("Выбрано", "Selected"), count())}
            </span>
            {OperationAction::ALL
                .into_iter()
                .map(|action| {
                    view! {
                        <button
                            type="button"
                            data-action=action.raw()
                            disabled=move || count() == 0 || busy.get()
                            on:click=move |_| {
                                let ids: Vec<i64> = selection.get_untracked().into_iter().collect();
                                if action == OperationAction::Delete {
                                    pending_delete.set(ids);
                                } else {
                                    run(action, ids);
                                }
                            }
                        >
                            {action.label(lang)}
                        </button>
                    }
                })
                .collect_view()}
            <a href="/new" class="new">{lang.pick("Новая операция", "New operation")}</a>
            {move || (!pending_delete.read().is_empty()).then(|| view! {
                <div class="confirm" role="alertdialog" aria-label=lang.pick("Подтверждение", "Confirmation")>
                    <span>
                        {move || {
                            let ids = pending_delete.get();
                            let names = ids.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ");
                            format!("{} {names}?", lang.pick("Удалить операции", "Delete operations"))
                        }}
                    </span>
                    <button
                        type="button"
                        class="danger"
                        on:click=move |_| {
                            let ids = pending_delete.get_untracked();
                            pending_delete.set(Vec::new());
                            run(OperationAction::Delete, ids);
                        }
                    >
                        {lang.pick("Да, удалить", "Yes, delete")}
                    </button>
                    <button type="button" on:click=move |_| pending_delete.set(Vec::new())>
                        {lang.pick("Отмена", "Cancel")}
                    </button>
                </div>
            })}
            {move || {
                let shown = results.get();
                (!shown.is_empty()).then(|| view! {
                    <ul class="results" role="status">
                        {shown
                            .into_iter()
                            .map(|r| {
                                let ok = r.error.is_none();
                                let text = match (r.id, r.error) {
                                    (0, Some(e)) => e,
                                    (id, None) => format!("#{id}: {}", lang.pick("выполнено", "done")),
                                    (id, Some(e)) => format!("#{id}: {e}"),
                                };
                                view! {
                                    <li data-id=r.id data-ok=ok.to_string() class=if ok { "ok" } else { "failed" }>
                                        {text}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                })
            }}
        </section>
    }
}

/// The list itself, with sortable headers, a pager and a page-size choice.
#[component]
fn OperationTable(
    page: Page<OperationRow>,
    lang: Lang,
    state: ListState,
    selection: RwSignal<BTreeSet<i64>>,
    results: RwSignal<Vec<ActionResult>>,
    refresh: RwSignal<u64>,
    keys: Keys,
    can_change: bool,
) -> impl IntoView {
    let now = page.now;
    let headers = [
        (SortColumn::Id, "Id", "Id"),
        (SortColumn::Desc, "Описание", "Description"),
        (SortColumn::Item, "Услуга/товар", "Service"),
        (SortColumn::Itemtype, "Тип продукта", "Product type"),
        (SortColumn::Client, "Клиент", "Client"),
        (SortColumn::Cdate, "Дата создания", "Created"),
        (SortColumn::Trycount, "Количество попыток", "Attempts"),
        (
            SortColumn::Processingmodule,
            "Обработчик",
            "Processing module",
        ),
        (SortColumn::Task, "Задача", "Task"),
        (SortColumn::Status, "Статус", "Status"),
    ];
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
        ..state.clone()
    }
    .href();
    let next = ListState {
        page: current + 1,
        ..state.clone()
    }
    .href();
    let sizes_state = state.clone();
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
                    {headers
                        .into_iter()
                        .map(|(column, ru, en)| {
                            let sorted = state.sort == column;
                            let order = if sorted && state.order == SortOrder::Asc { SortOrder::Desc } else { SortOrder::Asc };
                            let href = ListState { page: 1, sort: column, order, ..state.clone() }.href();
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
                                    <a href=href>{lang.pick(ru, en)}{arrow}</a>
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
                        let href = ListState { page: 1, size, ..sizes_state.clone() }.href();
                        let current = (size == sizes_state.size).then_some("page");
                        view! { <a href=href aria-current=current>{size.to_string()}</a> }
                    })
                    .collect_view()}
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
    selection: RwSignal<BTreeSet<i64>>,
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
                    "⧩"
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

/// What the list's keyboard shortcuts act on.
#[derive(Clone, Copy)]
struct Keys {
    /// The ids of the rows on the page, in order.
    page_ids: RwSignal<Vec<i64>>,
    /// The row `j`/`k` moved to.
    cursor: RwSignal<Option<i64>>,
    /// An action a key asked for (the action bar runs it on the selection).
    requested: RwSignal<Option<OperationAction>>,
    /// The `?` help is open.
    help: RwSignal<bool>,
}

/// `j`/`k` move, `x` selects, `s` starts the selection, `/` opens the filter, `?` shows help,
/// `Escape` closes it; keys typed into a field are left alone. In the browser only.
fn shortcuts(keys: Keys, selection: RwSignal<BTreeSet<i64>>, filter_open: RwSignal<bool>) {
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let ids = keys.page_ids.get_untracked();
            let at = keys
                .cursor
                .get_untracked()
                .and_then(|c| ids.iter().position(|id| *id == c));
            let step = |delta: isize| {
                let next = match at {
                    None => 0,
                    Some(i) => (i as isize + delta).clamp(0, ids.len() as isize - 1) as usize,
                };
                keys.cursor.set(ids.get(next).copied());
            };
            match ev.key().as_str() {
                "j" => step(1),
                "k" => step(-1),
                "x" => {
                    if let Some(id) = keys.cursor.get_untracked() {
                        selection.update(|s| {
                            if !s.remove(&id) {
                                s.insert(id);
                            }
                        });
                    }
                }
                "s" => keys.requested.set(Some(OperationAction::Start)),
                "/" => {
                    ev.prevent_default();
                    filter_open.set(true);
                }
                "?" => keys.help.update(|h| *h = !*h),
                "Escape" => keys.help.set(false),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = (keys, selection, filter_open);
}

/// The keyboard shortcuts, shown by `?`.
#[component]
fn Help(lang: Lang) -> impl IntoView {
    let keys = [
        (
            "j / k",
            lang.pick("следующая / предыдущая строка", "next / previous row"),
        ),
        ("x", lang.pick("выбрать строку", "select the row")),
        ("s", lang.pick("запустить выбранные", "start the selected")),
        ("/", lang.pick("фильтр", "filter")),
        ("?", lang.pick("эта справка", "this help")),
    ];
    view! {
        <aside class="help" role="dialog" aria-label=lang.pick("Клавиши", "Keyboard shortcuts")>
            <h2>{lang.pick("Клавиши", "Keyboard shortcuts")}</h2>
            <dl>
                {keys
                    .into_iter()
                    .map(|(key, what)| view! { <dt><kbd>{key}</kbd></dt><dd>{what}</dd> })
                    .collect_view()}
            </dl>
        </aside>
    }
}
