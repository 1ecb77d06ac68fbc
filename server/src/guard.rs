//! What every request passes through, whatever it asks for: who is asking (the client's address
//! and whether it came over TLS, told by a trusted proxy when there is one), and the protective
//! headers on every answer (no type sniffing, no framing, no referrer, a content security policy,
//! `Secure` cookies over TLS, HSTS when billops itself speaks TLS).
//!
//! Pages get a policy that allows only their own scripts (the nonce Leptos puts on each, see
//! [`page_policy`]); every other answer, `/billmgr` documents included, gets one that allows
//! nothing at all, so that even a document a browser renders can run no script.

use std::net::{IpAddr, SocketAddr};

use app::api::ClientInfo;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;

/// How this node is reached, from the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// A reverse proxy in front says who the client is (`X-Forwarded-For`, its last address) and
    /// whether it spoke TLS (`X-Forwarded-Proto: https`). Off: those headers are ignored, since
    /// anyone can send them.
    pub trust_proxy: bool,
    /// billops itself serves TLS (`--tls-cert`, `--tls-key`).
    pub tls: bool,
}

/// The policy of every answer that is not a page: nothing may load or run, nothing may frame it.
pub const LOCKED_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of a page whose scripts carry `nonce`: its own scripts (the nonce), its WASM,
/// its styles and its own server; no plugin, no framing, forms only to itself.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Who is asking: the socket's peer, or with `trust_proxy` the address the proxy appended last
/// to `X-Forwarded-For` (the one the proxy itself saw; earlier ones the client may have made up).
pub fn client_info(request: &Request<Body>, config: HttpConfig) -> ClientInfo {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let header_text = |name: &str| {
        request
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .next_back()
            .map(str::to_owned)
    };
    if !config.trust_proxy {
        return ClientInfo {
            addr: peer,
            secure: config.tls,
        };
    }
    let forwarded = header_text("x-forwarded-for").and_then(|list| {
        list.rsplit(',')
            .next()
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
    });
    let https =
        header_text("x-forwarded-proto").is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    ClientInfo {
        addr: forwarded.or(peer),
        secure: config.tls || https,
    }
}

/// The middleware: tells the handlers who is asking, and puts the protective headers on what
/// they answer (without replacing one a handler set itself, such as a page's policy).
pub async fn guard(config: HttpConfig, mut request: Request<Body>, next: Next) -> Response {
    let info = client_info(&request, config);
    request.extensions_mut().insert(info);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, LOCKED_POLICY),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if config.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if info.secure {
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|cookie| secure_cookie(cookie).unwrap_or_else(|| cookie.clone()))
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// The cookie with `Secure` added, unless it has it.
fn secure_cookie(cookie: &HeaderValue) -> Option<HeaderValue> {
    let text = cookie.to_str().ok()?;
    if text
        .split(';')
        .any(|attr| attr.trim().eq_ignore_ascii_case("secure"))
    {
        return None;
    }
    HeaderValue::from_str(&format!("{text}; Secure")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::get("/");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder.body(Body::empty()).expect("request");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        request
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_a_proxy_is_trusted() {
        let r = request(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let info = client_info(&r, HttpConfig::default());
        assert_eq!(info.addr, Some(IpAddr::from([10, 0, 0, 1])));
        assert!(!info.secure);
    }

    #[test]
    fn a_trusted_proxy_names_the_last_address_it_appended() {
        let r = request(&[
            ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let config = HttpConfig {
            trust_proxy: true,
            tls: false,
        };
        let info = client_info(&r, config);
        assert_eq!(info.addr, Some(IpAddr::from([1, 2, 3, 4])));
        assert!(info.secure);
    }

    #[test]
    fn secure_is_added_once() {
        let plain = HeaderValue::from_static("a=b; Path=/; HttpOnly");
        assert_eq!(
            secure_cookie(&plain).expect("added"),
            "a=b; Path=/; HttpOnly; Secure"
        );
        assert_eq!(
            secure_cookie(&HeaderValue::from_static("a=b; Secure")),
            None
        );
    }
}
