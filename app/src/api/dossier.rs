//! The admin's detail pages of a client, a service or a task.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::dossier::{Dossier, Subject};
use crate::types::AppError;

/// The dossier of `subject` number `id`.
#[server(endpoint = "dossier", input = Postcard, output = Postcard)]
pub async fn get_dossier(subject: Subject, id: i64) -> Result<Dossier, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.dossier(&actor, subject, id).await?)
}
