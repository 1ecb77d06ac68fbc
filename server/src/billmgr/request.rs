//! Reading a `/billmgr` request: the query string and the body (form-encoded, multipart, or a
//! JSON object) into one list of parameters. Strict where BILLmanager scripts could be silently
//! misread: bad percent-encoding, invalid UTF-8, a parameter given twice with different values,
//! a malformed multipart body, or a body over the limit are refused, and the caller gets an
//! error document saying which. Every step is linear in the input: a request is read before
//! anyone is authenticated, so it must cost no more than its size.

use std::hash::BuildHasher;

/// The largest request body read, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Parameters never echoed back (in `tparams`) or logged.
pub const SECRET_PARAMS: [&str; 5] = ["password", "authinfo", "auth", "key", "secret"];

/// The longest parameter name echoed back in `tparams`.
pub const MAX_ECHOED_NAME: usize = 64;

/// Why a request could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// A `%` not followed by two hex digits.
    BadEncoding,
    /// Decoded bytes are not UTF-8.
    NotUtf8,
    /// The body is larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The parameter appears more than once, with different values.
    Duplicate(String),
    /// A JSON body that is not an object of scalar values.
    BadJson,
    /// A `multipart/form-data` body that cannot be read (no boundary, a part without a name,
    /// a broken part).
    BadMultipart,
}

/// Where a name or a value lies in [`Params`]' text.
type Span = (u32, u32);

/// The request's parameters, in the order given, each name once.
///
/// Every decoded name and value lies in one string, so reading a request costs a handful of
/// allocations however many parameters it has; names are found through their hashes (under a
/// key random per request, so no one can make them collide), kept sorted beside the pairs.
#[derive(Clone, Debug, Default)]
pub struct Params {
    text: String,
    /// Each parameter once, in the order first given: (name, value).
    pairs: Vec<(Span, Span)>,
    /// (hash of the name, index in `pairs`), sorted: a lookup is a binary search.
    by_name: Vec<(u64, u32)>,
    hasher: std::hash::RandomState,
}

impl PartialEq for Params {
    fn eq(&self, other: &Params) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Params {}

/// Parameters as they are read, before repeats are checked.
#[derive(Default)]
struct Collector {
    text: String,
    pairs: Vec<(Span, Span)>,
    /// Reused for each percent-decoded component.
    scratch: Vec<u8>,
}

impl Collector {
    fn span(&mut self, text: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        (start, self.text.len() as u32)
    }

    fn push(&mut self, name: &str, value: &str) {
        let name = self.span(name);
        let value = self.span(value);
        self.pairs.push((name, value));
    }

    /// Decodes one `application/x-www-form-urlencoded` component (`+` is a space) into the text.
    fn decode(&mut self, component: &[u8]) -> Result<Span, RequestError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut i = 0;
        while i < component.len() {
            match component[i] {
                b'+' => scratch.push(b' '),
                b'%' => {
                    let high = component.get(i + 1).copied().and_then(hex);
                    let low = component.get(i + 2).copied().and_then(hex);
                    match (high, low) {
                        (Some(h), Some(l)) => scratch.push(h * 16 + l),
                        _ => return Err(RequestError::BadEncoding),
                    }
                    i += 2;
                }
                b => scratch.push(b),
            }
            i += 1;
        }
        let text = std::str::from_utf8(&scratch).map_err(|_| RequestError::NotUtf8)?;
        let span = self.span(text);
        self.scratch = scratch;
        Ok(span)
    }

