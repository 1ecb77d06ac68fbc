//! Live updates: the server's change stream, which makes the list read its rows again.

use leptos::prelude::*;

/// Whether live updates are on, and whether the stream is connected.
#[derive(Clone, Copy)]
pub(crate) struct Live {
    pub paused: RwSignal<bool>,
    pub connected: RwSignal<bool>,
}

/// Listens to the server's change stream (`/events`, server-sent events) and bumps `refresh`,
/// at most once a second, while not paused. In the browser only.
pub(super) fn live_updates(refresh: RwSignal<u64>) -> Live {
    let live = Live {
        paused: RwSignal::new(false),
        connected: RwSignal::new(false),
    };
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let dirty = RwSignal::new(false);
        Effect::new(move |_| {
            let Ok(source) = web_sys::EventSource::new("/events") else {
                return;
            };
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                dirty.set(true);
            });
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let on_open = Closure::<dyn FnMut()>::new(move || live.connected.set(true));
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let on_error = Closure::<dyn FnMut()>::new(move || live.connected.set(false));
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            on_cleanup(move || source.close());
        });
        let _ = set_interval_with_handle(
            move || {
                if dirty.get_untracked() && !live.paused.get_untracked() {
                    dirty.set(false);
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1000),
        );
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = refresh;
    live
}
