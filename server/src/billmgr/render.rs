//! The legacy output formats, and every quirk of them, in one place. Do not depend on this
//! from new code: it exists so that scripts written for BILLmanager keep working.
//!
//! - `xml` (the default): `<doc>` with one child per value; a list is a run of `<elem>`; a raw
//!   value behind a formatted one is the attribute `orig`.
//! - `json` and `sjson` (the same here): the XML mapped to JSON, `{"doc": ...}`, an element's
//!   text under `"$"`, an attribute `a` under `"$a"`; `elem`, `param`, `slist`, `val` are always
//!   arrays, other repeated children become arrays, single ones objects.
//! - `JSONdata`: data only: a list is a bare array of flat objects, a form a flat object,
//!   success `{"ok":""}`, an error `{"error":{"type":..,"object":..,"value":..,"msg":..}}`.
//! - `text`: what `mgrctl` prints: a list row per line as `key=value` pairs separated by
//!   spaces, a form as one `key=value` per line, `OK` on success, `ERROR type(object): msg`.

use super::reply::{Cell, ErrorReply, Reply};
use super::request::Params;

/// An output format (`out=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    JsonData,
    Text,
}

impl Format {
    /// Reads `out=`; unknown or missing values are `xml`, BILLmanager's default.
    pub fn parse(out: Option<&str>) -> Format {
        match out.map(str::trim) {
            Some("json" | "sjson" | "xjson") => Format::Json,
            Some("JSONdata" | "jsondata") => Format::JsonData,
            Some("text") => Format::Text,
            _ => Format::Xml,
        }
    }

    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=UTF-8",
            Format::Json | Format::JsonData => "application/json; charset=UTF-8",
            Format::Text => "text/plain; charset=UTF-8",
        }
    }
}

/// An XML element: the tree every document is built as before `xml` and `json` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: Option<String>,
    children: Vec<Node>,
    /// No two children share a name (`tparams`: the request's parameters, each once), so JSON
    /// output needs no grouping.
    unique_children: bool,
}

impl Node {
    fn new(name: &str) -> Node {
        Node {
            name: name.to_owned(),
            ..Node::default()
        }
    }

    fn text(name: &str, text: impl Into<String>) -> Node {
        Node {
            name: name.to_owned(),
            text: Some(text.into()),
            ..Node::default()
        }
    }

    fn attr(mut self, name: &str, value: impl Into<String>) -> Node {
        self.attrs.push((name.to_owned(), value.into()));
        self
    }

    fn child(mut self, child: Node) -> Node {
        self.children.push(child);
        self
    }
}

fn cell_node(cell: &Cell) -> Node {
    let node = Node::text(&cell.name, cell.text.clone());
    match &cell.orig {
        Some(orig) => node.attr("orig", orig.clone()),
        None => node,
    }
}

fn error_node(e: &ErrorReply) -> Node {
    let mut error = Node::new("error")
        .attr("type", e.kind.clone())
        .attr("object", e.object.clone())
        .attr("value", e.value.clone())
        .attr("lang", e.lang.code());
    if !e.object.is_empty() {
        error = error.child(
            Node::text("param", e.object.clone())
                .attr("name", "object")
                .attr("type", "msg")
                .attr("msg", e.object.clone()),
        );
        error = error.child(Node::text("param", e.value.clone()).attr("name", "value"));
    }
    error.child(Node::text("msg", e.msg.clone()))
}

