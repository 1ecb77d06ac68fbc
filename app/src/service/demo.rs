//! Demo data for the embedded default: believable processing modules, clients, services, and
//! operations in every status with their attempts and logs, so that a first start shows a
//! living queue. Deterministic: the same data every time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Actor, ModuleInput, Services};
use crate::store::{NewAttempt, StoreError};
use crate::types::{
    AttemptOutcome, Intname, ItemChange, ItemStatus, ModuleKind, OperationInput, OperationState,
    Timestamp,
};

/// Why demo data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo data refused: {0}")]
    Refused(crate::types::AppError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

macro_rules! refused {
    ($e:expr) => {
        $e.map_err(|e| DemoError::Refused(e.into()))
    };
}

/// What loading demo data did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    pub modules: usize,
    pub clients: usize,
    pub items: usize,
    pub operations: usize,
    pub attempts: usize,
}

const FIRST_NAMES: [&str; 10] = [
    "Anna", "Boris", "Clara", "Dmitri", "Elena", "Felix", "Galina", "Hugo", "Irina", "Jonas",
];
const LAST_NAMES: [&str; 10] = [
    "Ivanova",
    "Petrov",
    "Schmidt",
    "Novak",
    "Smirnova",
    "Weber",
    "Kuznetsova",
    "Laurent",
    "Orlova",
    "Berg",
];
const COMPANIES: [&str; 10] = [
    "Northwind Hosting",
    "Acme Web",
    "Blue Fjord",
    "Sibirica Labs",
    "Kettle & Co",
    "Pixel Forge",
    "Volga Data",
    "Tundra Apps",
    "Lumen Studio",
    "Quartz Media",
];

/// (itemtype, module index, name pattern)
const ITEMTYPES: [(&str, usize, &str); 5] = [
    ("vds", 0, "vm{n}.{domain}"),
    ("dedic", 0, "srv{n}.{domain}"),
    ("vhost", 1, "{domain}"),
    ("domain", 2, "{domain}"),
    ("ssl", 3, "*.{domain}"),
];

const ERRORS: [(&str, &str, &str); 6] = [
    (
        "client",
        "connect",
        "Could not connect to the panel: connection refused",
    ),
    (
        "auth",
        "panel",
        "The panel refused the module's credentials",
    ),
    (
        "quota",
        "disk",
        "Not enough disk space on the node: 2 GiB free, 20 GiB needed",
    ),
    ("value", "ip", "No free IP address in the pool of the node"),
    (
        "timeout",
        "module",
        "The module did not finish within its time limit",
    ),
    (
        "registrar",
        "domain",
        "Registrar answered: domain is locked for transfer",
    ),
];

/// The log a demo attempt keeps: the module's output, its secrets already masked.
fn attempt_log(
    intname: Intname,
    item_id: i64,
    op_id: i64,
    error: Option<(&str, &str, &str)>,
) -> String {
    let mut log = format!(
        "[module] --command {} --item {item_id} --runningoperation {op_id}\n\
         [module] connecting to panel as billops (password=***)\n\
         [module] panel answered 200 OK\n",
        intname.raw()
    );
    match error {
        None => log.push_str("[module] done\n"),
        Some((kind, object, msg)) => {
            log.push_str(&format!("[module] ERROR {msg}\n"));
            log.push_str(&format!(
                "<doc><error type=\"{kind}\" object=\"{object}\"><msg>{msg}</msg></error></doc>\n"
            ));
        }
    }
    log
}