    /// The parameters, each name once: a name repeated with the same value is one parameter,
    /// with another value the request is refused. Sorting by (hash, name, position) brings
    /// repeats together, so this costs O(n log n) whatever the names are.
    fn finish(self) -> Result<Params, RequestError> {
        let hasher = std::hash::RandomState::new();
        let text = self.text;
        let raw = self.pairs;
        let at = |span: Span| &text[span.0 as usize..span.1 as usize];
        let mut order: Vec<(u64, u32)> = raw
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (hasher.hash_one(at(*name)), i as u32))
            .collect();
        // By hash (random per request) and position; only where hashes tie are names compared,
        // so that a tie of different names (which no one can arrange) still sorts by name.
        order.sort_unstable();
        let by_name = |a: &(u64, u32), b: &(u64, u32)| {
            at(raw[a.1 as usize].0)
                .cmp(at(raw[b.1 as usize].0))
                .then(a.1.cmp(&b.1))
        };
        let mut start = 0;
        while start < order.len() {
            let end = start + order[start..].partition_point(|e| e.0 == order[start].0);
            let first = at(raw[order[start].1 as usize].0);
            if order[start..end]
                .iter()
                .any(|e| at(raw[e.1 as usize].0) != first)
            {
                order[start..end].sort_unstable_by(by_name);
            }
            start = end;
        }
        let mut keep = vec![true; raw.len()];
        let mut first = 0;
        for i in 1..order.len() {
            let (name, value) = raw[order[i].1 as usize];
            let (first_name, first_value) = raw[order[first].1 as usize];
            if order[i].0 == order[first].0 && at(name) == at(first_name) {
                if at(value) != at(first_value) {
                    return Err(RequestError::Duplicate(at(name).to_owned()));
                }
                keep[order[i].1 as usize] = false;
            } else {
                first = i;
            }
        }
        let mut index = vec![0u32; raw.len()];
        let mut pairs = Vec::with_capacity(raw.len());
        for (i, pair) in raw.iter().enumerate() {
            if keep[i] {
                index[i] = pairs.len() as u32;
                pairs.push(*pair);
            }
        }
        let by_name = order
            .into_iter()
            .filter(|(_, i)| keep[*i as usize])
            .map(|(hash, i)| (hash, index[i as usize]))
            .collect();
        Ok(Params {
            text,
            pairs,
            by_name,
            hasher,
        })
    }
}

impl Params {
    /// Builds parameters from pairs; a name repeated with the same value is one parameter, with
    /// another value it is refused.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Params, RequestError> {
        let mut collector = Collector::default();
        for (name, value) in pairs {
            collector.push(&name, &value);
        }
        collector.finish()
    }

    fn at(&self, span: Span) -> &str {
        &self.text[span.0 as usize..span.1 as usize]
    }

    /// Every parameter, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (self.at(*n), self.at(*v)))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        let hash = self.hasher.hash_one(name);
        let start = self.by_name.partition_point(|(h, _)| *h < hash);
        self.by_name[start..]
            .iter()
            .take_while(|(h, _)| *h == hash)
            .map(|(_, i)| self.pairs[*i as usize])
            .find(|(n, _)| self.at(*n) == name)
            .map(|(_, v)| self.at(v))
    }

    /// The value of `name` if given and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// True when `name` is given with a non-empty value (`sok=ok`, `filter=on`).
    pub fn is_set(&self, name: &str) -> bool {
        self.non_empty(name).is_some()
    }

    /// The parameters a list echoes in `tparams`: every one except the secret ones and those
    /// whose name is not a plain identifier ([`is_plain_name`]), which no BILLmanager function
    /// takes and which could not be an element name.
    pub fn echoable(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter()
            .filter(|(n, _)| is_plain_name(n) && !SECRET_PARAMS.contains(n))
    }
}

/// True for a name that is safe as an XML element name and a JSON key in every output format:
/// an ASCII letter or `_`, then letters, digits, `_`, `.` or `-`, at most [`MAX_ECHOED_NAME`]
/// characters, and not starting with `xml` (reserved by XML).
pub fn is_plain_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || *first == b'_')
        && bytes.len() <= MAX_ECHOED_NAME
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !bytes[..bytes.len().min(3)].eq_ignore_ascii_case(b"xml")
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one form component into a string of its own (for the lenient [`first_value`]).
fn decode(component: &[u8]) -> Result<String, RequestError> {
    let mut collector = Collector::default();
    collector.decode(component)?;
    Ok(collector.text)
}

