//! Bulk jobs: one action on every operation the caller's filter matches, run on the server in
//! batches ([`crate::service::bulk`]); asked for, watched and cancelled from the list.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::bulk::{BulkAction, BulkJobView};
use crate::types::AppError;

/// Asks for `action` on every current operation the caller's saved filter matches.
#[server(endpoint = "bulk_start", input = Postcard, output = Postcard)]
pub async fn start_bulk_job(action: BulkAction) -> Result<BulkJobView, AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    Ok(services.start_bulk_job(&actor, action).await?)
}

/// A job's progress.
#[server(endpoint = "bulk_job", input = Postcard, output = Postcard)]
pub async fn get_bulk_job(id: i64) -> Result<BulkJobView, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.bulk_job(&actor, id).await?)
}

/// Cancels a job between two batches.
#[server(endpoint = "bulk_cancel", input = Postcard, output = Postcard)]
pub async fn cancel_bulk_job(id: i64) -> Result<BulkJobView, AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    Ok(services.cancel_bulk_job(&actor, id).await?)
}

/// The jobs not over yet (admins; nobody else has any).
#[server(endpoint = "bulk_unfinished", input = Postcard, output = Postcard)]
pub async fn unfinished_bulk_jobs() -> Result<Vec<BulkJobView>, AppError> {
    let (services, actor) = super::context::caller().await?;
    if actor.require_admin().is_err() {
        return Ok(Vec::new());
    }
    Ok(services
        .bulk_jobs(&actor)
        .await?
        .into_iter()
        .filter(|j| !j.state.is_over())
        .collect())
}
