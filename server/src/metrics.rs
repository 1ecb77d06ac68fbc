//! Prometheus metrics: the registry of this node's figures, the middleware that counts HTTP
//! requests, and `GET /metrics` in the text exposition format, served by `billops serve
//! --metrics-listen ADDR` on an address of its own (off by default; it has no login, so keep
//! it where only Prometheus reaches it). docs/metrics.md lists every series.
//!
//! Most figures are this node's (attempts, run times, queue lag, leases, rescues, HTTP,
//! live-stream clients): each node is scraped. Current operations by module and status, and
//! each module's oldest due operation, are the database's, read at scrape time from the totals
//! the database keeps ([`app::store::counts`]) and one index seek per module: a scrape reads a
//! few rows whatever the number of operations.

use std::sync::atomic::AtomicI64;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use app::service::engine::EngineError;
use app::service::Services;
use app::types::Timestamp;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A module and a status.

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleStatus {
    module: String,
    status: String,
}

/// A module and how an attempt ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleOutcome {
    module: String,
    outcome: String,
}

/// A module.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModuleLabel {
    module: String,
}

/// A node.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabel {
    node: String,
}

/// A route (its pattern, never the path asked for) and a status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: String,
}

/// A route pattern.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

/// A label value as the text format needs it: `\`, `"` and line feeds escaped (the encoder
/// writes values as they are, and a module name is whatever an admin typed).
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Run times and lags: 5 ms to about 164 s.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// HTTP latencies: 0.5 ms to about 16 s.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// This node's metrics.
pub struct Metrics {
    registry: Registry,
    operations: Family<ModuleStatus, Gauge>,
    oldest_due: Family<ModuleLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    attempts: Family<ModuleOutcome, Counter>,
    run_time: Histograms<ModuleLabel>,
    queue_lag: Histograms<ModuleLabel>,
    leases: Family<NodeLabel, Gauge<i64, AtomicI64>>,
    rescues: Counter,
    requests: Family<RouteStatus, Counter>,
    request_time: Histograms<RouteLabel>,
    live_clients: Gauge,
    /// One render at a time: each clears and refills the database's series.
    rendering: tokio::sync::Mutex<()>,
}

/// The process's metrics: one registry, shared by the engine, the router and `/metrics`.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("billops");
        let operations = Family::<ModuleStatus, Gauge>::default();
        registry.register(
            "operations",
            "Current operations by processing module and status (the database's count)",
            operations.clone(),
        );
        let oldest_due = Family::default();
        registry.register(
            "oldest_due_seconds",
            "Age of each module's oldest operation that is due and not yet claimed",
            Clone::clone(&oldest_due),
        );
        let attempts = Family::<ModuleOutcome, Counter>::default();
        registry.register(
            "attempts",
            "Attempts this node ran, by module and outcome",
            attempts.clone(),
        );
        let run_time: Histograms<ModuleLabel> = Family::new_with_constructor(seconds_buckets);
        registry.register(
            "module_run_seconds",
            "How long this node's module runs took",
            run_time.clone(),
        );
        let queue_lag: Histograms<ModuleLabel> = Family::new_with_constructor(seconds_buckets);
        registry.register(
            "queue_lag_seconds",
            "From when an operation was due to when this node claimed it",
            queue_lag.clone(),
        );
        let leases = Family::default();
        registry.register(
            "leases_held",
            "Operations this node holds leased (running here)",
            Clone::clone(&leases),
        );
        let rescues = Counter::default();
        registry.register(
            "rescues",
            "Operations this node returned from dead nodes' expired leases",
            rescues.clone(),
        );
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let request_time: Histograms<RouteLabel> = Family::new_with_constructor(request_buckets);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route (until the response head)",
            request_time.clone(),
        );
        let live_clients = Gauge::default();
        registry.register(
            "live_clients",
            "Open live event streams (/events)",
            live_clients.clone(),
        );
        Metrics {
            registry,
            operations,
            oldest_due,
            attempts,
            run_time,
            queue_lag,
            leases,
            rescues,
            requests,
            request_time,
            live_clients,
            rendering: tokio::sync::Mutex::new(()),
        }
    }

    /// A module run ended: `outcome` as the history names it, after `took`.
    pub fn attempt(&self, module: &str, outcome: &str, took: Duration) {
        self.attempts
            .get_or_create(&ModuleOutcome {
                module: escaped(module),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.run_time
            .get_or_create(&ModuleLabel {
                module: escaped(module),
            })
            .observe(took.as_secs_f64());
    }

    /// An operation due at `due` was claimed at `claimed`.
    pub fn claimed(&self, module: &str, due: Timestamp, claimed: Timestamp) {
        let lag = (claimed.0 - due.0).max(0) as f64 / 1000.0;
        self.queue_lag
            .get_or_create(&ModuleLabel {
                module: escaped(module),
            })
            .observe(lag);
    }

    /// This node now holds `count` leases.
    pub fn leases_held(&self, node: &str, count: usize) {
        self.leases
            .get_or_create(&NodeLabel {
                node: escaped(node),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// This node rescued `count` operations.
    pub fn rescued(&self, count: usize) {
        self.rescues.inc_by(count as u64);
    }

    /// A live event stream opened; it counts until the guard is dropped.
    pub fn live_client(&self) -> LiveClient {
        self.live_clients.inc();
        LiveClient(())
    }

    /// Reads the database's figures, then writes every series in the text format.
    pub async fn render(&self, services: &Services) -> Result<String, EngineError> {
        let _one_at_a_time = self.rendering.lock().await;
        let counts = services.operation_counts().await?;
        self.operations.clear();
        for count in counts {
            self.operations
                .get_or_create(&ModuleStatus {
                    module: escaped(&count.module_name),
                    status: count.status.raw().to_owned(),
                })
                .set(count.count);
        }
        let now = services.now();
        let due = services.oldest_due().await?;
        self.oldest_due.clear();
        for (module, at) in due {
            let age = at.map_or(0.0, |at| (now.0 - at.0).max(0) as f64 / 1000.0);
            self.oldest_due
                .get_or_create(&ModuleLabel {
                    module: escaped(&module),
                })
                .set(age);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        Ok(text)
    }

    fn request(&self, route: String, status: StatusCode, took: Duration) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.clone(),
                status: status.as_u16().to_string(),
            })
            .inc();
        self.request_time
            .get_or_create(&RouteLabel { route })
            .observe(took.as_secs_f64());
    }
}

/// Counts one open live stream while it lives.
pub struct LiveClient(());

impl Drop for LiveClient {
    fn drop(&mut self) {
        global().live_clients.dec();
    }
}

/// Counts a request by its route pattern (`other` for files and unknown paths, so that a
/// caller cannot make up new series) and times it to the response head.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    global().request(route, response.status(), started.elapsed());
    response
}

/// The metrics endpoint: `GET /metrics`, on its own address.
pub fn router(services: Services) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let services = services.clone();
            async move {
                match global().render(&services).await {
                    Ok(text) => (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(error) => {
                        tracing::error!(%error, "reading metrics from the store failed");
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    }
                }
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn label_values_escape_what_the_text_format_needs() {
        assert_eq!(escaped("VM \"FRA\" \\ 2\nb"), "VM \\\"FRA\\\" \\\\ 2\\nb");
        assert_eq!(escaped("plain-name 1"), "plain-name 1");
    }
}