/// The `<doc>` tree of a reply.
fn doc(reply: &Reply, params: &Params) -> Node {
    let mut doc = Node::new("doc");
    match reply {
        Reply::List { rows, paging } => {
            for row in rows {
                doc = doc.child(Node {
                    name: "elem".into(),
                    children: row.iter().map(cell_node).collect(),
                    ..Node::default()
                });
            }
            let tparams = Node {
                name: "tparams".into(),
                children: params.echoable().map(|(n, v)| Node::text(n, v)).collect(),
                unique_children: true,
                ..Node::default()
            };
            doc = doc.child(tparams);
            if let Some(p) = paging {
                doc = doc
                    .child(Node::text("p_elems", p.elems.to_string()))
                    .child(Node::text("p_num", p.num.to_string()))
                    .child(Node::text("p_cnt", p.cnt.to_string()))
                    .child(Node::text("p_sort", p.sort.clone()))
                    .child(Node::text("p_order", p.order.clone()))
                    .child(Node::text(
                        "p_elems_exact",
                        if p.exact { "on" } else { "off" },
                    ));
            }
        }
        Reply::Form { fields, slists } => {
            for field in fields {
                doc = doc.child(cell_node(field));
            }
            for slist in slists {
                let mut node = Node::new("slist").attr("name", slist.name.clone());
                for (key, label) in &slist.options {
                    node = node.child(Node::text("val", label.clone()).attr("key", key.clone()));
                }
                doc = doc.child(node);
            }
        }
        Reply::Ok { redirect, extra } => {
            doc = doc.child(match redirect {
                Some((kind, text)) => Node::text("ok", text.clone()).attr("type", *kind),
                None => Node::new("ok"),
            });
            for cell in extra {
                doc = doc.child(cell_node(cell));
            }
        }
        Reply::Session { id, level, with_ok } => {
            if *with_ok {
                doc = doc.child(Node::new("ok"));
            }
            let mut auth = Node::text("auth", id.clone()).attr("id", id.clone());
            if let Some(level) = level {
                auth = auth.attr("level", level.clone());
            }
            doc = doc.child(auth);
        }
        Reply::Error(e) => doc = doc.child(error_node(e)),
    }
    doc
}

/// Writes `text` escaped for XML: markup characters as entities, `\r` (and in attributes `\n`
/// and `\t`, which parsers would turn into spaces) as character references, so that a value
/// comes back exactly as it was; characters XML 1.0 cannot carry at all are dropped rather
/// than break the document.
fn escape(text: &str, attribute: bool, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if !is_xml_char(c) => {}
            c => out.push(c),
        }
    }
}

/// True for a character XML 1.0 documents may hold.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || ((c as u32) >= 0x20 && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

fn write_xml(node: &Node, out: &mut String) {
    out.push('<');
    out.push_str(&node.name);
    for (name, value) in &node.attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape(value, true, out);
        out.push('"');
    }
    let text = node.text.as_deref().unwrap_or("");
    if text.is_empty() && node.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    escape(text, false, out);
    for child in &node.children {
        write_xml(child, out);
    }
    out.push_str("</");
    out.push_str(&node.name);
    out.push('>');
}

/// Children that are arrays in JSON even when there is only one.
const ALWAYS_ARRAYS: [&str; 4] = ["elem", "param", "slist", "val"];

