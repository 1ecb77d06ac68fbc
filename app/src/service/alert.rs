//! Alert webhooks: admins add and remove hooks (`billops alert ...`); the engine's events
//! become alerts in the outbox: an operation that turns manual (its tries are used up), and a
//! module's failures bursting ([`BurstRule`]: N failures within M minutes on this node). Each
//! alert is written once per hook and incident (an operation's manual turn; a module's burst
//! window), so an incident is delivered once however often it is seen. The delivery worker
//! (`server::alerts`) claims due alerts, POSTs them, and records how it went here; writing an
//! alert never waits for a receiver, so the engine is never held up by one.
//!
//! The payload is JSON with a `text` field that Slack and Mattermost incoming webhooks show as
//! the message, and the event's details beside it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::{internal, too_long, Actor, Denied, Services};
use crate::store::{AlertDelivery, AlertHook, AlertOutcome, JournalEntry, StoreError};
use crate::types::queue::Claim;
use crate::types::{AppError, FieldError, FieldReason, Timestamp};

/// The events a hook may want.
pub const EVENTS: [&str; 3] = ["manual", "burst", "circuit"];
/// Longest webhook URL, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest signing secret, in characters.
pub const MAX_SECRET_CHARS: usize = 256;

/// Why an alert-hook function failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("invalid alert hook fields")]
    Invalid(Vec<FieldError>),
    #[error("alert hook {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AlertError> for AppError {
    fn from(error: AlertError) -> AppError {
        match error {
            AlertError::Invalid(fields) => AppError::Value { fields },
            AlertError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            AlertError::Denied(_) => AppError::Access,
            AlertError::Store(e) => internal(&e),
        }
    }
}

pub use crate::types::alert::HookView;

/// When a module's failures make a burst: `failures` failed attempts within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurstRule {
    pub failures: usize,
    pub window: Duration,
}

impl Default for BurstRule {
    /// 10 failures within 5 minutes.
    fn default() -> Self {
        BurstRule {
            failures: 10,
            window: Duration::from_secs(300),
        }
    }
}

/// This node's recent failures per module, for [`BurstRule`], and the bursts under way.
#[derive(Debug, Default)]
pub(crate) struct BurstWatch {
    pub(crate) rule: BurstRule,
    state: Mutex<BurstState>,
}

#[derive(Debug, Default)]
struct BurstState {
    /// Each module's latest failures, at most the rule's number.
    failures: HashMap<i64, VecDeque<i64>>,
    /// Each module's burst under way: when it began and when it was last seen.
    bursts: HashMap<i64, (i64, i64)>,
}

/// A burst: how many failures are within the window now, and when the burst began (one
/// incident for as long as failures keep coming at the rule's rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Burst {
    pub(crate) failures: usize,
    pub(crate) since: i64,
}

impl BurstWatch {
    pub(crate) fn new(rule: BurstRule) -> BurstWatch {
        BurstWatch {
            rule,
            state: Mutex::default(),
        }
    }

    /// Notes a failure of `module` at `now`; returns the burst when the failures within the
    /// window reach the rule's number. A burst lasts while they do, and for a window after.
    fn failed(&self, module: i64, now: Timestamp) -> Option<Burst> {
        let window = i64::try_from(self.rule.window.as_millis()).unwrap_or(i64::MAX);
        let wanted = self.rule.failures.max(1);
        let mut state = self.state.lock().ok()?;
        let times = state.failures.entry(module).or_default();
        times.push_back(now.0);
        while times.front().is_some_and(|&t| t <= now.0 - window) || times.len() > wanted {
            times.pop_front();
        }
        let failures = times.len();
        if failures < wanted {
            return None;
        }
        let since = match state.bursts.get(&module) {
            Some(&(since, last)) if now.0 - last < window => since,
            _ => now.0,
        };
        state.bursts.insert(module, (since, now.0));
        Some(Burst { failures, since })
    }
}

/// `scheme://host/…` of a URL.
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials before the host are a password too.
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}/…")
}

