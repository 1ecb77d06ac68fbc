//! CSV downloads for the session in the admin cookie (`billmgrses5`), the HTTP side of
//! [`app::service::export`]: `GET /export/operations.csv` (the current list with the caller's
//! saved filter; `sort`, `order` as the list's URL has them), `GET
//! /export/operation/{id}/history.csv` and `GET /export/journal.csv` (admins); `bom=1` starts
//! the file with a byte-order mark for Excel. The body is streamed as the rows are read; a
//! database failure in the middle ends the response with an error instead of a short file.
//! Refusals are a status and one line of plain text in the session's language.

use std::collections::HashMap;

use app::api::SESSION_COOKIE;
use app::service::export::{CsvExport, CsvOptions, ExportError};
use app::service::{Actor, Services, SessionToken};
use app::types::{AppError, Lang, SortColumn, SortOrder};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The export routes, to be merged into the application's router.
pub fn routes<S: Clone + Send + Sync + 'static>(services: Services) -> Router<S> {
    let (list, history, journal) = (services.clone(), services.clone(), services);
    Router::new()
        .route(
            "/export/operations.csv",
            get(
                move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| {
                    operations(list.clone(), headers, query)
                },
            ),
        )
        .route(
            "/export/operation/{id}/history.csv",
            get(
                move |headers: HeaderMap,
                      Path(id): Path<String>,
                      Query(query): Query<HashMap<String, String>>| {
                    operation_history(history.clone(), headers, id, query)
                },
            ),
        )
        .route(
            "/export/journal.csv",
            get(
                move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| {
                    whole_journal(journal.clone(), headers, query)
                },
            ),
        )
}

async fn operations(
    services: Services,
    headers: HeaderMap,
    query: HashMap<String, String>,
) -> Response {
    let actor = match session(&services, &headers).await {
        Ok(actor) => actor,
        Err(refusal) => return refusal,
    };
    let lang = actor.lang;
    let sort = match query.get("sort").map(|s| SortColumn::parse(s)) {
        None => SortColumn::default(),
        Some(Some(sort)) => sort,
        Some(None) => {
            return bad_request(lang.pick("Неизвестный столбец sort", "Unknown sort column"))
        }
    };
    let order = match query.get("order").map(|s| SortOrder::parse(s)) {
        None => SortOrder::default(),
        Some(Some(order)) => order,
        Some(None) => {
            return bad_request(lang.pick("order: asc или desc", "order must be asc or desc"))
        }
    };
    let Some(options) = options(&query) else {
        return bad_bom(lang);
    };
    answer(
        services
            .export_operations(&actor, sort, order, options)
            .await,
        lang,
    )
}

async fn operation_history(
    services: Services,
    headers: HeaderMap,
    id: String,
    query: HashMap<String, String>,
) -> Response {
    let actor = match session(&services, &headers).await {
        Ok(actor) => actor,
        Err(refusal) => return refusal,
    };
    let lang = actor.lang;
    let Ok(id) = id.parse::<i64>() else {
        return bad_request(lang.pick(
            "Номер операции — целое число",
            "The operation id is a number",
        ));
    };
    let Some(options) = options(&query) else {
        return bad_bom(lang);
    };
    answer(services.export_history(&actor, id, options).await, lang)
}

async fn whole_journal(
    services: Services,
    headers: HeaderMap,
    query: HashMap<String, String>,
) -> Response {
    let actor = match session(&services, &headers).await {
        Ok(actor) => actor,
        Err(refusal) => return refusal,
    };
    let lang = actor.lang;
    let Some(options) = options(&query) else {
        return bad_bom(lang);
    };
    answer(services.export_journal(&actor, options).await, lang)
}

/// The actor of the session in the cookie, or the refusal to send.
async fn session(services: &Services, headers: &HeaderMap) -> Result<Actor, Response> {
    let lang = app::api::cookie(headers, app::api::LANG_COOKIE)
        .and_then(|code| Lang::parse(&code))
        .unwrap_or_default();
    let Some(id) = app::api::cookie(headers, SESSION_COOKIE) else {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            &AppError::Auth.message(lang),
        ));
    };
    services
        .authenticate(&SessionToken::from_client(&id))
        .await
        .map_err(|e| refusal(StatusCode::UNAUTHORIZED, &AppError::from(e).message(lang)))
}

/// Reads `bom` (`1`, `on`, `true`, `yes`; or `0`, `off`, `false`, `no`, empty); `None` for
/// anything else.
fn options(query: &HashMap<String, String>) -> Option<CsvOptions> {
    let bom = match query.get("bom").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if matches!(v.as_str(), "1" | "on" | "true" | "yes") => true,
        Some(v) if matches!(v.as_str(), "" | "0" | "off" | "false" | "no") => false,
        Some(_) => return None,
    };
    Some(CsvOptions { bom })
}

/// The refusal of a `bom` that [`options`] does not read.
fn bad_bom(lang: Lang) -> Response {
    bad_request(lang.pick("bom: 1 или 0", "bom must be 1 or 0"))
}

/// The streamed file, or the refusal in the caller's language.
fn answer(export: Result<CsvExport, ExportError>, lang: Lang) -> Response {
    let export = match export {
        Ok(export) => export,
        Err(ExportError::Busy) => {
            let mut response = refusal(
                StatusCode::TOO_MANY_REQUESTS,
                lang.pick(
                    "Слишком много выгрузок одновременно, повторите позже",
                    "Too many exports at once; try again shortly",
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
            return response;
        }
        Err(ExportError::Operation(e)) => {
            let error = AppError::from(e);
            let status = match error {
                AppError::Auth | AppError::Throttled => StatusCode::UNAUTHORIZED,
                AppError::Access => StatusCode::FORBIDDEN,
                AppError::Missed { .. } => StatusCode::NOT_FOUND,
                AppError::Value { .. } | AppError::Exists { .. } => StatusCode::BAD_REQUEST,
                AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return refusal(status, &error.message(lang));
        }
    };
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    let body = Body::from_stream(futures_util::stream::unfold(
        export,
        |mut export| async move {
            let chunk = match export.next_chunk().await? {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(error) => {
                    tracing::error!(error = %error, "export cut short by a store failure");
                    Err(std::io::Error::other("export cut short"))
                }
            };
            Some((chunk, export))
        },
    ));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn bad_request(message: &str) -> Response {
    refusal(StatusCode::BAD_REQUEST, message)
}

/// A status with one line of plain text.
fn refusal(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}
