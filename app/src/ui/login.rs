//! The login form.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::types::{AppError, Lang};

/// The login page: user name and password, an ordinary form posting to the `login` server
/// function, rendered on the server; it needs no WASM. A refused login comes back here with
/// `?failed=auth|throttled|internal`, which the page says in words.
#[component]
pub fn LoginPage() -> impl IntoView {
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
    view! {
        <main class="login" data-ready="true">
            <h1>"billops"</h1>
            <p class="subtitle">"Current operations"</p>
            <form method="post" action="/api/login" class="login-form" aria-label="Log in">
                <label>"User name" <input type="text" name="username" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit">"Log in"</button>
            </form>
            {refused.map(|message| view! { <p class="error" role="alert">{message}</p> })}
        </main>
    }
}
