//! The HTTP surface: the server-rendered UI and its server functions (under `/api`), the
//! legacy `/billmgr` API (also at `/manager/billmgr`, where older scripts call it), the live
//! event stream (`/events`), the CSV downloads (`/export/...`), and the static files of the
//! site (the wasm bundle, CSS). Every answer passes through [`crate::guard`].

use app::service::Services;
use app::{shell, App};
use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::routing::{any, get};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::guard::HttpConfig;

/// The whole application as an axum router, apart from `main` so that tests drive it without
/// a socket; served over plain HTTP with no proxy in front.
pub fn router(services: Services, options: LeptosOptions) -> Router {
    router_with(services, options, HttpConfig::default())
}

/// The application for a node reached as `http` says (through a trusted proxy, over TLS).
pub fn router_with(services: Services, options: LeptosOptions, http: HttpConfig) -> Router {
    let routes = generate_route_list(App);
    let legacy = services.clone();
    let live = services.clone();
    let exports = crate::export::routes(services.clone());
    let legacy_handler =
        any(move |request: Request<Body>| crate::billmgr::handle(legacy.clone(), request));
    let router = Router::new()
        .route(
            "/events",
            get(move |headers: axum::http::HeaderMap| crate::events::events(live.clone(), headers)),
        )
        .route("/billmgr", legacy_handler.clone())
        .route("/manager/billmgr", legacy_handler)
        .merge(exports)
        .leptos_routes_with_context(
            &options,
            routes,
            move || {
                provide_context(services.clone());
                page_policy();
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::guard::guard(http, request, next)
        }));
    crate::trace::traced(router)
}

/// Gives the page being rendered a policy that allows the scripts carrying its nonce (Leptos
/// makes one per page and puts it on the scripts it writes, and the shell on its own).
fn page_policy() {
    if let Some(nonce) = leptos::nonce::use_nonce() {
        if let (Some(response), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            HeaderValue::from_str(&crate::guard::page_policy(&nonce)),
        ) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}
