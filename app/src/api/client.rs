//! The client area behind "Log in as client" (`su`), and "Go to panel" (`gotoserver`).
//!
//! The client session lives in a cookie of its own ([`CLIENT_COOKIE`]) beside the admin's, so
//! that the admin's tab stays logged in while the client area is open in another; "back to
//! the admin" ends the client session and drops that cookie.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::{AppError, ClientArea};

/// The cookie holding the client session opened by "Log in as client".
pub const CLIENT_COOKIE: &str = "billopsclient";

/// Opens a session as operation `id`'s client (level `user`, linked to the admin's session)
/// for the client area at `/client`.
#[server(endpoint = "su_client", input = Postcard, output = Postcard)]
pub async fn su_client(id: i64) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    let token = services.su_to_operation_client(&actor, id).await?;
    super::session::set_cookie(CLIENT_COOKIE, token.expose(), false)
}

/// The client area of the client session in [`CLIENT_COOKIE`].
#[server(endpoint = "client_area", input = Postcard, output = Postcard)]
pub async fn get_client_area() -> Result<ClientArea, AppError> {
    let (services, actor) = client_caller().await?;
    Ok(services.client_area(&actor).await?)
}

/// Ends the client session and drops its cookie; the admin's session goes on.
#[server(endpoint = "leave_client", input = Postcard, output = Postcard)]
pub async fn leave_client() -> Result<(), AppError> {
    if let Ok((services, actor)) = client_caller().await {
        services.leave_client_session(&actor).await?;
    }
    super::session::set_cookie(CLIENT_COOKIE, "", true)
}

/// The panel URL of operation `id`'s processing module (`runningoperationgotoserver`).
#[server(endpoint = "panel_url", input = Postcard, output = Postcard)]
pub async fn panel_url(id: i64) -> Result<String, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.module_panel_url(&actor, id).await?)
}

#[cfg(feature = "ssr")]
async fn client_caller() -> Result<(crate::service::Services, crate::service::Actor), AppError> {
    use super::context;
    let services = context::services()?;
    let id = super::cookie(&context::headers().await?, CLIENT_COOKIE).ok_or(AppError::Auth)?;
    let actor = services
        .authenticate(&crate::service::SessionToken::from_client(&id))
        .await?;
    Ok((services, actor))
}
