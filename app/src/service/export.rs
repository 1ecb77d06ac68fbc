//! CSV export: the current list as the caller filtered (their saved filter) and sorted it,
//! one operation's error history, and the journal. RFC 4180 quoting (the `csv` crate), UTF-8,
//! headers in the caller's language, an optional byte-order mark for Excel, and text cells
//! that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
//! written with a leading `'`: item names, comments and module errors come from clients and
//! modules, and a CSV opened in Excel must not run them.
//!
//! Streamed: the store sends rows through a channel of [`ROW_BUFFER`] rows, and they are
//! encoded in batches of at most as many into chunks, so a million rows take the memory of a
//! few hundred rows whatever the list's size. A reader that takes no chunk for [`STALL`] ends
//! the export, no export runs past `EXPORT_TIME_LIMIT_SECS` (30 min), and at most
//! [`MAX_EXPORTS`] run at once per node: each holds a database connection for as long as it
//! runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::operation::OperationError;
use super::{Actor, Services};
use crate::store::dialect::EXPORT_TIME_LIMIT_SECS;
use crate::store::{JournalRow, StoreResult};
use crate::types::{AttemptRow, Lang, ListQuery, OperationRow, SortColumn, SortOrder, Timestamp};

/// Rows in flight between the store and the encoder, and the most rows one chunk holds.
pub const ROW_BUFFER: usize = 256;
/// How long an export waits for its reader to take a chunk before it gives up.
pub const STALL: Duration = Duration::from_secs(60);
/// Exports that may run at once on one node.
pub const MAX_EXPORTS: usize = 2;
/// The UTF-8 byte-order mark, which makes Excel read the file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why an export did not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Operation(#[from] OperationError),
    /// [`MAX_EXPORTS`] are already running.
    #[error("too many exports at once")]
    Busy,
}

impl From<crate::service::Denied> for ExportError {
    fn from(denied: crate::service::Denied) -> Self {
        ExportError::Operation(denied.into())
    }
}

/// How the caller wants the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Starts the file with a UTF-8 byte-order mark (for Excel).
    pub bom: bool,
}

/// A CSV document being written: its file name and its chunks, in order. The rows are read
/// by a task of their own, which stops when this is dropped.
#[derive(Debug)]
pub struct CsvExport {
    /// A name for `Content-Disposition`: ASCII letters, digits, `-` and `.` only.
    pub filename: String,
    chunks: mpsc::Receiver<StoreResult<Vec<u8>>>,
}

impl CsvExport {
    /// The next chunk; `None` at the end. An error means the file is incomplete: the reader
    /// must not present what it has as the whole export.
    pub async fn next_chunk(&mut self) -> Option<StoreResult<Vec<u8>>> {
        self.chunks.recv().await
    }

    /// Reads every chunk into one buffer (tests and small exports).
    pub async fn collect(mut self) -> StoreResult<Vec<u8>> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }
}

impl Services {
    /// The caller's current list, with their saved filter, sorted as asked, as CSV: the seed's
    /// ten columns, then the comment and the last error.
    pub async fn export_operations(
        &self,
        actor: &Actor,
        sort: SortColumn,
        order: SortOrder,
        options: CsvOptions,
    ) -> Result<CsvExport, ExportError> {
        let filter = self.load_operation_filter(actor).await?;
        let permit = self.export_permit()?;
        let lang = actor.lang;
        let mut header: Vec<String> = SortColumn::ALL
            .iter()
            .map(|c| c.label(lang).to_owned())
            .collect();
        header.push(lang.pick("Комментарий", "Comment").to_owned());
        header.push(lang.pick("Последняя ошибка", "Last error").to_owned());
        let query = ListQuery {
            filter,
            sort,
            order,
            ..ListQuery::default()
        };
        let store = Arc::clone(&self.store);
        Ok(spawn_csv(
            self.filename("operations"),
            header,
            options,
            permit,
            move |sink| async move { store.export_operations(&query, sink).await },
            move |row: &OperationRow| operation_record(row, lang),
        ))
    }

