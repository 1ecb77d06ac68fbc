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
    /// The failure group of the last failure (its key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
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

    /// The column's heading in the session's language (the list's headers, the CSV export's).
    pub fn label(self, lang: super::Lang) -> &'static str {
        match self {
            SortColumn::Id => "Id",
            SortColumn::Desc => lang.pick("Описание", "Description"),
            SortColumn::Item => lang.pick("Услуга/товар", "Service"),
            SortColumn::Itemtype => lang.pick("Тип продукта", "Product type"),
            SortColumn::Client => lang.pick("Клиент", "Client"),
            SortColumn::Cdate => lang.pick("Дата создания", "Created"),
            SortColumn::Trycount => lang.pick("Количество попыток", "Attempts"),
            SortColumn::Processingmodule => lang.pick("Обработчик", "Processing module"),
            SortColumn::Task => lang.pick("Задача", "Task"),
            SortColumn::Status => lang.pick("Статус", "Status"),
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

/// The filter as a form holds it: every field text, named as the legacy API names it
/// (`cdatefrom`, `hastask`, `mintrycount`, `errortext`, ...). Both the UI and the legacy
/// adapter read a filter through [`FilterForm::parse`], so they accept and refuse alike.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub intname: String,
    #[serde(default)]
    pub item: String,
    #[serde(default)]
    pub itemtype: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub processingmodule: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub manual: String,
    #[serde(default)]
    pub hastask: String,
    #[serde(default)]
    pub cdatefrom: String,
    #[serde(default)]
    pub cdateto: String,
    #[serde(default)]
    pub mintrycount: String,
    #[serde(default)]
    pub errortext: String,
    #[serde(default)]
    pub failure: String,
}

impl FilterForm {
    /// The form's fields by their API names, in the order a form shows them.
    pub fn fields(&self) -> [(&'static str, &str); 14] {
        [
            ("id", &self.id),
            ("intname", &self.intname),
            ("item", &self.item),
            ("itemtype", &self.itemtype),
            ("client", &self.client),
            ("processingmodule", &self.processingmodule),
            ("status", &self.status),
            ("manual", &self.manual),
            ("hastask", &self.hastask),
            ("cdatefrom", &self.cdatefrom),
            ("cdateto", &self.cdateto),
            ("mintrycount", &self.mintrycount),
            ("errortext", &self.errortext),
            ("failure", &self.failure),
        ]
    }

    /// A form with the fields `get` gives by API name (missing ones empty).
    pub fn from_fields<'a>(get: impl Fn(&str) -> Option<&'a str>) -> FilterForm {
        let text = |name: &str| get(name).unwrap_or_default().trim().to_owned();
        FilterForm {
            id: text("id"),
            intname: text("intname"),
            item: text("item"),
            itemtype: text("itemtype"),
            client: text("client"),
            processingmodule: text("processingmodule"),
            status: text("status"),
            manual: text("manual"),
            hastask: text("hastask"),
            cdatefrom: text("cdatefrom"),
            cdateto: text("cdateto"),
            mintrycount: text("mintrycount"),
            errortext: text("errortext"),
            failure: text("failure"),
        }
    }

    /// The form of a saved filter.
    pub fn of(f: &OperationFilter) -> FilterForm {
        let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        let switch = |v: Option<bool>| match v {
            Some(true) => "on".to_owned(),
            Some(false) => "off".to_owned(),
            None => String::new(),
        };
        FilterForm {
            id: num(f.id),
            intname: f.intname.map(|i| i.raw().to_owned()).unwrap_or_default(),
            item: num(f.item),
            itemtype: f.itemtype.clone().unwrap_or_default(),
            client: num(f.client),
            processingmodule: num(f.processingmodule),
            status: f.status.map(|s| s.raw().to_owned()).unwrap_or_default(),
            manual: switch(f.manual),
            hastask: switch(f.has_task),
            cdatefrom: f.created_from.map(Timestamp::format).unwrap_or_default(),
            cdateto: f.created_to.map(Timestamp::format).unwrap_or_default(),
            mintrycount: num(f.min_trycount),
            errortext: f.error_text.clone().unwrap_or_default(),
            failure: f.failure.clone().unwrap_or_default(),
        }
    }

