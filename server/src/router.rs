//! The HTTP surface: the server-rendered UI and its server functions (under `/api`), the
//! legacy `/billmgr` API, the live event stream (`/events`), and the static files of the site (the wasm bundle, CSS).

use app::service::Services;
use app::{shell, App};
use axum::body::Body;
use axum::http::Request;
use axum::routing::{any, get};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// The whole application as an axum router, apart from `main` so that tests drive it without
/// a socket.
pub fn router(services: Services, options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let legacy = services.clone();
    let live = services.clone();
    Router::new()
        .route(
            "/events",
            get(move |headers: axum::http::HeaderMap| crate::events::events(live.clone(), headers)),
        )
        .route(
            "/billmgr",
            any(move |request: Request<Body>| crate::billmgr::handle(legacy.clone(), request)),
        )
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(services.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
}
