//! The browser entry point: hydrates the islands of the server-rendered pages (the list, the
//! edit form, the log's copy button, the client area's way back). Nothing else lives here.

// The UI's view types nest deeply (see the server crate's note).
#![recursion_limit = "256"]

// The islands register themselves with the generated JS; linking `app` is what brings them.
use app as _;

/// Called by the generated JS once the wasm is loaded: hydrates every island on the page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic's message on the console, in debug builds: in the release bundle the hook and
    // the formatting it brings would cost more than the goal allows (docs/benchmarks.md).
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
