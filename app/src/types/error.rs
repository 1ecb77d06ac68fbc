//! The error that crosses every boundary to a client: typed, serialisable, localisable, and
//! free of database text. Service errors convert into it once; the legacy `/billmgr` renderer
//! turns it into BILLmanager's error document and the UI shows its message.

use serde::{Deserialize, Serialize};

use super::Lang;

/// Why one field's value was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldReason {
    /// The field is required and was missing or empty.
    Required,
    /// Not one of the accepted values.
    Unknown,
    /// Not a whole number.
    NotANumber,
    /// A number below zero where only zero or more is allowed.
    Negative,
    /// A number below one where only one or more is allowed.
    BelowOne,
    /// Not a date-time (`YYYY-MM-DD HH:MM:SS`).
    BadDate,
    /// Not `on` or `off`.
    BadSwitch,
    /// Longer than the given number of characters.
    TooLong(usize),
    /// Shorter than the given number of characters.
    TooShort(usize),
    /// The referenced object (service, client, module) does not exist.
    NotFound,
    /// The value is taken by another object.
    Taken,
    /// Not a usable `http://` or `https://` URL.
    BadUrl,
    /// Not a program inside the configured modules directory.
    OutsideModules,
    /// A number outside the given bounds (both allowed).
    OutOfRange(i64, i64),
}

/// One refused field: its name (as in the API) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub reason: FieldReason,
}

impl FieldError {
    /// A refusal of `field`'s `value` for `reason`.
    pub fn new(field: &str, value: &str, reason: FieldReason) -> FieldError {
        FieldError {
            field: field.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }

    /// A sentence for a person, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let f = &self.field;
        match (&self.reason, lang) {
            (FieldReason::Required, Lang::En) => format!("The field '{f}' is required"),
            (FieldReason::Required, Lang::Ru) => format!("Поле '{f}' обязательно"),
            (FieldReason::Unknown, Lang::En) => {
                format!("'{}' is not an accepted value of '{f}'", self.value)
            }
            (FieldReason::Unknown, Lang::Ru) => {
                format!("Недопустимое значение '{}' поля '{f}'", self.value)
            }
            (FieldReason::NotANumber, Lang::En) => {
                format!("The field '{f}' must be a whole number")
            }
            (FieldReason::NotANumber, Lang::Ru) => format!("Поле '{f}' должно быть целым числом"),
            (FieldReason::Negative, Lang::En) => format!("The field '{f}' must be 0 or more"),
            (FieldReason::Negative, Lang::Ru) => format!("Поле '{f}' не может быть меньше 0"),
            (FieldReason::BelowOne, Lang::En) => format!("The field '{f}' must be 1 or more"),
            (FieldReason::BelowOne, Lang::Ru) => format!("Поле '{f}' не может быть меньше 1"),
            (FieldReason::BadDate, Lang::En) => {
                format!("The field '{f}' must be a date and time: YYYY-MM-DD HH:MM:SS")
            }
            (FieldReason::BadDate, Lang::Ru) => {
                format!("Поле '{f}' должно содержать дату и время: ГГГГ-ММ-ДД ЧЧ:ММ:СС")
            }
            (FieldReason::BadSwitch, Lang::En) => format!("The field '{f}' takes 'on' or 'off'"),
            (FieldReason::BadSwitch, Lang::Ru) => {
                format!("Поле '{f}' принимает значения 'on' или 'off'")
            }
            (FieldReason::TooLong(max), Lang::En) => {
                format!("The field '{f}' is longer than {max} characters")
            }
            (FieldReason::TooLong(max), Lang::Ru) => format!("Поле '{f}' длиннее {max} символов"),
            (FieldReason::TooShort(min), Lang::En) => {
                format!("The field '{f}' needs at least {min} characters")
            }
            (FieldReason::TooShort(min), Lang::Ru) => {
                format!("Поле '{f}' должно содержать не менее {min} символов")
            }
            (FieldReason::NotFound, Lang::En) => format!("'{f}' {} does not exist", self.value),
            (FieldReason::NotFound, Lang::Ru) => format!("Объект '{f}' {} не найден", self.value),
            (FieldReason::Taken, Lang::En) => {
                format!("The value '{}' of '{f}' is already taken", self.value)
            }
            (FieldReason::Taken, Lang::Ru) => {
                format!("Значение '{}' поля '{f}' уже занято", self.value)
            }
            (FieldReason::BadUrl, Lang::En) => {
                format!("The field '{f}' must be an http:// or https:// URL")
            }
            (FieldReason::BadUrl, Lang::Ru) => {
                format!("Поле '{f}' должно содержать адрес http:// или https://")
            }
            (FieldReason::OutsideModules, Lang::En) => {
                format!("The field '{f}' must name a program inside the modules directory")
            }
            (FieldReason::OutsideModules, Lang::Ru) => {
                format!("Поле '{f}' должно указывать на программу в каталоге модулей")
            }
            (FieldReason::OutOfRange(low, high), Lang::En) => {
                format!("The field '{f}' must be from {low} to {high}")
            }
            (FieldReason::OutOfRange(low, high), Lang::Ru) => {
                format!("Поле '{f}' должно быть от {low} до {high}")
            }
        }
    }
}

