//! `runningoperation.filter`: the list's saved filter, read as a form or saved; and the filter
//! fields and select lists that the list and the edit form share.

use app::service::Actor;
use app::types::{AppError, FilterForm, Intname, Lang, OperationFilter, Status};

use super::{fail, Call, Outcome};
use crate::billmgr::reply::{Cell, ErrorReply, Reply, Slist};

/// `runningoperation.filter`: with `sok` saves the filter, without it shows the saved one.
pub(super) async fn filter(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    if call.params.is_set("sok") {
        let filter = read_filter(call)?;
        svc.save_operation_filter(actor, &filter)
            .await
            .map_err(fail(lang))?;
        Ok(Reply::ok())
    } else {
        let filter = svc.load_operation_filter(actor).await.map_err(fail(lang))?;
        Ok(Reply::Form {
            fields: filter_fields(&filter),
            slists: filter_slists(lang),
        })
    }
}

/// The filter fields of the list, as the API names them; every wrong one is named.
pub(super) fn read_filter(call: &Call<'_>) -> Result<OperationFilter, ErrorReply> {
    FilterForm::from_fields(|name| call.params.get(name))
        .parse()
        .map_err(|fields| ErrorReply::from_app(&AppError::Value { fields }, call.lang))
}

fn filter_fields(f: &OperationFilter) -> Vec<Cell> {
    FilterForm::of(f)
        .fields()
        .into_iter()
        .map(|(name, value)| Cell::new(name, value))
        .collect()
}

/// The kinds of operation, for the filter and the edit form.
pub(super) fn intname_slist(lang: Lang) -> Slist {
    Slist {
        name: "intname".into(),
        options: Intname::ALL
            .iter()
            .map(|i| (i.raw().to_owned(), i.label(lang).to_owned()))
            .collect(),
    }
}

fn filter_slists(lang: Lang) -> Vec<Slist> {
    vec![
        intname_slist(lang),
        Slist {
            name: "status".into(),
            options: Status::ALL
                .iter()
                .map(|s| (s.raw().to_owned(), s.label(lang).to_owned()))
                .collect(),
        },
    ]
}
