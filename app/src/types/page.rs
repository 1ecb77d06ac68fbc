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
    /// Where the page starts, when it is read next to a page already shown (the UI's pager):
    /// instead of skipping `(page - 1) * page_size` rows it seeks to them, so a deep page
    /// costs what the first does. `page` then only numbers it.
    pub seek: Option<Seek>,
}

/// The rows just past (or just before) a page already shown: its last (or first) row's sort
/// key and id. A page read from a seek is the `page_size` rows that follow (or precede) that
/// position in the list's order, whatever has changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seek {
    /// After the row (the next page) or before it (the previous one).
    pub after: bool,
    /// The row's value in the sort column.
    pub key: SeekKey,
    /// The row's id (the list's tie-break).
    pub id: i64,
}

/// A row's value in a sort column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeekKey {
    Int(i64),
    Text(String),
}

/// Longest sort key a seek carries; a longer one is not a seek (a client name is bounded
/// well below it).
const MAX_SEEK_KEY: usize = 1024;

impl Seek {
    /// The seek past `row` (`after`) or before it, in a list sorted by `sort`.
    pub fn at(row: &super::OperationRow, sort: SortColumn, after: bool) -> Seek {
        let key = match sort {
            SortColumn::Id => SeekKey::Int(row.id),
            SortColumn::Desc => SeekKey::Text(row.intname.raw().to_string()),
            SortColumn::Item => SeekKey::Int(row.item_id),
            SortColumn::Itemtype => SeekKey::Text(row.itemtype.clone()),
            SortColumn::Client => SeekKey::Text(row.client_name.clone()),
            SortColumn::Cdate => SeekKey::Int(row.cdate.0),
            SortColumn::Trycount => SeekKey::Int(row.trycount),
            SortColumn::Processingmodule => SeekKey::Text(row.module_name.clone()),
            SortColumn::Task => SeekKey::Int(row.task_id.unwrap_or(0)),
            SortColumn::Status => SeekKey::Text(row.status.raw().to_string()),
        };
        Seek {
            after,
            key,
            id: row.id,
        }
    }

    /// The seek as a URL carries it, in characters a URL needs no escaping for:
    /// `a` or `b`, the id, `.`, the key's text in hex.
    pub fn token(&self) -> String {
        let key = match &self.key {
            SeekKey::Int(v) => v.to_string(),
            SeekKey::Text(t) => t.clone(),
        };
        let mut token = format!("{}{}.", if self.after { 'a' } else { 'b' }, self.id);
        for byte in key.bytes() {
            token.push_str(&format!("{byte:02x}"));
        }
        token
    }

    /// Reads a [`token`](Seek::token) for a list sorted by `sort`; `None` when it is not one
    /// (a hand-edited URL: the page is then read by its number).
    pub fn parse(token: &str, sort: SortColumn) -> Option<Seek> {
        let after = match token.as_bytes().first()? {
            b'a' => true,
            b'b' => false,
            _ => return None,
        };
        let (id, hex) = token[1..].split_once('.')?;
        let id: i64 = id.parse().ok()?;
        if hex.len() % 2 != 0 || hex.len() > 2 * MAX_SEEK_KEY || !hex.is_ascii() {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let text = String::from_utf8(bytes).ok()?;
        let key = match sort {
            SortColumn::Id
            | SortColumn::Item
            | SortColumn::Cdate
            | SortColumn::Trycount
            | SortColumn::Task => SeekKey::Int(text.parse().ok()?),
            SortColumn::Desc
            | SortColumn::Itemtype
            | SortColumn::Client
            | SortColumn::Processingmodule
            | SortColumn::Status => SeekKey::Text(text),
        };
        Some(Seek { after, key, id })
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filter: OperationFilter::default(),
            sort: SortColumn::Id,
            order: SortOrder::Asc,
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
            seek: None,
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

    /// Rows to skip before this page (none when it seeks).
    pub fn offset(&self) -> u64 {
        if self.seek.is_some() {
            return 0;
        }
        u64::from(self.page.max(1) - 1) * u64::from(self.page_size)
    }

    /// True when the page is read backwards: the rows before a seek (the previous page).
    pub fn backwards(&self) -> bool {
        self.seek.as_ref().is_some_and(|seek| !seek.after)
    }

    /// Rows before this page by its number, seek or not (what its count must reach).
    pub fn rows_before(&self) -> u64 {
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
    /// The next page's seek ([`Seek::token`]), when there may be one.
    pub next: Option<String>,
    /// The previous page's seek, when this is not the first page.
    pub previous: Option<String>,
    /// When the page was read (server clock): ages ("3 min ago") are counted from it, so that
    /// they read the same in the server's HTML and after hydration.
    pub now: super::Timestamp,
}

#[cfg(test)]
mod tests {
    use super::{Seek, SeekKey};
    use crate::types::SortColumn;

    #[test]
    fn a_seek_reads_back_from_its_token() {
        let seek = Seek {
            after: false,
            key: SeekKey::Text("Zeta & Co. ✓".into()),
            id: 42,
        };
        let token = seek.token();
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.'));
        assert_eq!(Seek::parse(&token, SortColumn::Client), Some(seek));
        let seek = Seek {
            after: true,
            key: SeekKey::Int(-7),
            id: 9,
        };
        assert_eq!(Seek::parse(&seek.token(), SortColumn::Trycount), Some(seek));
    }

    #[test]
    fn a_token_that_is_not_a_seek_reads_as_none() {
        for token in [
            "",
            "x1.61",
            "a.61",
            "a1.6",
            "a1.zz",
            "a1.ff",
            "a1",
            "a1.61",
            "a99999999999999999999.31",
        ] {
            // "a1.61" is the text "a": a seek only where the column sorts text.
            assert_eq!(Seek::parse(token, SortColumn::Id), None, "{token:?}");
        }
        assert_eq!(
            Seek::parse(&format!("a1.{}", "61".repeat(1025)), SortColumn::Client),
            None
        );
        assert!(Seek::parse("a1.61", SortColumn::Client).is_some());
    }
}
