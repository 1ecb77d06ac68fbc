//! Failure groups: the failures view, narrowing the list to a group, and the actions on a
//! whole group. The actions and the filter take plain form posts (the page has no island) and
//! send the browser back with the outcome in numbers and fixed codes, never echoed input.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::failure::FailuresView;
use crate::types::AppError;

/// The groups with current operations, most operations first.
#[server(endpoint = "failures_view", input = Postcard, output = Postcard)]
pub async fn get_failures() -> Result<FailuresView, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.failures_view(&actor).await?)
}

/// Narrows the caller's list to group `key` and shows it.
#[server(endpoint = "failure_filter")]
pub async fn filter_to_failure(key: String) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    match services.filter_by_failure(&actor, &key).await {
        Ok(()) => leptos_axum::redirect("/"),
        Err(e) => leptos_axum::redirect(&format!("/failures?failed={}", refusal(&e.into()))),
    }
    Ok(())
}

/// Does `action` (`start`, `stop`, `taskcreate`) to every current operation of group `key`,
/// then back to `/failures` with what it did.
#[server(endpoint = "failure_action")]
pub async fn act_on_failure_group(key: String, action: String) -> Result<(), AppError> {
    use crate::types::failure::FailureAction;
    let (services, actor) = super::context::changing_caller().await?;
    let Some(action) = FailureAction::parse(&action) else {
        leptos_axum::redirect("/failures?failed=value");
        return Ok(());
    };
    match services
        .act_on_failure_groups(&actor, std::slice::from_ref(&key), action)
        .await
    {
        Ok(summary) => {
            let skipped = summary
                .skipped
                .iter()
                .map(|(reason, n)| format!("{reason}.{n}"))
                .collect::<Vec<_>>()
                .join(",");
            let task = summary
                .task_id
                .map(|t| format!("&task={t}"))
                .unwrap_or_default();
            leptos_axum::redirect(&format!(
                "/failures?did={}&done={}&skipped={skipped}{task}",
                action.raw(),
                summary.done
            ));
        }
        Err(e) => leptos_axum::redirect(&format!("/failures?failed={}", refusal(&e.into()))),
    }
    Ok(())
}

/// The fixed code of a refusal the page names.
#[cfg(feature = "ssr")]
fn refusal(error: &AppError) -> &'static str {
    match error {
        AppError::Access | AppError::Auth => "access",
        AppError::Missed { .. } => "missed",
        AppError::Value { .. } => "value",
        _ => "internal",
    }
}
