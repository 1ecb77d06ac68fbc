//! The journal page: who did what to which object, when; newest first, narrowed by user, kind
//! of object, one object, and time; paged by row id (each page a short index walk, however long
//! the journal). Admins only, as the journal's export.

use super::{internal, Actor, Denied, Services};
use crate::store::{JournalFilter, JournalRow, StoreError};
use crate::types::journal::{object_href, JournalForm, JournalLine, JournalPage, OperationHistory};
use crate::types::{AppError, FieldError, FieldReason, Timestamp};

/// Rows a page shows.
pub const JOURNAL_PAGE_ROWS: u32 = 50;
/// The longest user or object name a filter takes.
const MAX_NAME_CHARS: usize = 100;

/// Why the journal could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("invalid journal filter")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<JournalError> for AppError {
    fn from(error: JournalError) -> AppError {
        match error {
            JournalError::Invalid(fields) => AppError::Value { fields },
            JournalError::Denied(_) => AppError::Access,
            JournalError::Store(e) => internal(&e),
        }
    }
}

/// The filter a form says, or every field it got wrong.
fn parse(form: &JournalForm) -> Result<JournalFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut text = |field: &str, value: &str| {
        let value = value.trim();
        if value.chars().count() > MAX_NAME_CHARS {
            errors.push(FieldError::new(
                field,
                "",
                FieldReason::TooLong(MAX_NAME_CHARS),
            ));
            None
        } else {
            (!value.is_empty()).then(|| value.to_owned())
        }
    };
    let user = text("user", &form.user);
    let object = text("object", &form.object);
    let mut number = |field: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        match value.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                errors.push(FieldError::new(field, value, FieldReason::NotANumber));
                None
            }
        }
    };
    let object_id = number("id", &form.id);
    let before = number("before", &form.before);
    let mut time = |field: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let parsed = Timestamp::parse(value);
        if parsed.is_none() {
            errors.push(FieldError::new(field, value, FieldReason::BadDate));
        }
        parsed
    };
    let from = time("from", &form.from);
    // "To" a day, a minute or a second takes all of it.
    let to = time("to", &form.to).map(|t| {
        let typed = form.to.trim();
        let rest = match typed.len() {
            10 => 86_400_000 - 1,
            16 => 60_000 - 1,
            19 => 999,
            _ => 0,
        };
        Timestamp(t.0 + rest)
    });
    if errors.is_empty() {
        Ok(JournalFilter {
            user,
            object,
            object_id,
            from,
            to,
            before,
        })
    } else {
        Err(errors)
    }
}

/// A stored journal row as the pages show it; `linked`: with a link to its object's page.
fn line(row: JournalRow, linked: bool) -> JournalLine {
    JournalLine {
        href: if linked {
            object_href(&row.object, row.object_id)
        } else {
            None
        },
        id: row.id,
        at: row.at,
        user: row.user_name,
        action: row.action,
        object: row.object,
        object_id: row.object_id,
        detail: row.detail,
    }
}

impl Services {
    /// Operation `operation_id`'s attempts and the journal rows about it; staff only.
    pub async fn operation_history(
        &self,
        actor: &Actor,
        operation_id: i64,
    ) -> Result<OperationHistory, super::OperationError> {
        let attempts = self.list_attempts(actor, operation_id).await?;
        let journal = self
            .store
            .list_journal("runningoperation", operation_id)
            .await?
            .into_iter()
            .map(|row| line(row, false))
            .collect();
        Ok(OperationHistory { attempts, journal })
    }

    /// A page of the journal as `form` narrows it; admins only.
    pub async fn journal_page(
        &self,
        actor: &Actor,
        form: JournalForm,
    ) -> Result<JournalPage, JournalError> {
        actor.require_admin()?;
        let filter = parse(&form).map_err(JournalError::Invalid)?;
        let mut rows = self
            .store
            .journal_page(&filter, JOURNAL_PAGE_ROWS + 1)
            .await?;
        let more = rows.len() > JOURNAL_PAGE_ROWS as usize;
        rows.truncate(JOURNAL_PAGE_ROWS as usize);
        let next = if more {
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok(JournalPage {
            form,
            rows: rows.into_iter().map(|row| line(row, true)).collect(),
            next,
            now: self.now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_field_of_a_journal_filter_is_named() {
        let form = JournalForm {
            user: "x".repeat(101),
            id: "seven".into(),
            from: "yesterday".into(),
            before: "-3".into(),
            ..JournalForm::default()
        };
        let fields: Vec<(String, FieldReason)> = parse(&form)
            .expect_err("wrong")
            .into_iter()
            .map(|f| (f.field, f.reason))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("user".into(), FieldReason::TooLong(100)),
                ("id".into(), FieldReason::NotANumber),
                ("before".into(), FieldReason::NotANumber),
                ("from".into(), FieldReason::BadDate),
            ]
        );
        let fine = JournalForm {
            user: " admin ".into(),
            from: "2026-12-01 00:00:00".into(),
            ..JournalForm::default()
        };
        let filter = parse(&fine).expect("fine");
        assert_eq!(filter.user.as_deref(), Some("admin"));
        let day = JournalForm {
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..JournalForm::default()
        };
        let whole_day = parse(&day).expect("a day");
        assert_eq!(
            whole_day.to.unwrap().0 - whole_day.from.unwrap().0,
            86_400_000 - 1,
            "to a day takes all of it"
        );
        assert!(filter.from.is_some() && filter.to.is_none() && filter.object.is_none());
    }
}
