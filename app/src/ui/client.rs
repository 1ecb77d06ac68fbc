//! The client area an admin opens with "Log in as client": the client's services and their
//! pending operations, nothing of other clients, and the way back.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::sync_view::Erase;
use super::{hydrated, load};
use crate::api::{get_client_area, leave_client};
use crate::types::{ClientArea, Lang};

/// `/client`.
#[component]
pub fn ClientPage() -> impl IntoView {
    let area = load(|| (), |_| get_client_area());
    let hydrated = hydrated();
    view! {
        <div class="page client-area" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match area.await {
                        Ok(area) => view! { <Area area/> }.erase(),
                        Err(e) => view! {
                            <p class="error" role="alert">{e.message(Lang::En)}</p>
                            <a href="/">"← Current operations"</a>
                        }
                            .erase(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn Area(area: ClientArea) -> impl IntoView {
    let lang = area.lang;
    let navigate = use_navigate();
    let back = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let _ = leave_client().await;
            navigate("/", Default::default());
        });
    };
    let ops = area.operations;
    view! {
        <header class="topbar">
            <span class="brand">"billops"</span>
            <h1>{format!("{}: {}", lang.pick("Личный кабинет клиента", "Client area"), area.client.name)}</h1>
            {area.can_return.then(|| view! {
                <button type="button" on:click=back.clone()>{lang.pick("← Вернуться к администрированию", "← Back to the admin")}</button>
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
    }
}
