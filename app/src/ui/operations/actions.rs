//! The action bar: group actions on the selected rows, the delete confirmation, and each
//! row's result.

use leptos::prelude::*;

use super::Selection;

use crate::api::run_action;
use crate::types::{ActionResult, Lang, OperationAction};

/// Start, Stop, Create task, Delete for the selected rows; Delete asks first, naming them.
#[component]
pub(super) fn ActionBar(
    lang: Lang,
    selection: RwSignal<Selection>,
    results: RwSignal<Vec<ActionResult>>,
    refresh: RwSignal<u64>,
    requested: RwSignal<Option<OperationAction>>,
) -> impl IntoView {
    let pending_delete = RwSignal::new(Vec::<i64>::new());
    let busy = RwSignal::new(false);
    let run = move |action: OperationAction, ids: Vec<i64>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match run_action(action, ids).await {
                Ok(outcome) => {
                    selection.update(|s| {
                        for r in outcome.iter().filter(|r| r.error.is_none()) {
                            if action == OperationAction::Delete {
                                s.remove(&r.id);
                            }
                        }
                    });
                    results.set(outcome);
                }
                Err(e) => results.set(vec![ActionResult {
                    id: 0,
                    error: Some(e.message(lang)),
                }]),
            }
            busy.set(false);
            refresh.update(|n| *n += 1);
        });
    };
    let count = move || selection.read().len();
    // A keyboard shortcut asked for an action on the selection (in the browser: an effect
    // here would keep server rendering waiting in a workspace build, where `hydrate` is on).
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    let _ = requested;
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    Effect::new(move |_| {
        if let Some(action) = requested.get() {
            requested.set(None);
            let ids: Vec<i64> = selection.read_untracked().ids();
            if !ids.is_empty() {
                run(action, ids);
            }
        }
    });
    view! {
        <section class="actions" aria-label=lang.pick("Действия", "Actions")>
            <span class="selected" data-count=count>
                {move || format!("{}: {}", lang.pick("Выбрано", "Selected"), count())}
            </span>
            {OperationAction::ALL
                .into_iter()
                .map(|action| {
                    view! {
                        <button
                            type="button"
                            data-action=action.raw()
                            disabled=move || count() == 0 || busy.get()
                            on:click=move |_| {
                                let ids: Vec<i64> = selection.read_untracked().ids();
                                if action == OperationAction::Delete {
                                    pending_delete.set(ids);
                                } else {
                                    run(action, ids);
                                }
                            }
                        >
                            {action.label(lang)}
                        </button>
                    }
                })
                .collect_view()}
            <a href="/new" class="new">{lang.pick("Новая операция", "New operation")}</a>
            {move || (!pending_delete.read().is_empty()).then(|| view! {
                <div class="confirm" role="alertdialog" aria-label=lang.pick("Подтверждение", "Confirmation")>
                    <span>
                        {move || {
                            let ids = pending_delete.get();
                            let names = ids.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ");
                            format!("{} {names}?", lang.pick("Удалить операции", "Delete operations"))
                        }}
                    </span>
                    <button
                        type="button"
                        class="danger"
                        on:click=move |_| {
                            let ids = pending_delete.get_untracked();
                            pending_delete.set(Vec::new());
                            run(OperationAction::Delete, ids);
                        }
                    >
                        {lang.pick("Да, удалить", "Yes, delete")}
                    </button>
                    <button type="button" on:click=move |_| pending_delete.set(Vec::new())>
                        {lang.pick("Отмена", "Cancel")}
                    </button>
                </div>
            })}
            {move || {
                let shown = results.get();
                (!shown.is_empty()).then(|| view! {
                    <ul class="results" role="status">
                        {shown
                            .into_iter()
                            .map(|r| {
                                let ok = r.error.is_none();
                                let text = match (r.id, r.error) {
                                    (0, Some(e)) => e,
                                    (id, None) => format!("#{id}: {}", lang.pick("выполнено", "done")),
                                    (id, Some(e)) => format!("#{id}: {e}"),
                                };
                                view! {
                                    <li data-id=r.id data-ok=ok.to_string() class=if ok { "ok" } else { "failed" }>
                                        {text}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                })
            }}
        </section>
    }
}
