//! Request tracing and panics: every request gets an id, echoed as `X-Request-Id` and carried
//! by the span that every log line written while serving it belongs to (so an internal error,
//! logged once where it is turned into the caller's error, names its request); a panic in a
//! handler becomes a `500` answer and one log line, never a dropped connection.
//!
//! The id is the caller's `X-Request-Id` when it is a plain token (a proxy's, so that its logs
//! and ours meet), else a new random one: a caller cannot put text of its choosing into our
//! logs. Spans name the method and the path, never the query (it may carry `authinfo`).

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use axum::Router;
use rand::Rng;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// The header the id travels in, both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller id kept.
const MAX_ID_LEN: usize = 64;

/// `router` with request ids, a span per request and panics caught.
pub fn traced(router: Router) -> Router {
    router
        // Innermost: a panic becomes a response inside the request's span.
        .layer(CatchPanicLayer::custom(panic_answer))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!(
                    "request",
                    id = %id,
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        // Outermost: the id exists before the span is made, and goes back on every answer.
        .layer(axum::middleware::from_fn(request_id))
}

/// Gives the request its id (the caller's plain one, or a new one) and echoes it.
async fn request_id(mut request: Request, next: Next) -> axum::response::Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_plain_id(v))
        .map(str::to_owned)
        .unwrap_or_else(new_id);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"));
    request
        .headers_mut()
        .insert(REQUEST_ID.clone(), value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID.clone(), value);
    response
}

/// A caller's id worth keeping: 1 to 64 letters, digits, `-`, `_` or `.`.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 16 random hex digits.
fn new_id() -> String {
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

/// What a panic's payload says, when it is text.
pub fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The answer to a request whose handler panicked: logged once, here, in the request's span.
fn panic_answer(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!(panic = panic_message(&*panic), "a handler panicked");
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(
            "<!DOCTYPE html><html><head><title>billops: internal error</title></head>\
             <body><h1>Internal server error</h1><p>Something went wrong on the server. \
             It has been logged; the id of this request is in the X-Request-Id header.</p>\
             <p><a href=\"/\">Back to the list</a></p></body></html>",
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        traced(
            Router::new()
                .route("/fine", get(|| async { "fine" }))
                .route(
                    "/boom",
                    get(|| async {
                        if true {
                            panic!("boom");
                        }
                        "unreachable"
                    }),
                ),
        )
    }

    async fn get_with(path: &str, id: Option<&str>) -> Response<Body> {
        let mut request = Request::get(path);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .expect("an answer")
    }

    #[tokio::test]
    async fn every_answer_carries_a_new_request_id() {
        let a = get_with("/fine", None).await;
        let b = get_with("/fine", None).await;
        let id = |r: &Response<Body>| r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id(&a).len(), 16);
        assert!(id(&a).bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id(&a), id(&b));
    }

    #[tokio::test]
    async fn a_plain_caller_id_is_kept_and_a_hostile_one_replaced() {
        let kept = get_with("/fine", Some("proxy-42.a_b")).await;
        assert_eq!(kept.headers()["x-request-id"], "proxy-42.a_b");
        for hostile in ["a b", "<script>", &"x".repeat(65), "id;drop", "ид"] {
            let replaced = get_with("/fine", Some(hostile)).await;
            let id = replaced.headers()["x-request-id"].to_str().unwrap();
            assert_ne!(id, hostile);
            assert_eq!(id.len(), 16, "{hostile:?} replaced by a new id");
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_its_request_id() {
        let response = get_with("/boom", Some("req-1")).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-request-id"], "req-1");
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("Internal server error"), "{text}");
        assert!(!text.contains("boom"), "the panic's text stays in the log");
    }

    #[test]
    fn a_panic_message_is_read_from_str_or_string_payloads() {
        let s: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(&*s), "static");
        let s: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(&*s), "owned");
        let s: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*s), "(no message)");
    }
}
