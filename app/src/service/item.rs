//! Clients' services (`item`, BILLmanager's "service"): what operations act on.

use super::{internal, too_long, Actor, Denied, Services};
use crate::store::{NewItem, StoreError};
use crate::types::{
    AppError, FieldError, FieldReason, ItemChange, ItemStatus, ItemView, OperationFilter,
};

/// Why an item function failed.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("service {0} not found")]
    NotFound(i64),
    #[error("invalid service fields")]
    Invalid(Vec<FieldError>),
    /// Client, module or type cannot change while an operation is pending on the service.
    #[error("service {0} has an active operation")]
    Busy(i64),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ItemError> for AppError {
    fn from(error: ItemError) -> AppError {
        match error {
            ItemError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            ItemError::Invalid(fields) => AppError::Value { fields },
            ItemError::Busy(id) => AppError::Exists {
                object: "elid".into(),
                value: id.to_string(),
                reason: crate::types::Conflict::ActiveOperation,
            },
            ItemError::Denied(_) => AppError::Access,
            ItemError::Store(e) => internal(&e),
        }
    }
}

impl Services {
    /// Checks an item's fields against the store; the first refusal of each field is kept.
    async fn validate_item(&self, item: &ItemView) -> Result<(), ItemError> {
        let mut errors = Vec::new();
        if self.store.get_client(item.client_id).await?.is_none() {
            errors.push(FieldError::new(
                "client",
                &item.client_id.to_string(),
                FieldReason::NotFound,
            ));
        }
        if self.store.get_module(item.module_id).await?.is_none() {
            errors.push(FieldError::new(
                "processingmodule",
                &item.module_id.to_string(),
                FieldReason::NotFound,
            ));
        }
        for (field, value) in [("itemtype", &item.itemtype), ("name", &item.name)] {
            if value.trim().is_empty() {
                errors.push(FieldError::new(field, value, FieldReason::Required));
            } else if too_long(value, 200) {
                errors.push(FieldError::new(field, "", FieldReason::TooLong(200)));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ItemError::Invalid(errors))
        }
    }

    /// Registers a service of a client, handled by a processing module; returns its id.
    pub async fn add_item(
        &self,
        actor: &Actor,
        client_id: i64,
        module_id: i64,
        itemtype: &str,
        name: &str,
        status: ItemStatus,
    ) -> Result<i64, ItemError> {
        actor.require_admin()?;
        let item = ItemView {
            id: 0,
            client_id,
            module_id,
            itemtype: itemtype.trim().to_owned(),
            name: name.trim().to_owned(),
            status,
        };
        self.validate_item(&item).await?;
        let entry = self.journal(
            actor,
            "service.edit",
            "item",
            None,
            format!("add {} {}", item.itemtype, item.name),
        );
        Ok(self
            .store
            .insert_item(
                &NewItem {
                    client_id,
                    module_id,
                    itemtype: item.itemtype,
                    name: item.name,
                    status,
                    created: self.now(),
                },
                &entry,
            )
            .await?)
    }

    /// Changes service `id` by `change` (the fields it gives; the others stay). Its client,
    /// module and type stay while an operation is pending on it (the operation keeps copies of
    /// them for the list's filters).
    pub async fn change_item(
        &self,
        actor: &Actor,
        id: i64,
        change: &ItemChange,
    ) -> Result<(), ItemError> {
        actor.require_admin()?;
        let old = self
            .store
            .get_item(id)
            .await?
            .ok_or(ItemError::NotFound(id))?;
        let mut item = change.applied_to(&old);
        item.itemtype = item.itemtype.trim().to_owned();
        item.name = item.name.trim().to_owned();
        self.validate_item(&item).await?;
        let moves = old.client_id != item.client_id
            || old.module_id != item.module_id
            || old.itemtype != item.itemtype;
        if moves && self.has_active_operation(item.id).await? {
            return Err(ItemError::Busy(item.id));
        }
        let entry = self.journal(
            actor,
            "service.edit",
            "item",
            Some(item.id),
            "change".into(),
        );
        if self.store.update_item(&item, &entry).await? {
            Ok(())
        } else {
            Err(ItemError::NotFound(item.id))
        }
    }

    async fn has_active_operation(&self, item_id: i64) -> Result<bool, StoreError> {
        let filter = OperationFilter {
            item: Some(item_id),
            ..OperationFilter::default()
        };
        Ok(self.store.count_operations(&filter, 1).await? > 0)
    }

    /// One service. A client's session sees only its own.
    pub async fn get_item(&self, actor: &Actor, id: i64) -> Result<ItemView, ItemError> {
        let item = self
            .store
            .get_item(id)
            .await?
            .ok_or(ItemError::NotFound(id))?;
        if !actor.level.is_staff() && actor.client_id != Some(item.client_id) {
            return Err(ItemError::NotFound(id));
        }
        Ok(item)
    }

    /// Services, of one client or all. A client's session sees only its own.
    pub async fn list_items(
        &self,
        actor: &Actor,
        client_id: Option<i64>,
    ) -> Result<Vec<ItemView>, ItemError> {
        let client_id = if actor.level.is_staff() {
            client_id
        } else {
            Some(actor.client_id.ok_or(Denied)?)
        };
        Ok(self.store.list_items(client_id).await?)
    }
}