/// Parses a query string or form body. Empty pieces (`a=1&&b=2`) are skipped.
pub fn parse_form(input: &[u8]) -> Result<Params, RequestError> {
    let mut collector = Collector::default();
    read_form(&mut collector, input)?;
    collector.finish()
}

fn read_form(collector: &mut Collector, input: &[u8]) -> Result<(), RequestError> {
    collector.text.reserve(input.len());
    for piece in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &b""[..]),
        };
        let name = collector.decode(name)?;
        let value = collector.decode(value)?;
        collector.pairs.push((name, value));
    }
    Ok(())
}

/// The first value of `name` in a query string, read leniently (other pieces may be malformed):
/// how `out` and `lang` are found even for a request that is refused.
pub fn first_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|piece| {
        let (n, v) = piece.split_once('=')?;
        (decode(n.as_bytes()).ok()? == name).then(|| decode(v.as_bytes()).ok())?
    })
}

/// Parses a JSON object body: strings, numbers and booleans become text; `null` is empty.
pub fn parse_json(input: &[u8]) -> Result<Params, RequestError> {
    let mut collector = Collector::default();
    read_json(&mut collector, input)?;
    collector.finish()
}

fn read_json(collector: &mut Collector, input: &[u8]) -> Result<(), RequestError> {
    let value: serde_json::Value =
        serde_json::from_slice(input).map_err(|_| RequestError::BadJson)?;
    let serde_json::Value::Object(map) = value else {
        return Err(RequestError::BadJson);
    };
    for (name, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => if b { "on" } else { "off" }.to_owned(),
            serde_json::Value::Null => String::new(),
            _ => return Err(RequestError::BadJson),
        };
        collector.push(&name, &text);
    }
    Ok(())
}

/// Parses a `multipart/form-data` body (PHP's curl with an array of fields, Python `requests`
/// with `files=`): each part is one parameter, its content the value (UTF-8; a file's content
/// too). `content_type` carries the boundary.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Params, RequestError> {
    let mut collector = Collector::default();
    read_multipart(&mut collector, content_type, body)?;
    collector.finish()
}

fn read_multipart(
    collector: &mut Collector,
    content_type: &str,
    body: &[u8],
) -> Result<(), RequestError> {
    use futures_util::FutureExt;
    let boundary = multer::parse_boundary(content_type).map_err(|_| RequestError::BadMultipart)?;
    let chunk = bytes::Bytes::copy_from_slice(body);
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The whole body is one chunk already in memory, so nothing here ever waits: each step is
    // polled once. A step that did wait would be a bug, and is refused rather than blocked on.
    loop {
        let field = multipart
            .next_field()
            .now_or_never()
            .ok_or(RequestError::BadMultipart)?
            .map_err(|_| RequestError::BadMultipart)?;
        let Some(field) = field else {
            return Ok(());
        };
        let name = field
            .name()
            .filter(|n| !n.is_empty())
            .ok_or(RequestError::BadMultipart)?
            .to_owned();
        let value = field
            .bytes()
            .now_or_never()
            .ok_or(RequestError::BadMultipart)?
            .map_err(|_| RequestError::BadMultipart)?;
        let value = std::str::from_utf8(&value).map_err(|_| RequestError::NotUtf8)?;
        collector.push(&name, value);
    }
}