/// Every error a client (browser, legacy script, CLI) can be told about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad credentials, or no session, or an expired one (BILLmanager type `auth`).
    #[error("authorization failed")]
    Auth,
    /// Too many failed logins; try again later (type `auth`).
    #[error("too many failed logins")]
    Throttled,
    /// The session's level is too low for the function (type `access`).
    #[error("access denied")]
    Access,
    /// No object `object` with id `value` (type `missed`).
    #[error("{object} {value} not found")]
    Missed { object: String, value: String },
    /// One or more fields were refused (type `value`); the first is the one the legacy API names.
    #[error("invalid value")]
    Value { fields: Vec<FieldError> },
    /// The change conflicts with the object's state or another object (type `exists`).
    #[error("{object} {value}: conflict")]
    Exists {
        object: String,
        value: String,
        reason: Conflict,
    },
    /// Something failed inside the server; details are in its log, never here.
    #[error("internal error")]
    Internal,
    /// The request never reached the service (transport or encoding trouble).
    #[error("request failed: {0}")]
    Transport(String),
}

/// Why a change conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conflict {
    /// The service already has an active operation.
    ActiveOperation,
    /// The operation is running now.
    Running,
    /// The operation is not running.
    NotRunning,
    /// The operation already has a task.
    HasTask,
    /// The name is taken.
    NameTaken,
    /// The processing module has no panel URL.
    NoPanel,
    /// The processing module is switched off.
    ModuleOff,
}

impl AppError {
    /// BILLmanager's error type: `auth`, `access`, `missed`, `value`, `exists` or `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Auth | AppError::Throttled => "auth",
            AppError::Access => "access",
            AppError::Missed { .. } => "missed",
            AppError::Value { .. } => "value",
            AppError::Exists { .. } => "exists",
            AppError::Internal | AppError::Transport(_) => "internal",
        }
    }

    /// A sentence for a person, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AppError::Auth => lang
                .pick(
                    "Неверное имя пользователя или пароль, или сессия истекла",
                    "Wrong user name or password, or the session has expired",
                )
                .into(),
            AppError::Throttled => lang
                .pick(
                    "Слишком много неудачных попыток входа, попробуйте позже",
                    "Too many failed logins; try again later",
                )
                .into(),
            AppError::Access => lang
                .pick(
                    "Недостаточно прав для этой функции",
                    "Your access level does not allow this function",
                )
                .into(),
            AppError::Missed { object, value } => match lang {
                Lang::Ru => format!("Объект '{object}' со значением '{value}' не найден"),
                Lang::En => format!("No {object} with id '{value}'"),
            },
            AppError::Value { fields } => fields
                .iter()
                .map(|f| f.message(lang))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Exists {
                object,
                value,
                reason,
            } => {
                let why = match reason {
                    Conflict::ActiveOperation => lang.pick(
                        "у услуги уже есть текущая операция",
                        "the service already has an active operation",
                    ),
                    Conflict::Running => {
                        lang.pick("операция выполняется", "the operation is running")
                    }
                    Conflict::NotRunning => {
                        lang.pick("операция не выполняется", "the operation is not running")
                    }
                    Conflict::HasTask => lang.pick(
                        "у операции уже есть задача",
                        "the operation already has a task",
                    ),
                    Conflict::NameTaken => lang.pick("имя уже занято", "the name is taken"),
                    Conflict::NoPanel => lang.pick(
                        "у обработчика не задан адрес панели",
                        "the processing module has no panel URL",
                    ),
                    Conflict::ModuleOff => lang.pick(
                        "обработчик выключен",
                        "the processing module is switched off",
                    ),
                };
                match lang {
                    Lang::Ru => format!("{object} {value}: {why}"),
                    Lang::En => format!("{object} {value}: {why}"),
                }
            }
            AppError::Internal => lang
                .pick("Внутренняя ошибка сервера", "Internal server error")
                .into(),
            AppError::Transport(_) => lang
                .pick("Сервер недоступен", "The server could not be reached")
                .into(),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::PostcardEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
