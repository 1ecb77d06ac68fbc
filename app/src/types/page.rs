//! One page of a list, and the request for it (`p_num`, `p_cnt`, `p_sort`, `p_order`).

use serde::{Deserialize, Serialize};

use super::{OperationFilter, SortColumn, SortOrder};

/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which page of the operations list, sorted how, filtered how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub filter: OperationFilter,
    pub sort: SortColumn,
    pub order: SortOrder,
    /// Page number, from 1.
    pub page: u32,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`].
    pub page_size: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filter: OperationFilter::default(),
            sort: SortColumn::Id,
            order: SortOrder::Asc,
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl ListQuery {
    /// The same query with page number and size brought into their ranges.
    pub fn clamped(mut self) -> ListQuery {
        self.page = self.page.max(1);
        self.page_size = self.page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.page_size)
    }
}

/// One page of rows and the total number of rows the filter matches (`p_elems`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: u64,
    /// False when counting stopped at a bound: `total` is then "at least".
    pub total_exact: bool,
    pub page: u32,
    pub page_size: u32,
    /// When the page was read (server clock): ages ("3 min ago") are counted from it, so that
    /// they read the same in the server's HTML and after hydration.
    pub now: super::Timestamp,
}
