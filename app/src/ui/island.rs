//! What an island starts from. Leptos hands an island's props to the browser as JSON, which
//! puts a JSON parser in the WASM bundle for them alone; billops' islands take no props.
//! Instead the page hands an island its data with [`hand_over`]: on the server through the
//! context, and in the page as postcard in hex (`<script type="application/octet-stream"
//! data-island="name">`), which the island reads back in the browser with [`take`] (the
//! postcard decoder is in the bundle already, for the server functions' answers).

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Data handed to an island, as the server's context holds it.
#[derive(Clone)]
struct Handed<T>(T);

/// Hands `data` to the island `name` that the same view renders after it (one island of a
/// name per page); returns the element that carries it to the browser.
pub(crate) fn hand_over<T>(name: &'static str, data: T) -> impl IntoView
where
    T: Serialize + Clone + Send + Sync + 'static,
{
    let packed = postcard::to_allocvec(&data)
        .map(|bytes| to_hex(&bytes))
        .unwrap_or_default();
    provide_context(Handed(data));
    view! { <script type="application/octet-stream" data-island=name>{packed}</script> }
}

/// The data handed to the island `name`; `None` when the page handed it none, or (in the
/// browser) what it carries does not decode.
pub(crate) fn take<T>(name: &str) -> Option<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        let carrier = document()
            .query_selector(&format!("script[data-island=\"{name}\"]"))
            .ok()??;
        unpack(&carrier.text_content()?)
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    {
        let _ = name;
        use_context::<Handed<T>>().map(|handed| handed.0)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` in lowercase hex.
fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

/// The value whose postcard `text` holds in hex; `None` for anything else.
#[cfg_attr(
    not(all(feature = "hydrate", target_arch = "wasm32")),
    allow(dead_code)
)]
fn unpack<T: DeserializeOwned>(text: &str) -> Option<T> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()?;
    postcard::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::{to_hex, unpack};
    use crate::types::{FieldError, FieldReason, Lang};

    #[test]
    fn handed_data_reads_back_from_its_hex() {
        let value = (
            Lang::Ru,
            vec![FieldError {
                field: "trycount".into(),
                value: "-1".into(),
                reason: FieldReason::Negative,
            }],
            Some("комментарий \"в кавычках\" </script>".to_owned()),
        );
        let text = to_hex(&postcard::to_allocvec(&value).unwrap());
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
        assert_eq!(
            unpack::<(Lang, Vec<FieldError>, Option<String>)>(&text),
            Some(value)
        );
    }

    #[test]
    fn text_that_is_not_hex_or_cut_short_reads_as_nothing() {
        for bad in ["0g", "abc", "", "AB"] {
            assert_eq!(unpack::<(u32, String)>(bad), None, "{bad:?}");
        }
    }
}
