//! The HTTP surface through the router, without a socket: login, the session cookie, and the
//! server-rendered list of current operations.

use std::sync::Arc;

use app::service::{Actor, Services, SystemClock};
use app::types::{ActionResult, AppError, Lang, Level, OperationAction};
use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Site {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = app::store::connect(&format!(
        "sqlite://{}",
        dir.path().join("http.db").display()
    ))
    .await
    .expect("store");
    store.migrate().await.expect("migrate");
    let services = Services::new(store, Arc::new(SystemClock));
    let cli = Actor::command_line();
    services
        .load_demo(&cli, "/bin/true")
        .await
        .expect("demo")
        .expect("loaded");
    services
        .add_user(&cli, "boss", "long-password", Level::Admin, None)
        .await
        .expect("admin");
    services
        .add_user(&cli, "viewer", "long-password", Level::Readonly, None)
        .await
        .expect("readonly");
    services
        .add_user(&cli, "client", "long-password", Level::User, Some(1))
        .await
        .expect("client user");
    let options = server::config::site_options("127.0.0.1:0".parse().expect("addr"));
    Site {
        router: server::router::router(services, options),
        _dir: dir,
    }
}

/// Runs a test on a `LocalSet`: with the `hydrate` feature unified in (a `cargo test
/// --workspace` build), leptos spawns local tasks while rendering.
async fn local(test: impl std::future::Future<Output = ()>) {
    tokio::task::LocalSet::new().run_until(test).await;
}

async fn send(site: &Site, request: Request<Body>) -> Response<Body> {
    site.router
        .clone()
        .oneshot(request)
        .await
        .expect("response")
}

async fn body_bytes(response: Response<Body>) -> axum::body::Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

async fn body_text(response: Response<Body>) -> String {
    String::from_utf8_lossy(&body_bytes(response).await).into_owned()
}

fn login_request(user: &str, password: &str, lang: &str) -> Request<Body> {
    Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        // A browser's form post without JS: the server function answers with a redirect.
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::from(format!("username={user}&password={password}")))
        .expect("request")
}

/// Logs in and returns the `Cookie` header value to send back.
async fn login(site: &Site, user: &str, lang: &str) -> String {
    let response = send(site, login_request(user, "long-password", lang)).await;
    assert!(
        response.status().is_redirection(),
        "login answered {}",
        response.status()
    );
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("set-cookie")
        .to_str()
        .expect("ascii")
        .to_owned();
    set_cookie.split(';').next().expect("pair").to_owned()
}

