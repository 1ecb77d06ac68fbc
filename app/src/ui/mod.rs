//! The admin UI: the HTML shell, the router, and the pages. Components call only [`crate::api`].
//!
//! Browser-only code (event sources, timers, key listeners, storage) is compiled for
//! `all(feature = "hydrate", target_arch = "wasm32")`: a workspace build unifies `hydrate` into
//! the server's `app` too, where such calls would panic during server rendering.

mod client;
mod edit;
mod filter;
mod history;
mod login;
mod operations;
mod theme;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub use client::ClientPage;
pub use edit::EditPage;
pub use history::{HistoryPage, LogPage};
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
                <script inner_html=theme::APPLY_STORED_THEME></script>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: the login page and the operations list.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/billops.css"/>
        <Title text="billops: current operations"/>
        <Router>
            <Routes fallback=|| view! { <p class="notice">"Page not found."</p> }>
                // Async SSR: the rows are in the HTML where they belong, not streamed after it.
                <Route path=path!("/") view=OperationsPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/operation/:id") view=HistoryPage ssr=SsrMode::Async/>
                <Route path=path!("/attempt/:id") view=LogPage ssr=SsrMode::Async/>
                <Route path=path!("/client") view=ClientPage ssr=SsrMode::Async/>
                <Route path=path!("/operation/:id/edit") view=EditPage ssr=SsrMode::Async/>
                <Route path=path!("/new") view=EditPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// A signal that turns true once the page is hydrated (effects run only in the browser):
/// end-to-end tests wait for `data-hydrated="true"` before they click.
pub(crate) fn hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}

/// Makes a server-side `<Redirect>` a real `302 Found`, so that a browser without JS (or curl)
/// follows it too; in the browser the router navigates by itself.
pub(crate) fn redirect_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FOUND);
    }
}
