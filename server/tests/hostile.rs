//! The HTTP surface as an attacker and as real client scripts meet it: markup in parameter names
//! and values in every output format, huge and numerous parameters, bad encodings, multipart
//! bodies, parameters repeated between the query and the body, cross-site calls with the
//! session cookie, parallel wrong passwords, the protective headers, pass-through login, the
//! session's language, the older `/manager/billmgr` path, `Secure` cookies and TLS.

use std::net::SocketAddr;
use std::sync::Arc;

use app::service::{Actor, ManualClock, Services};
use app::types::{ItemStatus, Lang, Level, ModuleKind, OperationInput, Timestamp};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use server::guard::HttpConfig;
use tower::ServiceExt;

const T0: Timestamp = Timestamp(1_736_510_400_000);
const BOSS: &str = "authinfo=boss:long-password";

struct Site {
    router: Router,
    services: Services,
    /// The same store, with its bulk inserts.
    fixtures: Arc<dyn app::store::fixtures::Fixtures>,
    clock: Arc<ManualClock>,
    operation: i64,
    _dir: tempfile::TempDir,
}

/// A client with one service and one waiting operation; users `boss` (admin) and `cl` (the
/// client's user).
async fn site_with(http: HttpConfig) -> Site {
    let dir = tempfile::tempdir().expect("dir");
    let store = app::store::fixtures::connect(&format!(
        "sqlite://{}",
        dir.path().join("hostile.db").display()
    ))
    .await
    .expect("store");
    store.migrate().await.expect("migrate");
    let clock = Arc::new(ManualClock::new(T0));
    let services = Services::new(store.clone(), clock.clone());
    let a = Actor::command_line();
    let module = services
        .add_module(
            &a,
            &app::service::ModuleInput::new("VM", ModuleKind::Exec, "/bin/true"),
        )
        .await
        .expect("module");
    let client = services
        .add_client(&a, "Northwind", None)
        .await
        .expect("client");
    let item = services
        .add_item(
            &a,
            client,
            module,
            "vds",
            "vm1.example",
            ItemStatus::Ordered,
        )
        .await
        .expect("item");
    let operation = services
        .create_operation(
            &a,
            &OperationInput {
                intname: Some("open".into()),
                item: Some(item.to_string()),
                ..OperationInput::default()
            },
        )
        .await
        .expect("operation");
    services
        .add_user(&a, "boss", "long-password", Level::Admin, None)
        .await
        .expect("boss");
    services
        .add_user(&a, "cl", "long-password", Level::User, Some(client))
        .await
        .expect("cl");
    let options = server::config::site_options("127.0.0.1:0".parse().expect("addr"));
    Site {
        router: server::router::router_with(services.clone(), options, http),
        services,
        fixtures: store,
        clock,
        operation,
        _dir: dir,
    }
}

async fn site() -> Site {
    site_with(HttpConfig::default()).await
}

