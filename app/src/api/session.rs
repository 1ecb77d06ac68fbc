//! Logging in and out, and what the UI may know of its session.

use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;

use crate::types::{AppError, SessionInfo};

/// Logs in: on success the session cookie is set (`HttpOnly`, `SameSite=Strict`) and the
/// browser is sent to the operations list. A refusal is an error to the page's own call; to a
/// browser's plain form post (before or without the WASM) it is a redirect back to the form,
/// which then says why (`/login?failed=auth|throttled|internal`).
#[server(endpoint = "login", output = Postcard)]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    use super::context;
    let services = context::services()?;
    let headers = context::headers().await?;
    let addr = context::client_info().addr.map(|a| a.to_string());
    let error = match services
        .login(
            &username,
            &password,
            context::browser_lang(&headers),
            addr.as_deref(),
        )
        .await
    {
        Ok((token, _)) => {
            set_cookie(super::SESSION_COOKIE, token.expose(), false)?;
            leptos_axum::redirect("/");
            return Ok(());
        }
        Err(e) => AppError::from(e),
    };
    if context::is_form_post(&headers) {
        let failed = match error {
            AppError::Throttled => "throttled",
            AppError::Internal => "internal",
            _ => "auth",
        };
        leptos_axum::redirect(&format!("/login?failed={failed}"));
        return Ok(());
    }
    Err(error)
}

/// Logs out: ends the session and clears the cookie.
#[server(endpoint = "logout", output = Postcard)]
pub async fn logout() -> Result<(), AppError> {
    use super::context;
    let services = context::services()?;
    if let Some(token) = context::session_token().await? {
        services.logout(&token).await?;
    }
    set_cookie(super::SESSION_COOKIE, "", true)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The current session, or `None` when the browser has none (or it expired).
#[server(endpoint = "current_session", input = Postcard, output = Postcard)]
pub async fn current_session() -> Result<Option<SessionInfo>, AppError> {
    use super::context;
    match context::caller().await {
        Ok((services, actor)) => Ok(Some(services.describe_session(&actor))),
        Err(AppError::Auth) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets (or, with `clear`, removes) cookie `name`: `HttpOnly`, `SameSite=Strict`, whole site.
#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(name: &str, value: &str, clear: bool) -> Result<(), AppError> {
    use axum::http::{header::SET_COOKIE, HeaderValue};
    let max_age = if clear { "; Max-Age=0" } else { "" };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{max_age}");
    let header = HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(SET_COOKIE, header);
    Ok(())
}

/// The cookie remembering the language chosen in the header, for the next login.
pub const LANG_COOKIE: &str = "billopslang";

/// Switches the session (and the next logins in this browser) to `lang` (`ru` or `en`).
#[server(endpoint = "set_lang", input = Postcard, output = Postcard)]
pub async fn set_lang(lang: String) -> Result<(), AppError> {
    use axum::http::{header::SET_COOKIE, HeaderValue};
    let lang = crate::types::Lang::parse(&lang).ok_or_else(|| AppError::Value {
        fields: vec![crate::types::FieldError::new(
            "lang",
            &lang,
            crate::types::FieldReason::Unknown,
        )],
    })?;
    let (services, actor) = super::context::changing_caller().await?;
    services.change_lang(&actor, lang).await?;
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict",
        lang.code()
    );
    let header = HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(SET_COOKIE, header);
    Ok(())
}
