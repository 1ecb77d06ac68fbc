//! Alert webhooks against a real HTTP receiver on loopback: operations whose tries run out are
//! announced once each, and their module's burst once, with a Slack-style `text`, signed, after
//! the receiver comes back from an outage; the journal shows each delivery.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::service::alert::BurstRule;
use app::service::{Actor, ModuleInput, Services, SystemClock};
use app::types::{ItemStatus, ModuleKind, OperationInput};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use server::alerts::AlertConfig;
use server::engine::{Drivers, Engine, EngineConfig};

const SECRET: &str = "alert-s3cret";

/// A receiver that refuses its first `refuse` requests (an outage), then takes them.
#[derive(Default)]
struct Receiver {
    refuse: AtomicUsize,
    taken: Mutex<Vec<(HeaderMap, String)>>,
    refused: AtomicUsize,
}

async fn start_receiver(receiver: Arc<Receiver>) -> SocketAddr {
    let app = Router::new().route(
        "/hooks/T000/B000/secret-path",
        post(move |headers: HeaderMap, body: String| {
            let receiver = receiver.clone();
            async move {
                let refuse = receiver
                    .refuse
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refuse {
                    receiver.refused.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                receiver.taken.lock().expect("lock").push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

#[tokio::test]
async fn exhausted_operations_and_their_modules_burst_are_announced_once_each_after_an_outage() {
    let receiver = Arc::new(Receiver {
        refuse: AtomicUsize::new(3),
        ..Receiver::default()
    });
    let address = start_receiver(receiver.clone()).await;

    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("alerts.db").display());
    let store = app::store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let services = Services::new(store.clone(), Arc::new(SystemClock)).with_burst_rule(BurstRule {
        failures: 2,
        window: Duration::from_secs(3600),
    });
    let admin = Actor::command_line();
    let hook = services
        .add_alert_hook(
            &admin,
            &format!("http://{address}/hooks/T000/B000/secret-path"),
            "",
            Some(SECRET),
        )
        .await
        .expect("hook");
    let listed = services.list_alert_hooks(&admin).await.expect("list");
    assert_eq!(
        listed[0].url,
        format!("http://{address}/…"),
        "the path is a password"
    );
    let mut module = ModuleInput::new("Panel FRA", ModuleKind::Exec, "/bin/false");
    module.max_tries = 1;
    let module = services.add_module(&admin, &module).await.expect("module");
    let client = services
        .add_client(&admin, "Client", None)
        .await
        .expect("client");
    let mut operations = BTreeSet::new();
    for n in 0..3 {
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
        operations.insert(
            services
                .create_operation(&admin, &open)
                .await
                .expect("operation"),
        );
    }

    let engine = Engine::start(
        services.clone(),
        EngineConfig {
            workers: 2,
            ..EngineConfig::default()
        },
        Drivers::real(Duration::from_secs(1)),
    );
    let alerts = server::alerts::start(
        services.clone(),
        AlertConfig {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(2),
            first_retry: Duration::from_millis(100),
            longest_retry: Duration::from_millis(400),
            max_attempts: 10,
        },
    );
    // Three manual turns and one burst.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.taken.lock().expect("lock").len() < 4 {
        assert!(
            Instant::now() < deadline,
            "deliveries: {:?}",
            receiver.taken.lock().expect("lock").len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Long enough for any duplicate to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    engine.shutdown(Duration::from_secs(1)).await;
    alerts.abort();

    assert_eq!(
        receiver.refused.load(Ordering::SeqCst),
        3,
        "the outage refused three tries"
    );
    let taken = receiver.taken.lock().expect("lock").clone();
    assert_eq!(taken.len(), 4, "one delivery per incident");
    let mut announced = BTreeSet::new();
    let mut bursts = 0;
    for (headers, body) in &taken {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let timestamp: i64 = header("x-billops-timestamp").parse().expect("timestamp");
        assert_eq!(
            header("x-billops-signature"),
            server::engine::http::signature(
                SECRET,
                timestamp,
                &header("x-billops-attempt"),
                body.as_bytes()
            ),
            "signed like the http module's requests"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        let text = json["text"].as_str().expect("a Slack-style text");
        match json["event"].as_str() {
            Some("manual") => {
                let id = json["operation"]["id"].as_i64().expect("operation id");
                assert!(text.contains(&format!("#{id}")), "{text}");
                assert!(announced.insert(id), "operation {id} announced twice");
            }
            Some("burst") => {
                bursts += 1;
                assert!(text.contains("Panel FRA"), "{text}");
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(announced, operations);
    assert_eq!(bursts, 1);
    let journal = store.list_journal("alert", hook).await.expect("journal");
    let deliveries = journal
        .iter()
        .filter(|row| row.action == "alert.deliver")
        .count();
    assert_eq!(deliveries, 4, "{journal:?}");
    assert!(
        journal
            .iter()
            .all(|row| !row.detail.contains("secret-path")),
        "the hook's path stays out of the journal"
    );
}
