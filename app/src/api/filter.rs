//! Server functions over the saved filter of the operations list (the same one the legacy
//! `runningoperation.filter` reads and writes), and the choices its form offers.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::{AppError, FilterForm, Status};

/// The caller's saved filter, as its form shows it.
#[server(endpoint = "get_filter", input = Postcard, output = Postcard)]
pub async fn get_filter() -> Result<FilterForm, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(FilterForm::of(
        &services.load_operation_filter(&actor).await?,
    ))
}

/// Saves the caller's filter; an empty form clears it. A wrong field comes back as
/// `AppError::Value` naming every wrong field, and nothing is saved.
#[server(endpoint = "save_filter", input = Postcard, output = Postcard)]
pub async fn save_filter(form: FilterForm) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    let filter = form.parse().map_err(|fields| AppError::Value { fields })?;
    Ok(services.save_operation_filter(&actor, &filter).await?)
}

/// Sets the caller's filter to the client of operation `id` (`runningoperation.setfilter`).
#[server(endpoint = "filter_to_client", input = Postcard, output = Postcard)]
pub async fn filter_to_client(id: i64) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    services.filter_by_operation_client(&actor, id).await?;
    Ok(())
}

/// How many current operations are in each status (whatever the filter).
#[server(endpoint = "status_counts", input = Postcard, output = Postcard)]
pub async fn status_counts() -> Result<Vec<(Status, i64)>, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.status_counts(&actor).await?)
}

/// Narrows the caller's filter to `status` (none: any), keeping its other fields.
#[server(endpoint = "filter_to_status", input = Postcard, output = Postcard)]
pub async fn filter_to_status(status: Option<Status>) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    services.filter_by_status(&actor, status).await?;
    Ok(())
}

/// What the filter's selects offer: processing modules and clients, `(id, name)`.
#[server(endpoint = "filter_choices", input = Postcard, output = Postcard)]
pub async fn filter_choices() -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let (services, actor) = super::context::caller().await?;
    let modules = services.list_modules(&actor).await?;
    let clients = services.list_clients(&actor).await?;
    Ok((
        modules.into_iter().map(|m| (m.id, m.name)).collect(),
        clients.into_iter().map(|c| (c.id, c.name)).collect(),
    ))
}
