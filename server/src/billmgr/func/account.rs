//! `account` and `account.edit`: the clients (BILLmanager's accounts).

use app::service::Actor;
use app::types::FieldReason;

use super::{bad_value, fail, Call, Outcome};
use crate::billmgr::reply::{Cell, Reply};

/// `account`: every client.
pub(super) async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let clients = call
        .services
        .list_clients(actor)
        .await
        .map_err(fail(call.lang))?;
    let rows = clients
        .iter()
        .map(|c| {
            vec![
                Cell::new("id", c.id.to_string()),
                Cell::new("name", c.name.clone()),
                Cell::new("email", c.email.clone().unwrap_or_default()),
                Cell::new("registration_date", c.created.format()),
            ]
        })
        .collect();
    Ok(Reply::unpaged(rows))
}

/// `account.edit`: a client's form, a change (with `elid`), or a new client.
pub(super) async fn edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let elid = call.number("elid")?;
    if !call.params.is_set("sok") {
        let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
        let c = svc.get_client(actor, id).await.map_err(fail(lang))?;
        return Ok(Reply::form(vec![
            Cell::new("elid", c.id.to_string()),
            Cell::new("name", c.name),
            Cell::new("email", c.email.unwrap_or_default()),
        ]));
    }
    let name = call.params.get("name").unwrap_or("");
    let email = call.params.get("email");
    match elid {
        Some(id) => {
            svc.change_client(actor, id, name, email)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let id = svc
                .add_client(actor, name, email)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::created(id))
        }
    }
}
