//! The current operations list: the seed's ten columns, statuses in the session's language,
//! sorting, paging and page size held in the URL, selection with group actions and per-row
//! results, and live updates from the server's change stream.
//!
//! [`list`] holds the page and its island, which puts together the [`header`], the action bar
//! ([`actions`]), the [`table`], [`live`] updates and keyboard [`shortcuts`]. This module holds
//! the list's state as the URL carries it, which the list and the table's links share.

mod actions;
mod bulk;
mod counts;
mod header;
mod list;
mod live;
mod shortcuts;
mod table;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::list_operations;
use crate::types::{AppError, OperationRow, Page, SortColumn, SortOrder};

pub use list::OperationsPage;

/// Rows per page unless the URL says otherwise.
const PAGE_SIZE: u32 = 50;
/// The page sizes offered.
const PAGE_SIZES: [u32; 4] = [20, 50, 100, 200];

/// The ids of the selected operations, in order: a sorted vector. (A `BTreeSet` put 8 KB of
/// tree code in the WASM bundle for at most a few pages' worth of ids.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Selection(Vec<i64>);

impl Selection {
    fn contains(&self, id: &i64) -> bool {
        self.0.binary_search(id).is_ok()
    }

    /// Selects `id`; false if it was selected already.
    fn insert(&mut self, id: i64) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, id);
                true
            }
        }
    }

    /// Unselects `id`; false if it was not selected.
    fn remove(&mut self, id: &i64) -> bool {
        match self.0.binary_search(id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The selected ids, lowest first.
    fn ids(&self) -> Vec<i64> {
        self.0.clone()
    }
}

/// The list's state as the URL holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ListState {
    page: u32,
    size: u32,
    sort: SortColumn,
    order: SortOrder,
    /// The seek from the page next to this one (a deep page reads as fast as the first);
    /// opaque here, read by the server.
    seek: Option<String>,
}

impl ListState {
    /// The state in the current URL's query.
    fn from_query() -> ListState {
        let query = use_query_map();
        let q = query.read_untracked();
        let number = |key: &str| q.get(key).and_then(|v| v.parse::<u32>().ok());
        ListState {
            page: number("page").unwrap_or(1).max(1),
            size: number("size")
                .filter(|s| PAGE_SIZES.contains(s))
                .unwrap_or(PAGE_SIZE),
            sort: q
                .get("sort")
                .and_then(|s| SortColumn::parse(&s))
                .unwrap_or_default(),
            order: q
                .get("order")
                .and_then(|o| SortOrder::parse(&o))
                .unwrap_or_default(),
            seek: q.get("seek"),
        }
    }

    /// The URL of this state.
    fn href(&self) -> String {
        let mut href = format!(
            "/?page={}&size={}&sort={}&order={}",
            self.page,
            self.size,
            self.sort.name(),
            self.order.name()
        );
        // The server's tokens need no escaping (see `Seek::token`); anything else is not
        // carried into a link.
        if let Some(seek) = self.seek.as_deref().filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }) {
            href.push_str("&seek=");
            href.push_str(seek);
        }
        href
    }

    /// Reads this state's page of the list.
    async fn fetch(self) -> Result<Page<OperationRow>, AppError> {
        list_operations(
            self.page,
            self.size,
            Some(self.sort.name().into()),
            Some(self.order.name().into()),
            self.seek,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::Selection;

    #[test]
    fn a_selection_holds_each_id_once_in_order() {
        let mut selection = Selection::default();
        assert!(selection.insert(7));
        assert!(selection.insert(3));
        assert!(!selection.insert(7));
        assert!(selection.insert(5));
        assert_eq!(selection.ids(), vec![3, 5, 7]);
        assert!(selection.contains(&5));
        assert!(selection.remove(&5));
        assert!(!selection.remove(&5));
        assert!(!selection.contains(&5));
        assert_eq!(selection.len(), 2);
    }
}