impl Services {
    /// Loads the demo data unless the database already has operations; `program` is the demo
    /// `exec` module script. Returns `None` when data was already there.
    pub async fn load_demo(
        &self,
        actor: &Actor,
        program: &str,
    ) -> Result<Option<DemoSummary>, DemoError> {
        if self.store.count_all_operations().await? > 0 {
            return Ok(None);
        }
        let mut rng = StdRng::seed_from_u64(1500);
        let now = self.now();
        let modules = [
            (
                "VMmanager Frankfurt (demo)",
                ModuleKind::Exec,
                program,
                Some("https://vm-fra.demo.invalid:1500/vmmgr"),
                4,
            ),
            (
                "ISPmanager shared (demo)",
                ModuleKind::Exec,
                program,
                Some("https://isp.demo.invalid:1500/ispmgr"),
                2,
            ),
            (
                "Registrar RU-CENTER (demo)",
                ModuleKind::Exec,
                program,
                None,
                2,
            ),
            (
                "SSL GoGetSSL (demo)",
                ModuleKind::Http,
                "https://ssl.demo.invalid/billops",
                Some("https://ssl.demo.invalid/panel"),
                2,
            ),
        ];
        let mut module_ids = Vec::new();
        for (name, kind, target, panel, max_running) in modules {
            let mut input = ModuleInput::new(name, kind, target);
            input.panel_url = panel.map(str::to_owned);
            input.max_running = max_running;
            input.max_tries = 5;
            input.timeout_secs = 60;
            if kind == ModuleKind::Http {
                input.secret = Some(format!("demo-secret-{}", rng.gen::<u32>()));
            }
            module_ids.push(refused!(self.add_module(actor, &input).await)?);
        }

        let mut client_ids = Vec::new();
        for n in 0..20 {
            let (name, email) = if n % 3 == 0 {
                let company = COMPANIES[n / 3 % COMPANIES.len()];
                (
                    company.to_owned(),
                    format!(
                        "billing@{}.example",
                        company.to_lowercase().replace([' ', '&'], "")
                    ),
                )
            } else {
                let first = FIRST_NAMES[n % FIRST_NAMES.len()];
                let last = LAST_NAMES[(n * 7) % LAST_NAMES.len()];
                (
                    format!("{first} {last}"),
                    format!(
                        "{}.{}@mail.example",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                )
            };
            client_ids.push(refused!(self.add_client(actor, &name, Some(&email)).await)?);
        }

        let mut items = Vec::new();
        for n in 0..100usize {
            let client = client_ids[n % client_ids.len()];
            let (itemtype, module, pattern) = ITEMTYPES[n % ITEMTYPES.len()];
            let domain = format!("site{}.example", 100 + n);
            let name = pattern
                .replace("{n}", &(n + 1).to_string())
                .replace("{domain}", &domain);
            let id = refused!(
                self.add_item(
                    actor,
                    client,
                    module_ids[module],
                    itemtype,
                    &name,
                    ItemStatus::Ordered
                )
                .await
            )?;
            items.push(id);
        }

        let mut summary = DemoSummary {
            modules: module_ids.len(),
            clients: client_ids.len(),
            items: items.len(),
            operations: 0,
            attempts: 0,
        };
        // Two rounds: the first round's operations finish (history), the second's stay current.
        for round in 0..2 {
            for (n, &item_id) in items.iter().enumerate() {
                let intname = match (round, n % 7) {
                    (0, _) => Intname::Open,
                    (_, 0 | 1) => Intname::Suspend,
                    (_, 2) => Intname::Resume,
                    (_, 3) => Intname::Prolong,
                    (_, 4) => Intname::Setparam,
                    (_, 5) => Intname::Close,
                    _ => Intname::Open,
                };
                let age_minutes = rng.gen_range(5..(60 * 24 * 20)) * (2 - round);
                let cdate = Timestamp(now.0 - age_minutes * 60_000);
                // Current operations: a quarter each waiting, running, failed, needing attention.
                let (state, manual, failures) = match (round, n % 4) {
                    (0, _) => (OperationState::Done, false, rng.gen_range(0..3)),
                    (_, 0) => (OperationState::Waiting, false, 0),
                    (_, 1) => (OperationState::Running, false, rng.gen_range(0..2)),
                    (_, 2) => (OperationState::Error, false, rng.gen_range(1..4)),
                    _ => (OperationState::Error, true, 5),
                };
                let input = OperationInput {
                    intname: Some(intname.raw().into()),
                    item: Some(item_id.to_string()),
                    cdate: Some(cdate.format()),
                    manual: Some(if manual { "on" } else { "off" }.into()),
                    comment: Some(if manual {
                        "Tries exhausted; check the node".into()
                    } else {
                        String::new()
                    }),
                    // Every run counts, the successful or running last one included.
                    trycount: Some(
                        (failures
                            + i64::from(matches!(
                                state,
                                OperationState::Done | OperationState::Running
                            )))
                        .to_string(),
                    ),
                };
                let op_id = refused!(self.create_operation(actor, &input).await)?;
                summary.operations += 1;
                let mut last_error = None;
                for attempt in 0..failures {
                    let error = ERRORS[(n + attempt as usize) % ERRORS.len()];
                    let started = Timestamp(cdate.0 + (attempt + 1) * 90_000);
                    self.store
                        .insert_attempt(&NewAttempt {
                            operation_id: op_id,
                            item_id,
                            token: format!("demo-{op_id}-{attempt}"),
                            started,
                            finished: Some(Timestamp(started.0 + rng.gen_range(300..20_000))),
                            outcome: AttemptOutcome::Error,
                            error_type: Some(error.0.into()),
                            error_message: Some(error.2.into()),
                            log: attempt_log(intname, item_id, op_id, Some(error)),
                            task_id: None,
                        })
                        .await?;
                    summary.attempts += 1;
                    last_error = Some(error.2);
                }
                // A running operation's attempt has no row until it ends (`force_state` starts
                // it; the engine's rescue ends it as interrupted).
                if state == OperationState::Done {
                    let started = Timestamp(cdate.0 + (failures + 1) * 90_000);
                    self.store
                        .insert_attempt(&NewAttempt {
                            operation_id: op_id,
                            item_id,
                            token: format!("demo-{op_id}-last"),
                            started,
                            finished: Some(Timestamp(started.0 + 4_000)),
                            outcome: AttemptOutcome::Ok,
                            error_type: None,
                            error_message: None,
                            log: attempt_log(intname, item_id, op_id, None),
                            task_id: None,
                        })
                        .await?;
                    summary.attempts += 1;
                }
                if manual {
                    refused!(self
                        .create_tasks(actor, &[op_id])
                        .await
                        .and_then(|g| g.into_first_error()))?;
                }
                if state != OperationState::Waiting {
                    self.store
                        .force_state(op_id, state, last_error, now)
                        .await?;
                }
                // A current operation that failed is in its failure's group, as the engine
                // would have put it.
                let last_failure = ERRORS[(n + failures.max(1) as usize - 1) % ERRORS.len()];
                if failures > 0 && state != OperationState::Done {
                    if let Some(op) = self.store.get_operation(op_id).await? {
                        let mark = super::failure::fingerprint(
                            op.fields.module_id,
                            last_failure.0,
                            last_failure.2,
                        );
                        let at = Timestamp(cdate.0 + failures * 90_000);
                        self.store.mark_failure(op_id, &mark, at.min(now)).await?;
                    }
                }
                if state == OperationState::Done {
                    // The finished `open` made the service active, as the engine will.
                    let active = ItemChange {
                        status: Some(ItemStatus::Active),
                        ..ItemChange::default()
                    };
                    refused!(self.change_item(actor, item_id, &active).await)?;
                }
            }
        }
        Ok(Some(summary))
    }
}