/// Reads the parameters of a request from its query string and body. A parameter may be in
/// both (scripts put `func` and `out` in the query and repeat them in the body): with the same
/// value it is one parameter, with another it is refused.
pub fn parse(
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Params, RequestError> {
    // One collection for both, checked for repeats once.
    let mut collector = Collector::default();
    read_form(&mut collector, query.unwrap_or("").as_bytes())?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return collector.finish();
    }
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media == "multipart/form-data" {
        read_multipart(&mut collector, content_type.unwrap_or_default(), body)?;
    } else if media == "application/json"
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    {
        read_json(&mut collector, body)?;
    } else {
        read_form(&mut collector, body)?;
    }
    collector.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_and_query_strings_are_decoded() {
        let p = parse(
            Some("func=runningoperation&out=xml"),
            None,
            b"elid=1%2C+2&comment=a%20b+c",
        )
        .expect("ok");
        assert_eq!(p.get("func"), Some("runningoperation"));
        assert_eq!(p.get("elid"), Some("1, 2"));
        assert_eq!(p.get("comment"), Some("a b c"));
        assert_eq!(p.get("missing"), None);
    }

    #[test]
    fn a_json_object_body_is_read_as_parameters() {
        let p = parse(
            None,
            Some("application/json"),
            br#"{"func":"auth","p_num":2,"manual":true,"x":null}"#,
        )
        .expect("ok");
        assert_eq!(
            (p.get("func"), p.get("p_num"), p.get("manual"), p.get("x")),
            (Some("auth"), Some("2"), Some("on"), Some(""))
        );
        assert_eq!(
            parse(None, Some("application/json"), b"[1]"),
            Err(RequestError::BadJson)
        );
        assert_eq!(
            parse(None, Some("application/json"), br#"{"a":{"b":1}}"#),
            Err(RequestError::BadJson)
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert_eq!(
            parse(Some("a=%zz"), None, b""),
            Err(RequestError::BadEncoding)
        );
        assert_eq!(
            parse(Some("a=%4"), None, b""),
            Err(RequestError::BadEncoding)
        );
        assert_eq!(
            parse(Some("a=%ff%fe"), None, b""),
            Err(RequestError::NotUtf8)
        );
        assert_eq!(
            parse(Some("a=1&a=2"), None, b""),
            Err(RequestError::Duplicate("a".into()))
        );
        assert_eq!(
            parse(Some("a=1"), None, b"a=2"),
            Err(RequestError::Duplicate("a".into()))
        );
    }

    #[test]
    fn a_parameter_repeated_with_the_same_value_is_one_parameter() {
        let p = parse(Some("func=auth&out=xml"), None, b"func=auth&username=u").expect("ok");
        assert_eq!(
            (p.get("func"), p.get("out"), p.get("username")),
            (Some("auth"), Some("xml"), Some("u"))
        );
        assert_eq!(p.echoable().count(), 3);
    }

    #[test]
    fn out_and_lang_are_found_in_a_malformed_query() {
        assert_eq!(
            first_value("x=%zz&out=sjson&out=xml", "out").as_deref(),
            Some("sjson")
        );
        assert_eq!(first_value("lang=ru", "out"), None);
    }

    #[test]
    fn secrets_are_never_echoed() {
        let p = parse(
            Some("func=x&authinfo=a:b&password=p&auth=s&key=k&username=u"),
            None,
            b"",
        )
        .expect("ok");
        let echoed: Vec<&str> = p.echoable().map(|(n, _)| n).collect();
        assert_eq!(echoed, vec!["func", "username"]);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn encode(text: &str) -> String {
            text.bytes().map(|b| format!("%{b:02X}")).collect()
        }

        proptest! {
            #[test]
            fn no_input_makes_the_parser_panic(
                query in ".{0,200}",
                body in proptest::collection::vec(any::<u8>(), 0..400),
                json in any::<bool>(),
            ) {
                let _ = parse(Some(&query), json.then_some("application/json"), &body);
            }

            #[test]
            fn percent_encoded_pairs_decode_to_what_was_encoded(
                pairs in proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,20}", 0..8),
            ) {
                let query: Vec<String> = pairs.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
                let params = parse(Some(&query.join("&")), None, b"").expect("well-formed");
                for (name, value) in &pairs {
                    prop_assert_eq!(params.get(name), Some(value.as_str()));
                }
            }
        }
    }
}
