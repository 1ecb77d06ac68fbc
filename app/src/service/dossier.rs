//! The admin's detail pages: the [`Dossier`] of a client, a service, a task or a processing
//! module, with the current operations on it (and a module's chart).

use super::{internal, Actor, Denied, Services};
use crate::store::StoreError;
use crate::types::dossier::{Dossier, ModuleActivity, Subject};
use crate::types::{AppError, ListQuery, OperationFilter};

/// Why a dossier could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    #[error("{subject:?} {id} not found")]
    NotFound { subject: Subject, id: i64 },
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DossierError> for AppError {
    fn from(error: DossierError) -> AppError {
        match error {
            DossierError::NotFound { id, .. } => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            DossierError::Denied(_) => AppError::Access,
            DossierError::Store(e) => internal(&e),
        }
    }
}

/// The most operations a dossier lists (the list page pages through more).
const DOSSIER_OPERATIONS: u32 = 100;

impl Services {
    /// The dossier of `subject` number `id`, in the caller's language; staff only.
    pub async fn dossier(
        &self,
        actor: &Actor,
        subject: Subject,
        id: i64,
    ) -> Result<Dossier, DossierError> {
        actor.require_staff()?;
        let now = self.clock.now();
        let lang = actor.lang;
        let missing = || DossierError::NotFound { subject, id };
        match subject {
            Subject::Client => {
                let client = self.store.get_client(id).await?.ok_or_else(missing)?;
                let items = self.store.list_items(Some(id)).await?;
                let operations = self
                    .current_operations(OperationFilter {
                        client: Some(id),
                        ..OperationFilter::default()
                    })
                    .await?;
                Ok(Dossier::client(&client, &items, operations, now, lang))
            }
            Subject::Service => {
                let item = self.store.get_item(id).await?.ok_or_else(missing)?;
                let client = self
                    .store
                    .get_client(item.client_id)
                    .await?
                    .ok_or_else(missing)?;
                let module = self
                    .store
                    .get_module(item.module_id)
                    .await?
                    .ok_or_else(missing)?
                    .view();
                let operations = self
                    .current_operations(OperationFilter {
                        item: Some(id),
                        ..OperationFilter::default()
                    })
                    .await?;
                Ok(Dossier::service(
                    &item, &client, &module, operations, now, lang,
                ))
            }
            Subject::Task => {
                let task = self.store.get_task(id).await?.ok_or_else(missing)?;
                let operations = self
                    .current_operations(OperationFilter {
                        id: Some(task.operation_id),
                        ..OperationFilter::default()
                    })
                    .await?;
                Ok(Dossier::task(&task, operations, now, lang))
            }
            Subject::Module => {
                let module = self.store.get_module(id).await?.ok_or_else(missing)?;
                let counts: Vec<_> = self
                    .store
                    .operation_counts()
                    .await?
                    .into_iter()
                    .filter(|c| c.module_id == id)
                    .map(|c| (c.status, c.count))
                    .collect();
                let (chart, rates) = self.module_chart(&module, now, lang).await?;
                let circuit = self
                    .store
                    .circuits()
                    .await?
                    .into_iter()
                    .find(|c| c.module_id == id)
                    .ok_or_else(missing)?;
                let can_change = actor.level == crate::types::Level::Admin;
                let operations = self
                    .current_operations(OperationFilter {
                        processingmodule: Some(id),
                        ..OperationFilter::default()
                    })
                    .await?;
                Ok(Dossier::module(
                    &module.view(),
                    (circuit, can_change),
                    ModuleActivity {
                        counts,
                        rates,
                        chart,
                    },
                    operations,
                    now,
                    lang,
                ))
            }
        }
    }

    /// The first current operations matching `filter`, by id.
    async fn current_operations(
        &self,
        filter: OperationFilter,
    ) -> Result<Vec<crate::types::OperationRow>, StoreError> {
        let query = ListQuery {
            filter,
            page_size: DOSSIER_OPERATIONS,
            ..ListQuery::default()
        };
        self.store.list_operations(&query).await
    }
}
