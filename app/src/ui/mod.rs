//! The admin UI: the HTML shell, the router, the pages, and what every page shares (loading
//! data, a staff page's body, times with their age, an island's readiness; what an island
//! starts from is [`island`]'s). Components call only [`crate::api`].
//!
//! Every page is rendered on the server and works as served; links are ordinary page loads.
//! What acts in the browser is a Leptos island (`#[island]`), hydrated once the WASM is there:
//! the operations list with everything around it (`operations::list::OperationsList`), the edit
//! form, the log's copy button and the client area's way back. Only islands reach the WASM
//! bundle.
//!
//! Browser-only code (event sources, timers, key listeners, storage) is compiled for
//! `all(feature = "hydrate", target_arch = "wasm32")`: a workspace build unifies `hydrate` into
//! the server's `app` too, where such calls would panic during server rendering.

mod alerts;
mod chart;
mod circuit;
mod client;
mod dossier;
mod edit;
mod failure;
mod filter;
mod history;
mod island;
mod journal;
mod login;
mod operations;
mod sync_view;
mod theme;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{FlatRoutes, Redirect, Route, Router};
use leptos_router::hooks::use_params_map;
use leptos_router::{path, SsrMode};
use sync_view::Erase;

use crate::types::dossier::Subject;
use crate::types::{AppError, Lang, TimeUnit, Timestamp};

pub use alerts::AlertsPage;
pub use chart::DashboardPage;
pub use client::ClientPage;
pub use dossier::{DossierPage, DossierPageProps};
pub use edit::EditPage;
pub use failure::FailuresPage;
pub use history::{HistoryPage, LogPage};
pub use journal::JournalPage;
pub use login::LoginPage;
pub use operations::OperationsPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <script nonce=leptos::nonce::use_nonce() inner_html=theme::APPLY_STORED_THEME></script>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: the login page, the operations list, an operation's history and logs, the
/// edit form, the client area, the detail pages of clients, services, tasks and modules, and
/// the dashboard's charts.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/billops.css"/>
        <Title text="billops: current operations"/>
        <Router>
            <FlatRoutes fallback=|| view! { <p class="notice">"Page not found."</p> }>
                // Async SSR: the rows are in the HTML where they belong, not streamed after it.
                <Route path=path!("/") view=OperationsPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/operation/:id") view=HistoryPage ssr=SsrMode::Async/>
                <Route path=path!("/attempt/:id") view=LogPage ssr=SsrMode::Async/>
                <Route path=path!("/client") view=ClientPage ssr=SsrMode::Async/>
                <Route path=path!("/operation/:id/edit") view=EditPage ssr=SsrMode::Async/>
                <Route path=path!("/new") view=EditPage ssr=SsrMode::Async/>
                <Route path=path!("/clients/:id") view=|| DossierPage(DossierPageProps { subject: Subject::Client }) ssr=SsrMode::Async/>
                <Route path=path!("/services/:id") view=|| DossierPage(DossierPageProps { subject: Subject::Service }) ssr=SsrMode::Async/>
                <Route path=path!("/tasks/:id") view=|| DossierPage(DossierPageProps { subject: Subject::Task }) ssr=SsrMode::Async/>
                <Route path=path!("/modules/:id") view=|| DossierPage(DossierPageProps { subject: Subject::Module }) ssr=SsrMode::Async/>
                <Route path=path!("/dashboard") view=DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/journal") view=JournalPage ssr=SsrMode::Async/>
                <Route path=path!("/alerts") view=AlertsPage ssr=SsrMode::Async/>
                <Route path=path!("/failures") view=FailuresPage ssr=SsrMode::Async/>
            </FlatRoutes>
        </Router>
    }
}

/// The codec Leptos asks of a resource. The pages' resources are read on the server only (an
/// island gets its data from the page, see [`island`]), so nothing is encoded with it in islands mode; postcard keeps
/// one kind of encoder in the build, as the server functions speak it.
pub(crate) type Wire = codee::binary::PostcardCodec;

