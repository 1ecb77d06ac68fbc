//! The dashboard's charts.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::chart::{ChartWindow, Dashboard};
use crate::types::AppError;

/// The dashboard over `window`.
#[server(endpoint = "dashboard", input = Postcard, output = Postcard)]
pub async fn get_dashboard(window: ChartWindow) -> Result<Dashboard, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.dashboard(&actor, window).await?)
}
