//! Users: adding one (an employee, or a client's user), and why that can fail.

use super::MIN_PASSWORD_CHARS;
use crate::service::{internal, is_unique_violation, too_long, Actor, Denied, Services};
use crate::store::{StoreError, UserRecord};
use crate::types::{AppError, FieldError, FieldReason, Level};

/// Why a user could not be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no user {0}")]
    NotFound(String),
    /// Every turn to hash a password was taken for longer than the throttle waits.
    #[error("too many password checks at once")]
    Busy,
    #[error("invalid user fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserError> for AppError {
    fn from(error: UserError) -> AppError {
        match error {
            UserError::NotFound(name) => AppError::Missed {
                object: "user".into(),
                value: name,
            },
            UserError::Invalid(fields) => AppError::Value { fields },
            UserError::Busy => AppError::Throttled,
            UserError::Denied(_) => AppError::Access,
            UserError::Store(e) => internal(&e),
        }
    }
}

impl Services {
    /// Adds a user. Employees (`admin`, `readonly`) have no client; a `user` belongs to one.
    pub async fn add_user(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
        level: Level,
        client_id: Option<i64>,
    ) -> Result<i64, UserError> {
        actor.require_admin()?;
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(FieldError::new("name", name, FieldReason::Required));
        } else if too_long(name, 100) {
            errors.push(FieldError::new("name", name, FieldReason::TooLong(100)));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            errors.push(FieldError::new(
                "password",
                "",
                FieldReason::TooShort(MIN_PASSWORD_CHARS),
            ));
        }
        match (level, client_id) {
            (Level::User, None) => {
                errors.push(FieldError::new("client", "", FieldReason::Required))
            }
            (Level::User, Some(id)) if self.store.get_client(id).await?.is_none() => {
                errors.push(FieldError::new(
                    "client",
                    &id.to_string(),
                    FieldReason::NotFound,
                ));
            }
            (Level::Admin | Level::Readonly, Some(id)) => {
                errors.push(FieldError::new(
                    "client",
                    &id.to_string(),
                    FieldReason::Unknown,
                ));
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(UserError::Invalid(errors));
        }
        let user = UserRecord {
            id: 0,
            name: name.to_owned(),
            password_hash: self.hashed(password).await?,
            level,
            client_id,
            lang: None,
        };
        let entry = self.journal(
            actor,
            "user.edit",
            "user",
            None,
            format!("add {name} ({})", level.raw()),
        );
        self.store
            .insert_user(&user, self.now(), &entry)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    UserError::Invalid(vec![FieldError::new("name", name, FieldReason::Taken)])
                } else {
                    UserError::Store(e)
                }
            })
    }
}
