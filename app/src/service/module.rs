//! Processing modules (`processing`): how the operations of their services are executed, how
//! many at once, how often retried, and whether they run at all. Secrets are write-only.

use super::{internal, is_unique_violation, too_long, Actor, Denied, Services};
pub use crate::store::ModuleRecord;
use crate::store::StoreError;
use crate::types::{AppError, FieldError, FieldReason, ModuleKind, ModuleView};

/// Tries before an operation turns manual, when not given (ISPsystem's module default).
pub const DEFAULT_MAX_TRIES: i64 = 10;
/// Operations of one module running at once, when not given (BILLmanager's VMmanager default).
pub const DEFAULT_MAX_RUNNING: i64 = 2;
/// Seconds one run may take, when not given.
pub const DEFAULT_TIMEOUT_SECS: i64 = 300;

/// Why a module function failed.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("processing module {0} not found")]
    NotFound(i64),
    #[error("invalid processing module fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ModuleError> for AppError {
    fn from(error: ModuleError) -> AppError {
        match error {
            ModuleError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            ModuleError::Invalid(fields) => AppError::Value { fields },
            ModuleError::Denied(_) => AppError::Access,
            ModuleError::Store(e) => internal(&e),
        }
    }
}

/// A new processing module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleInput {
    pub name: String,
    pub kind: ModuleKind,
    /// The program to run (`exec`) or the URL to POST to (`http`).
    pub target: String,
    /// HMAC secret for `http` modules.
    pub secret: Option<String>,
    pub panel_url: Option<String>,
    pub max_running: i64,
    pub max_tries: i64,
    pub timeout_secs: i64,
    /// An `exec` program may lie outside the modules directory: only the command line sets this,
    /// on an operator's explicit flag.
    pub outside_modules_dir: bool,
}

impl ModuleInput {
    /// A module of `kind` with the default limits.
    pub fn new(name: &str, kind: ModuleKind, target: &str) -> ModuleInput {
        ModuleInput {
            name: name.to_owned(),
            kind,
            target: target.to_owned(),
            secret: None,
            panel_url: None,
            max_running: DEFAULT_MAX_RUNNING,
            max_tries: DEFAULT_MAX_TRIES,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            outside_modules_dir: false,
        }
    }
}

/// True when `program` is a file inside `dir` once both are resolved to their real places:
/// `..` and symbolic links are followed first, so neither can lead out.
pub fn is_inside_modules_dir(dir: &std::path::Path, program: &str) -> bool {
    match (
        dir.canonicalize(),
        std::path::Path::new(program).canonicalize(),
    ) {
        (Ok(dir), Ok(real)) => real.starts_with(&dir) && real.is_file(),
        _ => false,
    }
}

/// A change to a module: `None` keeps a field. For the secret, `Some("")` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleChange {
    pub name: Option<String>,
    pub target: Option<String>,
    pub secret: Option<String>,
    pub panel_url: Option<String>,
    pub max_running: Option<i64>,
    pub max_tries: Option<i64>,
    pub timeout_secs: Option<i64>,
    pub enabled: Option<bool>,
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace)
    })
}