impl Services {
    /// Adds a webhook for `events` (comma-separated; empty: all); admins only.
    pub async fn add_alert_hook(
        &self,
        actor: &Actor,
        url: &str,
        events: &str,
        secret: Option<&str>,
    ) -> Result<i64, AlertError> {
        actor.require_admin()?;
        let mut errors = Vec::new();
        let url = url.trim();
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        let host_ok = url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.split(['/', '?', '#']).next().unwrap_or("").is_empty());
        if too_long(url, MAX_URL_CHARS) {
            errors.push(FieldError::new(
                "url",
                "",
                FieldReason::TooLong(MAX_URL_CHARS),
            ));
        } else if !scheme_ok || !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            errors.push(FieldError::new("url", url, FieldReason::BadUrl));
        }
        let mut wanted: Vec<&str> = Vec::new();
        for event in events.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match EVENTS.iter().find(|known| **known == event) {
                Some(known) if !wanted.contains(known) => wanted.push(known),
                Some(_) => {}
                None => errors.push(FieldError::new("on", event, FieldReason::Unknown)),
            }
        }
        if wanted.is_empty() {
            wanted = EVENTS.to_vec();
        }
        let secret = secret.map(str::trim).filter(|s| !s.is_empty());
        if secret.is_some_and(|s| too_long(s, MAX_SECRET_CHARS)) {
            errors.push(FieldError::new(
                "secret",
                "",
                FieldReason::TooLong(MAX_SECRET_CHARS),
            ));
        }
        if !errors.is_empty() {
            return Err(AlertError::Invalid(errors));
        }
        let hook = AlertHook {
            id: 0,
            url: url.to_owned(),
            secret: secret.map(str::to_owned),
            events: wanted.join(","),
            created_at: self.now(),
        };
        let entry = self.journal(
            actor,
            "alert.add",
            "alert",
            None,
            format!("{} on {}", url_origin(url), hook.events),
        );
        Ok(self.store.insert_hook(&hook, &entry).await?)
    }

    /// Every webhook, as [`HookView`]s; admins only.
    pub async fn list_alert_hooks(&self, actor: &Actor) -> Result<Vec<HookView>, AlertError> {
        actor.require_admin()?;
        Ok(self
            .store
            .list_hooks()
            .await?
            .into_iter()
            .map(|h| HookView {
                id: h.id,
                url: url_origin(&h.url),
                signed: h.secret.is_some(),
                events: h.events,
                created_at: h.created_at,
            })
            .collect())
    }

    /// Removes a webhook and its undelivered alerts; admins only.
    pub async fn delete_alert_hook(&self, actor: &Actor, id: i64) -> Result<(), AlertError> {
        actor.require_admin()?;
        let entry = self.journal(actor, "alert.delete", "alert", Some(id), String::new());
        if self.store.delete_hook(id, &entry).await? {
            Ok(())
        } else {
            Err(AlertError::NotFound(id))
        }
    }

    /// Writes the alerts for an operation that turned manual after its attempt `claim`.
    pub(crate) async fn alert_manual(&self, claim: &Claim, error: &str) -> Result<(), StoreError> {
        let module = self.module_name(claim.module_id).await?;
        let text = format!(
            "billops: operation #{} ({} of service #{} {}, client {}) needs attention after {} tries on {}: {}",
            claim.operation_id,
            claim.intname.raw(),
            claim.item_id,
            claim.item_name,
            claim.client_name,
            claim.trycount,
            module,
            error
        );
        let payload = serde_json::json!({
            "event": "manual",
            "text": text,
            "at": self.now().format(),
            "operation": {
                "id": claim.operation_id,
                "intname": claim.intname.raw(),
                "item": claim.item_id,
                "client": claim.client_name,
                "module": module,
                "trycount": claim.trycount,
            },
            "error": error,
        });
        let incident = format!("manual:{}:{}", claim.operation_id, claim.token);
        self.store
            .enqueue_alert("manual", &incident, &payload.to_string(), self.now())
            .await?;
        Ok(())
    }

    /// Notes a failed attempt of `module`; on a burst, writes its alerts (once per window).
    pub(crate) async fn alert_if_burst(
        &self,
        module_id: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let Some(Burst { failures, since }) = self.bursts.failed(module_id, now) else {
            return Ok(());
        };
        let rule = self.bursts.rule;
        let module = self.module_name(module_id).await?;
        let minutes = rule.window.as_secs().div_ceil(60);
        let payload = serde_json::json!({
            "event": "burst",
            "text": format!(
                "billops: module {module} failed {failures} times within {minutes} min; last error: {error}"
            ),
            "at": now.format(),
            "module": { "id": module_id, "name": module },
            "failures": failures,
            "window_minutes": minutes,
            "error": error,
        });
        let incident = format!("burst:{module_id}:{since}");
        self.store
            .enqueue_alert("burst", &incident, &payload.to_string(), now)
            .await?;
        Ok(())
    }

    /// Writes the alerts for module `module_id`'s circuit opening (`opened`) or closing.
    pub(crate) async fn alert_circuit(
        &self,
        module_id: i64,
        opened: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let module = self.module_name(module_id).await?;
        let (state, text) = if opened {
            (
                "open",
                format!("billops: module {module} is failing for everyone; its operations wait (circuit open): {reason}"),
            )
        } else {
            (
                "closed",
                format!("billops: module {module} works again (circuit closed): {reason}"),
            )
        };
        let payload = serde_json::json!({
            "event": "circuit",
            "text": text,
            "at": now.format(),
            "module": { "id": module_id, "name": module },
            "circuit": state,
            "reason": reason,
        });
        let incident = format!("circuit:{module_id}:{state}:{}", now.0);
        self.store
            .enqueue_alert("circuit", &incident, &payload.to_string(), now)
            .await?;
        Ok(())
    }

    async fn module_name(&self, id: i64) -> Result<String, StoreError> {
        Ok(self
            .store
            .get_module(id)
            .await?
            .map_or_else(|| format!("#{id}"), |m| m.name))
    }

    /// Claims up to `limit` due alerts for one try each, which must end within `limit_time`.
    pub async fn claim_alerts(
        &self,
        limit: u32,
        try_time: Duration,
        max_attempts: i64,
    ) -> Result<Vec<AlertDelivery>, StoreError> {
        let now = self.now();
        let until = Timestamp(now.0 + i64::try_from(try_time.as_millis()).unwrap_or(i64::MAX));
        self.store
            .claim_alerts(now, until, limit, max_attempts)
            .await
    }

    /// Records a try: delivered (and journaled), or failed, to be tried again after `retry`.
    pub async fn finish_alert(
        &self,
        delivery: &AlertDelivery,
        result: Result<u16, String>,
        retry: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let outcome = match &result {
            Ok(_) => AlertOutcome::Delivered,
            Err(error) => AlertOutcome::Failed {
                error: error.clone(),
                retry_at: Timestamp(now.0 + i64::try_from(retry.as_millis()).unwrap_or(i64::MAX)),
            },
        };
        let entry = JournalEntry {
            at: now,
            user_id: None,
            user_name: "alerts".into(),
            action: "alert.deliver".into(),
            object: "alert".into(),
            object_id: Some(delivery.hook_id),
            detail: format!(
                "{} {} to {}: HTTP {} after {} tries",
                delivery.event,
                delivery.incident,
                url_origin(&delivery.url),
                result.as_ref().map_or(0, |s| *s),
                delivery.attempts + 1
            ),
        };
        self.store
            .finish_alert(delivery.id, &outcome, now, &entry)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_the_rules_number_of_failures_within_its_window_and_lasts_while_they_come() {
        let watch = BurstWatch::new(BurstRule {
            failures: 3,
            window: Duration::from_secs(60),
        });
        let at = |s: i64| Timestamp(s * 1000);
        let burst = |failures, since: i64| {
            Some(Burst {
                failures,
                since: since * 1000,
            })
        };
        assert_eq!(watch.failed(1, at(0)), None);
        assert_eq!(watch.failed(1, at(10)), None);
        assert_eq!(watch.failed(2, at(20)), None, "another module");
        assert_eq!(watch.failed(1, at(30)), burst(3, 30));
        assert_eq!(
            watch.failed(1, at(40)),
            burst(3, 30),
            "the same burst goes on"
        );
        // Quiet for more than a window: the failures so far are too old, and the next burst
        // is another incident.
        assert_eq!(watch.failed(1, at(200)), None);
        assert_eq!(watch.failed(1, at(201)), None);
        assert_eq!(watch.failed(1, at(202)), burst(3, 202));
    }

    #[test]
    fn a_listed_url_shows_scheme_and_host_only() {
        assert_eq!(
            url_origin("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_origin("http://user:pw@10.0.0.1:8080/hook?token=1"),
            "http://10.0.0.1:8080/…"
        );
    }
}
