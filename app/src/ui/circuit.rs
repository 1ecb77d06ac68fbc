//! Processing modules whose circuit is not closed: a banner over the list for each (open,
//! probing or paused, since when and why), and the Pause / Resume button of a module's page.
//! Server-rendered; the buttons are plain form posts, so none of this is in the WASM.

use leptos::prelude::*;

use crate::types::circuit::{CircuitState, CircuitView};
use crate::types::Lang;

/// One banner per module in `circuits`; admins (`can_change`) get its Resume button.
#[component]
pub fn CircuitBanners(circuits: Vec<CircuitView>, lang: Lang, can_change: bool) -> impl IntoView {
    if circuits.is_empty() {
        return None;
    }
    let banners = circuits
        .into_iter()
        .map(|circuit| {
            let text = match circuit.state {
                CircuitState::Paused => lang.pick(
                    "приостановлен: его операции ждут",
                    "is paused: its operations wait",
                ),
                CircuitState::Probing => lang.pick(
                    "не работал; одна операция проверяет, работает ли он снова",
                    "was failing; one operation is probing whether it works again",
                ),
                _ => lang.pick(
                    "не работает ни для кого: его операции ждут и не тратят попытки",
                    "is failing for everyone: its operations wait and keep their tries",
                ),
            };
            let (state, module_id) = (circuit.state.raw(), circuit.module_id);
            let name = circuit.module_name.clone();
            let reason = circuit.reason.clone();
            let since = circuit
                .since
                .map(|t| format!(" ({} {} UTC)", lang.pick("с", "since"), t.format()))
                .unwrap_or_default();
            view! {
                <div class="banner" role="status" data-circuit=state data-module=module_id>
                    <strong>
                        <a href=format!("/modules/{module_id}")>{name}</a>
                    </strong>
                    " "
                    {text}
                    {since}
                    {reason.map(|r| view! { <span class="reason">{r}</span> })}
                    {can_change.then(|| view! { <CircuitButton circuit lang back="/".into()/> })}
                </div>
            }
        })
        .collect_view();
    // A landmark of its own: everything on a page is in one (the list is the `main`).
    Some(view! {
        <aside class="banners" aria-label=lang.pick("Обработчики", "Processing modules")>{banners}</aside>
    })
}

/// Pause (a closed circuit) or Resume (any other), posting back to `back`.
#[component]
pub fn CircuitButton(circuit: CircuitView, lang: Lang, back: String) -> impl IntoView {
    let pause = circuit.state == CircuitState::Closed;
    let label = if pause {
        lang.pick("Приостановить", "Pause")
    } else {
        lang.pick("Возобновить", "Resume")
    };
    view! {
        <form method="post" action="/api/module_circuit" class="circuit-action">
            <input type="hidden" name="module" value=circuit.module_id/>
            <input type="hidden" name="pause" value=pause.to_string()/>
            <input type="hidden" name="back" value=back/>
            <button type="submit">{label}</button>
        </form>
    }
}