/// Checks a module's fields; returns every refusal.
fn validate(m: &ModuleRecord) -> Result<(), ModuleError> {
    let mut errors = Vec::new();
    if m.name.trim().is_empty() {
        errors.push(FieldError::new("name", &m.name, FieldReason::Required));
    } else if too_long(&m.name, 100) {
        errors.push(FieldError::new("name", "", FieldReason::TooLong(100)));
    }
    let target_field = match m.kind {
        ModuleKind::Exec => "program",
        ModuleKind::Http => "url",
    };
    if m.target.trim().is_empty() {
        errors.push(FieldError::new(target_field, "", FieldReason::Required));
    } else if m.kind == ModuleKind::Http && !is_http_url(&m.target) {
        errors.push(FieldError::new(
            target_field,
            &m.target,
            FieldReason::BadUrl,
        ));
    }
    if let Some(url) = &m.panel_url {
        if !is_http_url(url) {
            errors.push(FieldError::new("panel_url", url, FieldReason::BadUrl));
        }
    }
    for (field, value) in [
        ("max_running", m.max_running),
        ("max_tries", m.max_tries),
        ("timeout", m.timeout_secs),
    ] {
        if value < 1 {
            errors.push(FieldError::new(
                field,
                &value.to_string(),
                FieldReason::BelowOne,
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ModuleError::Invalid(errors))
    }
}

fn taken_or_store(error: StoreError, name: &str) -> ModuleError {
    if is_unique_violation(&error) {
        ModuleError::Invalid(vec![FieldError::new("name", name, FieldReason::Taken)])
    } else {
        ModuleError::Store(error)
    }
}

impl Services {
    /// Refuses an `exec` program outside the modules directory (when one is configured): a
    /// module is run by the server, so an admin account must not be able to name any program
    /// on the host.
    fn check_program(&self, m: &ModuleRecord) -> Result<(), ModuleError> {
        match (&self.modules_dir, m.kind) {
            (Some(dir), ModuleKind::Exec) if !is_inside_modules_dir(dir, &m.target) => {
                Err(ModuleError::Invalid(vec![FieldError::new(
                    "program",
                    &m.target,
                    FieldReason::OutsideModules,
                )]))
            }
            _ => Ok(()),
        }
    }

    /// Registers a processing module (switched on); returns its id.
    pub async fn add_module(&self, actor: &Actor, input: &ModuleInput) -> Result<i64, ModuleError> {
        actor.require_admin()?;
        let record = ModuleRecord {
            id: 0,
            name: input.name.trim().to_owned(),
            kind: input.kind,
            target: input.target.trim().to_owned(),
            secret: input.secret.clone().filter(|s| !s.is_empty()),
            panel_url: input
                .panel_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            max_running: input.max_running,
            max_tries: input.max_tries,
            timeout_secs: input.timeout_secs,
            enabled: true,
        };
        validate(&record)?;
        if !input.outside_modules_dir {
            self.check_program(&record)?;
        }
        let entry = self.journal(
            actor,
            "processing.edit",
            "processing",
            None,
            format!("add {}", record.name),
        );
        self.store
            .insert_module(&record, &entry)
            .await
            .map_err(|e| taken_or_store(e, &record.name))
    }

    /// Changes a processing module; switching it off (`enabled: Some(false)`) stops new runs.
    pub async fn change_module(
        &self,
        actor: &Actor,
        id: i64,
        change: &ModuleChange,
    ) -> Result<(), ModuleError> {
        actor.require_admin()?;
        let mut m = self
            .store
            .get_module(id)
            .await?
            .ok_or(ModuleError::NotFound(id))?;
        if let Some(name) = &change.name {
            m.name = name.trim().to_owned();
        }
        if let Some(target) = &change.target {
            m.target = target.trim().to_owned();
        }
        if let Some(secret) = &change.secret {
            m.secret = Some(secret.clone()).filter(|s| !s.is_empty());
        }
        if let Some(url) = &change.panel_url {
            m.panel_url = Some(url.trim().to_owned()).filter(|u| !u.is_empty());
        }
        m.max_running = change.max_running.unwrap_or(m.max_running);
        m.max_tries = change.max_tries.unwrap_or(m.max_tries);
        m.timeout_secs = change.timeout_secs.unwrap_or(m.timeout_secs);
        m.enabled = change.enabled.unwrap_or(m.enabled);
        validate(&m)?;
        if change.target.is_some() {
            self.check_program(&m)?;
        }
        // The journal says which fields changed, never the secret's value.
        let mut fields = Vec::new();
        for (name, changed) in [
            ("name", change.name.is_some()),
            ("target", change.target.is_some()),
            ("secret", change.secret.is_some()),
            ("panel_url", change.panel_url.is_some()),
            ("max_running", change.max_running.is_some()),
            ("max_tries", change.max_tries.is_some()),
            ("timeout", change.timeout_secs.is_some()),
            ("enabled", change.enabled.is_some()),
        ] {
            if changed {
                fields.push(name);
            }
        }
        let entry = self.journal(
            actor,
            "processing.edit",
            "processing",
            Some(id),
            fields.join(", "),
        );
        match self.store.update_module(&m, &entry).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ModuleError::NotFound(id)),
            Err(e) => Err(taken_or_store(e, &m.name)),
        }
    }

    /// Switches a module on or off.
    pub async fn set_module_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<(), ModuleError> {
        self.change_module(
            actor,
            id,
            &ModuleChange {
                enabled: Some(enabled),
                ..ModuleChange::default()
            },
        )
        .await
    }

    /// One module, without its secret.
    pub async fn get_module(&self, actor: &Actor, id: i64) -> Result<ModuleView, ModuleError> {
        actor.require_staff()?;
        Ok(self
            .store
            .get_module(id)
            .await?
            .ok_or(ModuleError::NotFound(id))?
            .view())
    }

    /// Every module, by id, without secrets.
    pub async fn list_modules(&self, actor: &Actor) -> Result<Vec<ModuleView>, ModuleError> {
        actor.require_staff()?;
        Ok(self
            .store
            .list_modules()
            .await?
            .iter()
            .map(ModuleRecord::view)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::is_http_url;

    #[test]
    fn only_http_and_https_urls_with_a_host_pass() {
        assert!(is_http_url("https://vm.example.com:1500/vmmgr"));
        assert!(is_http_url("http://10.0.0.1"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///path"));
        assert!(!is_http_url("https://a b"));
    }
}
