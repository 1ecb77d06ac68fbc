//! Reading a `/billmgr` request: the query string and the body (form-encoded, multipart, or a
//! JSON object) into one list of parameters. Strict where BILLmanager scripts could be silently
//! misread: bad percent-encoding, invalid UTF-8, a parameter given twice with different values,
//! a malformed multipart body, or a body over the limit are refused, and the caller gets an
//! error document saying which. Every step is linear in the input: a request is read before
//! anyone is authenticated, so it must cost no more than its size.

use std::collections::HashMap;

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

/// The request's parameters, in the order given, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Where each name is in `pairs`: one lookup per parameter keeps reading linear.
    index: HashMap<String, usize>,
}

impl Params {
    /// Builds parameters from pairs; a name repeated with the same value is one parameter, with
    /// another value it is refused.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Params, RequestError> {
        let mut params = Params::default();
        for (name, value) in pairs {
            params.push(name, value)?;
        }
        Ok(params)
    }

    fn push(&mut self, name: String, value: String) -> Result<(), RequestError> {
        match self.index.get(&name) {
            Some(&at) if self.pairs[at].1 == value => Ok(()),
            Some(_) => Err(RequestError::Duplicate(name)),
            None => {
                self.index.insert(name.clone(), self.pairs.len());
                self.pairs.push((name, value));
                Ok(())
            }
        }
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&at| self.pairs[at].1.as_str())
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
        self.pairs
            .iter()
            .filter(|(n, _)| is_plain_name(n) && !SECRET_PARAMS.contains(&n.as_str()))
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Adds the pairs of `other`; a name already present must have the same value.
    pub fn merge(mut self, other: Params) -> Result<Params, RequestError> {
        for (name, value) in other.pairs {
            self.push(name, value)?;
        }
        Ok(self)
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

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn decode(component: &[u8]) -> Result<String, RequestError> {
    let mut out = Vec::with_capacity(component.len());
    let mut i = 0;
    while i < component.len() {
        match component[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = component.get(i + 1).copied().and_then(hex);
                let low = component.get(i + 2).copied().and_then(hex);
                match (high, low) {
                    (Some(h), Some(l)) => out.push(h * 16 + l),
                    _ => return Err(RequestError::BadEncoding),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| RequestError::NotUtf8)
}

/// Parses a query string or form body. Empty pieces (`a=1&&b=2`) are skipped.
pub fn parse_form(input: &[u8]) -> Result<Params, RequestError> {
    let mut params = Params::default();
    for piece in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &b""[..]),
        };
        params.push(decode(name)?, decode(value)?)?;
    }
    Ok(params)
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
    let value: serde_json::Value =
        serde_json::from_slice(input).map_err(|_| RequestError::BadJson)?;
    let serde_json::Value::Object(map) = value else {
        return Err(RequestError::BadJson);
    };
    let mut params = Params::default();
    for (name, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => if b { "on" } else { "off" }.to_owned(),
            serde_json::Value::Null => String::new(),
            _ => return Err(RequestError::BadJson),
        };
        params.push(name, text)?;
    }
    Ok(params)
}

/// Parses a `multipart/form-data` body (PHP's curl with an array of fields, Python `requests`
/// with `files=`): each part is one parameter, its content the value (UTF-8; a file's content
/// too). `content_type` carries the boundary.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Params, RequestError> {
    use futures_util::FutureExt;
    let boundary = multer::parse_boundary(content_type).map_err(|_| RequestError::BadMultipart)?;
    let chunk = bytes::Bytes::copy_from_slice(body);
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The whole body is one chunk already in memory, so nothing here ever waits: each step is
    // polled once. A step that did wait would be a bug, and is refused rather than blocked on.
    let mut params = Params::default();
    loop {
        let field = multipart
            .next_field()
            .now_or_never()
            .ok_or(RequestError::BadMultipart)?
            .map_err(|_| RequestError::BadMultipart)?;
        let Some(field) = field else {
            return Ok(params);
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
        let value = String::from_utf8(value.to_vec()).map_err(|_| RequestError::NotUtf8)?;
        params.push(name, value)?;
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
    let from_query = parse_form(query.unwrap_or("").as_bytes())?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(from_query);
    }
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let from_body = if media == "multipart/form-data" {
        parse_multipart(content_type.unwrap_or_default(), body)?
    } else if media == "application/json"
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    {
        parse_json(body)?
    } else {
        parse_form(body)?
    };
    from_query.merge(from_body)
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
