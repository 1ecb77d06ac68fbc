//! The legacy `/billmgr` API through the router: every function in every format (locked with
//! snapshots: they are a contract), every response parsed by a real XML or JSON parser, each
//! error type, and a script in the style of the public BILLmanager clients.

use std::sync::Arc;

use app::service::{Actor, ManualClock, ModuleInput, Services};
use app::store::NewAttempt;
use app::types::OperationState;
use app::types::{AttemptOutcome, ItemStatus, Level, ModuleKind, OperationInput, Timestamp};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

const T0: Timestamp = Timestamp(1_736_510_400_000);

struct Api {
    router: Router,
    services: Services,
    _dir: tempfile::TempDir,
}

/// A small fixed world: 2 modules, 2 clients, 3 services, 3 operations (waiting, failed with
/// two attempts, running), and users `boss` (admin), `viewer` (readonly), `cl` (client 1).
async fn api() -> Api {
    let dir = tempfile::tempdir().expect("dir");
    let store = app::store::connect(&format!("sqlite://{}", dir.path().join("api.db").display()))
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    let services = Services::new(store, Arc::new(ManualClock::new(T0)));
    let a = Actor::command_line();
    let mut vm = ModuleInput::new("VMmanager", ModuleKind::Exec, "/opt/modules/vm");
    vm.panel_url = Some("https://vm.example:1500/vmmgr".into());
    let vm = services.add_module(&a, &vm).await.expect("vm");
    let mut hook = ModuleInput::new("Registrar", ModuleKind::Http, "https://reg.example/hook");
    hook.secret = Some("hook-secret-value".into());
    let reg = services.add_module(&a, &hook).await.expect("registrar");
    let c1 = services
        .add_client(&a, "Northwind", Some("ops@northwind.example"))
        .await
        .expect("c1");
    let c2 = services
        .add_client(&a, "Анна Иванова", None)
        .await
        .expect("c2");
    let i1 = services
        .add_item(
            &a,
            c1,
            vm,
            "vds",
            "vm1.northwind.example",
            ItemStatus::Ordered,
        )
        .await
        .expect("i1");
    let i2 = services
        .add_item(
            &a,
            c1,
            reg,
            "domain",
            "northwind.example",
            ItemStatus::Active,
        )
        .await
        .expect("i2");
    let i3 = services
        .add_item(&a, c2, vm, "vds", "vm.anna.example", ItemStatus::Active)
        .await
        .expect("i3");
    let open = |item: i64, intname: &str, comment: &str| OperationInput {
        intname: Some(intname.into()),
        item: Some(item.to_string()),
        comment: Some(comment.into()),
        ..OperationInput::default()
    };
    services
        .create_operation(&a, &open(i1, "open", ""))
        .await
        .expect("op1");
    let op2 = services
        .create_operation(&a, &open(i2, "prolong", "registrar <down> & slow"))
        .await
        .expect("op2");
    let op3 = services
        .create_operation(&a, &open(i3, "suspend", ""))
        .await
        .expect("op3");
    for n in 0..2 {
        services
            .store()
            .insert_attempt(&NewAttempt {
                operation_id: op2,
                item_id: i2,
                token: format!("t{n}"),
                started: Timestamp(T0.0 + n * 60_000),
                finished: Some(Timestamp(T0.0 + n * 60_000 + 1500)),
                outcome: AttemptOutcome::Error,
                error_type: Some("client".into()),
                error_message: Some("Registrar answered: connection refused".into()),
                log: "POST https://reg.example/hook\nsecret=***\nHTTP 502\n".into(),
                task_id: None,
            })
            .await
            .expect("attempt");
    }
    services
        .store()
        .force_state(
            op2,
            OperationState::Error,
            Some("Registrar answered: connection refused"),
            T0,
        )
        .await
        .expect("error");
    services
        .store()
        .force_state(op3, OperationState::Running, None, T0)
        .await
        .expect("running");
    services
        .add_user(&a, "boss", "long-password", Level::Admin, None)
        .await
        .expect("boss");
    services
        .add_user(&a, "viewer", "long-password", Level::Readonly, None)
        .await
        .expect("viewer");
    services
        .add_user(&a, "cl", "long-password", Level::User, Some(c1))
        .await
        .expect("cl");
    let options = server::config::site_options("127.0.0.1:0".parse().expect("addr"));
    Api {
        router: server::router::router(services.clone(), options),
        services,
        _dir: dir,
    }
}

