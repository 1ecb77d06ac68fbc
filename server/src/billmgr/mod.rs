//! The legacy `/billmgr` endpoint: BILLmanager's API for scripts written against it. `GET` or
//! `POST`, parameters in the query string, a form body or a JSON object body; answers always
//! with HTTP 200 and a document in the asked format, errors included, as BILLmanager does.
//!
//! [`request`] reads parameters, [`func`] calls the service layer, [`render`] holds every
//! quirk of the output formats. Nothing here decides anything about operations.

pub mod func;
pub mod render;
pub mod reply;
pub mod request;

use std::net::SocketAddr;

use app::service::Services;
use app::types::Lang;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};

use self::func::Call;
use self::render::Format;
use self::reply::{ErrorReply, Reply};
use self::request::{Params, RequestError};

/// The error document for a request that could not be read.
fn request_error(error: &RequestError, lang: Lang) -> ErrorReply {
    let (object, ru, en) = match error {
        RequestError::BadEncoding => (
            "request",
            "Неверное кодирование параметров (%XX)",
            "Bad percent-encoding in the parameters",
        ),
        RequestError::NotUtf8 => (
            "request",
            "Параметры не в кодировке UTF-8",
            "The parameters are not UTF-8",
        ),
        RequestError::TooLarge => (
            "request",
            "Слишком большой запрос",
            "The request body is too large",
        ),
        RequestError::BadJson => (
            "request",
            "Тело запроса не является JSON-объектом",
            "The body is not a JSON object of plain values",
        ),
        RequestError::Duplicate(name) => {
            return ErrorReply::new(
                "value",
                name,
                "",
                lang,
                "Параметр указан несколько раз",
                "The parameter is given more than once",
            );
        }
    };
    ErrorReply::new("value", object, "", lang, ru, en)
}

/// Handles one `/billmgr` request.
pub async fn handle(services: Services, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let query = parts.uri.query().map(str::to_owned);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // `out` and `lang` are read leniently from the query first, so that even a request that
    // cannot be read is answered in the caller's format and language.
    let raw_query = query.as_deref().unwrap_or("");
    let mut format = Format::parse(request::first_value(raw_query, "out").as_deref());
    let mut lang = request::first_value(raw_query, "lang")
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default();
    let parsed = match axum::body::to_bytes(body, request::MAX_BODY_BYTES).await {
        Err(_) => Err(RequestError::TooLarge),
        Ok(bytes) => request::parse(query.as_deref(), content_type.as_deref(), &bytes),
    };
    let (reply, params) = match parsed {
        Err(e) => (Reply::Error(request_error(&e, lang)), Params::default()),
        Ok(params) => {
            format = Format::parse(params.get("out"));
            lang = params.get("lang").and_then(Lang::parse).unwrap_or_default();
            let call = Call {
                services: &services,
                params: &params,
                // BILLmanager's cookie may carry more after a colon; the session id comes first.
                cookie_session: app::api::cookie(&parts.headers, app::api::SESSION_COOKIE)
                    .map(|v| v.split(':').next().unwrap_or_default().to_owned())
                    .filter(|v| !v.is_empty()),
                addr,
                lang,
            };
            (func::dispatch(&call).await, params)
        }
    };
    let body = render::render(&reply, &params, format);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}
