//! `#[server]` functions: the browser's door to the service layer. Each is a few lines: find
//! the caller's session, call one service function, convert its error to [`AppError`] once.
//! No business rule and no SQL here.
//!
//! Arguments and answers travel as postcard (`application/x-postcard`): a compact format whose
//! decoders keep the WASM bundle small. `login` and `logout` take an ordinary form post, so that
//! their forms work before (and without) the WASM.

pub mod alert;
pub mod bulk;
pub mod chart;
pub mod circuit;
pub mod client;
pub mod dossier;
pub mod failure;
pub mod filter;
pub mod journal;
pub mod operation;
pub mod session;

pub use alert::{
    add_alert_hook, alert_hooks, delete_alert_hook, AddAlertHook, AlertHooks, DeleteAlertHook,
};
pub use bulk::{
    cancel_bulk_job, get_bulk_job, start_bulk_job, unfinished_bulk_jobs, CancelBulkJob, GetBulkJob,
    StartBulkJob, UnfinishedBulkJobs,
};
pub use chart::{get_dashboard, GetDashboard};
pub use circuit::{set_module_paused, troubled_circuits, SetModulePaused, TroubledCircuits};
pub use client::{
    get_client_area, leave_client, panel_url, su_client, GetClientArea, LeaveClient, PanelUrl,
    SuClient,
};
pub use dossier::{get_dossier, GetDossier};
pub use failure::{
    act_on_failure_group, filter_to_failure, get_failures, ActOnFailureGroup, FilterToFailure,
    GetFailures,
};
pub use filter::{
    filter_choices, filter_to_client, filter_to_status, get_filter, save_filter, status_counts,
    FilterChoices, FilterToClient, FilterToStatus, GetFilter, SaveFilter, StatusCounts,
};
pub use journal::{get_journal, GetJournal};
pub use operation::{
    attempt_log, edit_form, list_operations, operation_history, run_action, save_operation,
    AttemptLog, EditForm, ListOperations, OperationHistory, RunAction, SaveOperation,
};
pub use session::{
    current_session, login, logout, set_lang, CurrentSession, Login, Logout, SetLang, LANG_COOKIE,
};

/// The session cookie's name: BILLmanager's, so that legacy tools sharing a browser work.
pub const SESSION_COOKIE: &str = "billmgrses5";

/// Who is asking, as the server's request guard found it: the client's address (for login
/// throttling) and whether the request came over TLS (for `Secure` cookies).
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address: the socket's peer, or what a trusted proxy says.
    pub addr: Option<std::net::IpAddr>,
    /// The client reached us over TLS (ours, or a trusted proxy's).
    pub secure: bool,
}

/// The value of cookie `name` in a request's headers, if sent.
#[cfg(feature = "ssr")]
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// True when the headers show a request sent by a page of another site.
#[cfg(feature = "ssr")]
pub use context::is_cross_site;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    //! What every server function needs from the request: the service layer and the caller.

    use leptos::prelude::use_context;

    use super::SESSION_COOKIE;
    use crate::service::{Actor, Services, SessionToken};
    use crate::types::{AppError, Lang};

    /// The service layer the server put in the request's context.
    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("no Services in the leptos context");
            AppError::Internal
        })
    }

    /// The request's headers.
    pub async fn headers() -> Result<axum::http::HeaderMap, AppError> {
        leptos_axum::extract::<axum::http::HeaderMap>()
            .await
            .map_err(|_| AppError::Internal)
    }

    /// The language chosen in this browser before (the language cookie), else the one it
    /// prefers (`Accept-Language`).
    pub fn browser_lang(headers: &axum::http::HeaderMap) -> Lang {
        if let Some(lang) = super::cookie(headers, super::LANG_COOKIE).and_then(|c| Lang::parse(&c))
        {
            return lang;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language)
    }

    /// Who is asking (address, TLS), as the request guard found it; nothing is known when the
    /// request did not pass through it (a test driving the functions directly).
    pub fn client_info() -> super::ClientInfo {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<super::ClientInfo>().copied())
            .unwrap_or_default()
    }

    /// The session token the browser holds, if any.
    pub async fn session_token() -> Result<Option<SessionToken>, AppError> {
        Ok(super::cookie(&headers().await?, SESSION_COOKIE)
            .map(|id| SessionToken::from_client(&id)))
    }

    /// The caller of a function that changes something: as [`caller`], and refused (`Access`)
    /// when the request comes from another site (the browser says so in `Sec-Fetch-Site`, or
    /// its `Origin` names another host than the one asked).
    pub async fn changing_caller() -> Result<(Services, Actor), AppError> {
        if is_cross_site(&headers().await?) {
            tracing::warn!("a cross-site request to change something was refused");
            return Err(AppError::Access);
        }
        caller().await
    }

    /// True when the request is a browser's own form post (it wants a page back), not a call
    /// from the page's code (which asks for the server function's encoding).
    pub fn is_form_post(headers: &axum::http::HeaderMap) -> bool {
        headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    }

    /// True when the headers show a request sent by a page of another site.
    pub fn is_cross_site(headers: &axum::http::HeaderMap) -> bool {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
        };
        if let Some(site) = text("sec-fetch-site") {
            return !matches!(site, "same-origin" | "none");
        }
        match (text("origin"), text("host")) {
            (Some(origin), Some(host)) => {
                origin.split_once("://").map(|(_, authority)| authority) != Some(host)
            }
            _ => false,
        }
    }

    /// The service layer and the authenticated caller; `AppError::Auth` without a live session.
    pub async fn caller() -> Result<(Services, Actor), AppError> {
        let services = services()?;
        let token = session_token().await?.ok_or(AppError::Auth)?;
        let actor = services.authenticate(&token).await?;
        Ok((services, actor))
    }
}
