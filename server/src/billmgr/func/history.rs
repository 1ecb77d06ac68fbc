//! `runningoperation.errorhistory` and `errorhistory.showlog`: an operation's attempts, and
//! one attempt's log.

use app::service::Actor;
use app::types::Timestamp;

use super::{fail, Call, Outcome};
use crate::billmgr::reply::{Cell, Reply};

/// `runningoperation.errorhistory`: the attempts of the operation in `elid`.
pub(super) async fn error_history(call: &Call<'_>, actor: &Actor) -> Outcome {
    let attempts = call
        .services
        .list_attempts(actor, call.elid()?)
        .await
        .map_err(fail(call.lang))?;
    let rows: Vec<Vec<Cell>> = attempts
        .iter()
        .map(|a| {
            vec![
                Cell::new("id", a.id.to_string()),
                Cell::new("createdate", a.createdate.format()),
                Cell::new("item", a.item_id.to_string()),
                Cell::new("task", a.task_id.map(|t| t.to_string()).unwrap_or_default()),
                Cell::new(
                    "finished",
                    a.finished.map(Timestamp::format).unwrap_or_default(),
                ),
                Cell::new("outcome", a.outcome.raw()),
                Cell::new("errortype", a.error_type.clone().unwrap_or_default()),
                Cell::new("errormsg", a.error_message.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Ok(Reply::unpaged(rows))
}

/// `errorhistory.showlog`: the log of the attempt in `elid`.
pub(super) async fn show_log(call: &Call<'_>, actor: &Actor) -> Outcome {
    let (a, log) = call
        .services
        .get_attempt_log(actor, call.elid()?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::form(vec![
        Cell::new("elid", a.id.to_string()),
        Cell::new("runningoperation", a.operation_id.to_string()),
        Cell::new("createdate", a.createdate.format()),
        Cell::new("outcome", a.outcome.raw()),
        Cell::new("errortype", a.error_type.unwrap_or_default()),
        Cell::new("errormsg", a.error_message.unwrap_or_default()),
        Cell::new("log", log),
    ]))
}
