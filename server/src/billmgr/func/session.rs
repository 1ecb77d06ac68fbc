//! The session functions: `auth` (a password or a pass-through key), `keepalive`, `su` to a
//! user or (`runningoperation.su`) to an operation's client, `chlevel` back from it, and
//! `session.newkey`.

use app::service::Actor;
use app::types::{AppError, FieldReason};

use super::{bad_value, fail, Call, Outcome};
use crate::billmgr::reply::{ErrorReply, Reply};

/// `func=auth`: a password or a pass-through key gives a new session.
pub(super) async fn auth(call: &Call<'_>) -> Outcome {
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

/// `runningoperation.su`: a session as the client of the operation in `elid`.
pub(super) async fn operation_su(call: &Call<'_>, actor: &Actor) -> Outcome {
    let token = call
        .services
        .su_to_operation_client(actor, call.elid()?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::su(token.expose()))
}

/// `su&elid=<user>`: a session as that user.
pub(super) async fn su(call: &Call<'_>, actor: &Actor) -> Outcome {
    let token = call
        .services
        .su_to_user(actor, call.required("elid")?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::su(token.expose()))
}

/// `chlevel&lp=1`: back from `su`, to the session it was opened from.
pub(super) async fn chlevel(call: &Call<'_>, actor: &Actor) -> Outcome {
    let lang = call.lang;
    if call.params.non_empty("lp") != Some("1") {
        return Err(bad_value(
            lang,
            "lp",
            call.params.get("lp").unwrap_or(""),
            FieldReason::Unknown,
        ));
    }
    call.services
        .leave_client_session(actor)
        .await
        .map_err(fail(lang))?;
    Ok(Reply::ok())
}

/// `session.newkey`: a one-time pass-through key for `username`.
pub(super) async fn new_key(call: &Call<'_>, actor: &Actor) -> Outcome {
    call.services
        .new_login_key(actor, call.required("username")?, call.required("key")?)
        .await
        .map_err(fail(call.lang))?;
    Ok(Reply::ok())
}
