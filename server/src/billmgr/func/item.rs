//! `service` and `service.edit`: clients' services (BILLmanager's `item`), each run by a
//! processing module.

use app::service::Actor;
use app::types::{FieldReason, ItemChange, ItemStatus, ItemView};

use super::{bad_value, fail, Call, Outcome};
use crate::billmgr::reply::{Cell, Reply};

/// `service`: the services of `client`, or of every client the caller may see.
pub(super) async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let items = call
        .services
        .list_items(actor, call.number("client")?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::unpaged(items.iter().map(item_cells).collect()))
}

fn item_cells(i: &ItemView) -> Vec<Cell> {
    vec![
        Cell::new("id", i.id.to_string()),
        Cell::new("client", i.client_id.to_string()),
        Cell::new("processingmodule", i.module_id.to_string()),
        Cell::new("itemtype", i.itemtype.clone()),
        Cell::new("name", i.name.clone()),
        Cell::new("status", i.status.raw()),
    ]
}

/// `service.edit`: a client's service (BILLmanager's `item`).
pub(super) async fn edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let p = call.params;
    let elid = call.number("elid")?;
    let status = match p.non_empty("status") {
        None => None,
        Some(raw) => Some(
            ItemStatus::parse(raw)
                .ok_or_else(|| bad_value(lang, "status", raw, FieldReason::Unknown))?,
        ),
    };
    if !p.is_set("sok") {
        let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
        let item = svc.get_item(actor, id).await.map_err(fail(lang))?;
        let mut fields = item_cells(&item);
        fields[0].name = "elid".into();
        return Ok(Reply::form(fields));
    }
    match elid {
        Some(id) => {
            let change = ItemChange {
                client_id: call.number("client")?,
                module_id: call.number("processingmodule")?,
                itemtype: p.get("itemtype").map(str::to_owned),
                name: p.get("name").map(str::to_owned),
                status,
            };
            svc.change_item(actor, id, &change)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let client = call
                .number("client")?
                .ok_or_else(|| bad_value(lang, "client", "", FieldReason::Required))?;
            let module = call
                .number("processingmodule")?
                .ok_or_else(|| bad_value(lang, "processingmodule", "", FieldReason::Required))?;
            let id = svc
                .add_item(
                    actor,
                    client,
                    module,
                    p.get("itemtype").unwrap_or(""),
                    p.get("name").unwrap_or(""),
                    status.unwrap_or(ItemStatus::Ordered),
                )
                .await
                .map_err(fail(lang))?;
            Ok(Reply::created(id))
        }
    }
}
