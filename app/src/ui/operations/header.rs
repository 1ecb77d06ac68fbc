//! The list's top bar: product name, live indicator, the dashboard's link, who is logged in,
//! language, theme and logout.

use leptos::prelude::*;

use super::live::Live;
use crate::api::set_lang;
use crate::types::{Lang, SessionInfo};
use crate::ui::theme::ThemeSwitch;

/// The top bar: product name, the live indicator, who is logged in, and a logout button.
#[component]
pub(super) fn Header(info: SessionInfo, live: Live) -> impl IntoView {
    let lang = info.lang;
    let title = lang.pick("Текущие операции", "Current operations");
    let label = move || match (live.paused.get(), live.connected.get()) {
        (true, _) => lang.pick("Пауза", "Paused"),
        (false, true) => lang.pick("В реальном времени", "Live"),
        (false, false) => lang.pick("Нет связи", "Offline"),
    };
    let state = move || match (live.paused.get(), live.connected.get()) {
        (true, _) => "paused",
        (false, true) => "live",
        (false, false) => "offline",
    };
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{title}</h1>
            <button
                type="button"
                class="live"
                data-live=state
                aria-pressed=move || (!live.paused.get()).to_string()
                title=lang.pick("Обновлять список при изменениях (пауза по нажатию)", "Update the list as things change (click to pause)")
                on:click=move |_| live.paused.update(|p| *p = !*p)
            >
                <span class="dot" aria-hidden="true"></span>
                {label}
            </button>
            <a class="nav" href="/dashboard">{lang.pick("Панель", "Dashboard")}</a>
            <a class="nav" href="/failures">{lang.pick("Сбои", "Failures")}</a>
            {(info.level == crate::types::Level::Admin)
                .then(|| view! {
                    <a class="nav" href="/journal">{lang.pick("Журнал", "Journal")}</a>
                    <a class="nav" href="/alerts">{lang.pick("Оповещения", "Alerts")}</a>
                })}
            <span class="who">{format!("{} ({})", info.user, info.level.raw())}</span>
            <select
                class="lang"
                aria-label=lang.pick("Язык", "Language")
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    leptos::task::spawn_local(async move {
                        if set_lang(chosen).await.is_ok() {
                            #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
                            let _ = window().location().reload();
                        }
                    });
                }
            >
                <option value="en" selected=lang == Lang::En>"English"</option>
                <option value="ru" selected=lang == Lang::Ru>"Русский"</option>
            </select>
            <ThemeSwitch lang/>
            // A plain form post: the server ends the session and redirects to the login form.
            <form method="post" action="/api/logout">
                <button type="submit">{lang.pick("Выйти", "Log out")}</button>
            </form>
        </header>
    }
}
