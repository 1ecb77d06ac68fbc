//! `processing`, `processing.edit`, `processing.pause` and `processing.resume`: the processing
//! modules that carry out operations, and their circuit breakers.

use app::service::{Actor, ModuleChange, ModuleInput};
use app::types::{FieldReason, Lang, ModuleKind};

use super::{bad_value, fail, on_off, Call, Outcome};
use crate::billmgr::reply::{Cell, Reply};

/// `processing`: every module, with its limits and whether it is on.
pub(super) async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let lang = call.lang;
    let modules = call
        .services
        .list_modules(actor)
        .await
        .map_err(fail(lang))?;
    let circuits = call.services.circuits(actor).await.map_err(fail(lang))?;
    let rows = modules
        .iter()
        .map(|m| {
            let circuit = circuits.iter().find(|c| c.module_id == m.id);
            let state = circuit.map(|c| c.state).unwrap_or_default();
            vec![
                Cell::new("id", m.id.to_string()),
                Cell::new("name", m.name.clone()),
                Cell::new("module", m.kind.raw()),
                Cell::new("target", m.target.clone()),
                Cell::new("panel_url", m.panel_url.clone().unwrap_or_default()),
                Cell::new("max_running", m.max_running.to_string()),
                Cell::new("max_tries", m.max_tries.to_string()),
                Cell::new("timeout", m.timeout_secs.to_string()),
                Cell::with_orig("status", switch_label(m.enabled, lang), on_off(m.enabled)),
                Cell::with_orig("circuit", state.label(lang), state.raw()),
                Cell::new(
                    "circuitsince",
                    circuit
                        .and_then(|c| c.since)
                        .map(|t| t.format())
                        .unwrap_or_default(),
                ),
                Cell::new(
                    "circuitreason",
                    circuit.and_then(|c| c.reason.clone()).unwrap_or_default(),
                ),
            ]
        })
        .collect();
    Ok(Reply::unpaged(rows))
}

fn switch_label(on: bool, lang: Lang) -> &'static str {
    if on {
        lang.pick("Включен", "On")
    } else {
        lang.pick("Выключен", "Off")
    }
}

/// `processing.edit`: a module's form (never its secret), a change, or a new module.
pub(super) async fn edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let p = call.params;
    let elid = call.number("elid")?;
    if !p.is_set("sok") {
        let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
        let m = svc.get_module(actor, id).await.map_err(fail(lang))?;
        return Ok(Reply::form(vec![
            Cell::new("elid", m.id.to_string()),
            Cell::new("name", m.name),
            Cell::new("module", m.kind.raw()),
            Cell::new("target", m.target),
            // Write-only: the form says whether a secret is set, never what it is.
            Cell::new("secret", ""),
            Cell::new("has_secret", on_off(m.has_secret)),
            Cell::new("panel_url", m.panel_url.unwrap_or_default()),
            Cell::new("max_running", m.max_running.to_string()),
            Cell::new("max_tries", m.max_tries.to_string()),
            Cell::new("timeout", m.timeout_secs.to_string()),
            Cell::new("enabled", on_off(m.enabled)),
        ]));
    }
    match elid {
        Some(id) => {
            let change = ModuleChange {
                name: p.get("name").map(str::to_owned),
                target: p.get("target").map(str::to_owned),
                secret: p.get("secret").map(str::to_owned),
                panel_url: p.get("panel_url").map(str::to_owned),
                max_running: call.number("max_running")?,
                max_tries: call.number("max_tries")?,
                timeout_secs: call.number("timeout")?,
                enabled: call.switch("enabled")?,
            };
            svc.change_module(actor, id, &change)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let raw_kind = p.get("module").unwrap_or("");
            let kind = ModuleKind::parse(raw_kind)
                .ok_or_else(|| bad_value(lang, "module", raw_kind, FieldReason::Unknown))?;
            let mut input = ModuleInput::new(
                p.get("name").unwrap_or(""),
                kind,
                p.get("target").unwrap_or(""),
            );
            input.secret = p.non_empty("secret").map(str::to_owned);
            input.panel_url = p.non_empty("panel_url").map(str::to_owned);
            input.max_running = call.number("max_running")?.unwrap_or(input.max_running);
            input.max_tries = call.number("max_tries")?.unwrap_or(input.max_tries);
            input.timeout_secs = call.number("timeout")?.unwrap_or(input.timeout_secs);
            let id = svc.add_module(actor, &input).await.map_err(fail(lang))?;
            Ok(Reply::created(id))
        }
    }
}

/// `processing.pause` (`pause`) or `processing.resume` on the modules in `elid`; the first
/// module refused is the answer.
pub(super) async fn pause(call: &Call<'_>, actor: &Actor, pause: bool) -> Outcome {
    for id in call.elid_list()? {
        let done = if pause {
            call.services.pause_module(actor, id).await
        } else {
            call.services.resume_module(actor, id).await
        };
        done.map_err(fail(call.lang))?;
    }
    Ok(Reply::ok())
}