impl Api {
    async fn request(&self, request: Request<Body>) -> String {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "BILLmanager answers 200, errors included"
        );
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    async fn get(&self, query: &str) -> String {
        self.request(
            Request::get(format!("/billmgr?{query}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    async fn post_form(&self, body: &str) -> String {
        self.request(
            Request::post("/billmgr")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .expect("request"),
        )
        .await
    }
}

const BOSS: &str = "authinfo=boss:long-password";

/// Session ids are random: replace them so snapshots stay stable.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for ch in text.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_hexdigit() {
            run.push(ch);
            continue;
        }
        if run.len() == 64 {
            out.push_str("[session]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(ch);
    }
    out.pop();
    out
}

/// Parses a response in its format with a real parser; panics when it does not parse.
fn check_parses(format: &str, body: &str) {
    match format {
        "xml" => {
            roxmltree::Document::parse(body)
                .unwrap_or_else(|e| panic!("invalid XML ({e}): {body}"));
        }
        "sjson" | "json" | "JSONdata" => {
            serde_json::from_str::<serde_json::Value>(body)
                .unwrap_or_else(|e| panic!("invalid JSON ({e}): {body}"));
        }
        _ => assert!(
            body.ends_with('\n'),
            "text output ends with a newline: {body:?}"
        ),
    }
}

/// Calls `query` (plus `out=`) in every format; checks each parses; returns them together.
async fn every_format(api: &Api, query: &str) -> String {
    let mut all = String::new();
    for format in ["xml", "sjson", "JSONdata", "text"] {
        let body = api.get(&format!("{query}&out={format}")).await;
        check_parses(format, &body);
        all.push_str(&format!("--- out={format}\n{}\n", redact(body.trim_end())));
    }
    all
}

#[tokio::test]
async fn every_function_answers_in_every_format() {
    let api = api().await;
    let cases: [(&str, String); 31] = [
        ("list", format!("func=runningoperation&{BOSS}")),
        (
            "list_paged_sorted",
            format!("func=runningoperation&{BOSS}&p_num=2&p_cnt=1&p_sort=client&p_order=desc"),
        ),
        (
            "list_filtered",
            format!("func=runningoperation&{BOSS}&filter=on&status=error&lang=ru"),
        ),
        (
            "filter_form",
            format!("func=runningoperation.filter&{BOSS}"),
        ),
        (
            "filter_save",
            format!("func=runningoperation.filter&{BOSS}&sok=ok&client=1"),
        ),
        (
            "setfilter",
            format!("func=runningoperation.setfilter&{BOSS}&elid=3"),
        ),
        (
            "edit_view",
            format!("func=runningoperation.edit&{BOSS}&elid=2"),
        ),
        ("edit_blank", format!("func=runningoperation.edit&{BOSS}")),
        (
            "edit_change",
            format!("func=runningoperation.edit&{BOSS}&sok=ok&elid=1&trycount=2&comment=checked"),
        ),
        (
            "errorhistory",
            format!("func=runningoperation.errorhistory&{BOSS}&elid=2"),
        ),
        (
            "showlog",
            format!("func=errorhistory.showlog&{BOSS}&elid=1"),
        ),
        (
            "gotoserver",
            format!("func=runningoperationgotoserver&{BOSS}&elid=1"),
        ),
        ("su", format!("func=runningoperation.su&{BOSS}&elid=1")),
        (
            "start",
            format!("func=runningoperation.start&{BOSS}&elid=1"),
        ),
        ("stop", format!("func=runningoperation.stop&{BOSS}&elid=1")),
        (
            "taskcreate",
            format!("func=runningoperation.taskcreate&{BOSS}&elid=1"),
        ),
        (
            "delete",
            format!("func=runningoperation.delete&{BOSS}&elid=1"),
        ),
        ("keepalive", format!("func=keepalive&{BOSS}")),
        ("processing", format!("func=processing&{BOSS}")),
        (
            "processing_edit_view",
            format!("func=processing.edit&{BOSS}&elid=2"),
        ),
        (
            "processing_pause",
            format!("func=processing.pause&{BOSS}&elid=2"),
        ),
        ("processing_paused", format!("func=processing&{BOSS}")),
        (
            "processing_resume",
            format!("func=processing.resume&{BOSS}&elid=1,%202"),
        ),
        (
            "processing_pause_missing",
            format!("func=processing.pause&{BOSS}&elid=999"),
        ),
        ("account", format!("func=account&{BOSS}")),
        (
            "account_edit_view",
            format!("func=account.edit&{BOSS}&elid=2"),
        ),
        ("service", format!("func=service&{BOSS}&client=1")),
        (
            "service_edit_view",
            format!("func=service.edit&{BOSS}&elid=1"),
        ),
        (
            "error_missed",
            format!("func=runningoperation.edit&{BOSS}&elid=999"),
        ),
        (
            "error_value",
            format!("func=runningoperation.edit&{BOSS}&sok=ok&intname=explode&item=1"),
        ),
        (
            "error_exists",
            format!("func=runningoperation.delete&{BOSS}&elid=3"),
        ),
    ];
    for (name, query) in cases {
        insta::assert_snapshot!(name, every_format(&api, &query).await);
    }
}

#[tokio::test]
async fn auth_gives_a_session_that_later_calls_use() {
    let api = api().await;
    let xml = api
        .get("func=auth&username=boss&password=long-password")
        .await;
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    let auth = doc
        .descendants()
        .find(|n| n.has_tag_name("auth"))
        .expect("auth element");
    let id = auth.attribute("id").expect("id").to_owned();
    assert_eq!(auth.text(), Some(id.as_str()));
    assert_eq!(auth.attribute("level"), Some("admin"));
    let list: serde_json::Value = serde_json::from_str(
        &api.get(&format!("func=runningoperation&auth={id}&out=sjson"))
            .await,
    )
    .expect("json");
    assert_eq!(list["doc"]["elem"].as_array().map(Vec::len), Some(3));
    // The browser's cookie works the same way, with BILLmanager's `id:more` form.
    let cookie_call = Request::get("/billmgr?func=runningoperation&out=JSONdata")
        .header(header::COOKIE, format!("billmgrses5={id}:en"))
        .body(Body::empty())
        .expect("request");
    let rows: serde_json::Value =
        serde_json::from_str(&api.request(cookie_call).await).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn each_error_type_comes_in_the_body() {
    let api = api().await;
    let cases = [
        ("func=runningoperation", "auth", ""),
        ("func=auth&username=boss&password=wrong", "auth", ""),
        ("func=runningoperation&auth=deadbeef", "auth", ""),
        (
            "func=runningoperation&authinfo=cl:long-password",
            "access",
            "",
        ),
        (
            "func=runningoperation.stop&authinfo=viewer:long-password&elid=1",
            "access",
            "",
        ),
        (
            "func=runningoperation.edit&authinfo=boss:long-password&elid=77",
            "missed",
            "elid",
        ),
        (
            "func=runningoperation.edit&authinfo=boss:long-password&sok=ok&elid=1&trycount=-3",
            "value",
            "trycount",
        ),
        (
            "func=runningoperation.edit&authinfo=boss:long-password&sok=ok&intname=open&item=1",
            "exists",
            "elid",
        ),
        (
            "func=runningoperation.list&authinfo=boss:long-password",
            "missed",
            "func",
        ),
        (
            "func=runningoperation&authinfo=boss:long-password&p_sort=nonsense",
            "value",
            "p_sort",
        ),
        (
            "func=runningoperation.start&authinfo=boss:long-password&elid=1,x",
            "value",
            "elid",
        ),
        (
            "func=chlevel&authinfo=boss:long-password&lp=1",
            "access",
            "",
        ),
        (
            "func=session.newkey&authinfo=boss:long-password&username=cl&key=short",
            "value",
            "key",
        ),
    ];
    for (query, kind, object) in cases {
        let xml = api.get(query).await;
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{query}: {e}"));
        let error = doc
            .descendants()
            .find(|n| n.has_tag_name("error"))
            .unwrap_or_else(|| panic!("{query}: no error in {xml}"));
        assert_eq!(error.attribute("type"), Some(kind), "{query}: {xml}");
        assert_eq!(error.attribute("object"), Some(object), "{query}: {xml}");
        let msg = error
            .children()
            .find(|n| n.has_tag_name("msg"))
            .and_then(|n| n.text())
            .unwrap_or_default();
        assert!(!msg.is_empty(), "{query}: an error says why");
        let ru = api.get(&format!("{query}&lang=ru&out=sjson")).await;
        let json: serde_json::Value = serde_json::from_str(&ru).expect("json");
        assert_eq!(json["doc"]["error"]["$type"], kind);
        assert_eq!(json["doc"]["error"]["$lang"], "ru");
        assert!(
            json["doc"]["error"]["msg"]["$"]
                .as_str()
                .is_some_and(|m| m.chars().any(|c| ('а'..='я').contains(&c))),
            "{ru}"
        );
    }
}

#[tokio::test]
async fn malformed_requests_get_an_error_document_in_the_asked_format() {
    let api = api().await;
    for query in [
        "func=auth&out=sjson&x=%zz",
        "func=auth&out=sjson&x=%ff",
        "func=auth&out=sjson&out=xml",
        "out=sjson&func=auth&func=su",
    ] {
        let body = api.get(query).await;
        let json: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{query}: {e}: {body}"));
        assert_eq!(json["doc"]["error"]["$type"], "value", "{query}: {body}");
    }
    let huge = "a".repeat(server::billmgr::request::MAX_BODY_BYTES + 10);
    let body = api
        .request(
            Request::post("/billmgr?out=JSONdata")
                .body(Body::from(format!("func=auth&x={huge}")))
                .expect("request"),
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["error"]["type"], "value");
    let no_func = api.get("out=xml").await;
    assert!(
        no_func.contains("type=\"missed\" object=\"func\""),
        "{no_func}"
    );
}

#[tokio::test]
async fn secrets_are_never_echoed_or_shown() {
    let api = api().await;
    for format in ["xml", "sjson", "JSONdata", "text"] {
        for query in [
            format!("func=processing&{BOSS}&out={format}"),
            format!("func=processing.edit&{BOSS}&elid=2&out={format}"),
            format!("func=runningoperation&{BOSS}&out={format}"),
            format!("func=runningoperation&authinfo=boss:wrong-password&out={format}"),
        ] {
            let body = api.get(&query).await;
            assert!(!body.contains("hook-secret-value"), "{query}");
            assert!(
                !body.contains("long-password") && !body.contains("wrong-password"),
                "{query}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn writes_through_the_api_change_what_the_service_sees() {
    let api = api().await;
    let created: serde_json::Value = serde_json::from_str(
        &api.post_form(&format!(
            "func=runningoperation.edit&{BOSS}&sok=ok&intname=close&item=1&out=JSONdata"
        ))
        .await,
    )
    .expect("json");
    assert_eq!(
        created["error"]["type"], "exists",
        "service 1 has an active operation: {created}"
    );
    api.get(&format!("func=runningoperation.delete&{BOSS}&elid=1"))
        .await;
    let created: serde_json::Value = serde_json::from_str(
        &api.post_form(&format!("func=runningoperation.edit&{BOSS}&sok=ok&intname=close&item=1&manual=on&comment=by+script&out=JSONdata")).await,
    )
    .expect("json");
    let id: i64 = created["id"].as_str().expect("id").parse().expect("number");
    let form = api
        .services
        .get_operation_form(&Actor::command_line(), id)
        .await
        .expect("form");
    assert!(form.manual && form.comment == "by script");
    // A JSON body is read like a form.
    let body = api
        .request(
            Request::post("/billmgr")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(r#"{{"func":"runningoperation.start","authinfo":"boss:long-password","elid":"{id}, 2","out":"JSONdata"}}"#)))
                .expect("request"),
        )
        .await;
    assert_eq!(body, r#"{"ok":""}"#);
    assert!(
        api.services
            .store()
            .get_operation(id)
            .await
            .expect("get")
            .expect("op")
            .run_requested
    );
}

#[tokio::test]
async fn a_script_in_the_style_of_the_public_clients_works() {
    let api = api().await;
    // 1. authinfo in a POST form, out=sjson, ids read as doc.elem[i].id["$"].
    let list: serde_json::Value = serde_json::from_str(
        &api.post_form("out=sjson&func=runningoperation&authinfo=boss%3Along-password")
            .await,
    )
    .expect("json");
    let ids: Vec<String> = list["doc"]["elem"]
        .as_array()
        .expect("elem array")
        .iter()
        .map(|e| e["id"]["$"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    let statuses: Vec<&str> = list["doc"]["elem"]
        .as_array()
        .expect("elems")
        .iter()
        .map(|e| e["status"]["$orig"].as_str().expect("orig"))
        .collect();
    assert_eq!(statuses, vec!["waiting", "error", "running"]);
    // 2. su into the first operation's client, then a call with the new session.
    let su: serde_json::Value = serde_json::from_str(
        &api.post_form(&format!(
            "out=sjson&func=runningoperation.su&elid={}&authinfo=boss%3Along-password",
            ids[0]
        ))
        .await,
    )
    .expect("json");
    assert!(su["doc"].get("ok").is_some(), "{su}");
    let session = su["doc"]["auth"]["$id"]
        .as_str()
        .expect("auth id")
        .to_owned();
    let services: serde_json::Value = serde_json::from_str(
        &api.post_form(&format!("out=sjson&func=service&auth={session}"))
            .await,
    )
    .expect("json");
    let names: Vec<&str> = services["doc"]["elem"]
        .as_array()
        .expect("elems")
        .iter()
        .map(|e| e["name"]["$"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        vec!["vm1.northwind.example", "northwind.example"],
        "the client sees only its own services"
    );
    let denied: serde_json::Value = serde_json::from_str(
        &api.post_form(&format!("out=sjson&func=runningoperation&auth={session}"))
            .await,
    )
    .expect("json");
    assert_eq!(denied["doc"]["error"]["$type"], "access");
    // 3. out=JSONdata actions answer {"ok":""}.
    let ok = api
        .post_form(&format!(
            "out=JSONdata&func=runningoperation.stop&elid={}, {}&authinfo=boss%3Along-password",
            ids[0], ids[1]
        ))
        .await;
    assert_eq!(ok, r#"{"ok":""}"#);
}

#[tokio::test]
async fn a_pass_through_key_logs_a_user_in_once() {
    let api = api().await;
    let ok = api
        .get(&format!(
            "func=session.newkey&{BOSS}&username=cl&key=0123456789abcdef0123&out=JSONdata"
        ))
        .await;
    assert_eq!(ok, r#"{"ok":""}"#);
    let login: serde_json::Value = serde_json::from_str(
        &api.get("func=auth&username=cl&key=0123456789abcdef0123&checkcookie=no&out=sjson")
            .await,
    )
    .expect("json");
    assert_eq!(login["doc"]["auth"]["$level"], "user");
    let again: serde_json::Value = serde_json::from_str(
        &api.get("func=auth&username=cl&key=0123456789abcdef0123&out=sjson")
            .await,
    )
    .expect("json");
    assert_eq!(again["doc"]["error"]["$type"], "auth");
}

#[tokio::test]
async fn su_from_a_session_returns_with_chlevel() {
    let api = api().await;
    let auth: serde_json::Value = serde_json::from_str(
        &api.get("func=auth&username=boss&password=long-password&out=sjson")
            .await,
    )
    .expect("json");
    let admin = auth["doc"]["auth"]["$id"].as_str().expect("id").to_owned();
    let su: serde_json::Value = serde_json::from_str(
        &api.get(&format!("func=su&elid=cl&auth={admin}&out=sjson"))
            .await,
    )
    .expect("json");
    let client = su["doc"]["auth"]["$id"].as_str().expect("id").to_owned();
    assert_eq!(
        api.get(&format!("func=chlevel&lp=1&auth={client}&out=JSONdata"))
            .await,
        r#"{"ok":""}"#
    );
    let gone: serde_json::Value = serde_json::from_str(
        &api.get(&format!("func=keepalive&auth={client}&out=sjson"))
            .await,
    )
    .expect("json");
    assert_eq!(gone["doc"]["error"]["$type"], "auth");
    assert_eq!(
        api.get(&format!("func=keepalive&auth={admin}&out=JSONdata"))
            .await,
        r#"{"ok":""}"#
    );
}

#[tokio::test]
async fn logins_are_slowed_down_after_failures() {
    let api = api().await;
    for _ in 0..5 {
        api.get("func=auth&username=boss&password=guess").await;
    }
    let blocked = api
        .get("func=auth&username=boss&password=long-password&out=sjson")
        .await;
    let json: serde_json::Value = serde_json::from_str(&blocked).expect("json");
    assert_eq!(json["doc"]["error"]["$type"], "auth");
    assert!(
        json["doc"]["error"]["msg"]["$"]
            .as_str()
            .is_some_and(|m| m.contains("Too many")),
        "{blocked}"
    );
}

#[tokio::test]
async fn failure_groups_are_listed_filtered_and_acted_on_through_the_api() {
    use app::service::engine::{FinishedRun, RunResult};
    let api = api().await;
    // The waiting and the failed operation are run, and both fail with the panel refusing.
    let claims = api
        .services
        .claim_operations("node-a", 10, std::time::Duration::from_secs(30))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2);
    let runs: Vec<FinishedRun> = claims
        .iter()
        .map(|claim| FinishedRun {
            claim: claim.clone(),
            max_tries: 5,
            result: RunResult::Failed {
                error_type: "connect".into(),
                message: format!(
                    "connect to 10.0.0.{}:1500 failed: Connection refused <&>",
                    claim.operation_id
                ),
                log: String::new(),
            },
        })
        .collect();
    api.services.finish_runs(&runs).await.expect("finish");
    let list = every_format(&api, &format!("func=runningoperation.failures&{BOSS}")).await;
    insta::assert_snapshot!("failures", list);
    let json: serde_json::Value = serde_json::from_str(
        &api.get(&format!("func=runningoperation.failures&{BOSS}&out=sjson"))
            .await,
    )
    .expect("json");
    let elems = json["doc"]["elem"].as_array().expect("rows");
    // Each module is its own group: the template is the same, the fingerprint is not.
    assert_eq!(elems.len(), 2, "{json}");
    let key = elems[0]["id"]["$"].as_str().expect("id").to_owned();
    assert_eq!(key.len(), 16);
    // The list narrowed to one group, and the group actions by id.
    let filtered = api
        .get(&format!(
            "func=runningoperation&{BOSS}&filter=on&failure={key}&out=sjson"
        ))
        .await;
    let filtered: serde_json::Value = serde_json::from_str(&filtered).expect("json");
    assert_eq!(filtered["doc"]["elem"].as_array().map(Vec::len), Some(1));
    for (name, query) in [
        (
            "failures_taskcreate",
            format!("func=runningoperation.failures.taskcreate&{BOSS}&elid={key}"),
        ),
        (
            "failures_stop_unknown",
            format!("func=runningoperation.failures.stop&{BOSS}&elid={key},%20ffffffffffffffff"),
        ),
        (
            "failures_start_bad_id",
            format!("func=runningoperation.failures.start&{BOSS}&elid=1%3Cscript%3E"),
        ),
        (
            "failures_stop_readonly",
            format!("func=runningoperation.failures.stop&authinfo=viewer:long-password&elid={key}"),
        ),
        (
            "failures_list_client",
            "func=runningoperation.failures&authinfo=cl:long-password".to_owned(),
        ),
    ] {
        let body = api.get(&format!("{query}&out=xml")).await;
        check_parses("xml", &body);
        insta::assert_snapshot!(name, body);
    }
    let stop = api
        .get(&format!(
            "func=runningoperation.failures.stop&{BOSS}&elid={key}&out=sjson"
        ))
        .await;
    let stop: serde_json::Value = serde_json::from_str(&stop).expect("json");
    assert_eq!(stop["doc"]["done"]["$"], "1", "{stop}");
}
