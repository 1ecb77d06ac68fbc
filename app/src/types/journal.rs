//! The journal page as the browser sees it: the form of its filters (as typed) and a page of
//! rows, newest first, each linking to its object's page where it has one.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// The journal page's filters, as typed (the server checks them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalForm {
    /// Who, exactly (`admin`, `engine`, ...).
    pub user: String,
    /// The kind of object: `runningoperation`, `processing`, `account`, `item`, `user`, `alert`.
    pub object: String,
    /// One object's id.
    pub id: String,
    /// From and to, `YYYY-MM-DD HH:MM:SS` (UTC), either may be empty.
    pub from: String,
    pub to: String,
    /// The next page: rows older than this row id.
    pub before: String,
}

impl JournalForm {
    /// The page's URL with these filters (and `before`, when given).
    pub fn href(&self, before: Option<i64>) -> String {
        let mut query = vec![];
        for (key, value) in [
            ("user", &self.user),
            ("object", &self.object),
            ("id", &self.id),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !value.is_empty() {
                query.push(format!("{key}={}", encode(value)));
            }
        }
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        if query.is_empty() {
            "/journal".into()
        } else {
            format!("/journal?{}", query.join("&"))
        }
    }
}

/// `text` percent-encoded for a URL's query (unreserved characters kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One journal row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    pub id: i64,
    pub at: Timestamp,
    pub user: String,
    pub action: String,
    pub object: String,
    pub object_id: Option<i64>,
    pub detail: String,
    /// The object's page, where it has one.
    pub href: Option<String>,
}

/// An operation's history page: its attempts, and the journal rows about it (who started,
/// stopped, edited it), to be read interleaved as its timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationHistory {
    pub attempts: Vec<super::AttemptRow>,
    pub journal: Vec<JournalLine>,
}

/// One page of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPage {
    pub form: JournalForm,
    pub rows: Vec<JournalLine>,
    /// The next (older) page's `before`, when there is one.
    pub next: Option<i64>,
    pub now: Timestamp,
}

/// The page of an object a journal row is about, where it has one.
pub fn object_href(object: &str, id: Option<i64>) -> Option<String> {
    let id = id?;
    let path = match object {
        "runningoperation" => "operation",
        "processing" => "modules",
        "account" => "clients",
        "item" => "services",
        _ => return None,
    };
    Some(format!("/{path}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_href_keeps_what_narrows_and_escapes_it() {
        let form = JournalForm {
            user: "Анна & co".into(),
            object: "processing".into(),
            ..JournalForm::default()
        };
        assert_eq!(
            form.href(Some(42)),
            "/journal?user=%D0%90%D0%BD%D0%BD%D0%B0%20%26%20co&object=processing&before=42"
        );
        assert_eq!(JournalForm::default().href(None), "/journal");
    }

    #[test]
    fn rows_link_to_the_pages_their_objects_have() {
        assert_eq!(
            object_href("processing", Some(3)),
            Some("/modules/3".into())
        );
        assert_eq!(
            object_href("runningoperation", Some(7)),
            Some("/operation/7".into())
        );
        assert_eq!(object_href("alert", Some(1)), None);
        assert_eq!(object_href("item", None), None);
    }
}
