//! The `http` driver: POSTs the operation's JSON to the module's URL (`http://` or `https://`,
//! TLS with rustls and the system's root certificates), signed under the module's secret. A 2xx
//! answer is success; any other status, a refused connection or the time limit fails the
//! attempt, with the status and the answer's last 64 KiB in the log (the answer is read as it
//! streams and never held whole).
//!
//! The signature covers a timestamp, the attempt's token and the body, so that a module can
//! refuse a stale or repeated request (`docs/engine.md` shows how, in Python and PHP):
//!
//! ```text
//! X-Billops-Timestamp: <unix seconds>
//! X-Billops-Attempt:   <the attempt's token, also in the body as operation.attempt>
//! X-Billops-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<attempt>.<body>")>
//! ```

use std::sync::Arc;
use std::time::Duration;

use app::service::engine::RunResult;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use tokio::sync::watch;
use tokio_rustls::rustls;

use super::driver::{cancelled, mask, operation_json, Cancel, Driver, Job, Tail};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-billops-signature";
/// The header carrying the time the request was signed, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-billops-timestamp";
/// The header carrying the attempt's token.
pub const ATTEMPT_HEADER: &str = "x-billops-attempt";

pub(crate) type Connector =
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// POSTs to modules.
pub struct HttpDriver {
    client: Client<Connector, Full<Bytes>>,
}

impl HttpDriver {
    /// A driver with one connection pool for every module, trusting the system's root
    /// certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` name others).
    pub fn new() -> HttpDriver {
        HttpDriver { client: client() }
    }
}

/// An HTTP and HTTPS client (rustls) trusting the system's root certificates; the alert
/// deliveries use one too.
pub(crate) fn client() -> Client<Connector, Full<Bytes>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(provider.clone()) {
        Ok(builder) => builder,
        Err(error) => {
            // No usable roots on this machine: `https://` fails with an unknown issuer, which
            // the attempt's log says; `http://` works as before.
            tracing::warn!(%error, "no system root certificates: https peers cannot be verified");
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap_or_else(|_| unreachable!("ring supports the default versions"))
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).build(connector)
}

impl Default for HttpDriver {
    fn default() -> HttpDriver {
        HttpDriver::new()
    }
}

/// `sha256=<hex of HMAC-SHA256("<timestamp>.<attempt>.<body>") under secret>`.
pub fn signature(secret: &str, timestamp: i64, attempt: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{attempt}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl Driver for HttpDriver {
    async fn run(&self, job: &Job, mut cancel: watch::Receiver<Option<Cancel>>) -> RunResult {
        let secret = job.module.secret.as_deref();
        let url = &job.module.target;
        let body = operation_json(job, false).to_string();
        let limit = Duration::from_secs(u64::try_from(job.module.timeout_secs).unwrap_or(1).max(1));
        let failed = |error_type: &str, message: String, log: String| RunResult::Failed {
            error_type: error_type.into(),
            message: mask(&message, secret),
            log: mask(&log, secret),
        };
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let attempt = job.claim.token.as_str();
        let mut request = hyper::Request::post(url.as_str())
            .header("content-type", "application/json")
            .header("user-agent", "billops")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(ATTEMPT_HEADER, attempt);
        if let Some(secret) = secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret, timestamp, attempt, body.as_bytes()),
            );
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(error) => {
                let message = format!("The module's URL is not usable: {error}");
                return failed("module", message.clone(), message);
            }
        };
        // What has come of the answer so far: kept outside the exchange, so that an answer
        // still streaming at the time limit leaves its status and tail in the log.
        let heard: std::sync::Mutex<(Option<hyper::StatusCode>, Tail)> =
            std::sync::Mutex::new((None, Tail::new(secret)));
        let exchange = async {
            let response = self.client.request(request).await?;
            if let Ok(mut heard) = heard.lock() {
                heard.0 = Some(response.status());
            }
            // Read as it streams, keeping only the tail: an answer may be endless.
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                if let (Ok(data), Ok(mut heard)) = (frame?.into_data(), heard.lock()) {
                    heard.1.push(&data);
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        };
        let answer = tokio::select! {
            answer = tokio::time::timeout(limit, exchange) => answer,
            reason = cancelled(&mut cancel) => {
                let log = format!("POST {url}\n[billops] request abandoned\n");
                return match reason {
                    Cancel::Stop => RunResult::Stopped { log },
                    Cancel::LeaseLost => RunResult::Interrupted { log },
                };
            }
        };
        let (status, tail) = heard
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (answer, status) {
            (Err(_), None) => failed(
                "timeout",
                format!("The module did not answer within {} s", limit.as_secs()),
                format!(
                    "POST {url}\n[billops] no answer within {} s\n",
                    limit.as_secs()
                ),
            ),
            (Err(_), Some(status)) => failed(
                "timeout",
                format!(
                    "The module's answer did not end within {} s",
                    limit.as_secs()
                ),
                format!(
                    "POST {url}\nHTTP {status}\n{}\n[billops] the answer did not end within {} s\n",
                    tail.text(),
                    limit.as_secs()
                ),
            ),
            (Ok(Err(error)), _) => failed(
                "connect",
                format!("Could not reach the module: {error}"),
                format!("POST {url}\n[billops] {error}\n"),
            ),
            (Ok(Ok(())), status) => {
                let status = status.unwrap_or_default();
                let log = format!("POST {url}\nHTTP {status}\n{}", tail.text());
                if status.is_success() {
                    RunResult::Ok {
                        log: mask(&log, secret),
                    }
                } else {
                    failed("http", format!("The module answered {status}"), log)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_attempt_and_body() {
        // RFC 4231 test case 2, its message split into timestamp, attempt and body.
        assert_eq!(
            signature("Jefe", 1, "what do ya want", b"for nothing?"),
            signature("Jefe", 1, "what do ya want", b"for nothing?"),
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"1.what do ya want.for nothing?");
        assert_eq!(
            signature("Jefe", 1, "what do ya want", b"for nothing?"),
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        assert_ne!(
            signature("Jefe", 2, "what do ya want", b"for nothing?"),
            signature("Jefe", 1, "what do ya want", b"for nothing?"),
            "another time is another signature"
        );
    }
}
