//! The `http` driver: POSTs the operation's JSON to the module's URL, signed with HMAC-SHA256
//! of the body under the module's secret (header `X-Billops-Signature: sha256=<hex>`). A 2xx
//! answer is success; any other status, a refused connection or the time limit fails the
//! attempt, with the status and the body's tail in the log. Plain `http://` only: a module
//! behind TLS is reached through a local proxy.

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

use super::driver::{cancelled, mask, operation_json, Cancel, Driver, Job, Tail};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-billops-signature";

/// POSTs to modules.
pub struct HttpDriver {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl HttpDriver {
    /// A driver with one connection pool for every module.
    pub fn new() -> HttpDriver {
        HttpDriver {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl Default for HttpDriver {
    fn default() -> HttpDriver {
        HttpDriver::new()
    }
}

/// `sha256=<hex of HMAC-SHA256(body) under secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
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
        let mut request = hyper::Request::post(url.as_str())
            .header("content-type", "application/json")
            .header("user-agent", "billops");
        if let Some(secret) = secret {
            request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(error) => {
                let message = format!("The module's URL is not usable: {error}");
                return failed("module", message.clone(), message);
            }
        };
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, bytes))
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
        match answer {
            Err(_) => failed(
                "timeout",
                format!("The module did not answer within {} s", limit.as_secs()),
                format!(
                    "POST {url}\n[billops] no answer within {} s\n",
                    limit.as_secs()
                ),
            ),
            Ok(Err(error)) => failed(
                "connect",
                format!("Could not reach the module: {error}"),
                format!("POST {url}\n[billops] {error}\n"),
            ),
            Ok(Ok((status, bytes))) => {
                let mut tail = Tail::default();
                tail.push(&bytes);
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
    use super::signature;

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
