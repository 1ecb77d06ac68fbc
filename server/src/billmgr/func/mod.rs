//! The functions `/billmgr` answers (`func=`), each a thin adapter: read parameters, call one
//! service function, shape its result as a [`Reply`]. No business rule lives here.
//!
//! This module names the functions, finds the caller and hands each call to the file of the
//! object it serves; the parameter readers and error shapes they share are here too.

mod account;
mod failure;
mod filter;
mod history;
mod item;
mod operation;
mod processing;
mod session;

use app::service::{Actor, Services, SessionToken};
use app::types::{AppError, FieldError, FieldReason, Lang};

use super::reply::{ErrorReply, Reply};
use super::request::Params;

/// Every function of the legacy API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `runningoperation`: the list.
    List,
    /// `runningoperation.edit`: view, create, change.
    Edit,
    Delete,
    Start,
    Stop,
    TaskCreate,
    /// `runningoperation.failures`: the failure groups.
    Failures,
    /// `runningoperation.failures.start|stop|taskcreate` on the groups in `elid`.
    FailuresAct(app::types::failure::FailureAction),
    /// `runningoperation.errorhistory`: the attempts of the operation in `elid`.
    ErrorHistory,
    /// `errorhistory.showlog`: the log of the attempt in `elid`.
    ShowLog,
    Filter,
    SetFilter,
    /// `runningoperationgotoserver`.
    GotoServer,
    /// `runningoperation.su`: a session as the operation's client.
    OperationSu,
    Auth,
    Keepalive,
    /// `chlevel&lp=1`: back from `su`.
    Chlevel,
    /// `su&elid=<user>`.
    Su,
    SessionNewkey,
    Processing,
    ProcessingEdit,
    /// `processing.pause` / `processing.resume` on the modules in `elid`.
    ProcessingPause,
    ProcessingResume,
    Account,
    AccountEdit,
    Service,
    ServiceEdit,
}

impl Func {
    /// The function a `func=` value names.
    pub fn parse(name: &str) -> Option<Func> {
        Some(match name.trim() {
            "runningoperation" => Func::List,
            "runningoperation.edit" => Func::Edit,
            "runningoperation.delete" => Func::Delete,
            "runningoperation.start" => Func::Start,
            "runningoperation.stop" => Func::Stop,
            "runningoperation.taskcreate" => Func::TaskCreate,
            "runningoperation.failures" => Func::Failures,
            "runningoperation.failures.start" => {
                Func::FailuresAct(app::types::failure::FailureAction::Start)
            }
            "runningoperation.failures.stop" => {
                Func::FailuresAct(app::types::failure::FailureAction::Stop)
            }
            "runningoperation.failures.taskcreate" => {
                Func::FailuresAct(app::types::failure::FailureAction::TaskCreate)
            }
            "runningoperation.errorhistory" => Func::ErrorHistory,
            "errorhistory.showlog" => Func::ShowLog,
            "runningoperation.filter" => Func::Filter,
            "runningoperation.setfilter" => Func::SetFilter,
            "runningoperationgotoserver" => Func::GotoServer,
            "runningoperation.su" => Func::OperationSu,
            "auth" => Func::Auth,
            "keepalive" => Func::Keepalive,
            "chlevel" => Func::Chlevel,
            "su" => Func::Su,
            "session.newkey" => Func::SessionNewkey,
            "processing" => Func::Processing,
            "processing.edit" => Func::ProcessingEdit,
            "processing.pause" => Func::ProcessingPause,
            "processing.resume" => Func::ProcessingResume,
            "account" => Func::Account,
            "account.edit" => Func::AccountEdit,
            "service" => Func::Service,
            "service.edit" => Func::ServiceEdit,
            _ => return None,
        })
    }
}

/// One call: the service layer, the parameters, and what the transport knows of the caller.
#[derive(Clone)]
pub struct Call<'a> {
    pub services: &'a Services,
    pub params: &'a Params,
    /// The `billmgrses5` cookie's session id, if sent.
    pub cookie_session: Option<String>,
    /// The client's address, for login throttling.
    pub addr: Option<String>,
    /// The browser says a page of another site sent this request: the session cookie is then
    /// not accepted (an `auth=` id or `authinfo` is, since another site cannot know them).
    pub cross_site: bool,
    /// The language asked for (`lang=`), else the caller's session's, else English.
    pub lang: Lang,
}

type Outcome = Result<Reply, ErrorReply>;

/// Turns any service error into the error document, in the call's language.
fn fail<E: Into<AppError>>(lang: Lang) -> impl Fn(E) -> ErrorReply {
    move |e| ErrorReply::from_app(&e.into(), lang)
}

/// A refused parameter.
fn bad_value(lang: Lang, field: &str, value: &str, reason: FieldReason) -> ErrorReply {
    ErrorReply::from_app(
        &AppError::Value {
            fields: vec![FieldError::new(field, value, reason)],
        },
        lang,
    )
}

