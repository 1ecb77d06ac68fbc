//! What a `/billmgr` function answers, before it is put into an output format: a list, a form,
//! a success (possibly a redirect), a new session, or an error. [`render`](super::render) turns
//! it into `xml`, `json`/`sjson`, `JSONdata` or `text`.

use app::types::{AppError, Lang};

/// One value of a list row or form: its text, and the raw value behind a formatted one
/// (`$orig`, as BILLmanager gives for statuses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub name: String,
    pub text: String,
    pub orig: Option<String>,
}

impl Cell {
    /// A plain value.
    pub fn new(name: &str, text: impl Into<String>) -> Cell {
        Cell {
            name: name.to_owned(),
            text: text.into(),
            orig: None,
        }
    }

    /// A formatted value with its raw value.
    pub fn with_orig(name: &str, text: impl Into<String>, orig: impl Into<String>) -> Cell {
        Cell {
            name: name.to_owned(),
            text: text.into(),
            orig: Some(orig.into()),
        }
    }
}

/// The paging of a list, echoed as `p_elems`, `p_num`, `p_cnt`, `p_sort`, `p_order`, and
/// `p_elems_exact`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paging {
    pub elems: u64,
    /// False when `elems` is a lower bound (the count stopped at its cap).
    pub exact: bool,
    pub num: u32,
    pub cnt: u32,
    pub sort: String,
    pub order: String,
}

/// A select list of a form (`<slist name="..."><val key="k">label</val></slist>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slist {
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// A function's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Rows of a list; `paging` is absent for lists that are not paged (error history).
    List {
        rows: Vec<Vec<Cell>>,
        paging: Option<Paging>,
    },
    /// The fields of one object (an edit form, a saved filter, a log).
    Form {
        fields: Vec<Cell>,
        slists: Vec<Slist>,
    },
    /// Success; `redirect` is `ok`'s `type` and text (`blank` + a URL, `list` + `func=...`);
    /// `extra` are values beside it (the id of a created object).
    Ok {
        redirect: Option<(&'static str, String)>,
        extra: Vec<Cell>,
    },
    /// A new session: `func=auth` (with its level), or `su` (with `ok` beside it).
    Session {
        id: String,
        level: Option<String>,
        with_ok: bool,
    },
    /// An error document.
    Error(ErrorReply),
}

/// BILLmanager's error document: `<error type object value lang><param/>...<msg/></error>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    pub kind: String,
    pub object: String,
    pub value: String,
    pub lang: Lang,
    pub msg: String,
}

impl ErrorReply {
    /// The document for a service error, in `lang`. Database text never gets here: the
    /// service already turned it into `AppError::Internal`.
    pub fn from_app(error: &AppError, lang: Lang) -> ErrorReply {
        let (object, value) = match error {
            AppError::Missed { object, value } | AppError::Exists { object, value, .. } => {
                (object.clone(), value.clone())
            }
            AppError::Value { fields } => fields
                .first()
                .map(|f| (f.field.clone(), f.value.clone()))
                .unwrap_or_default(),
            _ => (String::new(), String::new()),
        };
        ErrorReply {
            kind: error.kind().to_owned(),
            object,
            value,
            lang,
            msg: error.message(lang),
        }
    }

    /// An error of `kind` about `object` = `value`, with a message in both languages.
    pub fn new(
        kind: &str,
        object: &str,
        value: &str,
        lang: Lang,
        ru: &str,
        en: &str,
    ) -> ErrorReply {
        ErrorReply {
            kind: kind.to_owned(),
            object: object.to_owned(),
            value: value.to_owned(),
            lang,
            msg: lang.pick(ru, en).to_owned(),
        }
    }
}

impl Reply {
    /// Plain success.
    pub fn ok() -> Reply {
        Reply::Ok {
            redirect: None,
            extra: Vec::new(),
        }
    }

    /// Success that sends the client on: `kind` is `ok`'s `type` (`blank`, `list`, ...).
    pub fn redirect(kind: &'static str, target: String) -> Reply {
        Reply::Ok {
            redirect: Some((kind, target)),
            extra: Vec::new(),
        }
    }

    /// A new session beside `ok`, as `su` answers.
    pub fn su(session_id: &str) -> Reply {
        Reply::Session {
            id: session_id.to_owned(),
            level: None,
            with_ok: true,
        }
    }

    /// Success that names the object it created, as the `.edit` functions answer a creation.
    pub fn created(id: i64) -> Reply {
        Reply::Ok {
            redirect: None,
            extra: vec![Cell::new("id", id.to_string())],
        }
    }

    /// The fields of one object, with no select lists.
    pub fn form(fields: Vec<Cell>) -> Reply {
        Reply::Form {
            fields,
            slists: Vec::new(),
        }
    }

    /// A whole list as its only page, its paging echoed as one page by id ascending (modules,
    /// clients, services, an operation's attempts).
    pub fn unpaged(rows: Vec<Vec<Cell>>) -> Reply {
        let count = rows.len();
        Reply::List {
            rows,
            paging: Some(Paging {
                elems: count as u64,
                exact: true,
                num: 1,
                cnt: count as u32,
                sort: "id".into(),
                order: "asc".into(),
            }),
        }
    }
}
