//! The client area an admin opens with "Log in as client": the client's services and their
//! pending operations, nothing of other clients, and the way back.

use leptos::prelude::*;

use super::island::{hand_over, take};
use super::sync_view::Erase;
use super::{load, ready};
use crate::api::{get_client_area, leave_client};
use crate::types::{ClientArea, Lang};

/// `/client`, rendered on the server.
#[component]
pub fn ClientPage() -> impl IntoView {
    let area = load(|| (), |_| get_client_area());
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match area.await {
                    Ok(area) => view! { <Area area/> }.erase(),
                    Err(e) => view! {
                        <main class="page client-area" data-ready="true">
                            <p class="error" role="alert">{e.message(Lang::En)}</p>
                            <a href="/">"← Current operations"</a>
                        </main>
                    }
                        .erase(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Area(area: ClientArea) -> impl IntoView {
    let lang = area.lang;
    let ops = area.operations;
    view! {
        <main class="page client-area" data-ready="true">
            <header class="topbar">
                <span class="brand">"billops"</span>
                <h1>{format!("{}: {}", lang.pick("Личный кабинет клиента", "Client area"), area.client.name)}</h1>
                {area.can_return.then(|| {
                    let carrier = hand_over("back-to-admin", lang);
                    view! { {carrier} <BackToAdmin/> }
                })}
            </header>
            <h2>{lang.pick("Услуги", "Services")}</h2>
            <table class="attempts" id="client-services">
                <thead>
                    <tr>
                        <th scope="col">"Id"</th>
                        <th scope="col">{lang.pick("Название", "Name")}</th>
                        <th scope="col">{lang.pick("Тип", "Type")}</th>
                        <th scope="col">{lang.pick("Состояние", "Status")}</th>
                        <th scope="col">{lang.pick("Операции в работе", "Pending operations")}</th>
                    </tr>
                </thead>
                <tbody>
                    {area
                        .items
                        .into_iter()
                        .map(|item| {
                            let pending: Vec<String> = ops
                                .iter()
                                .filter(|o| o.item_id == item.id)
                                .map(|o| format!("#{} {} ({})", o.id, o.intname.raw(), o.status.label(lang)))
                                .collect();
                            view! {
                                <tr data-id=item.id data-client=item.client_id>
                                    <td>{item.id}</td>
                                    <td>{item.name.clone()}</td>
                                    <td>{item.itemtype.clone()}</td>
                                    <td>{item.status.raw()}</td>
                                    <td class="pending">{pending.join(", ")}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </main>
    }
}

/// Leaves the client area: ends acting as the client, back to the list.
#[island]
fn BackToAdmin() -> impl IntoView {
    let lang = take::<Lang>("back-to-admin").unwrap_or(Lang::En);
    let ready = ready();
    let back = move |_| {
        leptos::task::spawn_local(async move {
            let _ = leave_client().await;
            #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
            let _ = window().location().set_href("/");
        });
    };
    view! {
        <button type="button" data-ready=move || ready.get().to_string() on:click=back>
            {lang.pick("← Вернуться к администрированию", "← Back to the admin")}
        </button>
    }
}
