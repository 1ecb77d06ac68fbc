//! `runningoperation.failures`: the failure groups, for scripts and monitoring, and
//! `.failures.start`, `.failures.stop` and `.failures.taskcreate` on the groups in `elid`.

use app::service::Actor;
use app::types::failure::FailureAction;
use app::types::FieldReason;

use super::{bad_value, fail, Call, Outcome};
use crate::billmgr::reply::{Cell, Paging, Reply};

/// `runningoperation.failures`: every group with current operations, most operations first.
pub(super) async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let groups = call
        .services
        .failure_groups(actor)
        .await
        .map_err(fail(call.lang))?;
    let rows = groups
        .into_iter()
        .map(|g| {
            vec![
                Cell::new("id", g.key),
                Cell::new("module", g.module_name),
                Cell::new("module_id", g.module_id.to_string()),
                Cell::new("errortype", g.error_type),
                Cell::new("message", g.template),
                Cell::new("sample", g.sample),
                Cell::new("count", g.operations.to_string()),
                Cell::new("clients", g.clients.to_string()),
                Cell::new("firstseen", g.first_seen.format()),
                Cell::new("lastseen", g.last_seen.format()),
                Cell::new("task", g.task_id.map(|t| t.to_string()).unwrap_or_default()),
            ]
        })
        .collect::<Vec<_>>();
    // One page, in the order it is kept: most operations first.
    Ok(Reply::List {
        paging: Some(Paging {
            elems: rows.len() as u64,
            exact: true,
            num: 1,
            cnt: rows.len() as u32,
            sort: "count".into(),
            order: "desc".into(),
        }),
        rows,
    })
}

/// `runningoperation.failures.<action>` on the groups in `elid` (`", "` lists): the answer
/// says how many operations changed, how many were left and why, and the group's task.
pub(super) async fn act(call: &Call<'_>, actor: &Actor, action: FailureAction) -> Outcome {
    let raw = call.required("elid")?;
    let keys: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    if keys.is_empty() || keys.len() > 100 {
        return Err(bad_value(call.lang, "elid", raw, FieldReason::Unknown));
    }
    let summary = call
        .services
        .act_on_failure_groups(actor, &keys, action)
        .await
        .map_err(fail(call.lang))?;
    let skipped = summary
        .skipped
        .iter()
        .map(|(reason, n)| format!("{reason}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut extra = vec![
        Cell::new("done", summary.done.to_string()),
        Cell::new("skipped", skipped),
    ];
    if let Some(task) = summary.task_id {
        extra.push(Cell::new("task", task.to_string()));
    }
    Ok(Reply::Ok {
        redirect: None,
        extra,
    })
}
