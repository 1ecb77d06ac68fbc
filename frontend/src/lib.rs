//! The browser entry point: hydrates the server-rendered `app::App`. Nothing else lives here.

// The UI's page types nest deeply (see the server crate's note).
#![recursion_limit = "256"]

/// Called by the generated JS once the wasm is loaded: attaches the reactive UI to the SSR markup.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
