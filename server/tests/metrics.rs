//! `/metrics` read back by a Prometheus text parser: the database's counts of current
//! operations by module and status, what a real engine did (attempts, run times, queue lag,
//! leases), and HTTP requests counted by route, never by the path asked for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::types::{ItemStatus, ListQuery, ModuleKind, OperationInput};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use server::engine::{Drivers, Engine, EngineConfig};
use tower::ServiceExt;

/// A module name a careless admin might type: quotes, a backslash, a line break.
const MODULE: &str = "VM \"Frankfurt\" \\ rack\n2";
/// The same as a label value in the text format (escaped; this parser does not unescape).
const MODULE_LABEL: &str = "VM \\\"Frankfurt\\\" \\\\ rack\\n2";

async fn scrape(services: &Services) -> prometheus_parse::Scrape {
    let response = server::metrics::router(services.clone())
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[tokio::test]
async fn metrics_parse_and_agree_with_the_list_the_engine_and_the_router() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("metrics.db").display());
    let store = app::store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let services = Services::new(store, Arc::new(SystemClock));
    let admin = Actor::command_line();
    let module = services
        .add_module(
            &admin,
            &ModuleInput::new(MODULE, ModuleKind::Exec, "/bin/true"),
        )
        .await
        .expect("module");
    let client = services
        .add_client(&admin, "Client", None)
        .await
        .expect("client");
    for n in 0..5 {
        let item = services
            .add_item(
                &admin,
                client,
                module,
                "vds",
                &format!("vm{n}"),
                ItemStatus::Ordered,
            )
            .await
            .expect("item");
        let open = OperationInput {
            intname: Some("open".into()),
            item: Some(item.to_string()),
            ..OperationInput::default()
        };
        services
            .create_operation(&admin, &open)
            .await
            .expect("operation");
    }
    let waiting = [("module", MODULE_LABEL), ("status", "waiting")];
    let before = scrape(&services).await;
    assert_eq!(value(&before, "billops_operations", &waiting), Some(5.0));
    assert!(
        value(
            &before,
            "billops_oldest_due_seconds",
            &[("module", MODULE_LABEL)]
        )
        .is_some(),
        "the module's oldest due operation has an age"
    );

    // A real engine runs them (/bin/true succeeds).
    let config = EngineConfig {
        workers: 2,
        ..EngineConfig::default()
    };
    let engine = Engine::start(
        services.clone(),
        config,
        Drivers::real(Duration::from_secs(1)),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = services
            .list_operations(&admin, ListQuery::default())
            .await
            .expect("list");
        if page.total == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still {} current", page.total);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown(Duration::from_secs(1)).await;

    let router = server::router::router(
        services.clone(),
        server::config::site_options("127.0.0.1:0".parse().expect("addr")),
    );
    for path in [
        "/billmgr?func=whoami&out=xml",
        "/no/such/page/1",
        "/no/such/page/2",
    ] {
        router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
    }

    let after = scrape(&services).await;
    assert_eq!(value(&after, "billops_operations", &waiting), Some(0.0));
    let module_only = [("module", MODULE_LABEL)];
    assert_eq!(
        value(
            &after,
            "billops_attempts_total",
            &[("module", MODULE_LABEL), ("outcome", "ok")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(&after, "billops_module_run_seconds_count", &module_only),
        Some(5.0)
    );
    assert_eq!(
        value(&after, "billops_queue_lag_seconds_count", &module_only),
        Some(5.0)
    );
    assert_eq!(
        value(&after, "billops_leases_held", &[("node", services.node())]),
        Some(0.0),
        "every lease given back"
    );
    assert!(
        value(
            &after,
            "billops_http_requests_total",
            &[("route", "/billmgr")]
        )
        .is_some_and(|n| n >= 1.0),
        "the legacy API's request is counted under its route"
    );
    let routes: Vec<&str> = after
        .samples
        .iter()
        .filter(|s| s.metric == "billops_http_requests_total")
        .filter_map(|s| s.labels.get("route"))
        .collect();
    assert!(
        routes.iter().all(|r| !r.starts_with("/no/such")),
        "unknown paths make no series of their own: {routes:?}"
    );
    assert!(
        value(&after, "billops_http_requests_total", &[("route", "other")])
            .is_some_and(|n| n >= 2.0),
        "they are counted together as `other`"
    );
}
