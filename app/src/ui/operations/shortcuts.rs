//! The list's keyboard shortcuts and the help that lists them.

use leptos::prelude::*;

use super::Selection;

use crate::types::{Lang, OperationAction};

/// What the list's keyboard shortcuts act on.
#[derive(Clone, Copy)]
pub(super) struct Keys {
    /// The ids of the rows on the page, in order.
    pub(super) page_ids: RwSignal<Vec<i64>>,
    /// The row `j`/`k` moved to.
    pub(super) cursor: RwSignal<Option<i64>>,
    /// An action a key asked for (the action bar runs it on the selection).
    pub(super) requested: RwSignal<Option<OperationAction>>,
    /// The `?` help is open.
    pub(super) help: RwSignal<bool>,
}

/// `j`/`k` move, `x` selects, `s` starts the selection, `/` opens the filter, `?` shows help,
/// `Escape` closes it; keys typed into a field are left alone. In the browser only.
pub(super) fn shortcuts(keys: Keys, selection: RwSignal<Selection>, filter_open: RwSignal<bool>) {
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let ids = keys.page_ids.get_untracked();
            let at = keys
                .cursor
                .get_untracked()
                .and_then(|c| ids.iter().position(|id| *id == c));
            let step = |delta: isize| {
                let next = match at {
                    None => 0,
                    Some(i) => (i as isize + delta).clamp(0, ids.len() as isize - 1) as usize,
                };
                keys.cursor.set(ids.get(next).copied());
            };
            match ev.key().as_str() {
                "j" => step(1),
                "k" => step(-1),
                "x" => {
                    if let Some(id) = keys.cursor.get_untracked() {
                        selection.update(|s| {
                            if !s.remove(&id) {
                                s.insert(id);
                            }
                        });
                    }
                }
                "s" => keys.requested.set(Some(OperationAction::Start)),
                "/" => {
                    ev.prevent_default();
                    filter_open.set(true);
                }
                "?" => keys.help.update(|h| *h = !*h),
                "Escape" => keys.help.set(false),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = (keys, selection, filter_open);
}

/// The keyboard shortcuts, shown by `?`.
#[component]
pub(super) fn Help(lang: Lang) -> impl IntoView {
    let keys = [
        (
            "j / k",
            lang.pick("следующая / предыдущая строка", "next / previous row"),
        ),
        ("x", lang.pick("выбрать строку", "select the row")),
        ("s", lang.pick("запустить выбранные", "start the selected")),
        ("/", lang.pick("фильтр", "filter")),
        ("?", lang.pick("эта справка", "this help")),
    ];
    view! {
        <aside class="help" role="dialog" aria-label=lang.pick("Клавиши", "Keyboard shortcuts")>
            <h2>{lang.pick("Клавиши", "Keyboard shortcuts")}</h2>
            <dl>
                {keys
                    .into_iter()
                    .map(|(key, what)| view! { <dt><kbd>{key}</kbd></dt><dd>{what}</dd> })
                    .collect_view()}
            </dl>
        </aside>
    }
}
