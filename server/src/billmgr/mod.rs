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

use app::api::ClientInfo;
use app::service::Services;
use app::types::Lang;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
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
        RequestError::BadMultipart => (
            "request",
            "Тело multipart/form-data не читается",
            "The multipart/form-data body cannot be read",
        ),
        RequestError::Duplicate(name) => {
            return ErrorReply::new(
                "value",
                name,
                "",
                lang,
                "Параметр указан несколько раз с разными значениями",
                "The parameter is given more than once, with different values",
            );
        }
    };
    ErrorReply::new("value", object, "", lang, ru, en)
}

/// Handles one `/billmgr` request.
pub async fn handle(services: Services, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let client = parts
        .extensions
        .get::<ClientInfo>()
        .copied()
        .unwrap_or_default();
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
    let lang = request::first_value(raw_query, "lang")
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
            let call = Call {
                services: &services,
                params: &params,
                // BILLmanager's cookie may carry more after a colon; the session id comes first.
                cookie_session: app::api::cookie(&parts.headers, app::api::SESSION_COOKIE)
                    .map(|v| v.split(':').next().unwrap_or_default().to_owned())
                    .filter(|v| !v.is_empty()),
                addr: client.addr.map(|a| a.to_string()),
                cross_site: app::api::is_cross_site(&parts.headers),
                lang: params.get("lang").and_then(Lang::parse).unwrap_or_default(),
            };
            (guarded(func::dispatch(&call), call.lang).await, params)
        }
    };
    if params.non_empty("func") == Some("auth") && is_browser_navigation(&parts.headers, &params) {
        return pass_through(&reply);
    }
    let body = render::render(&reply, &params, format);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

/// Runs a call; a panic in it becomes the internal-error document in the caller's format (and
/// one log line, in the request's span), never a dropped connection.
async fn guarded(call: impl std::future::Future<Output = Reply>, lang: Lang) -> Reply {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(call).catch_unwind().await {
        Ok(reply) => reply,
        Err(panic) => {
            tracing::error!(
                panic = crate::trace::panic_message(&*panic),
                "a legacy API call panicked"
            );
            Reply::Error(ErrorReply::from_app(&app::types::AppError::Internal, lang))
        }
    }
}

/// True when a browser was sent here to be logged in (a pass-through link, as WHMCS modules
/// make: `func=auth&username=U&key=K`), not a script asking for a document: no `out=`, and the
/// client takes HTML.
fn is_browser_navigation(headers: &HeaderMap, params: &Params) -> bool {
    params.get("out").is_none()
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The answer to a browser's `func=auth`: the session cookie and a page that takes the browser
/// into the admin UI (or a client's user into the client area); a refusal takes it to the login
/// form, which says why. The page moves on by itself (a refresh, with a link as fallback)
/// rather than by a redirect: a redirect would still belong to the other site's navigation, and
/// the browser would not send the `SameSite=Strict` cookie with it.
fn pass_through(reply: &Reply) -> Response {
    let (target, cookie) = match reply {
        Reply::Session {
            id,
            level: Some(level),
            ..
        } => {
            // A client's user goes to the client area, which reads its own cookie.
            let (target, name) = if level == "user" {
                ("/client", app::api::client::CLIENT_COOKIE)
            } else {
                ("/", app::api::SESSION_COOKIE)
            };
            let cookie = format!("{name}={id}; Path=/; HttpOnly; SameSite=Strict");
            (target, Some(cookie))
        }
        _ => ("/login?failed=auth", None),
    };
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>billops</title></head>\
         <body><p><a href=\"{target}\">Continue</a></p></body></html>"
    );
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=UTF-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        page,
    )
        .into_response();
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_call_answers_the_internal_error_document() {
        let reply = guarded(
            async {
                if true {
                    panic!("a bug");
                }
                Reply::ok()
            },
            Lang::En,
        )
        .await;
        match reply {
            Reply::Error(error) => {
                assert_eq!(error.kind, "internal");
                assert!(!error.msg.contains("a bug"), "{}", error.msg);
            }
            other => panic!("expected an error document, got {other:?}"),
        }
    }
}
