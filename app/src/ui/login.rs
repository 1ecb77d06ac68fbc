//! The login form.

use leptos::prelude::*;

use super::hydrated;
use crate::api::Login;
use crate::types::{AppError, Lang};

/// The login page: user name and password; a failed login says why and keeps the name.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let hydrated = hydrated();
    let error = move || match login.value().get() {
        Some(Err(AppError::Auth)) => Some(AppError::Auth.message(Lang::En)),
        Some(Err(e)) => Some(e.message(Lang::En)),
        _ => None,
    };
    view! {
        <main class="login" data-hydrated=move || hydrated.get().to_string()>
            <h1>"billops"</h1>
            <p class="subtitle">"Current operations"</p>
            <ActionForm action=login attr:class="login-form" attr:aria-label="Log in">
                <label>"User name" <input type="text" name="username" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || login.pending().get()>"Log in"</button>
            </ActionForm>
            <Show when=move || error().is_some()>
                <p class="error" role="alert">{error}</p>
            </Show>
        </main>
    }
}
