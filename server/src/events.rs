//! Live events: `GET /events`, a server-sent event stream of what changed on the current list
//! (this node's changes and, through PostgreSQL `LISTEN`, every other node's). Each event's
//! data is the JSON `{"node": "...", "ids": [...]}` of [`app::service::engine::Changed`]; an
//! empty `ids` means "anything may have changed". Only staff sessions (admin, readonly) get it.

use std::convert::Infallible;
use std::time::Duration;

use app::api::SESSION_COOKIE;
use app::service::{Services, SessionToken};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

/// The stream for the session in the `billmgrses5` cookie; 401 without a staff session.
pub async fn events(services: Services, headers: HeaderMap) -> Response {
    let Some(id) = app::api::cookie(&headers, SESSION_COOKIE) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(actor) = services.authenticate(&SessionToken::from_client(&id)).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if actor.require_staff().is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    Sse::new(changes(services.subscribe()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn changes(
    receiver: tokio::sync::broadcast::Receiver<app::service::engine::Changed>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(receiver, |mut receiver| async move {
        let data = match receiver.recv().await {
            Ok(changed) => serde_json::to_string(&changed).unwrap_or_else(|_| "{}".into()),
            // Fell behind: tell the page to look again, as if anything changed.
            Err(RecvError::Lagged(_)) => "{}".into(),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().event("message").data(data)), receiver))
    })
}
