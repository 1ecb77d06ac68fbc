//! `runningoperation` itself: the list, the edit form, the group actions (delete, start, stop,
//! create a task), and the list's ways out (`setfilter`, `runningoperationgotoserver`).

use app::service::filter::{FilterChoice, ListView};
use app::service::Actor;
use app::types::{FieldReason, OperationInput, SortColumn, SortOrder};

use super::filter::{intname_slist, read_filter};
use super::{bad_value, fail, on_off, Call, Func, Outcome};
use crate::billmgr::reply::{Cell, ErrorReply, Paging, Reply};

/// `runningoperation`: one page; `filter=on` with filter fields saves the filter and applies it.
pub(super) async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let choice = if call.params.non_empty("filter") == Some("on") {
        FilterChoice::SaveAndUse(read_filter(call)?)
    } else {
        FilterChoice::Saved
    };
    let sort = match call.params.non_empty("p_sort") {
        None => SortColumn::Id,
        Some(raw) => SortColumn::parse(raw)
            .ok_or_else(|| bad_value(lang, "p_sort", raw, FieldReason::Unknown))?,
    };
    let order = match call.params.non_empty("p_order") {
        None => SortOrder::Asc,
        Some(raw) => SortOrder::parse(raw)
            .ok_or_else(|| bad_value(lang, "p_order", raw, FieldReason::Unknown))?,
    };
    let positive = |name: &str, default: u32| -> Result<u32, ErrorReply> {
        match call.params.non_empty(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(bad_value(lang, name, raw, FieldReason::BelowOne)),
            },
        }
    };
    let view = ListView {
        sort,
        order,
        page: positive("p_num", 1)?,
        // Scripts that do not page get everything up to the largest page.
        page_size: positive("p_cnt", app::types::page::MAX_PAGE_SIZE)?,
        // Scripts page by number (`p_num`).
        seek: None,
    };
    let page = svc
        .list_operations_filtered(actor, choice, view.clone())
        .await
        .map_err(fail(lang))?;
    let rows = page
        .rows
        .iter()
        .map(|r| {
            vec![
                Cell::new("id", r.id.to_string()),
                Cell::new("desc", r.desc(lang)),
                Cell::new("item", r.item_name.clone()),
                Cell::new("item_id", r.item_id.to_string()),
                Cell::new("itemtype", r.itemtype.clone()),
                Cell::new("client", r.client_name.clone()),
                Cell::new("client_id", r.client_id.to_string()),
                Cell::new("cdate", r.cdate.format()),
                Cell::new("trycount", r.trycount.to_string()),
                Cell::new("processingmodule", r.module_name.clone()),
                Cell::new("processingmodule_id", r.module_id.to_string()),
                Cell::new("task", r.task_id.map(|t| t.to_string()).unwrap_or_default()),
                Cell::with_orig("status", r.status.label(lang), r.status.raw()),
                Cell::new("manual", on_off(r.manual)),
            ]
        })
        .collect();
    Ok(Reply::List {
        rows,
        paging: Some(Paging {
            elems: page.total,
            exact: page.total_exact,
            num: page.page,
            cnt: page.page_size,
            sort: view.sort.name().to_owned(),
            order: view.order.name().to_owned(),
        }),
    })
}

/// `runningoperation.edit`: without `sok` the form (of `elid`, or a new one); with `sok` a
/// change (with `elid`) or a creation.
pub(super) async fn edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let elid = call.number("elid")?;
    if !call.params.is_set("sok") {
        let fields = match elid {
            Some(id) => {
                let f = svc
                    .get_operation_form(actor, id)
                    .await
                    .map_err(fail(lang))?;
                vec![
                    Cell::new("elid", f.id.to_string()),
                    Cell::new("intname", f.intname.raw()),
                    Cell::new("item", f.item_id.to_string()),
                    Cell::new("trycount", f.trycount.to_string()),
                    Cell::new("cdate", f.cdate.format()),
                    Cell::new("manual", on_off(f.manual)),
                    Cell::new("comment", f.comment),
                    Cell::with_orig("status", f.status.label(lang), f.status.raw()),
                ]
            }
            None => {
                let blank = svc.new_operation_form(actor).await.map_err(fail(lang))?;
                [
                    ("intname", blank.intname),
                    ("item", blank.item),
                    ("trycount", blank.trycount),
                    ("cdate", blank.cdate),
                    ("manual", blank.manual),
                    ("comment", blank.comment),
                ]
                .into_iter()
                .map(|(name, value)| Cell::new(name, value.unwrap_or_default()))
                .collect()
            }
        };
        return Ok(Reply::Form {
            fields,
            slists: vec![intname_slist(lang)],
        });
    }
    let p = call.params;
    let input = OperationInput {
        intname: p.get("intname").map(str::to_owned),
        item: p.get("item").map(str::to_owned),
        trycount: p.get("trycount").map(str::to_owned),
        cdate: p.get("cdate").map(str::to_owned),
        manual: p.get("manual").map(str::to_owned),
        comment: p.get("comment").map(str::to_owned),
    };
    match elid {
        Some(id) => {
            svc.change_operation(actor, id, &input)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let id = svc
                .create_operation(actor, &input)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::created(id))
        }
    }
}

/// `runningoperation.delete`, `.start`, `.stop`, `.taskcreate` on the operations in `elid`;
/// the first operation refused is the answer.
pub(super) async fn act(func: Func, call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let ids = call.elid_list()?;
    let outcome = match func {
        Func::Delete => svc.delete_operations(actor, &ids).await,
        Func::Start => svc.start_operations(actor, &ids).await,
        Func::Stop => svc.stop_operations(actor, &ids).await,
        _ => svc.create_tasks(actor, &ids).await,
    };
    outcome
        .and_then(|group| group.into_first_error())
        .map_err(fail(call.lang))?;
    Ok(Reply::ok())
}

/// `runningoperation.setfilter`: the list, filtered to the client of the operation in `elid`.
pub(super) async fn set_filter(call: &Call<'_>, actor: &Actor) -> Outcome {
    call.services
        .filter_by_operation_client(actor, call.elid()?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::redirect("list", "func=runningoperation".into()))
}

/// `runningoperationgotoserver`: the panel of the module that runs the operation in `elid`.
pub(super) async fn goto_server(call: &Call<'_>, actor: &Actor) -> Outcome {
    let url = call
        .services
        .module_panel_url(actor, call.elid()?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::redirect("blank", url))
}
