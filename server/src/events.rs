//! Live events: `GET /events`, a server-sent event stream of what changed on the current list
//! (this node's changes and, through PostgreSQL `LISTEN`, every other node's). Each event's
//! data is the JSON `{"node": "...", "ids": [...]}` of [`app::service::engine::Changed`]; an
//! empty `ids` means "anything may have changed". Only staff sessions (admin, readonly) get it,
//! and only while the session lasts: it is checked again every [`RECHECK`], and the stream ends
//! when the session has (logged out, expired, or past its lifetime).

use std::convert::Infallible;
use std::time::Duration;

use app::api::SESSION_COOKIE;
use app::service::{Services, SessionToken};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

/// How often a stream checks that its session still lasts.
pub const RECHECK: Duration = Duration::from_secs(30);

/// The stream for the session in the `billmgrses5` cookie; 401 without a staff session.
pub async fn events(services: Services, headers: HeaderMap) -> Response {
    let Some(id) = app::api::cookie(&headers, SESSION_COOKIE) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let token = SessionToken::from_client(&id);
    let Ok(actor) = services.authenticate(&token).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if actor.require_staff().is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let receiver = services.subscribe();
    Sse::new(changes(services, token, receiver, RECHECK))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The events for the holder of `token`, from `receiver`, until the session ends (checked every
/// `every`) or the node stops.
pub fn changes(
    services: Services,
    token: SessionToken,
    receiver: tokio::sync::broadcast::Receiver<app::service::engine::Changed>,
    every: Duration,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut recheck = tokio::time::interval(every);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Counted as a live client for as long as the stream lives.
    let client = crate::metrics::global().live_client();
    stream::unfold(
        (services, token, receiver, recheck, client),
        |(services, token, mut receiver, mut recheck, client)| async move {
            let data = loop {
                tokio::select! {
                    received = receiver.recv() => break match received {
                        Ok(changed) => serde_json::to_string(&changed).unwrap_or_else(|_| "{}".into()),
                        // Fell behind: tell the page to look again, as if anything changed.
                        Err(RecvError::Lagged(_)) => "{}".into(),
                        Err(RecvError::Closed) => return None,
                    },
                    _ = recheck.tick() => {
                        if services.authenticate(&token).await.is_err() {
                            return None;
                        }
                    }
                }
            };
            let event = Event::default().event("message").data(data);
            Some((Ok(event), (services, token, receiver, recheck, client)))
        },
    )
}
