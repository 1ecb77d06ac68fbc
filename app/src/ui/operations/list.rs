//! The list island and the page that serves it: the session, the first page of rows and the
//! saved filter, read on the server and handed to [`OperationsList`], which holds the list's
//! signals and puts header, filter, action bar and table together.

use leptos::prelude::*;

use super::actions::ActionBar;
use super::bulk::BulkBar;
use super::counts::StatusCounts;
use super::header::Header;
use super::live::live_updates;
use super::shortcuts::{shortcuts, Help, Keys};
use super::table::OperationTable;
use super::{ListState, Selection};
use crate::api::{
    current_session, get_filter, status_counts, troubled_circuits, unfinished_bulk_jobs,
};
use crate::types::bulk::BulkJobView;
use crate::types::{
    ActionResult, AppError, FilterForm, Lang, Level, OperationRow, Page, SessionInfo, Status,
};
use crate::ui::circuit::CircuitBanners;
use crate::ui::filter::Filter;
use crate::ui::island::{hand_over, take};
use crate::ui::sync_view::Erase;
use crate::ui::{failure, load, ready};

/// The operations page, rendered on the server (sorting and paging are links): a banner for
/// each module whose circuit is not closed, then the session, the page of the list and the
/// saved filter, handed to the [`OperationsList`] island.
/// Redirects to the login form without a session.
#[component]
pub fn OperationsPage() -> impl IntoView {
    let state = ListState::from_query();
    let session = load(|| (), |_| current_session());
    let fetch = state.clone();
    let operations = load(|| (), move |_| fetch.clone().fetch());
    let filter = load(|| (), |_| get_filter());
    let counts = load(|| (), |_| status_counts());
    let circuits = load(|| (), |_| troubled_circuits());
    let jobs = load(|| (), |_| unfinished_bulk_jobs());
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || {
                let state = state.clone();
                Suspend::new(async move {
                    match session.await {
                        Ok(Some(info)) => {
                            let page = operations.await;
                            let filter = filter.await;
                            let counts = counts.await;
                            let (lang, can_change) = (info.lang, info.level == Level::Admin);
                            let circuits = circuits.await.unwrap_or_default();
                            let job = jobs.await.unwrap_or_default().into_iter().next();
                            let carrier = hand_over("list", ListData { info, page, state, filter, counts, job });
                            view! {
                                <CircuitBanners circuits lang can_change/>
                                {carrier}
                                <OperationsList/>
                            }
                            .erase()
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
    /// Current operations per status.
    counts: Result<Vec<(Status, i64)>, AppError>,
    /// A bulk job not over yet (after a reload, its bar goes on).
    job: Option<BulkJobView>,
}

/// The list with everything that acts on it: header (live indicator, language, theme), filter,
/// action bar, table and pager, keyboard shortcuts. The one part of the page that runs in the
/// browser: it starts from the rows the server read, and reads them again after an action, a
/// filter change or a live update.
#[island]
fn OperationsList() -> impl IntoView {
    take::<ListData>("list").map(|data| view! { <ListBody data/> })
}

/// The list island's content, from the data the page handed over.
#[component]
fn ListBody(data: ListData) -> impl IntoView {
    let ListData {
        info,
        page,
        state,
        filter,
        counts,
        job,
    } = data;
    let lang = info.lang;
    let can_change = info.level == Level::Admin;
    // Bumped by live updates and after actions: the list and the filter are read again.
    let refresh = RwSignal::new(0_u64);
    let page = RwSignal::new(page);
    let saved = RwSignal::new(filter);
    let counts = RwSignal::new(counts);
    let job = RwSignal::new(job);
    let matching = Signal::derive(move || match &*page.read() {
        Ok(p) => (p.total, p.total_exact),
        Err(_) => (0, true),
    });
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new({
        let state = state.clone();
        move |_| {
            let wanted = refresh.get();
            if wanted == 0 {
                return;
            }
            // By number: the filter may have changed since the page beside it was shown, and
            // the total is then counted, not taken from the pages before.
            let state = ListState {
                seek: None,
                ..state.clone()
            };
            leptos::task::spawn_local(async move {
                let (rows, filter) = (state.fetch().await, get_filter().await);
                let totals = status_counts().await;
                // An older answer arriving after a newer request is dropped.
                if refresh.get_untracked() == wanted {
                    page.set(rows);
                    saved.set(filter);
                    counts.set(totals);
                }
            });
        }
    });
    let selection = RwSignal::new(Selection::default());
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
        <main class="page" data-ready=move || ready.get().to_string()>
            <Header info live/>
            {move || keys.help.get().then(|| view! { <Help lang/> })}
            <Filter saved lang open=filter_open refresh/>
            <StatusCounts counts saved lang refresh/>
            {can_change.then(|| view! { <ActionBar lang selection results refresh requested=keys.requested/> })}
            {can_change.then(|| view! { <BulkBar lang matching job refresh/> })}
            {move || match page.get() {
                Ok(page) => view! {
                    <OperationTable page lang state=state.clone() selection results refresh keys can_change/>
                }
                    .erase(),
                Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.erase(),
            }}
        </main>
    }
}
