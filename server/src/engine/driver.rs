//! The processing-module driver trait, what a run is told, and the helpers every driver shares:
//! the module's JSON, secret masking, the output tail.

use app::service::engine::Claim;
use app::service::engine::RunResult;
use app::service::module::ModuleRecord;
use async_trait::async_trait;
use serde_json::json;
use tokio::sync::watch;

/// Why a running module is being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// An administrator asked (`runningoperation.stop`).
    Stop,
    /// This node no longer holds the operation's lease.
    LeaseLost,
}

/// One run: the claimed operation and its module (with its secret).
#[derive(Clone, Debug)]
pub struct Job {
    pub claim: Claim,
    pub module: ModuleRecord,
}

/// Runs a processing module for one operation.
#[async_trait]
pub trait Driver: Send + Sync + 'static {
    /// Runs `job` to its end, or until `cancel` says to stop (then the module is terminated and
    /// the result is [`RunResult::Stopped`] or [`RunResult::Interrupted`]).
    async fn run(&self, job: &Job, cancel: watch::Receiver<Option<Cancel>>) -> RunResult;
}

/// Resolves when a cancellation is set; never, once nobody can set one.
pub async fn cancelled(cancel: &mut watch::Receiver<Option<Cancel>>) -> Cancel {
    loop {
        if let Some(reason) = *cancel.borrow_and_update() {
            return reason;
        }
        if cancel.changed().await.is_err() {
            // The engine dropped the sender: nobody can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

/// A driver that succeeds at once without running anything: for benchmarks of the engine.
pub struct NoopDriver;

#[async_trait]
impl Driver for NoopDriver {
    async fn run(&self, _job: &Job, _cancel: watch::Receiver<Option<Cancel>>) -> RunResult {
        RunResult::Ok { log: String::new() }
    }
}

/// The operation, its service, client and module as the module receives them (the `exec`
/// module in `BILLOPS_OPERATION`, the `http` module as the body). The module's secret is in it
/// only when `with_secret` (the `exec` module may need it; the `http` body is signed with it).
pub fn operation_json(job: &Job, with_secret: bool) -> serde_json::Value {
    let c = &job.claim;
    let m = &job.module;
    let mut module = json!({
        "id": m.id,
        "name": m.name,
        "kind": m.kind.raw(),
        "target": m.target,
        "panel_url": m.panel_url,
        "timeout_secs": m.timeout_secs,
    });
    if with_secret {
        module["secret"] = json!(m.secret);
    }
    json!({
        "operation": {
            "id": c.operation_id,
            // This run's token: a module that keeps it can tell a repeated run of one attempt
            // from a new attempt (see docs/engine.md on exactly-once).
            "attempt": c.token,
            "intname": c.intname.raw(),
            "trycount": c.trycount,
            "manual": c.manual,
            "comment": c.comment,
        },
        "service": { "id": c.item_id, "name": c.item_name, "itemtype": c.itemtype },
        "client": { "id": c.client_id, "name": c.client_name },
        "module": module,
    })
}

/// What replaces a secret wherever it would be shown.
pub const MASK: &str = "***";

/// `text` with every occurrence of the module's secret replaced by [`MASK`].
pub fn mask(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, MASK),
        _ => text.to_owned(),
    }
}

/// The most output an attempt keeps: its last 64 KiB.
pub const LOG_TAIL_BYTES: usize = 64 * 1024;

/// The last [`LOG_TAIL_BYTES`] of a stream, with the module's secret masked *before* the cut:
/// the tail keeps as many bytes more than the limit as the secret is long, so that a secret
/// straddling the cut is still whole when it is masked, and only then is the text cut.
#[derive(Debug)]
pub struct Tail {
    bytes: Vec<u8>,
    dropped: bool,
    secret: Option<String>,
}

impl Tail {
    /// A tail that will mask `secret` (none: nothing to mask).
    pub fn new(secret: Option<&str>) -> Tail {
        Tail {
            bytes: Vec::new(),
            dropped: false,
            secret: secret.filter(|s| !s.is_empty()).map(str::to_owned),
        }
    }

    fn keep(&self) -> usize {
        LOG_TAIL_BYTES + self.secret.as_ref().map_or(0, String::len)
    }

    /// Appends, dropping the oldest bytes past the limit (and the secret's margin).
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        let keep = self.keep();
        if self.bytes.len() > keep {
            let cut = self.bytes.len() - keep;
            self.bytes.drain(..cut);
            self.dropped = true;
        }
    }

    /// The text kept (invalid UTF-8 replaced), the secret masked, at most [`LOG_TAIL_BYTES`]
    /// of it, saying when the start was dropped.
    pub fn text(&self) -> String {
        let raw = String::from_utf8_lossy(&self.bytes);
        let masked = mask(&raw, self.secret.as_deref());
        let mut start = masked.len().saturating_sub(LOG_TAIL_BYTES);
        while !masked.is_char_boundary(start) {
            start += 1;
        }
        let text = &masked[start..];
        if self.dropped || start > 0 {
            format!("[... earlier output dropped]\n{text}")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_masked_everywhere_it_appears() {
        assert_eq!(
            mask("pw=s3cr3t and s3cr3t", Some("s3cr3t")),
            "pw=*** and ***"
        );
        assert_eq!(mask("nothing", None), "nothing");
        assert_eq!(mask("keep", Some("")), "keep");
    }

    #[test]
    fn a_secret_cut_in_two_by_the_tail_is_still_masked() {
        let secret = "s3cr3t-value";
        for split in 1..secret.len() {
            let mut tail = Tail::new(Some(secret));
            tail.push(&[b'a'; 100]);
            tail.push(secret.as_bytes());
            // Exactly enough after it that the 64 KiB cut falls `split` bytes into the secret.
            tail.push(&vec![b'b'; LOG_TAIL_BYTES - (secret.len() - split)]);
            let text = tail.text();
            let kept = text
                .strip_prefix("[... earlier output dropped]\n")
                .expect("the start was dropped");
            assert!(
                kept.chars().all(|c| matches!(c, 'a' | 'b' | '*')),
                "split {split}: part of the secret survived the cut"
            );
            assert!(kept.len() <= LOG_TAIL_BYTES);
        }
    }

    #[test]
    fn the_tail_keeps_the_last_64_kib() {
        let mut tail = Tail::new(None);
        tail.push(&vec![b'a'; LOG_TAIL_BYTES]);
        tail.push(b"end");
        let text = tail.text();
        assert!(text.starts_with("[... earlier output dropped]"));
        assert!(text.ends_with("aend"));
        assert_eq!(
            text.len(),
            LOG_TAIL_BYTES + "[... earlier output dropped]\n".len()
        );
    }
}
