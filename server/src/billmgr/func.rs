//! The functions `/billmgr` answers (`func=`), each a thin adapter: read parameters, call one
//! service function, shape its result as a [`Reply`]. No business rule lives here.

use app::service::{Actor, ModuleChange, ModuleInput, Services, SessionToken};
use app::types::{
    AppError, FieldError, FieldReason, FilterForm, Intname, ItemStatus, ItemView, Lang, ListQuery,
    ModuleKind, OperationFilter, OperationInput, SortColumn, SortOrder, Status, Timestamp,
};

use super::reply::{Cell, ErrorReply, Paging, Reply, Slist};
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
        Func::Auth => auth(call).await,
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

async fn run(func: Func, call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    match func {
        Func::List => list(call, actor).await,
        Func::Edit => edit(call, actor).await,
        Func::Delete | Func::Start | Func::Stop | Func::TaskCreate => {
            let ids = call.elid_list()?;
            let outcome = match func {
                Func::Delete => svc.delete_operations(actor, &ids).await,
                Func::Start => svc.start_operations(actor, &ids).await,
                Func::Stop => svc.stop_operations(actor, &ids).await,
                _ => svc.create_tasks(actor, &ids).await,
            };
            outcome
                .and_then(|group| group.into_first_error())
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        Func::ErrorHistory => {
            let attempts = svc
                .list_attempts(actor, call.elid()?)
                .await
                .map_err(fail(lang))?;
            let rows: Vec<Vec<Cell>> = attempts
                .iter()
                .map(|a| {
                    vec![
                        Cell::new("id", a.id.to_string()),
                        Cell::new("createdate", a.createdate.format()),
                        Cell::new("item", a.item_id.to_string()),
                        Cell::new("task", a.task_id.map(|t| t.to_string()).unwrap_or_default()),
                        Cell::new(
                            "finished",
                            a.finished.map(Timestamp::format).unwrap_or_default(),
                        ),
                        Cell::new("outcome", a.outcome.raw()),
                        Cell::new("errortype", a.error_type.clone().unwrap_or_default()),
                        Cell::new("errormsg", a.error_message.clone().unwrap_or_default()),
                    ]
                })
                .collect();
            Ok(unpaged(rows))
        }
        Func::ShowLog => {
            let (a, log) = svc
                .get_attempt_log(actor, call.elid()?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::Form {
                fields: vec![
                    Cell::new("elid", a.id.to_string()),
                    Cell::new("runningoperation", a.operation_id.to_string()),
                    Cell::new("createdate", a.createdate.format()),
                    Cell::new("outcome", a.outcome.raw()),
                    Cell::new("errortype", a.error_type.unwrap_or_default()),
                    Cell::new("errormsg", a.error_message.unwrap_or_default()),
                    Cell::new("log", log),
                ],
                slists: Vec::new(),
            })
        }
        Func::Filter => {
            if call.params.is_set("sok") {
                let filter = read_filter(call)?;
                svc.save_operation_filter(actor, &filter)
                    .await
                    .map_err(fail(lang))?;
                Ok(Reply::ok())
            } else {
                let filter = svc.load_operation_filter(actor).await.map_err(fail(lang))?;
                Ok(Reply::Form {
                    fields: filter_fields(&filter),
                    slists: filter_slists(lang),
                })
            }
        }
        Func::SetFilter => {
            svc.filter_by_operation_client(actor, call.elid()?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::redirect("list", "func=runningoperation".into()))
        }
        Func::GotoServer => {
            let url = svc
                .module_panel_url(actor, call.elid()?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::redirect("blank", url))
        }
        Func::OperationSu => {
            let token = svc
                .su_to_operation_client(actor, call.elid()?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::su(token.expose()))
        }
        Func::Su => {
            let token = svc
                .su_to_user(actor, call.required("elid")?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::su(token.expose()))
        }
        Func::Keepalive => Ok(Reply::ok()),
        Func::Chlevel => {
            if call.params.non_empty("lp") != Some("1") {
                return Err(bad_value(
                    lang,
                    "lp",
                    call.params.get("lp").unwrap_or(""),
                    FieldReason::Unknown,
                ));
            }
            svc.leave_client_session(actor).await.map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        Func::SessionNewkey => {
            svc.new_login_key(actor, call.required("username")?, call.required("key")?)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        Func::Processing => {
            let modules = svc.list_modules(actor).await.map_err(fail(lang))?;
            let rows = modules
                .iter()
                .map(|m| {
                    vec![
                        Cell::new("id", m.id.to_string()),
                        Cell::new("name", m.name.clone()),
                        Cell::new("module", m.kind.raw()),
                        Cell::new("target", m.target.clone()),
                        Cell::new("panel_url", m.panel_url.clone().unwrap_or_default()),
                        Cell::new("max_running", m.max_running.to_string()),
                        Cell::new("max_tries", m.max_tries.to_string()),
                        Cell::new("timeout", m.timeout_secs.to_string()),
                        Cell::with_orig("status", switch_label(m.enabled, lang), on_off(m.enabled)),
                    ]
                })
                .collect();
            Ok(unpaged(rows))
        }
        Func::ProcessingEdit => processing_edit(call, actor).await,
        Func::Account => {
            let clients = svc.list_clients(actor).await.map_err(fail(lang))?;
            let rows = clients
                .iter()
                .map(|c| {
                    vec![
                        Cell::new("id", c.id.to_string()),
                        Cell::new("name", c.name.clone()),
                        Cell::new("email", c.email.clone().unwrap_or_default()),
                        Cell::new("registration_date", c.created.format()),
                    ]
                })
                .collect();
            Ok(unpaged(rows))
        }
        Func::AccountEdit => {
            let elid = call.number("elid")?;
            if !call.params.is_set("sok") {
                let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
                let c = svc.get_client(actor, id).await.map_err(fail(lang))?;
                return Ok(form(vec![
                    Cell::new("elid", c.id.to_string()),
                    Cell::new("name", c.name),
                    Cell::new("email", c.email.unwrap_or_default()),
                ]));
            }
            let name = call.params.get("name").unwrap_or("");
            let email = call.params.get("email");
            match elid {
                Some(id) => {
                    svc.change_client(actor, id, name, email)
                        .await
                        .map_err(fail(lang))?;
                    Ok(Reply::ok())
                }
                None => {
                    let id = svc
                        .add_client(actor, name, email)
                        .await
                        .map_err(fail(lang))?;
                    Ok(created(id))
                }
            }
        }
        Func::Service => {
            let items = svc
                .list_items(actor, call.number("client")?)
                .await
                .map_err(fail(lang))?;
            Ok(unpaged(items.iter().map(item_cells).collect()))
        }
        Func::ServiceEdit => service_edit(call, actor).await,
        Func::Auth => auth(call).await,
    }
}

fn unpaged(rows: Vec<Vec<Cell>>) -> Reply {
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

fn form(fields: Vec<Cell>) -> Reply {
    Reply::Form {
        fields,
        slists: Vec::new(),
    }
}

fn created(id: i64) -> Reply {
    Reply::Ok {
        redirect: None,
        extra: vec![Cell::new("id", id.to_string())],
    }
}

fn switch_label(on: bool, lang: Lang) -> &'static str {
    if on {
        lang.pick("Включен", "On")
    } else {
        lang.pick("Выключен", "Off")
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// `func=auth`: a password or a pass-through key gives a new session.
async fn auth(call: &Call<'_>) -> Outcome {
    let lang = call.lang;
    let username = call.params.get("username").unwrap_or("");
    let result = match (call.params.non_empty("key"), call.params.get("password")) {
        (Some(key), _) => {
            call.services
                .login_with_key(username, key, lang, call.addr.as_deref())
                .await
        }
        (None, Some(password)) => {
            call.services
                .login(username, password, lang, call.addr.as_deref())
                .await
        }
        (None, None) => return Err(ErrorReply::from_app(&AppError::Auth, lang)),
    };
    let (token, info) = result.map_err(fail(lang))?;
    Ok(Reply::Session {
        id: token.expose().to_owned(),
        level: Some(info.level.raw().to_owned()),
        with_ok: false,
    })
}

/// The filter fields of the list, as the API names them; every wrong one is named.
fn read_filter(call: &Call<'_>) -> Result<OperationFilter, ErrorReply> {
    FilterForm::from_fields(|name| call.params.get(name))
        .parse()
        .map_err(|fields| ErrorReply::from_app(&AppError::Value { fields }, call.lang))
}

fn filter_fields(f: &OperationFilter) -> Vec<Cell> {
    FilterForm::of(f)
        .fields()
        .into_iter()
        .map(|(name, value)| Cell::new(name, value))
        .collect()
}

fn intname_slist(lang: Lang) -> Slist {
    Slist {
        name: "intname".into(),
        options: Intname::ALL
            .iter()
            .map(|i| (i.raw().to_owned(), i.label(lang).to_owned()))
            .collect(),
    }
}

fn filter_slists(lang: Lang) -> Vec<Slist> {
    vec![
        intname_slist(lang),
        Slist {
            name: "status".into(),
            options: Status::ALL
                .iter()
                .map(|s| (s.raw().to_owned(), s.label(lang).to_owned()))
                .collect(),
        },
    ]
}

/// `runningoperation`: one page; `filter=on` with filter fields saves the filter and applies it.
async fn list(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let filter = if call.params.non_empty("filter") == Some("on") {
        let filter = read_filter(call)?;
        svc.save_operation_filter(actor, &filter)
            .await
            .map_err(fail(lang))?;
        filter
    } else {
        svc.load_operation_filter(actor).await.map_err(fail(lang))?
    };
    let sort = match call.params.non_empty("p_sort") {
        None => SortColumn::Id,
        Some(raw) => SortColumn::parse(raw)
            .ok_or_else(|| bad_value(lang, "p_sort", raw, FieldReason::Unknown))?,
    };
    let order = match call.params.non_empty("p_order") {
        None => SortOrder::Asc,
        Some(raw) => SortOrder::parse(raw)
            .ok_or_else(|| bad_value(lang, "p_order", raw, FieldReason::Unknown))?,
    };
    let positive = |name: &str, default: u32| -> Result<u32, ErrorReply> {
        match call.params.non_empty(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(bad_value(lang, name, raw, FieldReason::BelowOne)),
            },
        }
    };
    let query = ListQuery {
        filter,
        sort,
        order,
        page: positive("p_num", 1)?,
        // Scripts that do not page get everything up to the largest page.
        page_size: positive("p_cnt", app::types::page::MAX_PAGE_SIZE)?,
    };
    let page = svc
        .list_operations(actor, query.clone())
        .await
        .map_err(fail(lang))?;
    let rows = page
        .rows
        .iter()
        .map(|r| {
            vec![
                Cell::new("id", r.id.to_string()),
                Cell::new("desc", r.desc(lang)),
                Cell::new("item", r.item_name.clone()),
                Cell::new("item_id", r.item_id.to_string()),
                Cell::new("itemtype", r.itemtype.clone()),
                Cell::new("client", r.client_name.clone()),
                Cell::new("client_id", r.client_id.to_string()),
                Cell::new("cdate", r.cdate.format()),
                Cell::new("trycount", r.trycount.to_string()),
                Cell::new("processingmodule", r.module_name.clone()),
                Cell::new("processingmodule_id", r.module_id.to_string()),
                Cell::new("task", r.task_id.map(|t| t.to_string()).unwrap_or_default()),
                Cell::with_orig("status", r.status.label(lang), r.status.raw()),
                Cell::new("manual", on_off(r.manual)),
            ]
        })
        .collect();
    Ok(Reply::List {
        rows,
        paging: Some(Paging {
            elems: page.total,
            exact: page.total_exact,
            num: page.page,
            cnt: page.page_size,
            sort: query.sort.name().to_owned(),
            order: query.order.name().to_owned(),
        }),
    })
}

/// `runningoperation.edit`: without `sok` the form (of `elid`, or a new one); with `sok` a
/// change (with `elid`) or a creation.
async fn edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let elid = call.number("elid")?;
    if !call.params.is_set("sok") {
        let fields = match elid {
            Some(id) => {
                let f = svc
                    .get_operation_form(actor, id)
                    .await
                    .map_err(fail(lang))?;
                vec![
                    Cell::new("elid", f.id.to_string()),
                    Cell::new("intname", f.intname.raw()),
                    Cell::new("item", f.item_id.to_string()),
                    Cell::new("trycount", f.trycount.to_string()),
                    Cell::new("cdate", f.cdate.format()),
                    Cell::new("manual", on_off(f.manual)),
                    Cell::new("comment", f.comment),
                    Cell::with_orig("status", f.status.label(lang), f.status.raw()),
                ]
            }
            None => {
                let blank = svc.new_operation_form(actor).await.map_err(fail(lang))?;
                [
                    ("intname", blank.intname),
                    ("item", blank.item),
                    ("trycount", blank.trycount),
                    ("cdate", blank.cdate),
                    ("manual", blank.manual),
                    ("comment", blank.comment),
                ]
                .into_iter()
                .map(|(name, value)| Cell::new(name, value.unwrap_or_default()))
                .collect()
            }
        };
        return Ok(Reply::Form {
            fields,
            slists: vec![intname_slist(lang)],
        });
    }
    let p = call.params;
    let input = OperationInput {
        intname: p.get("intname").map(str::to_owned),
        item: p.get("item").map(str::to_owned),
        trycount: p.get("trycount").map(str::to_owned),
        cdate: p.get("cdate").map(str::to_owned),
        manual: p.get("manual").map(str::to_owned),
        comment: p.get("comment").map(str::to_owned),
    };
    match elid {
        Some(id) => {
            svc.change_operation(actor, id, &input)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let id = svc
                .create_operation(actor, &input)
                .await
                .map_err(fail(lang))?;
            Ok(created(id))
        }
    }
}

/// `processing.edit`: a module's form (never its secret), a change, or a new module.
async fn processing_edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let p = call.params;
    let elid = call.number("elid")?;
    if !p.is_set("sok") {
        let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
        let m = svc.get_module(actor, id).await.map_err(fail(lang))?;
        return Ok(form(vec![
            Cell::new("elid", m.id.to_string()),
            Cell::new("name", m.name),
            Cell::new("module", m.kind.raw()),
            Cell::new("target", m.target),
            // Write-only: the form says whether a secret is set, never what it is.
            Cell::new("secret", ""),
            Cell::new("has_secret", on_off(m.has_secret)),
            Cell::new("panel_url", m.panel_url.unwrap_or_default()),
            Cell::new("max_running", m.max_running.to_string()),
            Cell::new("max_tries", m.max_tries.to_string()),
            Cell::new("timeout", m.timeout_secs.to_string()),
            Cell::new("enabled", on_off(m.enabled)),
        ]));
    }
    match elid {
        Some(id) => {
            let change = ModuleChange {
                name: p.get("name").map(str::to_owned),
                target: p.get("target").map(str::to_owned),
                secret: p.get("secret").map(str::to_owned),
                panel_url: p.get("panel_url").map(str::to_owned),
                max_running: call.number("max_running")?,
                max_tries: call.number("max_tries")?,
                timeout_secs: call.number("timeout")?,
                enabled: call.switch("enabled")?,
            };
            svc.change_module(actor, id, &change)
                .await
                .map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let raw_kind = p.get("module").unwrap_or("");
            let kind = ModuleKind::parse(raw_kind)
                .ok_or_else(|| bad_value(lang, "module", raw_kind, FieldReason::Unknown))?;
            let mut input = ModuleInput::new(
                p.get("name").unwrap_or(""),
                kind,
                p.get("target").unwrap_or(""),
            );
            input.secret = p.non_empty("secret").map(str::to_owned);
            input.panel_url = p.non_empty("panel_url").map(str::to_owned);
            input.max_running = call.number("max_running")?.unwrap_or(input.max_running);
            input.max_tries = call.number("max_tries")?.unwrap_or(input.max_tries);
            input.timeout_secs = call.number("timeout")?.unwrap_or(input.timeout_secs);
            let id = svc.add_module(actor, &input).await.map_err(fail(lang))?;
            Ok(created(id))
        }
    }
}

fn item_cells(i: &ItemView) -> Vec<Cell> {
    vec![
        Cell::new("id", i.id.to_string()),
        Cell::new("client", i.client_id.to_string()),
        Cell::new("processingmodule", i.module_id.to_string()),
        Cell::new("itemtype", i.itemtype.clone()),
        Cell::new("name", i.name.clone()),
        Cell::new("status", i.status.raw()),
    ]
}

/// `service.edit`: a client's service (BILLmanager's `item`).
async fn service_edit(call: &Call<'_>, actor: &Actor) -> Outcome {
    let svc = call.services;
    let lang = call.lang;
    let p = call.params;
    let elid = call.number("elid")?;
    let status = match p.non_empty("status") {
        None => None,
        Some(raw) => Some(
            ItemStatus::parse(raw)
                .ok_or_else(|| bad_value(lang, "status", raw, FieldReason::Unknown))?,
        ),
    };
    if !p.is_set("sok") {
        let id = elid.ok_or_else(|| bad_value(lang, "elid", "", FieldReason::Required))?;
        let item = svc.get_item(actor, id).await.map_err(fail(lang))?;
        let mut fields = item_cells(&item);
        fields[0].name = "elid".into();
        return Ok(form(fields));
    }
    match elid {
        Some(id) => {
            let old = svc.get_item(actor, id).await.map_err(fail(lang))?;
            let item = ItemView {
                id,
                client_id: call.number("client")?.unwrap_or(old.client_id),
                module_id: call.number("processingmodule")?.unwrap_or(old.module_id),
                itemtype: p.get("itemtype").map_or(old.itemtype, str::to_owned),
                name: p.get("name").map_or(old.name, str::to_owned),
                status: status.unwrap_or(old.status),
            };
            svc.change_item(actor, &item).await.map_err(fail(lang))?;
            Ok(Reply::ok())
        }
        None => {
            let client = call
                .number("client")?
                .ok_or_else(|| bad_value(lang, "client", "", FieldReason::Required))?;
            let module = call
                .number("processingmodule")?
                .ok_or_else(|| bad_value(lang, "processingmodule", "", FieldReason::Required))?;
            let id = svc
                .add_item(
                    actor,
                    client,
                    module,
                    p.get("itemtype").unwrap_or(""),
                    p.get("name").unwrap_or(""),
                    status.unwrap_or(ItemStatus::Ordered),
                )
                .await
                .map_err(fail(lang))?;
            Ok(created(id))
        }
    }
}