/// A resource: data a page loads on the server while it renders.
pub(crate) fn load<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Wire>
where
    S: Send + Sync + Clone + PartialEq + 'static,
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// The id in the route's `:id`.
fn route_id() -> Memo<i64> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

/// What a page (of `class`) shows when its data could not be had: the login form without a
/// session, else the error in the session's language.
pub(crate) fn failure(class: &'static str, error: AppError, lang: Lang) -> AnyView {
    if error == AppError::Auth {
        redirect_status();
        view! { <Redirect path="/login"/> }.erase()
    } else {
        view! {
            <main class=format!("page {class}") data-ready="true">
                <p class="error" role="alert">{error.message(lang)}</p>
            </main>
        }
        .erase()
    }
}

/// A staff page about the route's `:id`, rendered on the server: loads the session and
/// `fetch(id)`, then shows `render(id, data, lang)` in the session's language; without a
/// session it sends the browser to the login form, and an error is shown as such.
pub(crate) fn staff_page<T, Fut>(
    class: &'static str,
    fetch: impl Fn(i64) -> Fut + Send + Sync + 'static,
    render: impl Fn(i64, T, Lang) -> AnyView + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    staff_page_of(class, route_id(), fetch, render)
}

/// A staff page about `source` (read from the route), as [`staff_page`] is about an id.
pub(crate) fn staff_page_of<S, T, Fut>(
    class: &'static str,
    source: Memo<S>,
    fetch: impl Fn(S) -> Fut + Send + Sync + 'static,
    render: impl Fn(S, T, Lang) -> AnyView + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    S: Clone + PartialEq + Send + Sync + 'static,
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    let session = load(|| (), |_| crate::api::current_session());
    let data = load(move || source.get(), fetch);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let lang = match session.await {
                    Ok(Some(info)) => info.lang,
                    Ok(None) => return failure(class, AppError::Auth, Lang::En),
                    Err(e) => return failure(class, e, Lang::En),
                };
                match data.await {
                    Ok(data) => view! {
                        <main class=format!("page {class}") data-ready="true">
                            {render(source.get_untracked(), data, lang)}
                        </main>
                    }
                    .erase(),
                    Err(e) => failure(class, e, lang),
                }
            })}
        </Suspense>
    }
}

/// `at` as the lists show it: the absolute time (UTC) and, beside it, its age at `now`
/// ("3 min ago"); `now` comes with the data, so the server's HTML and the hydrated page agree.
pub(crate) fn when(at: Timestamp, now: Timestamp, lang: Lang) -> impl IntoView {
    let absolute = at.format();
    let (count, unit) = at.age(now);
    let unit = match unit {
        TimeUnit::Second => lang.pick("с", "s"),
        TimeUnit::Minute => lang.pick("мин", "min"),
        TimeUnit::Hour => lang.pick("ч", "h"),
        TimeUnit::Day => lang.pick("дн", "d"),
    };
    let (datetime, title) = (absolute.clone(), absolute.clone());
    view! {
        <time datetime=datetime title=title>{absolute}</time>
        <span class="age">{format!("{count} {unit} {}", lang.pick("назад", "ago"))}</span>
    }
}

/// A signal that turns true once an island is hydrated (effects run only in the browser): an
/// island's root carries it as `data-ready`, and end-to-end tests wait for `data-ready="true"`
/// before they click. A page without islands is ready as served (`data-ready="true"`).
pub(crate) fn ready() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    // In the browser only: islands are rendered inside the pages' `Suspend`s, where an effect
    // would be spawned outside the server's local task set in a workspace build.
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new(move |_| set_ready.set(true));
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = set_ready;
    ready
}

/// Makes a server-side `<Redirect>` a real `302 Found` (pages are rendered on the server only,
/// so every redirect is one the browser, or curl, follows).
fn redirect_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FOUND);
    }
}