async fn get(site: &Site, path: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(site, request.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn a_visitor_without_a_session_is_sent_to_the_login_form() {
    local(async {
        let site = site().await;
        let response = get(&site, "/", None).await;
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(
            response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/login")
        );
        let form = body_text(get(&site, "/login", None).await).await;
        assert!(
            form.contains("name=\"username\"") && form.contains("name=\"password\""),
            "{form}"
        );
    })
    .await;
}

#[tokio::test]
async fn logging_in_sets_an_http_only_same_site_strict_cookie() {
    local(async {
        let site = site().await;
        let response = send(&site, login_request("boss", "long-password", "en")).await;
        assert!(response.status().is_redirection());
        assert_eq!(
            response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/")
        );
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("cookie");
        assert!(cookie.starts_with("billmgrses5="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert_eq!(
            cookie.split(';').next().map(str::len),
            Some("billmgrses5=".len() + 64)
        );
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_sets_no_cookie_and_says_why() {
    local(async {
        let site = site().await;
        // A browser's plain form post: back to the form, which says why.
        let response = send(&site, login_request("boss", "not-the-password", "en")).await;
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(location.as_deref(), Some("/login?failed=auth"));
        let page = body_text(get(&site, "/login?failed=auth", None).await).await;
        assert!(page.contains(&AppError::Auth.message(Lang::En)), "{page}");

        // The page's own call (after hydration): the error itself.
        let mut request = login_request("boss", "not-the-password", "en");
        request.headers_mut().insert(
            header::ACCEPT,
            header::HeaderValue::from_static("application/x-postcard"),
        );
        let response = send(&site, request).await;
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        assert_eq!(answer::<()>(response).await, Err(AppError::Auth));
    })
    .await;
}

#[tokio::test]
async fn the_list_is_server_rendered_in_the_session_language() {
    local(async {
        let site = site().await;
        let cookie = login(&site, "boss", "ru-RU,ru;q=0.9").await;
        let response = get(&site, "/", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = body_text(response).await;
        assert_eq!(
            html.matches("<tr data-id=").count(),
            50,
            "a full first page of rows"
        );
        for label in [
            "Ожидает выполнения",
            "Выполняется",
            "Ошибка, перезапуск по расписанию",
            "Требует вмешательства",
        ] {
            assert!(html.contains(label), "status label {label} missing");
        }
        assert!(html.contains("Текущие операции"));
        assert!(
            html.contains("Всего: 100"),
            "the total of current operations"
        );
        let page2 = body_text(get(&site, "/?page=2", Some(&cookie)).await).await;
        assert_eq!(page2.matches("<tr data-id=").count(), 50);
        assert!(page2.contains("2 / 2"));
    })
    .await;
}

#[tokio::test]
async fn the_list_is_one_island_whose_data_holds_the_rows_but_never_the_session_id() {
    local(async {
        let site = site().await;
        let cookie = login(&site, "boss", "en").await;
        let session_id = cookie.split_once('=').expect("name=value").1.to_owned();
        let html = body_text(get(&site, "/", Some(&cookie)).await).await;
        assert_eq!(
            html.matches("<leptos-island").count(),
            1,
            "one island on the list page"
        );
        // No props (no JSON for the browser to parse): the page hands the island its data
        // in an element of its own, postcard in hex.
        assert!(!html.contains("data-props"), "an island with props");
        let hex = html
            .split("data-island=\"list\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("the list island's data");
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{hex}");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let packed = String::from_utf8_lossy(&bytes);
        // Every row's service, as the table shows it ("#12 vm12.site..."), is in the props.
        let services: Vec<&str> = html
            .split("href=\"/services/")
            .skip(1)
            .filter_map(|link| link.split_once('>')?.1.split_once("</a>"))
            .filter_map(|(text, _)| text.split_once(' ').map(|(_, name)| name))
            .collect();
        assert_eq!(services.len(), 50, "the table's service links");
        for name in services {
            assert!(packed.contains(name), "{name} is not in the island's data");
        }
        assert!(
            !packed.contains(&session_id),
            "the session id is in the island's data"
        );
        assert!(!html.contains(&session_id), "the session id is in the page");
        // A page that needs no code in the browser has no island.
        let history = body_text(get(&site, "/operation/1", Some(&cookie)).await).await;
        assert!(history.contains("id=\"attempts\""));
        assert!(!history.contains("<leptos-island"));
    })
    .await;
}

#[tokio::test]
async fn a_readonly_admin_sees_the_list_and_a_client_user_does_not() {
    local(async {
        let site = site().await;
        let viewer = login(&site, "viewer", "en").await;
        let html = body_text(get(&site, "/", Some(&viewer)).await).await;
        assert!(html.contains("Current operations") && html.contains("<tr data-id="));
        let client = login(&site, "client", "en").await;
        let html = body_text(get(&site, "/", Some(&client)).await).await;
        assert!(!html.contains("<tr data-id="));
        assert!(html.contains("does not allow this function"), "{html}");
    })
    .await;
}

#[tokio::test]
async fn an_unknown_session_cookie_is_treated_as_no_session() {
    local(async {
        let site = site().await;
        let response = get(&site, "/", Some("billmgrses5=0000")).await;
        assert!(response.status().is_redirection());
    })
    .await;
}

#[tokio::test]
async fn the_event_stream_needs_a_staff_session() {
    local(async {
        let site = site().await;
        let response = get(&site, "/events", None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let client = login(&site, "client", "en").await;
        assert_eq!(
            get(&site, "/events", Some(&client)).await.status(),
            StatusCode::FORBIDDEN
        );
        let viewer = login(&site, "viewer", "en").await;
        let response = get(&site, "/events", Some(&viewer)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
    })
    .await;
}

#[tokio::test]
async fn the_list_downloads_as_csv_sorted_as_asked_and_for_staff_only() {
    local(async {
        let site = site().await;
        let list = "/export/operations.csv?sort=trycount&order=desc&bom=1";
        assert_eq!(
            get(&site, list, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let client = login(&site, "client", "en").await;
        assert_eq!(
            get(&site, list, Some(&client)).await.status(),
            StatusCode::FORBIDDEN
        );
        let viewer = login(&site, "viewer", "ru").await;
        let refused = get(&site, "/export/operations.csv?sort=nonsense", Some(&viewer)).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_text(refused).await, "Неизвестный столбец sort\n");
        assert_eq!(
            get(&site, "/export/journal.csv", Some(&viewer))
                .await
                .status(),
            StatusCode::FORBIDDEN,
            "the journal is for admins"
        );
        let response = get(&site, list, Some(&viewer)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let header_of = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header_of(header::CONTENT_TYPE), "text/csv; charset=utf-8");
        assert!(
            header_of(header::CONTENT_DISPOSITION)
                .starts_with("attachment; filename=\"operations-"),
            "{}",
            header_of(header::CONTENT_DISPOSITION)
        );
        let bytes = body_bytes(response).await;
        let csv = bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .expect("a byte-order mark");
        let mut reader = csv::Reader::from_reader(csv);
        assert_eq!(
            reader.headers().expect("header").get(6),
            Some("Количество попыток")
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert!(rows.len() >= 80, "{} rows", rows.len());
        let tries: Vec<i64> = rows.iter().map(|r| r[6].parse().expect("tries")).collect();
        assert!(
            tries.windows(2).all(|w| w[0] >= w[1]),
            "sorted by tries, descending"
        );

        let first = &rows[0][0];
        let history = get(
            &site,
            &format!("/export/operation/{first}/history.csv"),
            Some(&viewer),
        )
        .await;
        assert_eq!(history.status(), StatusCode::OK);
        assert!(body_text(history).await.starts_with("Id,Начало,Окончание,"));
        for (path, status) in [
            ("/export/operation/abc/history.csv", StatusCode::BAD_REQUEST),
            (
                "/export/operation/999999/history.csv",
                StatusCode::NOT_FOUND,
            ),
        ] {
            assert_eq!(
                get(&site, path, Some(&viewer)).await.status(),
                status,
                "{path}"
            );
        }
        let boss = login(&site, "boss", "en").await;
        let journal = get(&site, "/export/journal.csv", Some(&boss)).await;
        assert_eq!(journal.status(), StatusCode::OK);
        assert!(body_text(journal)
            .await
            .starts_with("Id,Time,User,Action,Object,Object id,Detail\r\n"));
    })
    .await;
}

fn action_request(cookie: &str, site_header: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/api/run_action")
        .header(header::CONTENT_TYPE, "application/x-postcard")
        .header(header::ACCEPT, "application/x-postcard")
        .header(header::COOKIE, cookie);
    if let Some(value) = site_header {
        request = request.header("sec-fetch-site", value);
    }
    let arguments = app::api::RunAction {
        action: OperationAction::Taskcreate,
        ids: vec![1, 999_999],
    };
    request
        .body(Body::from(
            postcard::to_allocvec(&arguments).expect("encode"),
        ))
        .expect("request")
}

/// A server function's answer decoded as the browser decodes it: postcard, the value on
/// success, the [`AppError`] otherwise.
async fn answer<T: serde::de::DeserializeOwned>(response: Response<Body>) -> Result<T, AppError> {
    let success = response.status().is_success();
    let bytes = body_bytes(response).await;
    if success {
        Ok(postcard::from_bytes(&bytes).expect("a postcard answer"))
    } else {
        Err(postcard::from_bytes(&bytes).expect("a postcard error"))
    }
}

#[tokio::test]
async fn group_actions_answer_per_row_and_refuse_other_sites() {
    local(async {
        let site = site().await;
        let boss = login(&site, "boss", "en").await;
        let refused = answer::<Vec<ActionResult>>(
            send(&site, action_request(&boss, Some("cross-site"))).await,
        )
        .await;
        assert_eq!(refused, Err(AppError::Access));
        let response = send(&site, action_request(&boss, Some("same-origin"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        let results = answer::<Vec<ActionResult>>(response)
            .await
            .expect("results");
        assert_eq!(results.len(), 2);
        assert_eq!((results[0].id, results[1].id), (1, 999_999));
        assert!(
            results[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("999999")),
            "{results:?}"
        );
        let viewer = login(&site, "viewer", "en").await;
        let denied =
            answer::<Vec<ActionResult>>(send(&site, action_request(&viewer, None)).await).await;
        assert_eq!(
            denied,
            Err(AppError::Access),
            "a read-only admin changes nothing"
        );
    })
    .await;
}