    /// One operation's error history (its attempts, oldest first) as CSV.
    pub async fn export_history(
        &self,
        actor: &Actor,
        operation_id: i64,
        options: CsvOptions,
    ) -> Result<CsvExport, ExportError> {
        let attempts = self.list_attempts(actor, operation_id).await?;
        let permit = self.export_permit()?;
        let lang = actor.lang;
        let header = [
            ("Id", "Id"),
            ("Начало", "Started"),
            ("Окончание", "Finished"),
            ("Итог", "Outcome"),
            ("Тип ошибки", "Error type"),
            ("Сообщение", "Message"),
            ("Задача", "Task"),
        ]
        .iter()
        .map(|(ru, en)| lang.pick(ru, en).to_owned())
        .collect();
        Ok(spawn_csv(
            self.filename(&format!("operation-{operation_id}-history")),
            header,
            options,
            permit,
            move |sink| async move {
                let mut sent = 0;
                for attempt in attempts {
                    if sink.send(attempt).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                Ok(sent)
            },
            attempt_record,
        ))
    }

    /// The whole journal (who changed what), oldest first, as CSV; admins only.
    pub async fn export_journal(
        &self,
        actor: &Actor,
        options: CsvOptions,
    ) -> Result<CsvExport, ExportError> {
        actor.require_admin()?;
        let permit = self.export_permit()?;
        let lang = actor.lang;
        let header = [
            ("Id", "Id"),
            ("Время", "Time"),
            ("Пользователь", "User"),
            ("Действие", "Action"),
            ("Объект", "Object"),
            ("Id объекта", "Object id"),
            ("Подробности", "Detail"),
        ]
        .iter()
        .map(|(ru, en)| lang.pick(ru, en).to_owned())
        .collect();
        let store = Arc::clone(&self.store);
        Ok(spawn_csv(
            self.filename("journal"),
            header,
            options,
            permit,
            move |sink| async move { store.export_journal(sink).await },
            journal_record,
        ))
    }

    /// One of the node's [`MAX_EXPORTS`] export slots, or [`ExportError::Busy`].
    fn export_permit(&self) -> Result<OwnedSemaphorePermit, ExportError> {
        Arc::clone(&self.exports)
            .try_acquire_owned()
            .map_err(|_| ExportError::Busy)
    }

    /// `{what}-YYYYMMDD-HHMMSS.csv`, in the server's clock (UTC).
    fn filename(&self, what: &str) -> String {
        let stamp: String = self
            .now()
            .format()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let (date, time) = stamp.split_at(stamp.len().min(8));
        format!("{what}-{date}-{time}.csv")
    }
}

/// Starts the task that reads rows from `produce` and encodes them, and returns the export
/// that receives its chunks. The permit is held until the task ends.
fn spawn_csv<T, P, F, R>(
    filename: String,
    header: Vec<String>,
    options: CsvOptions,
    permit: OwnedSemaphorePermit,
    produce: P,
    record: R,
) -> CsvExport
where
    T: Send + 'static,
    R: Fn(&T) -> Vec<String> + Send + 'static,
    P: FnOnce(mpsc::Sender<T>) -> F + Send + 'static,
    F: std::future::Future<Output = StoreResult<u64>> + Send + 'static,
{
    let (chunk_sink, chunks) = mpsc::channel(2);
    tokio::spawn(async move {
        let _permit = permit;
        let (row_sink, rows) = mpsc::channel(ROW_BUFFER);
        let encoder = encode(rows, header, options, record, chunk_sink.clone());
        // However slowly it is read, an export ends within its time limit (it holds a
        // connection and a snapshot of the database).
        let limit = std::time::Duration::from_secs(EXPORT_TIME_LIMIT_SECS);
        let produce = async move {
            tokio::time::timeout(limit, produce(row_sink))
                .await
                .unwrap_or_else(|_| {
                    Err(crate::store::StoreError::Protocol(
                        "the export ran past its time limit".into(),
                    ))
                })
        };
        let (produced, ()) = tokio::join!(produce, encoder);
        if let Err(error) = produced {
            // Sent after the last good chunk: the reader learns the file is incomplete.
            let _ = tokio::time::timeout(STALL, chunk_sink.send(Err(error))).await;
        }
    });
    CsvExport { filename, chunks }
}

/// Encodes the rows as they arrive, the header first, into chunks of at most [`ROW_BUFFER`]
/// rows; returns when the rows end or the reader is gone or stalled (which drops `rows`, and
/// so stops the producer).
async fn encode<T>(
    mut rows: mpsc::Receiver<T>,
    header: Vec<String>,
    options: CsvOptions,
    record: impl Fn(&T) -> Vec<String>,
    chunks: mpsc::Sender<StoreResult<Vec<u8>>>,
) {
    let mut first = if options.bom {
        BOM.to_vec()
    } else {
        Vec::new()
    };
    first.extend_from_slice(&csv_lines(std::iter::once(header)));
    if !deliver(&chunks, first).await {
        return;
    }
    let mut batch = Vec::with_capacity(ROW_BUFFER);
    while rows.recv_many(&mut batch, ROW_BUFFER).await > 0 {
        let bytes = csv_lines(batch.drain(..).map(|row| record(&row)));
        if !deliver(&chunks, bytes).await {
            return;
        }
    }
}

/// Hands a chunk to the reader; false when it is gone or took none for [`STALL`].
async fn deliver(chunks: &mpsc::Sender<StoreResult<Vec<u8>>>, bytes: Vec<u8>) -> bool {
    matches!(
        tokio::time::timeout(STALL, chunks.send(Ok(bytes))).await,
        Ok(Ok(()))
    )
}

/// Records as CSV lines (RFC 4180: fields quoted when they hold a comma, a quote or a line
/// break; lines end in CRLF).
fn csv_lines(records: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in records {
        // Writing to memory fails only on a record of another length, which ours never are.
        if writer.write_record(&record).is_err() {
            break;
        }
    }
    writer.into_inner().unwrap_or_default()
}

/// A text cell as written: one a spreadsheet would read as a formula gets a leading `'`.
pub fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// A time cell: `YYYY-MM-DD HH:MM:SS` (UTC).
fn time_cell(at: Timestamp) -> String {
    at.format()
}

/// One list row in the order of the header of [`Services::export_operations`].
fn operation_record(row: &OperationRow, lang: Lang) -> Vec<String> {
    vec![
        row.id.to_string(),
        text_cell(&row.desc(lang)),
        text_cell(&format!("#{} {}", row.item_id, row.item_name)),
        text_cell(&row.itemtype),
        text_cell(&row.client_name),
        time_cell(row.cdate),
        row.trycount.to_string(),
        text_cell(&row.module_name),
        row.task_id.map(|t| t.to_string()).unwrap_or_default(),
        row.status.label(lang).to_owned(),
        text_cell(&row.comment),
        text_cell(row.last_error.as_deref().unwrap_or("")),
    ]
}

/// One attempt in the order of the header of [`Services::export_history`].
fn attempt_record(attempt: &AttemptRow) -> Vec<String> {
    vec![
        attempt.id.to_string(),
        time_cell(attempt.createdate),
        attempt.finished.map(time_cell).unwrap_or_default(),
        attempt.outcome.raw().to_owned(),
        text_cell(attempt.error_type.as_deref().unwrap_or("")),
        text_cell(attempt.error_message.as_deref().unwrap_or("")),
        attempt.task_id.map(|t| t.to_string()).unwrap_or_default(),
    ]
}

/// One journal row in the order of the header of [`Services::export_journal`].
fn journal_record(row: &JournalRow) -> Vec<String> {
    vec![
        row.id.to_string(),
        time_cell(row.at),
        text_cell(&row.user_name),
        text_cell(&row.action),
        text_cell(&row.object),
        row.object_id.map(|id| id.to_string()).unwrap_or_default(),
        text_cell(&row.detail),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-2+3"), "'-2+3");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("\t=1"), "'\t=1");
        assert_eq!(text_cell("\r=1"), "'\r=1");
        assert_eq!(text_cell("vm42.example.com"), "vm42.example.com");
        assert_eq!(text_cell(""), "");
    }

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted_as_rfc_4180_says() {
        let bytes = csv_lines(
            [vec![
                "a,b".to_owned(),
                "say \"hi\"".to_owned(),
                "two\nlines".to_owned(),
                "plain".to_owned(),
            ]]
            .into_iter(),
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",plain\r\n"
        );
    }
}