/// Writes `text` as a JSON string.
fn json_string(text: &str, out: &mut String) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes an element as BILLmanager's JSON: attributes under `"$name"`, text under `"$"`,
/// children by name in the order first seen, a name given once an object (unless it is one of
/// [`ALWAYS_ARRAYS`]), given more an array. Written straight into the output, and linear
/// however many distinct names there are (`tparams` echoes the caller's).
fn write_json(node: &Node, out: &mut String) {
    out.push('{');
    let mut first = true;
    let mut key = |name: &str, out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        json_string(name, out);
        out.push(':');
    };
    for (name, value) in &node.attrs {
        key(&format!("${name}"), out);
        json_string(value, out);
    }
    if node.children.is_empty() || node.text.as_deref().is_some_and(|t| !t.is_empty()) {
        key("$", out);
        json_string(node.text.as_deref().unwrap_or(""), out);
    }
    if node.unique_children {
        for child in &node.children {
            key(&child.name, out);
            let array = ALWAYS_ARRAYS.contains(&child.name.as_str());
            if array {
                out.push('[');
            }
            write_json(child, out);
            if array {
                out.push(']');
            }
        }
        out.push('}');
        return;
    }
    // Names given more than once, with where each of their elements is.
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for child in &node.children {
        *seen.entry(child.name.as_str()).or_default() += 1;
    }
    let mut repeated: std::collections::HashMap<&str, Vec<&Node>> =
        std::collections::HashMap::new();
    for child in &node.children {
        if seen[child.name.as_str()] > 1 || ALWAYS_ARRAYS.contains(&child.name.as_str()) {
            repeated.entry(child.name.as_str()).or_default().push(child);
        }
    }
    for child in &node.children {
        let name = child.name.as_str();
        match repeated.remove(name) {
            Some(group) => {
                key(name, out);
                out.push('[');
                for (i, member) in group.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json(member, out);
                }
                out.push(']');
            }
            // The rest of a group already written.
            None if seen[name] > 1 || ALWAYS_ARRAYS.contains(&name) => {}
            None => {
                key(name, out);
                write_json(child, out);
            }
        }
    }
    out.push('}');
}

