//! Current operations (`runningoperation`): the list, the edit form (view, create, change),
//! the group actions (start, stop, delete, taskcreate), the error history and its logs, the
//! filter by a row's client, the module's panel, and `su` to the operation's client.

use super::{
    internal, is_unique_violation, too_long, Actor, AuthError, Denied, Services, SessionToken,
};
use crate::store::{OperationFields, OperationRecord, StoreError};
use crate::types::bulk::BulkAction;
use crate::types::page::Seek;
use crate::types::{
    AppError, AttemptRow, Conflict, FieldError, FieldReason, Intname, ListQuery, OperationFilter,
    OperationForm, OperationInput, OperationRow, OperationState, Page, Status, TaskKind,
};

/// Longest staff comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// Totals are counted no further than this many rows past the end of the page shown, so that
/// a page of a huge list never counts the whole table.
pub const COUNT_BOUND: u64 = 1_000;

/// Why an operation function failed.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// No current operation with this id.
    #[error("operation {0} not found")]
    NotFound(i64),
    /// No history row (attempt) with this id.
    #[error("history row {0} not found")]
    AttemptNotFound(i64),
    /// Fields were refused.
    #[error("invalid operation fields")]
    Invalid(Vec<FieldError>),
    /// The change does not fit the operation's state.
    #[error("operation {id}: {reason:?}")]
    Conflict { id: i64, reason: Conflict },
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OperationError> for AppError {
    fn from(error: OperationError) -> AppError {
        match error {
            OperationError::NotFound(id) | OperationError::AttemptNotFound(id) => {
                AppError::Missed {
                    object: "elid".into(),
                    value: id.to_string(),
                }
            }
            OperationError::Invalid(fields) => AppError::Value { fields },
            OperationError::Conflict { id, reason } => AppError::Exists {
                object: "elid".into(),
                value: id.to_string(),
                reason,
            },
            OperationError::Denied(_) => AppError::Access,
            OperationError::Auth(e) => e.into(),
            OperationError::Store(e) => internal(&e),
        }
    }
}

/// What a group function (`elid` list) did to each id, in the order given.
#[derive(Debug)]
pub struct GroupOutcome {
    pub results: Vec<(i64, Result<(), OperationError>)>,
}

impl GroupOutcome {
    /// True when every id succeeded.
    pub fn all_ok(&self) -> bool {
        self.results.iter().all(|(_, r)| r.is_ok())
    }

    /// The first failure, for callers that report one error (the legacy API).
    pub fn into_first_error(self) -> Result<(), OperationError> {
        self.results
            .into_iter()
            .find_map(|(_, r)| r.err())
            .map_or(Ok(()), Err)
    }
}

/// Why `action` may not be done to the current operation `op` (of a module that is on when
/// `module_on`), or `None` when it may: the rule of a row's buttons, the legacy group
/// functions and bulk jobs alike. Stopping is always allowed.
pub(crate) fn refusal(
    action: BulkAction,
    op: &OperationRecord,
    module_on: bool,
) -> Option<Conflict> {
    let running = op.state == OperationState::Running;
    match action {
        BulkAction::Start if running => Some(Conflict::Running),
        BulkAction::Start if !module_on => Some(Conflict::ModuleOff),
        BulkAction::Delete if running => Some(Conflict::Running),
        BulkAction::TaskCreate if op.task_id.is_some() => Some(Conflict::HasTask),
        _ => None,
    }
}

/// Reads `on`/`off` (and an empty value as off), BILLmanager's check-box encoding.
fn parse_switch(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
    match raw.trim() {
        "on" | "yes" => Some(true),
        "off" | "no" | "" => Some(false),
        other => {
            errors.push(FieldError::new(field, other, FieldReason::BadSwitch));
            None
        }
    }
}

impl Services {
    /// Loads an operation that is still current (waiting, running or failed).
    async fn current_operation(&self, id: i64) -> Result<OperationRecord, OperationError> {
        match self.store.get_operation(id).await? {
            Some(op) if op.state.is_active() => Ok(op),
            _ => Err(OperationError::NotFound(id)),
        }
    }

