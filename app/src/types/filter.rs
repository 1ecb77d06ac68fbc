//! The filter of the operations list (product.md's filter fields), and its sort order.

use serde::{Deserialize, Serialize};

use super::{Intname, Status, Timestamp};

/// What the list is narrowed to. Every field is optional; an empty filter shows everything.
/// It is saved per user (`runningoperation.filter`), shared by the UI and the legacy API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationFilter {
    pub id: Option<i64>,
    pub intname: Option<Intname>,
    pub item: Option<i64>,
    pub itemtype: Option<String>,
    pub client: Option<i64>,
    pub processingmodule: Option<i64>,
    pub status: Option<Status>,
    pub manual: Option<bool>,
    pub has_task: Option<bool>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub min_trycount: Option<i64>,
    /// Text contained in the last error's message (case-insensitive).
    pub error_text: Option<String>,
}

impl OperationFilter {
    /// True when no field narrows the list.
    pub fn is_empty(&self) -> bool {
        self == &OperationFilter::default()
    }
}

/// The columns the list can be sorted by (`p_sort`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortColumn {
    #[default]
    Id,
    Desc,
    Item,
    Itemtype,
    Client,
    Cdate,
    Trycount,
    Processingmodule,
    Task,
    Status,
}

impl SortColumn {
    /// Every sortable column.
    pub const ALL: [SortColumn; 10] = [
        SortColumn::Id,
        SortColumn::Desc,
        SortColumn::Item,
        SortColumn::Itemtype,
        SortColumn::Client,
        SortColumn::Cdate,
        SortColumn::Trycount,
        SortColumn::Processingmodule,
        SortColumn::Task,
        SortColumn::Status,
    ];

    /// The column's name in the API.
    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Desc => "desc",
            SortColumn::Item => "item",
            SortColumn::Itemtype => "itemtype",
            SortColumn::Client => "client",
            SortColumn::Cdate => "cdate",
            SortColumn::Trycount => "trycount",
            SortColumn::Processingmodule => "processingmodule",
            SortColumn::Task => "task",
            SortColumn::Status => "status",
        }
    }

    /// Reads a column name.
    pub fn parse(name: &str) -> Option<SortColumn> {
        SortColumn::ALL
            .into_iter()
            .find(|c| c.name() == name.trim())
    }
}

/// Sort direction (`p_order`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    /// `asc` or `desc`.
    pub fn name(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    /// Reads `asc`/`desc`.
    pub fn parse(name: &str) -> Option<SortOrder> {
        match name.trim() {
            "asc" => Some(SortOrder::Asc),
            "desc" => Some(SortOrder::Desc),
            _ => None,
        }
    }
}
