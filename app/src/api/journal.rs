//! The journal page.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::journal::{JournalForm, JournalPage};
use crate::types::AppError;

/// A page of the journal as `form` narrows it.
#[server(endpoint = "journal", input = Postcard, output = Postcard)]
pub async fn get_journal(form: JournalForm) -> Result<JournalPage, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.journal_page(&actor, form).await?)
}