fn flat(cells: &[Cell]) -> serde_json::Value {
    cells
        .iter()
        .map(|c| (c.name.clone(), serde_json::Value::from(c.text.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn json_data(reply: &Reply) -> serde_json::Value {
    match reply {
        Reply::List { rows, .. } => rows.iter().map(|row| flat(row)).collect::<Vec<_>>().into(),
        Reply::Form { fields, .. } => flat(fields),
        Reply::Ok { redirect, extra } => {
            let mut map = serde_json::Map::new();
            match redirect {
                None => map.insert("ok".into(), "".into()),
                Some((kind, text)) => {
                    map.insert("type".into(), (*kind).into());
                    map.insert("ok".into(), text.clone().into())
                }
            };
            for cell in extra {
                map.insert(cell.name.clone(), cell.text.clone().into());
            }
            map.into()
        }
        Reply::Session { id, level, .. } => match level {
            Some(level) => serde_json::json!({ "auth": id, "level": level }),
            None => serde_json::json!({ "ok": "", "auth": id }),
        },
        Reply::Error(e) => serde_json::json!({
            "error": { "type": e.kind, "object": e.object, "value": e.value, "lang": e.lang.code(), "msg": e.msg }
        }),
    }
}

/// One `key=value` pair of `text` output; line breaks in values are escaped so that one row
/// stays one line.
fn text_pair(cell: &Cell) -> String {
    format!("{}={}", cell.name, one_line(&cell.text))
}

/// A value on one line of `text` output: backslashes and line breaks escaped, so that no value
/// can start a line of its own (a forged `OK` or `ERROR`).
fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn text(reply: &Reply) -> String {
    let mut out = String::new();
    match reply {
        Reply::List { rows, .. } => {
            for row in rows {
                out.push_str(&row.iter().map(text_pair).collect::<Vec<_>>().join(" "));
                out.push('\n');
            }
        }
        Reply::Form { fields, .. } => {
            for field in fields {
                out.push_str(&text_pair(field));
                out.push('\n');
            }
        }
        Reply::Ok { redirect, extra } => {
            match redirect {
                None => out.push_str("OK\n"),
                Some((_, text)) => out.push_str(&format!("OK {text}\n")),
            }
            for cell in extra {
                out.push_str(&text_pair(cell));
                out.push('\n');
            }
        }
        Reply::Session { id, level, .. } => {
            out.push_str(&format!("auth={id}\n"));
            if let Some(level) = level {
                out.push_str(&format!("level={level}\n"));
            }
        }
        Reply::Error(e) => out.push_str(&format!(
            "ERROR {}({}): {}\n",
            e.kind,
            one_line(&e.object),
            one_line(&e.msg)
        )),
    }
    out
}

/// The reply in `format`, echoing the request's (non-secret) parameters where lists do.
pub fn render(reply: &Reply, params: &Params, format: Format) -> String {
    match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            write_xml(&doc(reply, params), &mut out);
            out.push('\n');
            out
        }
        Format::Json => {
            let mut out = String::from("{\"doc\":");
            write_json(&doc(reply, params), &mut out);
            out.push('}');
            out
        }
        Format::JsonData => json_data(reply).to_string(),
        Format::Text => text(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billmgr::reply::Paging;
    use app::types::Lang;

    fn list() -> Reply {
        Reply::List {
            rows: vec![vec![
                Cell::new("id", "7"),
                Cell::with_orig("status", "Waiting", "waiting"),
            ]],
            paging: Some(Paging {
                elems: 1,
                exact: true,
                num: 1,
                cnt: 50,
                sort: "id".into(),
                order: "asc".into(),
            }),
        }
    }

    fn params() -> Params {
        Params::from_pairs([
            ("func".to_owned(), "runningoperation".to_owned()),
            ("authinfo".to_owned(), "a:b".to_owned()),
        ])
        .expect("params")
    }

    #[test]
    fn a_single_elem_is_still_an_array_in_json() {
        let json: serde_json::Value =
            serde_json::from_str(&render(&list(), &params(), Format::Json)).expect("json");
        assert_eq!(json["doc"]["elem"][0]["id"]["$"], "7");
        assert_eq!(json["doc"]["elem"][0]["status"]["$orig"], "waiting");
        assert_eq!(json["doc"]["p_elems"]["$"], "1");
        assert_eq!(json["doc"]["tparams"]["func"]["$"], "runningoperation");
        assert!(json["doc"]["tparams"].get("authinfo").is_none());
    }

    #[test]
    fn xml_escapes_text_and_attributes() {
        let reply = Reply::Form {
            fields: vec![Cell::with_orig("comment", "a<b & \"c\"", "x'y")],
            slists: vec![],
        };
        let xml = render(&reply, &Params::default(), Format::Xml);
        assert!(
            xml.contains("<comment orig=\"x&apos;y\">a&lt;b &amp; &quot;c&quot;</comment>"),
            "{xml}"
        );
    }

    #[test]
    fn json_data_is_flat() {
        assert_eq!(
            render(&list(), &params(), Format::JsonData),
            r#"[{"id":"7","status":"Waiting"}]"#
        );
        assert_eq!(
            render(&Reply::ok(), &params(), Format::JsonData),
            r#"{"ok":""}"#
        );
    }

    #[test]
    fn text_is_one_row_per_line() {
        assert_eq!(
            render(&list(), &params(), Format::Text),
            "id=7 status=Waiting\n"
        );
        let e = ErrorReply::new("missed", "elid", "9", Lang::En, "нет", "no such id");
        assert_eq!(
            render(&Reply::Error(e), &params(), Format::Text),
            "ERROR missed(elid): no such id\n"
        );
    }

    #[test]
    fn an_empty_ok_is_an_object_with_empty_text() {
        let json: serde_json::Value =
            serde_json::from_str(&render(&Reply::ok(), &params(), Format::Json)).expect("json");
        assert_eq!(json, serde_json::json!({"doc": {"ok": {"$": ""}}}));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Any text, with a bias towards what breaks documents.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "\\PC{0,12}",
                "[\\x00-\\x1f\\u{FFFE}\\u{FFFF}a<]{0,6}",
                "[<>&\"'=/ \\n\\r\\t$:.a-z-]{0,12}",
                Just("x><script>alert(1)</script><y".to_owned()),
            ]
        }

        /// What XML 1.0 can carry of `text` (the renderer drops the rest).
        fn xml_text(text: &str) -> String {
            text.chars().filter(|c| is_xml_char(*c)).collect()
        }

        fn reply_and_params(pairs: &[(String, String)], values: &[String]) -> (Reply, Params) {
            let mut seen = std::collections::HashSet::new();
            let unique = pairs
                .iter()
                .filter(|(n, _)| seen.insert(n.clone()))
                .cloned();
            let params = Params::from_pairs(unique).expect("each name once");
            let row: Vec<Cell> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Cell::with_orig(&format!("c{i}"), v.clone(), v.clone()))
                .collect();
            let reply = Reply::List {
                rows: vec![row],
                paging: None,
            };
            (reply, params)
        }

        proptest! {
            #[test]
            fn no_parameter_becomes_markup_in_any_format(
                pairs in proptest::collection::vec((text(), text()), 0..6),
                values in proptest::collection::vec(text(), 0..4),
                error_object in text(),
                error_msg in text(),
            ) {
                let (reply, params) = reply_and_params(&pairs, &values);
                let echoed: Vec<(String, String)> = params
                    .echoable()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                // xml: parses, `tparams` holds exactly the echoable parameters, each value as text.
                let xml = render(&reply, &params, Format::Xml);
                let doc = roxmltree::Document::parse(&xml)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
                let tparams = doc.descendants().find(|n| n.has_tag_name("tparams"))
                    .ok_or_else(|| TestCaseError::fail("no tparams"))?;
                let got: Vec<(String, String)> = tparams
                    .children()
                    .filter(|n| n.is_element())
                    .map(|n| (n.tag_name().name().to_owned(), n.text().unwrap_or_default().to_owned()))
                    .collect();
                let want: Vec<(String, String)> = echoed
                    .iter()
                    .map(|(n, v)| (n.clone(), xml_text(v)))
                    .collect();
                prop_assert_eq!(&got, &want);
                let elem = doc.descendants().find(|n| n.has_tag_name("elem"))
                    .ok_or_else(|| TestCaseError::fail("no elem"))?;
                prop_assert_eq!(elem.children().filter(|n| n.is_element()).count(), values.len());
                // json: parses, and the same parameters come back under the same keys.
                let json: serde_json::Value = serde_json::from_str(&render(&reply, &params, Format::Json))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for (name, value) in &echoed {
                    prop_assert_eq!(json["doc"]["tparams"][name]["$"].as_str(), Some(value.as_str()));
                }
                let keys = json["doc"]["tparams"]
                    .as_object()
                    .map_or(0, |m| m.keys().filter(|k| !k.starts_with('$')).count());
                prop_assert_eq!(keys, echoed.len());
                serde_json::from_str::<serde_json::Value>(&render(&reply, &params, Format::JsonData))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // text: one line per row, and an error is one line.
                prop_assert_eq!(render(&reply, &params, Format::Text).lines().count(), 1);
                let error = Reply::Error(ErrorReply {
                    kind: "value".into(),
                    object: error_object.clone(),
                    value: error_msg.clone(),
                    lang: Lang::En,
                    msg: error_msg.clone(),
                });
                prop_assert_eq!(render(&error, &params, Format::Text).lines().count(), 1);
                let xml = render(&error, &params, Format::Xml);
                let doc = roxmltree::Document::parse(&xml)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
                let error_node = doc.descendants().find(|n| n.has_tag_name("error"))
                    .ok_or_else(|| TestCaseError::fail("no error"))?;
                prop_assert_eq!(
                    error_node.attribute("object").map(str::to_owned),
                    Some(xml_text(&error_object))
                );
            }

            #[test]
            fn whatever_is_sent_the_parsed_request_renders_as_a_document(
                query in "[a-z%&=0-9A-F<>\"'+]{0,80}",
                body in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                if let Ok(params) = crate::billmgr::request::parse(Some(&query), None, &body) {
                    let (reply, _) = reply_and_params(&[], &[]);
                    let xml = render(&reply, &params, Format::Xml);
                    prop_assert!(roxmltree::Document::parse(&xml).is_ok(), "{}", xml);
                    let json = render(&reply, &params, Format::Json);
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{}", json);
                }
            }
        }
    }
}
