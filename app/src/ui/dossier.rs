//! The detail pages of a client, a service, a task and a processing module (`/clients/:id`,
//! `/services/:id`, `/tasks/:id`, `/modules/:id`): the dossier's facts, links between them,
//! a module's chart, and the current operations on the subject. The list's rows link here.

use leptos::either::Either;
use leptos::prelude::*;

use super::chart::ChartFigure;
use super::circuit::CircuitButton;
use super::sync_view::Erase;
use super::{staff_page, when};
use crate::api::get_dossier;
use crate::types::dossier::{Dossier, Subject};
use crate::types::Lang;

/// The page of one `subject`, its id taken from the route.
#[component]
pub fn DossierPage(subject: Subject) -> impl IntoView {
    staff_page(
        "dossier",
        move |id| get_dossier(subject, id),
        |_, dossier, lang| view! { <Facts dossier lang/> }.erase(),
    )
}

#[component]
fn Facts(dossier: Dossier, lang: Lang) -> impl IntoView {
    let now = dossier.now;
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{dossier.title}</h1>
        </header>
        <p><a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a></p>
        <dl class="facts">
            {dossier
                .facts
                .into_iter()
                .map(|fact| view! {
                    <dt>{fact.label}</dt>
                    <dd>
                        {match fact.href {
                            Some(href) => Either::Left(view! { <a href=href>{fact.value}</a> }),
                            None => Either::Right(fact.value),
                        }}
                    </dd>
                })
                .collect_view()}
        </dl>
        {dossier.circuit.filter(|(_, can_change)| *can_change).map(|(circuit, _)| {
            let back = format!("/modules/{}", circuit.module_id);
            view! { <p><CircuitButton circuit lang back/></p> }
        })}
        {dossier
            .charts
            .into_iter()
            .map(|chart| view! { <ChartFigure chart lang/> })
            .collect_view()}
        <h2>{lang.pick("Операции в работе", "Current operations")}</h2>
        <table class="attempts" id="dossier-operations">
            <thead>
                <tr>
                    <th scope="col">"Id"</th>
                    <th scope="col">{lang.pick("Описание", "Description")}</th>
                    <th scope="col">{lang.pick("Состояние", "Status")}</th>
                    <th scope="col">{lang.pick("Создана", "Created")}</th>
                    <th scope="col">{lang.pick("Попыток", "Tries")}</th>
                </tr>
            </thead>
            <tbody>
                {dossier
                    .operations
                    .into_iter()
                    .map(|op| view! {
                        <tr data-id=op.id>
                            <td><a href=format!("/operation/{}", op.id)>{op.id}</a></td>
                            <td>{op.desc(lang)}</td>
                            <td><span class=format!("badge status-{}", op.status.raw())>{op.status.label(lang)}</span></td>
                            <td>{when(op.cdate, now, lang)}</td>
                            <td class="num">{op.trycount}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
