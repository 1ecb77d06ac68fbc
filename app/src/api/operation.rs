//! Server functions over the operations service.

use leptos::prelude::*;

use crate::types::{AppError, OperationRow, Page};

/// One page of current operations, filtered by the caller's saved filter, sorted by `sort`
/// (a column name) in `order` (`asc`/`desc`).
#[server(endpoint = "list_operations")]
pub async fn list_operations(
    page: u32,
    page_size: u32,
    sort: Option<String>,
    order: Option<String>,
) -> Result<Page<OperationRow>, AppError> {
    use crate::types::{ListQuery, SortColumn, SortOrder};
    let (services, actor) = super::context::caller().await?;
    let filter = services.load_operation_filter(&actor).await?;
    let query = ListQuery {
        filter,
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
    };
    Ok(services.list_operations(&actor, query).await?)
}
