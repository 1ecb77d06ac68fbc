//! Wasm-safe data shared by the browser and the server: ids, operations and their statuses,
//! filters, pages, sessions, reference data and the error type that crosses the wire.
//! Nothing here touches a database, axum or the server side of leptos.

pub mod alert;
pub mod attempt;
pub mod bulk;
pub mod chart;
pub mod circuit;
pub mod dossier;
pub mod error;
pub mod failure;
pub mod filter;
pub mod journal;
pub mod lang;
pub mod operation;
pub mod page;
pub mod queue;
pub mod reference;
pub mod session;
pub mod time;

pub use attempt::{AttemptOutcome, AttemptRow};
pub use error::{AppError, Conflict, FieldError, FieldReason};
pub use filter::{FilterForm, OperationFilter, SortColumn, SortOrder};
pub use lang::Lang;
pub use operation::{
    ActionResult, Intname, OperationAction, OperationForm, OperationInput, OperationRow, Status,
};
pub use page::{ListQuery, Page};
pub use queue::{OperationState, TaskKind};
pub use reference::{
    ClientArea, ClientView, ItemChange, ItemStatus, ItemView, ModuleKind, ModuleView,
};
pub use session::{Level, SessionInfo};
pub use time::{TimeUnit, Timestamp};