    /// One page of current operations (`runningoperation`), with the number matched (bounded
    /// by [`COUNT_BOUND`]).
    pub async fn list_operations(
        &self,
        actor: &Actor,
        query: ListQuery,
    ) -> Result<Page<OperationRow>, OperationError> {
        actor.require_staff()?;
        let query = query.clamped();
        let bound = query.offset() + u64::from(query.page_size) + COUNT_BOUND;
        let (rows, counted) = self.store.page_operations(&query, bound).await?;
        // A page read from a seek counts from the seek on, and takes the pages before it as
        // full (they were, as the pager came by them); read backwards, its own rows come
        // before the seek.
        let backwards = query.backwards();
        let total = match &query.seek {
            Some(_) if backwards => query.rows_before() + rows.len() as u64 + counted,
            Some(_) => query.rows_before() + counted,
            None => counted,
        };
        let seek = |row: Option<&OperationRow>, after: bool| {
            row.map(|row| Seek::at(row, query.sort, after).token())
        };
        // Read backwards, the page it came from follows it, however short this one is.
        let next =
            seek(rows.last(), true).filter(|_| backwards || rows.len() == query.page_size as usize);
        // Back to the first page by its number: it is where the list starts, even if rows
        // came before the one it showed.
        let previous = seek(rows.first(), false).filter(|_| query.page > 2);
        Ok(Page {
            rows,
            total,
            total_exact: counted < bound,
            page: query.page,
            page_size: query.page_size,
            next,
            previous,
            now: self.clock.now(),
        })
    }

