//! The alert webhooks' page: list, add, delete. Adding and deleting take plain form posts (the
//! page works without the WASM) and send the browser back to the page, with `?failed=FIELD`
//! naming what was refused.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::alert::HookView;
use crate::types::AppError;

/// Every webhook (secrets never, URLs cut to scheme and host).
#[server(endpoint = "alert_hooks", input = Postcard, output = Postcard)]
pub async fn alert_hooks() -> Result<Vec<HookView>, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.list_alert_hooks(&actor).await?)
}

/// Adds a webhook for the events ticked (none: all).
#[server(endpoint = "alert_add")]
pub async fn add_alert_hook(
    url: String,
    secret: Option<String>,
    manual: Option<String>,
    burst: Option<String>,
    circuit: Option<String>,
) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    let events: Vec<&str> = [
        ("manual", &manual),
        ("burst", &burst),
        ("circuit", &circuit),
    ]
    .into_iter()
    .filter(|(_, ticked)| ticked.is_some())
    .map(|(event, _)| event)
    .collect();
    let added = services
        .add_alert_hook(&actor, &url, &events.join(","), secret.as_deref())
        .await
        .map(|_| ())
        .map_err(AppError::from);
    back_to_page(added)
}

/// Deletes webhook `id` and its undelivered alerts.
#[server(endpoint = "alert_delete")]
pub async fn delete_alert_hook(id: i64) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    let deleted = services
        .delete_alert_hook(&actor, id)
        .await
        .map_err(AppError::from);
    back_to_page(deleted)
}

/// Back to `/alerts`; a refusal is named there by its first field (or `access`, `internal`).
#[cfg(feature = "ssr")]
fn back_to_page(done: Result<(), AppError>) -> Result<(), AppError> {
    let failed = match &done {
        Ok(()) => None,
        Err(AppError::Value { fields }) => Some(match fields.first().map(|f| f.field.as_str()) {
            Some("on") => "on",
            Some("secret") => "secret",
            _ => "url",
        }),
        Err(AppError::Access) => Some("access"),
        Err(AppError::Missed { .. }) => Some("missed"),
        Err(_) => Some("internal"),
    };
    match failed {
        Some(field) => leptos_axum::redirect(&format!("/alerts?failed={field}")),
        None => leptos_axum::redirect("/alerts"),
    }
    Ok(())
}
