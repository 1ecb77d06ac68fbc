//! Server functions over the operations service.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::{AppError, OperationRow, Page};

/// One page of current operations, filtered by the caller's saved filter, sorted by `sort`
/// (a column name) in `order` (`asc`/`desc`).
#[server(endpoint = "list_operations", input = Postcard, output = Postcard)]
pub async fn list_operations(
    page: u32,
    page_size: u32,
    sort: Option<String>,
    order: Option<String>,
    seek: Option<String>,
) -> Result<Page<OperationRow>, AppError> {
    use crate::service::filter::{FilterChoice, ListView};
    use crate::types::{SortColumn, SortOrder};
    let (services, actor) = super::context::caller().await?;
    let view = ListView {
        sort: sort
            .as_deref()
            .and_then(SortColumn::parse)
            .unwrap_or_default(),
        order: order
            .as_deref()
            .and_then(SortOrder::parse)
            .unwrap_or_default(),
        page,
        page_size,
        seek,
    };
    Ok(services
        .list_operations_filtered(&actor, FilterChoice::Saved, view)
        .await?)
}

/// Runs a group action (start, stop, delete, create task) on the operations `ids`; says per id
/// whether it succeeded and, if not, why.
#[server(endpoint = "run_action", input = Postcard, output = Postcard)]
pub async fn run_action(
    action: crate::types::OperationAction,
    ids: Vec<i64>,
) -> Result<Vec<crate::types::ActionResult>, AppError> {
    use crate::types::{ActionResult, OperationAction};
    let (services, actor) = super::context::changing_caller().await?;
    let outcome = match action {
        OperationAction::Start => services.start_operations(&actor, &ids).await?,
        OperationAction::Stop => services.stop_operations(&actor, &ids).await?,
        OperationAction::Delete => services.delete_operations(&actor, &ids).await?,
        OperationAction::Taskcreate => services.create_tasks(&actor, &ids).await?,
    };
    Ok(outcome
        .results
        .into_iter()
        .map(|(id, result)| ActionResult {
            id,
            error: result.err().map(|e| AppError::from(e).message(actor.lang)),
        })
        .collect())
}

/// The attempts of an operation (its error history), oldest first.
#[server(endpoint = "operation_history", input = Postcard, output = Postcard)]
pub async fn operation_history(
    id: i64,
) -> Result<crate::types::journal::OperationHistory, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.operation_history(&actor, id).await?)
}

/// One attempt and its log (secrets were masked when it was written).
#[server(endpoint = "attempt_log", input = Postcard, output = Postcard)]
pub async fn attempt_log(id: i64) -> Result<(crate::types::AttemptRow, String), AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.get_attempt_log(&actor, id).await?)
}

/// The edit form's fields: operation `id`'s current values, or (without `id`) a new one's
/// defaults.
#[server(endpoint = "edit_form", input = Postcard, output = Postcard)]
pub async fn edit_form(id: Option<i64>) -> Result<crate::types::OperationInput, AppError> {
    let (services, actor) = super::context::caller().await?;
    match id {
        None => Ok(services.new_operation_form(&actor).await?),
        Some(id) => Ok(services.get_operation_form(&actor, id).await?.input()),
    }
}

/// Saves the edit form: changes operation `id`, or creates one; returns its id. Wrong fields
/// come back as `AppError::Value`, each named, and nothing is saved.
#[server(endpoint = "save_operation", input = Postcard, output = Postcard)]
pub async fn save_operation(
    id: Option<i64>,
    input: crate::types::OperationInput,
) -> Result<i64, AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    match id {
        None => Ok(services.create_operation(&actor, &input).await?),
        Some(id) => {
            services.change_operation(&actor, id, &input).await?;
            Ok(id)
        }
    }
}