    /// The filter the form describes, or every field that is wrong. Empty fields do not narrow.
    pub fn parse(&self) -> Result<OperationFilter, Vec<super::FieldError>> {
        use super::FieldReason;
        let mut errors = Vec::new();
        let id = read(&mut errors, "id", &self.id, FieldReason::NotANumber, |r| {
            r.parse().ok()
        });
        let intname = read(
            &mut errors,
            "intname",
            &self.intname,
            FieldReason::Unknown,
            Intname::parse,
        );
        let item = read(
            &mut errors,
            "item",
            &self.item,
            FieldReason::NotANumber,
            |r| r.parse().ok(),
        );
        let client = read(
            &mut errors,
            "client",
            &self.client,
            FieldReason::NotANumber,
            |r| r.parse().ok(),
        );
        let processingmodule = read(
            &mut errors,
            "processingmodule",
            &self.processingmodule,
            FieldReason::NotANumber,
            |r| r.parse().ok(),
        );
        let status = read(
            &mut errors,
            "status",
            &self.status,
            FieldReason::Unknown,
            Status::parse,
        );
        let manual = read(
            &mut errors,
            "manual",
            &self.manual,
            FieldReason::BadSwitch,
            switch,
        );
        let has_task = read(
            &mut errors,
            "hastask",
            &self.hastask,
            FieldReason::BadSwitch,
            switch,
        );
        let created_from = read(
            &mut errors,
            "cdatefrom",
            &self.cdatefrom,
            FieldReason::BadDate,
            Timestamp::parse,
        );
        let created_to = read(
            &mut errors,
            "cdateto",
            &self.cdateto,
            FieldReason::BadDate,
            Timestamp::parse,
        );
        let min_trycount = read(
            &mut errors,
            "mintrycount",
            &self.mintrycount,
            FieldReason::NotANumber,
            |r| r.parse().ok(),
        );
        let failure = read(
            &mut errors,
            "failure",
            &self.failure,
            FieldReason::Unknown,
            |r| super::failure::is_failure_key(r).then(|| r.to_owned()),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(OperationFilter {
            id,
            intname,
            item,
            itemtype: non_empty(&self.itemtype).map(str::to_owned),
            client,
            processingmodule,
            status,
            manual,
            has_task,
            created_from,
            created_to,
            min_trycount,
            error_text: non_empty(&self.errortext).map(str::to_owned),
            failure,
        })
    }
}

fn non_empty(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|r| !r.is_empty())
}

/// An `on`/`off` (or `yes`/`no`) switch.
fn switch(raw: &str) -> Option<bool> {
    match raw {
        "on" | "yes" => Some(true),
        "off" | "no" => Some(false),
        _ => None,
    }
}

/// Field `name`: `None` when empty, else `parse`d, recording `reason` in `errors` when that fails.
fn read<T>(
    errors: &mut Vec<super::FieldError>,
    name: &str,
    raw: &str,
    reason: super::FieldReason,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let raw = non_empty(raw)?;
    let parsed = parse(raw);
    if parsed.is_none() {
        errors.push(super::FieldError::new(name, raw, reason));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FieldReason;

    #[test]
    fn a_filter_round_trips_through_its_form() {
        let form = FilterForm {
            id: "7".into(),
            intname: "open".into(),
            status: "manual".into(),
            hastask: "on".into(),
            cdatefrom: "2025-01-01 00:00:00".into(),
            errortext: "disk".into(),
            ..FilterForm::default()
        };
        let filter = form.parse().expect("valid");
        assert_eq!(filter.id, Some(7));
        assert_eq!(filter.has_task, Some(true));
        assert_eq!(FilterForm::of(&filter), form);
    }

    #[test]
    fn every_wrong_filter_field_is_named() {
        let form = FilterForm {
            id: "x".into(),
            status: "lost".into(),
            manual: "maybe".into(),
            cdateto: "yesterday".into(),
            ..FilterForm::default()
        };
        let reasons: Vec<(String, FieldReason)> = form
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("id".into(), FieldReason::NotANumber),
                ("status".into(), FieldReason::Unknown),
                ("manual".into(), FieldReason::BadSwitch),
                ("cdateto".into(), FieldReason::BadDate),
            ]
        );
    }
}
