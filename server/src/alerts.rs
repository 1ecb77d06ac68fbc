//! Alert delivery: a task on every node that claims due alerts from the outbox
//! ([`app::service::alert`]), POSTs each to its hook's URL as JSON, signed like the `http`
//! module driver's requests when the hook has a secret, and records the outcome. A 2xx answer
//! delivers it (the journal shows each delivery); anything else, a refused connection or the
//! time limit tries it again later, waiting twice as long each time (from
//! [`AlertConfig::first_retry`] up to [`AlertConfig::longest_retry`]), at most
//! [`AlertConfig::max_attempts`] times. Deliveries never run in the engine's path: the engine
//! only writes alerts into the outbox. Delivery is at least once: a node that dies after a
//! receiver took an alert, before recording it, leaves it to be posted again; receivers
//! de-duplicate on `X-Billops-Attempt`.
//!
//! ```text
//! X-Billops-Timestamp: <unix seconds>
//! X-Billops-Attempt:   alert-<outbox id>
//! X-Billops-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.alert-<id>.<body>")>
//! ```

use std::time::Duration;

use app::service::Services;
use app::store::AlertDelivery;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;

use crate::engine::http::{
    signature, Connector, ATTEMPT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// How alerts are delivered.
#[derive(Clone, Copy, Debug)]
pub struct AlertConfig {
    /// How often an idle node looks for due alerts.
    pub poll: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
    /// The wait after the first failed try; it doubles with each failure.
    pub first_retry: Duration,
    /// The longest wait between tries.
    pub longest_retry: Duration,
    /// Tries before an alert is given up (it stays in the outbox, undelivered).
    pub max_attempts: i64,
}

impl Default for AlertConfig {
    /// Every second; 10 s per try; 5 s, 10 s, 20 s, ... up to 10 min between tries; 30 tries
    /// (about four hours of a receiver's outage).
    fn default() -> Self {
        AlertConfig {
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(5),
            longest_retry: Duration::from_secs(600),
            max_attempts: 30,
        }
    }
}

impl AlertConfig {
    /// The wait after a try that failed, the `attempts`-th failure (from 1).
    pub fn retry_after(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.first_retry
            .saturating_mul(2_u32.saturating_pow(doublings))
            .min(self.longest_retry)
    }
}

/// Where a failed alert's next try goes once it has had its tries: a century away.
const GIVEN_UP: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Starts delivering alerts in the background, for as long as the runtime lives.
pub fn start(services: Services, config: AlertConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(deliver_forever(services, config))
}

async fn deliver_forever(services: Services, config: AlertConfig) {
    let client = crate::engine::http::client();
    // A claim holds an alert for its try's time limit and a margin.
    let hold = config.timeout + Duration::from_secs(5);
    loop {
        let claimed = services
            .claim_alerts(8, hold, config.max_attempts)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "claiming alerts failed");
                Vec::new()
            });
        let busy = !claimed.is_empty();
        // Posted at once, so that every claimed alert is done within its hold.
        let tries = claimed.into_iter().map(|delivery| {
            let (client, services) = (&client, &services);
            async move {
                let result = post(client, &delivery, config.timeout).await;
                if let Err(error) = &result {
                    tracing::warn!(hook = delivery.hook_id, %error, "an alert was not delivered");
                }
                // The last try parks a failed alert far in the future: out of the way of the
                // due ones, kept (undelivered, with its last error) for an admin to see.
                let retry = if delivery.attempts + 1 >= config.max_attempts {
                    GIVEN_UP
                } else {
                    config.retry_after(delivery.attempts + 1)
                };
                if let Err(error) = services.finish_alert(&delivery, result, retry).await {
                    tracing::warn!(%error, "recording an alert delivery failed");
                }
            }
        });
        futures_util::future::join_all(tries).await;
        if !busy {
            tokio::time::sleep(config.poll).await;
        }
    }
}

/// POSTs one alert; the status on a 2xx answer, else why not (never the URL, whose path may
/// be a password).
async fn post(
    client: &Client<Connector, Full<Bytes>>,
    delivery: &AlertDelivery,
    timeout: Duration,
) -> Result<u16, String> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let attempt = format!("alert-{}", delivery.id);
    let mut request = hyper::Request::post(delivery.url.as_str())
        .header("content-type", "application/json")
        .header("user-agent", "billops")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(ATTEMPT_HEADER, attempt.as_str());
    if let Some(secret) = &delivery.secret {
        request = request.header(
            SIGNATURE_HEADER,
            signature(secret, timestamp, &attempt, delivery.payload.as_bytes()),
        );
    }
    let request = request
        .body(Full::new(Bytes::from(delivery.payload.clone())))
        .map_err(|_| "the hook's URL is not usable".to_owned())?;
    // Only the status counts: the answer's body is never read (a receiver's endless answer
    // costs nothing; its connection is closed rather than reused).
    let exchange = async {
        Ok::<_, hyper_util::client::legacy::Error>(client.request(request).await?.status())
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        Ok(Err(error)) => Err(format!("could not reach the hook: {}", error_kind(&error))),
        Ok(Ok(status)) if status.is_success() => Ok(status.as_u16()),
        Ok(Ok(status)) => Err(format!("the hook answered {status}")),
    }
}

/// What went wrong connecting, without the URL.
fn error_kind(error: &hyper_util::client::legacy::Error) -> &'static str {
    if error.is_connect() {
        "connection failed"
    } else {
        "the request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_longest_wait() {
        let config = AlertConfig::default();
        let waits: Vec<u64> = (1..=9).map(|n| config.retry_after(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(config.retry_after(1_000).as_secs(), 600);
    }
}