/// Runs a test on a `LocalSet`: leptos spawns local tasks while rendering pages.
async fn local(test: impl std::future::Future<Output = ()>) {
    tokio::task::LocalSet::new().run_until(test).await;
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Site {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, query: &str) -> String {
        self.send(
            Request::get(format!("/billmgr?{query}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .body
    }

    /// The answer to `query`, which asks for a JSON format, parsed.
    async fn json(&self, query: &str) -> serde_json::Value {
        let body = self.get(query).await;
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// A session id of `user`, through `func=auth`.
    async fn session(&self, user: &str) -> String {
        let doc = self
            .json(&format!(
                "func=auth&username={user}&password=long-password&out=JSONdata"
            ))
            .await;
        doc["auth"].as_str().expect("session id").to_owned()
    }
}

fn from(ip: [u8; 4], mut request: Request<Body>) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    request
}

fn encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Names and values an attacker sends, each meant to become markup somewhere.
const HOSTILE: [&str; 6] = [
    "x><script xmlns=\"http://www.w3.org/1999/xhtml\">alert(1)</script></x><y",
    "\"/><img src=x onerror=alert(1)>",
    "a b",
    "xmlfoo",
    "$",
    "line\nERROR forged(x): yes",
];

#[tokio::test]
async fn markup_in_parameter_names_and_values_stays_data_in_every_format() {
    let site = site().await;
    let client = site.session("cl").await;
    let mut query = format!("func=service&auth={client}");
    for (i, text) in HOSTILE.iter().enumerate() {
        query.push_str(&format!("&{}=v{i}&p{i}={}", encode(text), encode(text)));
    }
    // xml: well-formed, no element but the ones BILLmanager writes, values intact as text.
    let xml = site.get(&format!("{query}&out=xml")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert!(
        !names.contains(&"script") && !names.contains(&"img"),
        "{xml}"
    );
    let tparams = doc
        .descendants()
        .find(|n| n.has_tag_name("tparams"))
        .expect("tparams");
    for (i, text) in HOSTILE.iter().enumerate() {
        let echoed = tparams
            .children()
            .find(|n| n.has_tag_name(format!("p{i}").as_str()))
            .and_then(|n| n.text())
            .unwrap_or_default();
        assert_eq!(echoed, *text, "the value comes back as text: {xml}");
        assert!(
            !tparams.children().any(|n| n.tag_name().name() == *text),
            "a name that is no identifier is not echoed: {xml}"
        );
    }
    assert!(!xml.contains(&client), "the session id is never echoed");
    // sjson: keys of tparams are plain names only.
    let json: serde_json::Value = site.json(&format!("{query}&out=sjson")).await;
    let keys: Vec<&String> = json["doc"]["tparams"]
        .as_object()
        .expect("tparams")
        .keys()
        .collect();
    assert!(
        keys.iter()
            .all(|k| server::billmgr::request::is_plain_name(k)),
        "{keys:?}"
    );
    assert_eq!(json["doc"]["tparams"]["p0"]["$"], HOSTILE[0]);
    // JSONdata parses; text keeps one row per line.
    let data = site.get(&format!("{query}&out=JSONdata")).await;
    serde_json::from_str::<serde_json::Value>(&data).expect("JSONdata");
    let name = encode(HOSTILE[5]);
    let error = site.get(&format!("{name}=1&{name}=2&out=text")).await;
    assert!(error.starts_with("ERROR value("), "{error}");
    assert!(
        !error.lines().any(|l| l.starts_with("ERROR forged")),
        "{error}"
    );
}

#[tokio::test]
async fn a_hundred_thousand_distinct_parameters_are_read_and_answered() {
    let site = site().await;
    let body: String = (0..100_000).map(|i| format!("a{i}=&")).collect();
    assert!(body.len() <= server::billmgr::request::MAX_BODY_BYTES);
    let answer = site
        .send(
            Request::post("/billmgr?out=JSONdata")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("{body}func=auth&username=x&password=y")))
                .expect("request"),
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(json["error"]["type"], "auth", "{}", answer.body);
}

#[tokio::test]
async fn multipart_bodies_from_php_curl_and_python_requests_are_read() {
    let site = site().await;
    let boundary = "------------------------d74496d66958873e";
    let part = |name: &str, file: Option<&str>, value: &str| {
        let filename = file.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{value}\r\n"
        )
    };
    let body = format!(
        "{}{}{}{}--{boundary}--\r\n",
        part("func", None, "runningoperation"),
        part("authinfo", None, "boss:long-password"),
        part("out", Some("out.txt"), "JSONdata"),
        part("p_cnt", None, "10"),
    );
    let answer = site
        .send(
            Request::post("/billmgr")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await;
    let rows: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(1),
        "the list answers: {}",
        answer.body
    );
    for (what, content_type, body) in [
        ("no boundary", "multipart/form-data".to_owned(), "x".to_owned()),
        (
            "a part without a name",
            format!("multipart/form-data; boundary={boundary}"),
            format!("--{boundary}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--{boundary}--\r\n"),
        ),
        (
            "no closing boundary",
            format!("multipart/form-data; boundary={boundary}"),
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv"),
        ),
        (
            "a value that is not UTF-8",
            format!("multipart/form-data; boundary={boundary}"),
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\u{0}\r\n--{boundary}--\r\n")
                .replace('\u{0}', "\u{FFFD}"),
        ),
    ] {
        let mut bytes = body.into_bytes();
        if what == "a value that is not UTF-8" {
            let at = bytes.windows(3).position(|w| w == "\u{FFFD}".as_bytes()).expect("mark");
            bytes.splice(at..at + 3, [0xff, 0xfe]);
        }
        let answer = site
            .send(
                Request::post("/billmgr?out=JSONdata")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(bytes))
                    .expect("request"),
            )
            .await;
        let json: serde_json::Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", answer.body));
        assert_eq!(json["error"]["type"], "value", "{what}: {}", answer.body);
        assert_eq!(json["error"]["object"], "request", "{what}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_parameter_in_the_query_and_the_body_counts_once_when_the_values_agree() {
    let site = site().await;
    let request = |body: &str| {
        Request::post(format!(
            "/billmgr?func=runningoperation&out=JSONdata&{BOSS}"
        ))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("request")
    };
    let same = site
        .send(request("func=runningoperation&out=JSONdata&p_cnt=5"))
        .await;
    assert!(
        serde_json::from_str::<serde_json::Value>(&same.body)
            .expect("json")
            .is_array(),
        "{}",
        same.body
    );
    let conflict = site.send(request("func=runningoperation.delete")).await;
    let json: serde_json::Value = serde_json::from_str(&conflict.body).expect("json");
    assert_eq!(
        (&json["error"]["type"], &json["error"]["object"]),
        (&"value".into(), &"func".into()),
        "{}",
        conflict.body
    );
}

#[tokio::test]
async fn the_session_cookie_does_not_act_for_another_site() {
    let site = site().await;
    let id = site.session("boss").await;
    let delete = |headers: &[(&str, &str)]| {
        let mut request = Request::get(format!(
            "/billmgr?func=runningoperation.delete&elid={}&out=JSONdata",
            site.operation
        ))
        .header(header::COOKIE, format!("billmgrses5={id}"))
        .header(header::HOST, "billing.example");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::empty()).expect("request")
    };
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
    ] {
        let answer = site.send(delete(&headers)).await;
        let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(
            json["error"]["type"], "access",
            "{headers:?}: {}",
            answer.body
        );
    }
    let list = site
        .get(&format!("func=runningoperation&{BOSS}&out=JSONdata"))
        .await;
    assert!(
        list.contains(&format!("\"id\":\"{}\"", site.operation)),
        "nothing was deleted: {list}"
    );
    let answer = site
        .send(delete(&[("sec-fetch-site", "same-origin")]))
        .await;
    assert_eq!(answer.body, r#"{"ok":""}"#, "the panel's own page may");
}

#[tokio::test]
async fn parallel_wrong_passwords_are_counted_before_any_is_checked() {
    let site = site().await;
    let tries = (0..12).map(|_| {
        site.send(from(
            [198, 51, 100, 7],
            Request::get("/billmgr?func=auth&username=boss&password=wrong&out=JSONdata")
                .body(Body::empty())
                .expect("request"),
        ))
    });
    let answers = futures_util::future::join_all(tries).await;
    let throttled = answers
        .iter()
        .filter(|a| a.body.contains("Too many failed logins"))
        .count();
    assert_eq!(
        throttled,
        12 - app::service::session::THROTTLE_FAILURES,
        "only the first five are checked"
    );
    // The right password from the same address is refused too; from where the owner logged in
    // before, the name's lock does not apply.
    let right = |ip| {
        from(
            ip,
            Request::get("/billmgr?func=auth&username=boss&password=long-password&out=JSONdata")
                .body(Body::empty())
                .expect("request"),
        )
    };
    assert!(site
        .send(right([198, 51, 100, 7]))
        .await
        .body
        .contains("Too many"));
    assert!(site
        .send(right([203, 0, 113, 1]))
        .await
        .body
        .contains("Too many"));
    site.clock
        .advance(app::service::session::THROTTLE_WINDOW_MILLIS + 1);
    assert!(site
        .send(right([192, 0, 2, 1]))
        .await
        .body
        .contains("\"auth\""));
    for _ in 0..10 {
        site.send(from(
            [198, 51, 100, 8],
            Request::get("/billmgr?func=auth&username=boss&password=wrong&out=JSONdata")
                .body(Body::empty())
                .expect("request"),
        ))
        .await;
    }
    assert!(
        site.send(right([192, 0, 2, 1]))
            .await
            .body
            .contains("\"auth\""),
        "a stranger's guesses do not lock the owner out of their own address"
    );
}

#[tokio::test]
async fn every_answer_carries_the_protective_headers() {
    local(async {
        let site = site().await;
        for path in [
            "/billmgr?func=auth",
            "/login",
            "/pkg/missing.js",
            "/manager/billmgr",
        ] {
            let answer = site
                .send(Request::get(path).body(Body::empty()).expect("request"))
                .await;
            let header = |name: &str| {
                answer
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("x-frame-options"), "DENY", "{path}");
            assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
            let policy = header("content-security-policy");
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{path}: {policy}"
            );
            assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
            assert!(
                header("strict-transport-security").is_empty(),
                "no HSTS without TLS"
            );
        }
        // A page's policy names its nonce, and every script on the page carries it.
        let page = site
            .send(Request::get("/login").body(Body::empty()).expect("request"))
            .await;
        let policy = page.headers["content-security-policy"]
            .to_str()
            .expect("ascii");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the page's policy");
        let scripts: Vec<&str> = page
            .body
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or_default())
            .collect();
        assert!(!scripts.is_empty(), "{}", page.body);
        for script in scripts {
            assert!(
                script.contains(&format!("nonce=\"{nonce}\"")),
                "a script without the page's nonce: <script{script}>"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_older_manager_path_is_the_same_endpoint() {
    let site = site().await;
    let answer = site
        .send(
            Request::get(format!(
                "/manager/billmgr?func=runningoperation&{BOSS}&out=JSONdata"
            ))
            .body(Body::empty())
            .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let rows: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{}", answer.body);
}

#[tokio::test]
async fn a_pass_through_link_logs_the_browser_in() {
    local(async {
        let site = site().await;
        let newkey = site
            .get(&format!(
                "func=session.newkey&{BOSS}&username=cl&key=0123456789abcdef0123&out=JSONdata"
            ))
            .await;
        assert_eq!(newkey, r#"{"ok":""}"#);
        let answer = site
            .send(
                Request::get(
                    "/billmgr?func=auth&username=cl&key=0123456789abcdef0123&checkcookie=no",
                )
                .header(header::ACCEPT, "text/html,application/xhtml+xml")
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .expect("request"),
            )
            .await;
        assert!(
            answer.headers[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html"),
            "{}",
            answer.body
        );
        assert!(answer.body.contains("url=/client"), "{}", answer.body);
        let cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
        assert!(
            cookie.starts_with("billopsclient=") && cookie.contains("HttpOnly"),
            "a client's user gets the client area's cookie: {cookie}"
        );
        let pair = cookie.split(';').next().expect("pair").to_owned();
        let area = site
            .send(
                Request::get("/client")
                    .header(header::COOKIE, pair)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert!(
            area.body.contains("vm1.example"),
            "logged in: {}",
            area.body
        );
        // Used keys and wrong keys take the browser to the login form.
        let again = site
            .send(
                Request::get("/billmgr?func=auth&username=cl&key=0123456789abcdef0123")
                    .header(header::ACCEPT, "text/html")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert!(again.body.contains("/login?failed=auth"), "{}", again.body);
        assert!(again.headers.get(header::SET_COOKIE).is_none());
    })
    .await;
}

#[tokio::test]
async fn a_session_speaks_its_language_without_lang_on_every_call() {
    let site = site().await;
    let doc = site
        .json("func=auth&username=boss&password=long-password&lang=ru&out=JSONdata")
        .await;
    let id = doc["auth"].as_str().expect("id");
    let list = site
        .get(&format!("func=runningoperation&auth={id}&out=JSONdata"))
        .await;
    assert!(list.contains("Ожидает выполнения"), "{list}");
    let missed = site
        .get(&format!(
            "func=runningoperation.edit&auth={id}&elid=999&out=JSONdata"
        ))
        .await;
    assert!(
        missed.contains("999") && !missed.contains("No elid"),
        "{missed}"
    );
    let english = site
        .get(&format!(
            "func=runningoperation&auth={id}&lang=en&out=JSONdata"
        ))
        .await;
    assert!(english.contains("Waiting"), "lang= still wins: {english}");
    // The language a user chose is the default of the user's next sessions.
    let actor = site
        .services
        .authenticate(&app::service::SessionToken::from_client(id))
        .await
        .expect("session");
    site.services
        .change_lang(&actor, Lang::Ru)
        .await
        .expect("saved");
    let next = site.session("boss").await;
    let list = site
        .get(&format!("func=runningoperation&auth={next}&out=JSONdata"))
        .await;
    assert!(list.contains("Ожидает выполнения"), "{list}");
}

#[tokio::test]
async fn sessions_end_at_their_lifetime_and_an_unlinked_su_soon() {
    let site = site().await;
    let id = site.session("boss").await;
    let token = app::service::SessionToken::from_client(&id);
    // Busy all day: a request every half hour keeps it from idling out, not from ending.
    for _ in 0..23 {
        site.clock.advance(30 * 60 * 1000);
        site.services.authenticate(&token).await.expect("still on");
    }
    site.clock.advance(31 * 60 * 1000);
    assert!(matches!(
        site.services.authenticate(&token).await,
        Err(app::service::AuthError::NoSession)
    ));
    // `su` through authinfo has no admin session to end with: it ends after 15 minutes.
    let su = site
        .json(&format!(
            "func=runningoperation.su&elid={}&{BOSS}&out=JSONdata",
            site.operation
        ))
        .await;
    let su = app::service::SessionToken::from_client(su["auth"].as_str().expect("su id"));
    site.clock.advance(14 * 60 * 1000);
    site.services.authenticate(&su).await.expect("still on");
    site.clock.advance(60 * 1000);
    assert!(matches!(
        site.services.authenticate(&su).await,
        Err(app::service::AuthError::NoSession)
    ));
}

#[tokio::test]
async fn the_live_stream_ends_with_its_session() {
    let site = site().await;
    let id = site.session("boss").await;
    let token = app::service::SessionToken::from_client(&id);
    let receiver = site.services.subscribe();
    let stream = server::events::changes(
        site.services.clone(),
        token.clone(),
        receiver,
        std::time::Duration::from_millis(20),
    );
    futures_util::pin_mut!(stream);
    site.services.logout(&token).await.expect("logout");
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), {
        use futures_util::StreamExt;
        stream.next()
    })
    .await
    .expect("the stream ends within seconds");
    assert!(next.is_none(), "no event after the session ended");
}

#[tokio::test]
async fn cookies_are_secure_when_a_trusted_proxy_says_https() {
    local(async {
        let login = || {
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-for", "192.0.2.50")
                .body(Body::from("username=boss&password=long-password"))
                .expect("request")
        };
        let trusting = site_with(HttpConfig {
            trust_proxy: true,
            tls: false,
        })
        .await;
        let answer = trusting.send(login()).await;
        let cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        let plain = site().await;
        let answer = plain.send(login()).await;
        let cookie = answer.headers[header::SET_COOKIE].to_str().expect("ascii");
        assert!(
            !cookie.contains("Secure"),
            "a header anyone can send: {cookie}"
        );
    })
    .await;
}

/// A self-signed certificate for `localhost`, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, key.cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.key_pair.serialize_pem()).expect("write key");
    (cert_path, key_path, key.cert.der().to_vec())
}

#[tokio::test]
async fn tls_serves_the_api_with_hsts_and_secure_cookies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let site = site_with(HttpConfig {
        trust_proxy: false,
        tls: true,
    })
    .await;
    let (cert, key, der) = certificate(site._dir.path());
    let config = server::tls::server_config(&cert, &key).expect("tls config");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = {
        use axum::serve::ListenerExt;
        server::tls::TlsListener::new(tcp, config)
            .expect("listener")
            .tap_io(|_| {})
    };
    let app = site
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    // A client that opens a connection and says nothing holds up no one.
    let _silent = tokio::net::TcpStream::connect(addr).await.expect("silent");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.into()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(
        b"GET /billmgr?func=auth&username=boss&password=long-password&out=JSONdata HTTP/1.1\r\n\
          Host: localhost\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await.ok();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age="),
        "{answer}"
    );
    assert!(answer.contains("\"auth\":"), "{answer}");
}

#[tokio::test]
async fn an_admin_account_cannot_make_any_program_on_the_host_a_module() {
    let site = site().await;
    let modules = site._dir.path().join("modules");
    std::fs::create_dir(&modules).expect("modules dir");
    let services = site.services.clone().with_modules_dir(&modules);
    let options = server::config::site_options("127.0.0.1:0".parse().expect("addr"));
    let router = server::router::router(services, options);
    for call in [
        format!(
            "func=processing.edit&sok=ok&{BOSS}&name=Shell&module=exec&target=/bin/sh&out=JSONdata"
        ),
        format!("func=processing.edit&sok=ok&{BOSS}&elid=1&target=/usr/bin/env&out=JSONdata"),
    ] {
        let response = router
            .clone()
            .oneshot(
                Request::get(format!("/billmgr?{call}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            (&json["error"]["type"], &json["error"]["object"]),
            (&"value".into(), &"program".into()),
            "{call}: {json}"
        );
    }
}

#[tokio::test]
async fn the_login_form_counts_failures_by_the_clients_address_too() {
    local(async {
        let site = site().await;
        let form = |user: &str| {
            from(
                [198, 51, 100, 20],
                Request::post("/api/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html")
                    .body(Body::from(format!(
                        "username={user}&password=wrong-password"
                    )))
                    .expect("request"),
            )
        };
        // A different name each time: only the address can add them up.
        for i in 0..app::service::session::THROTTLE_FAILURES {
            site.send(form(&format!("guess{i}"))).await;
        }
        let right = |ip| {
            from(
                ip,
                Request::get(
                    "/billmgr?func=auth&username=boss&password=long-password&out=JSONdata",
                )
                .body(Body::empty())
                .expect("request"),
            )
        };
        let blocked = site.send(right([198, 51, 100, 20])).await;
        assert!(blocked.body.contains("Too many"), "{}", blocked.body);
        let elsewhere = site.send(right([198, 51, 100, 21])).await;
        assert!(elsewhere.body.contains("\"auth\""), "{}", elsewhere.body);
    })
    .await;
}

#[tokio::test]
async fn a_list_says_when_its_count_stopped_short() {
    use app::store::{NewItem, OperationFields};
    use app::types::OperationState;
    let site = site().await;
    let store = site.fixtures.clone();
    let a = Actor::command_line();
    let module = site
        .services
        .add_module(
            &a,
            &app::service::ModuleInput::new("Bulk", ModuleKind::Exec, "/bin/true"),
        )
        .await
        .expect("module");
    let client = site
        .services
        .add_client(&a, "Bulk", None)
        .await
        .expect("client");
    let n = 1_200;
    let items: Vec<NewItem> = (0..n)
        .map(|i| NewItem {
            client_id: client,
            module_id: module,
            itemtype: "vds".into(),
            name: format!("bulk{i}.example"),
            status: ItemStatus::Ordered,
            created: T0,
        })
        .collect();
    store.bulk_insert_items(&items).await.expect("items");
    let ops: Vec<_> = store
        .list_items(Some(client))
        .await
        .expect("items")
        .iter()
        .map(|item| {
            (
                OperationFields {
                    intname: app::types::Intname::Open,
                    item_id: item.id,
                    client_id: client,
                    module_id: module,
                    itemtype: "vds".into(),
                    cdate: T0,
                    trycount: 0,
                    manual: false,
                    comment: String::new(),
                },
                OperationState::Waiting,
                None,
            )
        })
        .collect();
    store
        .bulk_insert_operations(&ops)
        .await
        .expect("operations");
    let site = &site;
    let page = |query: &'static str| async move {
        let doc = site
            .json(&format!(
                "func=runningoperation&{BOSS}&out=sjson&p_cnt=10&{query}"
            ))
            .await;
        (
            doc["doc"]["p_elems"]["$"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            doc["doc"]["p_elems_exact"]["$"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let (elems, exact) = page("p_num=1").await;
    assert_eq!(
        exact, "off",
        "1,201 operations, counted up to 1,000 past the page"
    );
    assert!(elems.parse::<u64>().expect("a number") < 1_201);
    let (elems, exact) = page("p_num=120").await;
    assert_eq!(
        (elems.as_str(), exact.as_str()),
        ("1201", "on"),
        "near the end it is exact"
    );
}
