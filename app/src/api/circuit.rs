//! Processing modules' circuit breakers: the list's banner, pausing and resuming.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::circuit::CircuitView;
use crate::types::AppError;

/// The modules whose circuit is not closed (open, probing or paused).
#[server(endpoint = "troubled_circuits", input = Postcard, output = Postcard)]
pub async fn troubled_circuits() -> Result<Vec<CircuitView>, AppError> {
    let (services, actor) = super::context::caller().await?;
    Ok(services.troubled_circuits(&actor).await?)
}

/// Pauses (`pause`) or resumes module `module`. Takes a plain form post (the buttons work
/// without the WASM) and sends the browser back to `back`, a path on this site.
#[server(endpoint = "module_circuit")]
pub async fn set_module_paused(module: i64, pause: bool, back: String) -> Result<(), AppError> {
    let (services, actor) = super::context::changing_caller().await?;
    if pause {
        services.pause_module(&actor, module).await?;
    } else {
        services.resume_module(&actor, module).await?;
    }
    // Back to the list or a module's page, nowhere else.
    let module_page = back
        .strip_prefix("/modules/")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let back = if module_page { back } else { "/".to_owned() };
    leptos_axum::redirect(&back);
    Ok(())
}