impl Call<'_> {
    fn required(&self, name: &str) -> Result<&str, ErrorReply> {
        self.params
            .non_empty(name)
            .ok_or_else(|| bad_value(self.lang, name, "", FieldReason::Required))
    }

    fn number(&self, name: &str) -> Result<Option<i64>, ErrorReply> {
        match self.params.non_empty(name) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| bad_value(self.lang, name, raw, FieldReason::NotANumber)),
        }
    }

    fn elid(&self) -> Result<i64, ErrorReply> {
        let raw = self.required("elid")?;
        raw.parse()
            .map_err(|_| bad_value(self.lang, "elid", raw, FieldReason::NotANumber))
    }

    /// `elid` as a list: ids separated by `", "` (BILLmanager) or a bare `,`.
    fn elid_list(&self) -> Result<Vec<i64>, ErrorReply> {
        let raw = self.required("elid")?;
        raw.split(',')
            .map(str::trim)
            .map(|id| {
                id.parse()
                    .map_err(|_| bad_value(self.lang, "elid", id, FieldReason::NotANumber))
            })
            .collect()
    }

    fn switch(&self, name: &str) -> Result<Option<bool>, ErrorReply> {
        match self.params.non_empty(name) {
            None => Ok(None),
            Some("on" | "yes") => Ok(Some(true)),
            Some("off" | "no") => Ok(Some(false)),
            Some(other) => Err(bad_value(self.lang, name, other, FieldReason::BadSwitch)),
        }
    }

    /// Finds the caller: `auth=` session id, else the `billmgrses5` cookie, else `authinfo=user:password`.
    async fn caller(&self) -> Result<Actor, ErrorReply> {
        let lang = self.lang;
        let session = match (self.params.non_empty("auth"), &self.cookie_session) {
            (Some(id), _) => Some(id.to_owned()),
            (None, Some(_)) if self.cross_site => {
                tracing::warn!("a cross-site call with the session cookie was refused");
                return Err(ErrorReply::from_app(&AppError::Access, lang));
            }
            (None, cookie) => cookie.clone(),
        };
        if let Some(id) = session {
            return self
                .services
                .authenticate(&SessionToken::from_client(&id))
                .await
                .map_err(fail(lang));
        }
        if let Some(authinfo) = self.params.get("authinfo") {
            let (user, password) = authinfo.split_once(':').unwrap_or((authinfo, ""));
            return self
                .services
                .authenticate_password(user, password, lang, self.addr.as_deref())
                .await
                .map_err(fail(lang));
        }
        Err(ErrorReply::from_app(&AppError::Auth, lang))
    }
}

/// Answers one call.
pub async fn dispatch(call: &Call<'_>) -> Reply {
    let lang = call.lang;
    let Some(name) = call.params.non_empty("func") else {
        return Reply::Error(ErrorReply::new(
            "missed",
            "func",
            "",
            lang,
            "Не указана функция (func)",
            "No function given (func)",
        ));
    };
    let Some(func) = Func::parse(name) else {
        return Reply::Error(ErrorReply::new(
            "missed",
            "func",
            name,
            lang,
            "Неизвестная функция",
            "Unknown function",
        ));
    };
    let outcome = match func {
        Func::Auth => session::auth(call).await,
        _ => match call.caller().await {
            Err(e) => Err(e),
            Ok(actor) => {
                // `lang=` is for this call; without it the session's language is the default.
                let lang = call
                    .params
                    .non_empty("lang")
                    .and_then(Lang::parse)
                    .unwrap_or(actor.lang);
                let actor = Actor { lang, ..actor };
                let call = Call {
                    lang,
                    ..call.clone()
                };
                run(func, &call, &actor).await
            }
        },
    };
    outcome.unwrap_or_else(Reply::Error)
}

/// Hands the call to the file of the object it serves.
async fn run(func: Func, call: &Call<'_>, actor: &Actor) -> Outcome {
    match func {
        Func::List => operation::list(call, actor).await,
        Func::Edit => operation::edit(call, actor).await,
        Func::Delete | Func::Start | Func::Stop | Func::TaskCreate => {
            operation::act(func, call, actor).await
        }
        Func::SetFilter => operation::set_filter(call, actor).await,
        Func::Failures => failure::list(call, actor).await,
        Func::FailuresAct(action) => failure::act(call, actor, action).await,
        Func::GotoServer => operation::goto_server(call, actor).await,
        Func::Filter => filter::filter(call, actor).await,
        Func::ErrorHistory => history::error_history(call, actor).await,
        Func::ShowLog => history::show_log(call, actor).await,
        Func::Auth => session::auth(call).await,
        Func::Keepalive => Ok(Reply::ok()),
        Func::OperationSu => session::operation_su(call, actor).await,
        Func::Su => session::su(call, actor).await,
        Func::Chlevel => session::chlevel(call, actor).await,
        Func::SessionNewkey => session::new_key(call, actor).await,
        Func::Processing => processing::list(call, actor).await,
        Func::ProcessingEdit => processing::edit(call, actor).await,
        Func::ProcessingPause => processing::pause(call, actor, true).await,
        Func::ProcessingResume => processing::pause(call, actor, false).await,
        Func::Account => account::list(call, actor).await,
        Func::AccountEdit => account::edit(call, actor).await,
        Func::Service => item::list(call, actor).await,
        Func::ServiceEdit => item::edit(call, actor).await,
    }
}

/// A switch as the API writes it.
fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
