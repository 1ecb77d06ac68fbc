//! The status counts over the list: how many current operations wait, run, failed and need
//! attention (all of them, whatever the filter); a click narrows the list to that status, a
//! second click lifts it.

use leptos::prelude::*;

use crate::api::filter_to_status;
use crate::types::{AppError, FilterForm, Lang, Status};

/// One button per status with its count; the filtered status is pressed.
#[component]
pub(super) fn StatusCounts(
    counts: RwSignal<Result<Vec<(Status, i64)>, AppError>>,
    saved: RwSignal<Result<FilterForm, AppError>>,
    lang: Lang,
    refresh: RwSignal<u64>,
) -> impl IntoView {
    view! {
        <nav class="status-counts" aria-label=lang.pick("Операции по состояниям", "Operations by status")>
            {move || {
                counts
                    .get()
                    .ok()
                    .map(|list| {
                        list.into_iter()
                            .map(|(status, n)| {
                                let active = move || {
                                    saved.with(|f| f.as_ref().is_ok_and(|f| f.status == status.raw()))
                                };
                                let click = move |_| {
                                    let next = (!active()).then_some(status);
                                    leptos::task::spawn_local(async move {
                                        if filter_to_status(next).await.is_ok() {
                                            refresh.update(|r| *r += 1);
                                        }
                                    });
                                };
                                view! {
                                    <button
                                        type="button"
                                        class="count"
                                        data-status=status.raw()
                                        aria-pressed=move || active().to_string()
                                        on:click=click
                                    >
                                        {status.label(lang)}
                                        " "
                                        <strong>{n}</strong>
                                    </button>
                                }
                            })
                            .collect_view()
                    })
            }}
        </nav>
    }
}
