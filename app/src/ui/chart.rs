//! The dashboard (`/dashboard?window=24h|7d`) and the figure every chart is shown in. The
//! drawings come from the server as SVG markup ([`crate::service::chart`]); this page is
//! rendered on the server only (no island), so none of it reaches the WASM bundle.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::staff_page_of;
use super::sync_view::Erase;
use crate::api::get_dashboard;
use crate::types::chart::{Chart, ChartWindow, Dashboard};
use crate::types::Lang;

/// The dashboard over the window the URL names (a day by default).
#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let window = Memo::new(move |_| {
        query
            .read()
            .get("window")
            .and_then(|w| ChartWindow::parse(&w))
            .unwrap_or_default()
    });
    staff_page_of("dashboard", window, get_dashboard, |_, dashboard, lang| {
        view! { <Charts dashboard lang/> }.erase()
    })
}

#[component]
fn Charts(dashboard: Dashboard, lang: Lang) -> impl IntoView {
    let current = dashboard.window;
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{lang.pick("Панель", "Dashboard")}</h1>
        </header>
        <nav class="windows" aria-label=lang.pick("Период", "Period")>
                <a href="/">{lang.pick("← Текущие операции", "← Current operations")}</a>
                {ChartWindow::ALL
                    .into_iter()
                    .map(|window| {
                        let here = (window == current).then_some("page");
                        view! {
                            <a href=format!("/dashboard?window={}", window.raw()) aria-current=here>
                                {window.label(lang)}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <div class="charts">
                {dashboard
                    .charts
                    .into_iter()
                    .map(|chart| view! { <ChartFigure chart lang/> })
                    .collect_view()}
            </div>
    }
}

/// One chart: its title (a link to its subject's page, if any), the drawing, and its figures
/// in a table that opens on demand.
#[component]
pub fn ChartFigure(chart: Chart, lang: Lang) -> impl IntoView {
    let Chart {
        key,
        title,
        svg,
        table,
        href,
    } = chart;
    let caption = match href {
        Some(href) => Either::Left(view! { <a href=href>{title}</a> }),
        None => Either::Right(title),
    };
    let mut rows = table.into_iter();
    let header = rows.next().unwrap_or_default();
    view! {
        <figure class="chart" data-chart=key>
            <figcaption>{caption}</figcaption>
            <div class="drawing" inner_html=svg></div>
            <details>
                <summary>{lang.pick("Цифры", "Figures")}</summary>
                <table class="figures">
                    <thead>
                        <tr>{header.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr>
                    </thead>
                    <tbody>
                        {rows
                            .map(|row| view! {
                                <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}
