//! Light and dark themes: the system's (`prefers-color-scheme`) unless chosen here; the choice
//! is kept in the browser's local storage and applied before the page paints (see the shell).

use leptos::prelude::*;

use crate::types::Lang;

/// The local-storage key of the chosen theme (`light` or `dark`; absent: the system's).
#[cfg_attr(
    not(all(feature = "hydrate", target_arch = "wasm32")),
    allow(dead_code)
)]
pub const THEME_KEY: &str = "billops-theme";

/// The script the shell runs first: applies the stored theme before anything is painted.
pub const APPLY_STORED_THEME: &str = "try{var t=localStorage.getItem('billops-theme');if(t)document.documentElement.dataset.theme=t}catch(e){}";

/// A button cycling system → light → dark.
#[component]
pub fn ThemeSwitch(lang: Lang) -> impl IntoView {
    let theme = RwSignal::new(String::new());
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new(move |_| {
        let stored = window()
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(THEME_KEY).ok().flatten())
            .unwrap_or_default();
        theme.set(stored);
    });
    let next = move |_| {
        let chosen = match theme.get_untracked().as_str() {
            "" => "light",
            "light" => "dark",
            _ => "",
        };
        theme.set(chosen.to_owned());
        #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
        {
            if let Some(root) = document().document_element() {
                let _ = if chosen.is_empty() {
                    root.remove_attribute("data-theme")
                } else {
                    root.set_attribute("data-theme", chosen)
                };
            }
            if let Some(storage) = window().local_storage().ok().flatten() {
                let _ = if chosen.is_empty() {
                    storage.remove_item(THEME_KEY)
                } else {
                    storage.set_item(THEME_KEY, chosen)
                };
            }
        }
    };
    let label = move || match theme.get().as_str() {
        "light" => lang.pick("Тема: светлая", "Theme: light"),
        "dark" => lang.pick("Тема: тёмная", "Theme: dark"),
        _ => lang.pick("Тема: как в системе", "Theme: system"),
    };
    view! {
        <button type="button" class="theme" data-theme=move || theme.get() on:click=next>{label}</button>
    }
}