    /// The edit form of one operation (`runningoperation.edit` without `sok`).
    pub async fn get_operation_form(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<OperationForm, OperationError> {
        actor.require_staff()?;
        let op = self.current_operation(id).await?;
        let status = status_of(&op);
        Ok(OperationForm {
            id: op.id,
            intname: op.fields.intname,
            item_id: op.fields.item_id,
            trycount: op.fields.trycount,
            cdate: op.fields.cdate,
            manual: op.fields.manual,
            comment: op.fields.comment,
            status,
        })
    }

    /// The form of a new operation (`runningoperation.edit` without `elid`): the values a
    /// creation takes when a field is not sent.
    pub async fn new_operation_form(
        &self,
        actor: &Actor,
    ) -> Result<OperationInput, OperationError> {
        actor.require_staff()?;
        Ok(OperationInput {
            intname: Some(String::new()),
            item: Some(String::new()),
            trycount: Some("0".into()),
            cdate: Some(self.now().format()),
            manual: Some("off".into()),
            comment: Some(String::new()),
        })
    }

    /// Validates submitted fields over `base` (the current values, or the defaults on create).
    async fn validate_fields(
        &self,
        input: &OperationInput,
        base: Option<&OperationFields>,
    ) -> Result<OperationFields, OperationError> {
        let mut errors = Vec::new();
        let intname = match input.intname.as_deref().map(str::trim) {
            Some("") | None => {
                if base.is_none() {
                    errors.push(FieldError::new("intname", "", FieldReason::Required));
                }
                base.map(|b| b.intname)
            }
            Some(raw) => Intname::parse(raw).or_else(|| {
                errors.push(FieldError::new("intname", raw, FieldReason::Unknown));
                None
            }),
        };
        let item = match input.item.as_deref().map(str::trim) {
            Some("") | None => {
                if base.is_none() {
                    errors.push(FieldError::new("item", "", FieldReason::Required));
                }
                None
            }
            Some(raw) => match raw.parse::<i64>() {
                Err(_) => {
                    errors.push(FieldError::new("item", raw, FieldReason::NotANumber));
                    None
                }
                Ok(id) => match self.store.get_item(id).await? {
                    Some(item) => Some(item),
                    None => {
                        errors.push(FieldError::new("item", raw, FieldReason::NotFound));
                        None
                    }
                },
            },
        };
        let trycount = match input.trycount.as_deref().map(str::trim) {
            Some("") | None => Some(base.map_or(0, |b| b.trycount)),
            Some(raw) => match raw.parse::<i64>() {
                Err(_) => {
                    errors.push(FieldError::new("trycount", raw, FieldReason::NotANumber));
                    None
                }
                Ok(n) if n < 0 => {
                    errors.push(FieldError::new("trycount", raw, FieldReason::Negative));
                    None
                }
                Ok(n) => Some(n),
            },
        };
        let cdate = match input.cdate.as_deref().map(str::trim) {
            Some("") | None => Some(base.map_or_else(|| self.now(), |b| b.cdate)),
            Some(raw) => crate::types::Timestamp::parse(raw).or_else(|| {
                errors.push(FieldError::new("cdate", raw, FieldReason::BadDate));
                None
            }),
        };
        let manual = match input.manual.as_deref() {
            None => Some(base.is_some_and(|b| b.manual)),
            Some(raw) => parse_switch("manual", raw, &mut errors),
        };
        let comment = match input.comment.as_deref() {
            None => base.map_or_else(String::new, |b| b.comment.clone()),
            Some(text) => {
                if too_long(text, MAX_COMMENT_CHARS) {
                    errors.push(FieldError::new(
                        "comment",
                        "",
                        FieldReason::TooLong(MAX_COMMENT_CHARS),
                    ));
                }
                text.to_owned()
            }
        };
        if !errors.is_empty() {
            return Err(OperationError::Invalid(errors));
        }
        let (Some(intname), Some(trycount), Some(cdate), Some(manual)) =
            (intname, trycount, cdate, manual)
        else {
            return Err(OperationError::Invalid(Vec::new()));
        };
        let (item_id, client_id, module_id, itemtype) = match (item, base) {
            (Some(item), _) => (item.id, item.client_id, item.module_id, item.itemtype),
            (None, Some(b)) => (b.item_id, b.client_id, b.module_id, b.itemtype.clone()),
            (None, None) => return Err(OperationError::Invalid(Vec::new())),
        };
        Ok(OperationFields {
            intname,
            item_id,
            client_id,
            module_id,
            itemtype,
            cdate,
            trycount,
            manual,
            comment,
        })
    }

    /// Creates an operation (`runningoperation.edit` with `sok` and no `elid`); returns its id.
    pub async fn create_operation(
        &self,
        actor: &Actor,
        input: &OperationInput,
    ) -> Result<i64, OperationError> {
        actor.require_admin()?;
        let fields = self.validate_fields(input, None).await?;
        let entry = self.journal(
            actor,
            "runningoperation.edit",
            "runningoperation",
            None,
            format!("create {} on item {}", fields.intname.raw(), fields.item_id),
        );
        let id = self
            .store
            .insert_operation(&fields, OperationState::Waiting, self.now(), &entry)
            .await
            .map_err(|e| conflict_on_unique(e, fields.item_id))?;
        self.publish(&[id]).await;
        Ok(id)
    }

    /// Changes an operation (`runningoperation.edit` with `sok` and `elid`). The type and the
    /// service of a running operation cannot change.
    pub async fn change_operation(
        &self,
        actor: &Actor,
        id: i64,
        input: &OperationInput,
    ) -> Result<(), OperationError> {
        actor.require_admin()?;
        let op = self.current_operation(id).await?;
        let fields = self.validate_fields(input, Some(&op.fields)).await?;
        if op.state == OperationState::Running
            && (fields.intname != op.fields.intname || fields.item_id != op.fields.item_id)
        {
            return Err(OperationError::Conflict {
                id,
                reason: Conflict::Running,
            });
        }
        let entry = self.journal(
            actor,
            "runningoperation.edit",
            "runningoperation",
            Some(id),
            change_detail(&op.fields, &fields),
        );
        match self.store.update_operation(id, &fields, &entry).await {
            Ok(true) => {
                self.publish(&[id]).await;
                Ok(())
            }
            Ok(false) => Err(OperationError::NotFound(id)),
            Err(e) => Err(conflict_on_unique(e, id)),
        }
    }

    /// Runs `one` for each id, collecting what happened to each.
    async fn for_each<'a, F, Fut>(
        &'a self,
        actor: &Actor,
        ids: &[i64],
        one: F,
    ) -> Result<GroupOutcome, OperationError>
    where
        F: Fn(i64) -> Fut,
        Fut: std::future::Future<Output = Result<(), OperationError>> + 'a,
    {
        actor.require_admin()?;
        let mut results = Vec::with_capacity(ids.len());
        for &id in ids {
            results.push((id, one(id).await));
        }
        let changed: Vec<i64> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|(id, _)| *id)
            .collect();
        if !changed.is_empty() {
            self.publish(&changed).await;
        }
        Ok(GroupOutcome { results })
    }

    /// Asks for each operation to run now, even if manual (`runningoperation.start`).
    pub async fn start_operations(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<GroupOutcome, OperationError> {
        self.for_each(actor, ids, |id| async move {
            let op = self.current_operation(id).await?;
            let module_on = self
                .store
                .get_module(op.fields.module_id)
                .await?
                .is_some_and(|m| m.enabled);
            if let Some(reason) = refusal(BulkAction::Start, &op, module_on) {
                return Err(OperationError::Conflict { id, reason });
            }
            let entry = self.journal(
                actor,
                "runningoperation.start",
                "runningoperation",
                Some(id),
                String::new(),
            );
            if self.store.request_start(id, self.now(), &entry).await? {
                Ok(())
            } else {
                Err(OperationError::Conflict {
                    id,
                    reason: Conflict::Running,
                })
            }
        })
        .await
    }

    /// Stops each operation: automatic restarts off, and a running module terminated by its
    /// worker (`runningoperation.stop`).
    pub async fn stop_operations(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<GroupOutcome, OperationError> {
        self.for_each(actor, ids, |id| async move {
            self.current_operation(id).await?;
            let entry = self.journal(
                actor,
                "runningoperation.stop",
                "runningoperation",
                Some(id),
                String::new(),
            );
            if self.store.request_stop(id, self.now(), &entry).await? {
                Ok(())
            } else {
                Err(OperationError::NotFound(id))
            }
        })
        .await
    }

    /// Takes each operation off the current list; a running one must be stopped first
    /// (`runningoperation.delete`). Its history stays.
    pub async fn delete_operations(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<GroupOutcome, OperationError> {
        self.for_each(actor, ids, |id| async move {
            let op = self.current_operation(id).await?;
            if let Some(reason) = refusal(BulkAction::Delete, &op, true) {
                return Err(OperationError::Conflict { id, reason });
            }
            let entry = self.journal(
                actor,
                "runningoperation.delete",
                "runningoperation",
                Some(id),
                String::new(),
            );
            if self.store.delete_operation(id, self.now(), &entry).await? {
                Ok(())
            } else {
                Err(OperationError::Conflict {
                    id,
                    reason: Conflict::Running,
                })
            }
        })
        .await
    }

    /// Opens an employee task for each operation that has none (`runningoperation.taskcreate`).
    pub async fn create_tasks(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<GroupOutcome, OperationError> {
        self.for_each(actor, ids, |id| async move {
            let op = self.current_operation(id).await?;
            if let Some(reason) = refusal(BulkAction::TaskCreate, &op, true) {
                return Err(OperationError::Conflict { id, reason });
            }
            let kind = TaskKind::for_operation(op.fields.intname);
            let entry = self.journal(
                actor,
                "runningoperation.taskcreate",
                "runningoperation",
                Some(id),
                format!("task {}", kind.raw()),
            );
            match self
                .store
                .create_task(id, kind, &op.fields.comment, self.now(), &entry)
                .await?
            {
                Some(_) => Ok(()),
                None => Err(OperationError::Conflict {
                    id,
                    reason: Conflict::HasTask,
                }),
            }
        })
        .await
    }

    /// The runs of an operation, oldest first (`runningoperation.errorhistory`). Finished
    /// operations keep their history too.
    pub async fn list_attempts(
        &self,
        actor: &Actor,
        operation_id: i64,
    ) -> Result<Vec<AttemptRow>, OperationError> {
        actor.require_staff()?;
        if self.store.get_operation(operation_id).await?.is_none() {
            return Err(OperationError::NotFound(operation_id));
        }
        Ok(self.store.list_attempts(operation_id).await?)
    }

    /// One history row and its log, secrets already masked (`errorhistory.showlog`).
    pub async fn get_attempt_log(
        &self,
        actor: &Actor,
        attempt_id: i64,
    ) -> Result<(AttemptRow, String), OperationError> {
        actor.require_staff()?;
        self.store
            .get_attempt(attempt_id)
            .await?
            .ok_or(OperationError::AttemptNotFound(attempt_id))
    }

    /// Sets the caller's saved filter to the operation's client (`runningoperation.setfilter`)
    /// and returns it.
    pub async fn filter_by_operation_client(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<OperationFilter, OperationError> {
        actor.require_staff()?;
        let op = self.current_operation(id).await?;
        let filter = OperationFilter {
            client: Some(op.fields.client_id),
            ..OperationFilter::default()
        };
        self.save_operation_filter(actor, &filter).await?;
        Ok(filter)
    }

    /// The panel URL of the operation's processing module (`runningoperationgotoserver`).
    pub async fn module_panel_url(&self, actor: &Actor, id: i64) -> Result<String, OperationError> {
        actor.require_staff()?;
        let op = self.current_operation(id).await?;
        self.store
            .get_module(op.fields.module_id)
            .await?
            .and_then(|m| m.panel_url)
            .ok_or(OperationError::Conflict {
                id,
                reason: Conflict::NoPanel,
            })
    }

    /// Opens a session as the operation's client, linked to the admin's session
    /// (`runningoperation.su`).
    pub async fn su_to_operation_client(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<SessionToken, OperationError> {
        actor.require_admin()?;
        let op = self.current_operation(id).await?;
        let token = self.open_client_session(actor, op.fields.client_id).await?;
        let detail = format!("su to client {}", op.fields.client_id);
        self.store
            .insert_journal(&self.journal(
                actor,
                "runningoperation.su",
                "runningoperation",
                Some(id),
                detail,
            ))
            .await?;
        Ok(token)
    }

    /// The client area of a `user`-level session: the client, its services and their pending
    /// operations.
    pub async fn client_area(
        &self,
        actor: &Actor,
    ) -> Result<crate::types::ClientArea, OperationError> {
        let client_id = actor.client_id.ok_or(Denied)?;
        let client = self
            .store
            .get_client(client_id)
            .await?
            .ok_or(OperationError::NotFound(client_id))?;
        Ok(crate::types::ClientArea {
            client,
            items: self.store.list_items(Some(client_id)).await?,
            operations: self.list_client_operations(actor).await?,
            can_return: actor.parent_hash.is_some(),
            lang: actor.lang,
        })
    }

    /// A client's view: the operations pending on its own services (for an `su` session).
    pub async fn list_client_operations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<OperationRow>, OperationError> {
        let client = actor.client_id.ok_or(Denied)?;
        let query = ListQuery {
            filter: OperationFilter {
                client: Some(client),
                ..OperationFilter::default()
            },
            page_size: crate::types::page::MAX_PAGE_SIZE,
            ..ListQuery::default()
        };
        Ok(self.store.list_operations(&query).await?)
    }
}

/// A unique violation on an operation write means its service already has an active operation.
fn conflict_on_unique(error: StoreError, id: i64) -> OperationError {
    if is_unique_violation(&error) {
        OperationError::Conflict {
            id,
            reason: Conflict::ActiveOperation,
        }
    } else {
        OperationError::Store(error)
    }
}

/// The status people see, from the queue state and `manual`.
fn status_of(op: &OperationRecord) -> Status {
    Status::of(op.state, op.fields.manual)
}

/// What a change altered, for the journal.
fn change_detail(old: &OperationFields, new: &OperationFields) -> String {
    let mut parts = Vec::new();
    if old.intname != new.intname {
        parts.push(format!(
            "intname {} -> {}",
            old.intname.raw(),
            new.intname.raw()
        ));
    }
    if old.item_id != new.item_id {
        parts.push(format!("item {} -> {}", old.item_id, new.item_id));
    }
    if old.trycount != new.trycount {
        parts.push(format!("trycount {} -> {}", old.trycount, new.trycount));
    }
    if old.cdate != new.cdate {
        parts.push(format!(
            "cdate {} -> {}",
            old.cdate.format(),
            new.cdate.format()
        ));
    }
    if old.manual != new.manual {
        parts.push(format!("manual {} -> {}", old.manual, new.manual));
    }
    if old.comment != new.comment {
        parts.push("comment".to_owned());
    }
    parts.join(", ")
}
