//! The login form.

use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use super::hydrated;
use crate::api::login;
use crate::types::{AppError, Lang};

/// The login page: user name and password; a failed login says why and keeps the name.
///
/// An ordinary form posting to the `login` server function: before the WASM has loaded (or
/// without it) the browser posts it and follows the redirect; once hydrated, the submission
/// is sent from the page, which shows a refusal in place.
#[component]
pub fn LoginPage() -> impl IntoView {
    let hydrated = hydrated();
    let pending = RwSignal::new(false);
    // A plain form post that was refused comes back here with `?failed=...`.
    let refused = use_query_map()
        .read_untracked()
        .get("failed")
        .map(|failed| {
            match failed.as_str() {
                "throttled" => AppError::Throttled,
                "internal" => AppError::Internal,
                _ => AppError::Auth,
            }
            .message(Lang::En)
        });
    let error = RwSignal::new(refused);
    let username = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(username), Some(password)) = (username.get(), password.get()) else {
            return;
        };
        let (username, password) = (username.value(), password.value());
        pending.set(true);
        leptos::task::spawn_local(async move {
            // On success the server function's redirect takes the browser to the list.
            if let Err(e) = login(username, password).await {
                error.set(Some(e.message(Lang::En)));
            }
            pending.set(false);
        });
    };
    view! {
        <main class="login" data-hydrated=move || hydrated.get().to_string()>
            <h1>"billops"</h1>
            <p class="subtitle">"Current operations"</p>
            <form method="post" action="/api/login" class="login-form" aria-label="Log in" on:submit=submit>
                <label>"User name" <input node_ref=username type="text" name="username" autocomplete="username" required/></label>
                <label>"Password" <input node_ref=password type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || pending.get()>"Log in"</button>
            </form>
            {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        </main>
    }
}
