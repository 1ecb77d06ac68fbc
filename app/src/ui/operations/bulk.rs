//! "All N matching": Start, Stop, Create tasks or Delete on every operation the filter matches,
//! as a bulk job on the server. Its progress bar follows the live stream (each batch the job
//! writes is a change the stream announces, which reads the job again), with Cancel, and a
//! summary per outcome and reason at the end. A job survives a reload: the page hands the
//! island the jobs not over yet.

use leptos::prelude::*;

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
use crate::api::get_bulk_job;
use crate::api::{cancel_bulk_job, start_bulk_job};
use crate::types::bulk::{BulkAction, BulkJobView};
use crate::types::failure::skip_reason_label;
use crate::types::{AppError, Lang};

/// The "all matching" actions and the progress of the caller's job.
#[component]
pub(super) fn BulkBar(
    lang: Lang,
    /// Operations the filter matches, and whether that count is exact.
    matching: Signal<(u64, bool)>,
    job: RwSignal<Option<BulkJobView>>,
    refresh: RwSignal<u64>,
) -> impl IntoView {
    let confirm = RwSignal::new(None::<BulkAction>);
    let error = RwSignal::new(None::<String>);
    // Each live update reads the job again while it runs.
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new(move |_| {
        let _ = refresh.get();
        let Some(current) = job.get_untracked() else {
            return;
        };
        if current.state.is_over() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(now) = get_bulk_job(current.id).await {
                job.set(Some(now));
            }
        });
    });
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = refresh;
    let start = move |action: BulkAction| {
        confirm.set(None);
        leptos::task::spawn_local(async move {
            match start_bulk_job(action).await {
                Ok(started) => {
                    error.set(None);
                    job.set(Some(started));
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let cancel = move |_| {
        let Some(current) = job.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match cancel_bulk_job(current.id).await {
                Ok(now) => {
                    job.set(Some(now));
                    // The list as the job left it: a batch that committed while the page was
                    // loading was announced before its stream was connected.
                    refresh.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(AppError::message(&e, lang))),
            }
        });
    };
    let running = move || job.read().as_ref().is_some_and(|j| !j.state.is_over());
    let count_text = move || {
        let (n, exact) = matching.get();
        if exact {
            n.to_string()
        } else {
            format!("{n}+")
        }
    };
    view! {
        <section class="bulk" aria-label=lang.pick("Все подходящие под фильтр", "Everything the filter matches")>
            <span class="matching">
                {move || format!("{} {}:", lang.pick("Все подходящие", "All matching"), count_text())}
            </span>
            {BulkAction::ALL
                .into_iter()
                .map(|action| view! {
                    <button
                        type="button"
                        data-bulk=action.raw()
                        disabled=move || running() || matching.get().0 == 0
                        on:click=move |_| confirm.set(Some(action))
                    >
                        {format!("{} {}", action.label(lang), lang.pick("все", "all"))}
                    </button>
                })
                .collect_view()}
            {move || confirm.get().map(|action| view! {
                <div class="confirm" role="alertdialog" aria-label=lang.pick("Подтверждение", "Confirmation")>
                    <span>
                        {format!(
                            "{}: {} {}?",
                            action.label(lang),
                            lang.pick("все операции, подходящие под фильтр", "every operation the filter matches"),
                            count_text()
                        )}
                    </span>
                    <button type="button" class="danger" data-confirm=action.raw() on:click=move |_| start(action)>
                        {lang.pick("Да", "Yes")}
                    </button>
                    <button type="button" on:click=move |_| confirm.set(None)>{lang.pick("Отмена", "Cancel")}</button>
                </div>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || job.get().map(|j| view! { <Progress job=j lang on_cancel=cancel/> })}
        </section>
    }
}

/// One job's bar, counts and (when over) summary.
#[component]
fn Progress(
    job: BulkJobView,
    lang: Lang,
    on_cancel: impl Fn(leptos::ev::MouseEvent) + Send + Sync + 'static,
) -> impl IntoView {
    let handled = job.handled();
    let over = job.state.is_over();
    let skipped: Vec<String> = job
        .skipped
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(code, n)| format!("{n} {}", skip_reason_label(code, lang).unwrap_or(code)))
        .collect();
    let text = format!(
        "{} #{}: {} — {} {} / {}{}",
        lang.pick("Задание", "Job"),
        job.id,
        job.state.label(lang),
        job.action.label(lang),
        job.done,
        job.total,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(
                "; {}: {}",
                lang.pick("пропущено", "left as they were"),
                skipped.join(", ")
            )
        }
    );
    view! {
        <div class="bulk-job" data-job=job.id data-state=job.state.raw() role="status">
            <progress
                max=job.total.max(1)
                value=handled.min(job.total.max(1))
                aria-label=lang.pick("Ход задания", "Job progress")
            ></progress>
            <span class="bulk-text">{text}</span>
            {(!over).then(|| view! {
                <button type="button" class="cancel" on:click=on_cancel>{lang.pick("Отменить", "Cancel")}</button>
            })}
        </div>
    }
}
