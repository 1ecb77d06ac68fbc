//! Clients (`account`): the customers whose services operations act on.

use super::{internal, too_long, Actor, Denied, Services};
use crate::store::{NewClient, StoreError};
use crate::types::{AppError, ClientView, FieldError, FieldReason};

/// Why a client function failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("client {0} not found")]
    NotFound(i64),
    #[error("invalid client fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientError> for AppError {
    fn from(error: ClientError) -> AppError {
        match error {
            ClientError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            ClientError::Invalid(fields) => AppError::Value { fields },
            ClientError::Denied(_) => AppError::Access,
            ClientError::Store(e) => internal(&e),
        }
    }
}

/// Checks a client's name and e-mail; returns them trimmed.
fn validate(name: &str, email: Option<&str>) -> Result<(String, Option<String>), ClientError> {
    let name = name.trim();
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::new("name", name, FieldReason::Required));
    } else if too_long(name, 200) {
        errors.push(FieldError::new("name", "", FieldReason::TooLong(200)));
    }
    if let Some(email) = email {
        let well_formed = email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !well_formed || too_long(email, 200) {
            errors.push(FieldError::new("email", email, FieldReason::Unknown));
        }
    }
    if errors.is_empty() {
        Ok((name.to_owned(), email.map(str::to_owned)))
    } else {
        Err(ClientError::Invalid(errors))
    }
}

impl Services {
    /// Registers a client; returns its id.
    pub async fn add_client(
        &self,
        actor: &Actor,
        name: &str,
        email: Option<&str>,
    ) -> Result<i64, ClientError> {
        actor.require_admin()?;
        let (name, email) = validate(name, email)?;
        let entry = self.journal(
            actor,
            "account.edit",
            "account",
            None,
            format!("add {name}"),
        );
        Ok(self
            .store
            .insert_client(
                &NewClient {
                    name,
                    email,
                    created: self.now(),
                },
                &entry,
            )
            .await?)
    }

    /// Changes a client's name and e-mail.
    pub async fn change_client(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        email: Option<&str>,
    ) -> Result<(), ClientError> {
        actor.require_admin()?;
        let (name, email) = validate(name, email)?;
        let mut client = self
            .store
            .get_client(id)
            .await?
            .ok_or(ClientError::NotFound(id))?;
        client.name = name;
        client.email = email;
        let entry = self.journal(actor, "account.edit", "account", Some(id), "change".into());
        if self.store.update_client(&client, &entry).await? {
            Ok(())
        } else {
            Err(ClientError::NotFound(id))
        }
    }

    /// One client.
    pub async fn get_client(&self, actor: &Actor, id: i64) -> Result<ClientView, ClientError> {
        actor.require_staff()?;
        self.store
            .get_client(id)
            .await?
            .ok_or(ClientError::NotFound(id))
    }

    /// Every client, by id.
    pub async fn list_clients(&self, actor: &Actor) -> Result<Vec<ClientView>, ClientError> {
        actor.require_staff()?;
        Ok(self.store.list_clients().await?)
    }
}
