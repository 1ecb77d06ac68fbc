//! A dossier: what an admin's detail page shows of a client, a service or a task: labelled
//! facts (some of them links to other dossiers) and the current operations on the subject.
//!
//! One shape for the three pages keeps one page component and one decoder in the browser's
//! bundle; the facts are composed here, on the server, in the session's language.

use serde::{Deserialize, Serialize};

use super::chart::{Chart, ModuleRate};
use super::circuit::{CircuitState, CircuitView};
use super::{ClientView, ItemView, Lang, ModuleView, OperationRow, Status, Timestamp};

/// What a dossier is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Client,
    Service,
    Task,
    /// A processing module: its settings, its success rates and a chart of its attempts.
    Module,
}

impl Subject {
    /// The URL path segment of its pages (`/clients/7`, `/services/12`, `/tasks/3`).
    pub fn path(self) -> &'static str {
        match self {
            Subject::Client => "clients",
            Subject::Service => "services",
            Subject::Task => "tasks",
            Subject::Module => "modules",
        }
    }

    /// Reads a path segment back.
    pub fn parse(path: &str) -> Option<Subject> {
        [
            Subject::Client,
            Subject::Service,
            Subject::Task,
            Subject::Module,
        ]
        .into_iter()
        .find(|s| s.path() == path)
    }

    /// The URL of subject `id`'s dossier.
    pub fn href(self, id: i64) -> String {
        format!("/{}/{id}", self.path())
    }
}

/// One labelled fact; `href` makes its value a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
}

/// A detail page's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dossier {
    /// The heading: "Client #7 Acme".
    pub title: String,
    pub facts: Vec<Fact>,
    /// The current operations on the subject (on a task's page: its operation, if current).
    pub operations: Vec<OperationRow>,
    /// Charts of the subject (a module's attempts).
    pub charts: Vec<Chart>,
    /// A module's circuit breaker, with whether the caller may pause or resume it.
    pub circuit: Option<(CircuitView, bool)>,
    /// When it was read (server clock), so that ages read the same before and after hydration.
    pub now: Timestamp,
}

/// What a module has been doing: its current operations by status, its success rates over the
/// last day and week, and its chart of attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleActivity {
    pub counts: Vec<(Status, i64)>,
    pub rates: [ModuleRate; 2],
    pub chart: Chart,
}

/// A task opened on an operation (`taskcreate`, or when its last try failed), as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub id: i64,
    pub operation_id: i64,
    pub item_id: i64,
    pub kind: String,
    pub status: String,
    pub comment: String,
    pub created: Timestamp,
}

fn fact(label: &str, value: impl Into<String>) -> Fact {
    Fact {
        label: label.to_owned(),
        value: value.into(),
        href: None,
    }
}

fn link(label: &str, value: impl Into<String>, href: String) -> Fact {
    Fact {
        href: Some(href),
        ..fact(label, value)
    }
}

impl Dossier {
    /// A client's dossier: its contact, its services (each a link), its current operations.
    pub fn client(
        client: &ClientView,
        items: &[ItemView],
        operations: Vec<OperationRow>,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
        let mut facts = vec![
            fact(lang.pick("Клиент", "Client"), format!("#{}", client.id)),
            fact(lang.pick("Имя", "Name"), client.name.clone()),
            fact(
                lang.pick("Эл. почта", "Email"),
                client.email.clone().unwrap_or_default(),
            ),
            fact(lang.pick("Создан", "Created"), client.created.format()),
        ];
        facts.extend(items.iter().map(|item| {
            link(
                lang.pick("Услуга", "Service"),
                format!("#{} {} ({})", item.id, item.name, item.status.raw()),
                Subject::Service.href(item.id),
            )
        }));
        Dossier {
            title: format!(
                "{} #{} {}",
                lang.pick("Клиент", "Client"),
                client.id,
                client.name
            ),
            facts,
            operations,
            charts: Vec::new(),
            circuit: None,
            now,
        }
    }

    /// A service's dossier: its type and status, its client and processing module, its current
    /// operations.
    pub fn service(
        item: &ItemView,
        client: &ClientView,
        module: &ModuleView,
        operations: Vec<OperationRow>,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
        Dossier {
            title: format!(
                "{} #{} {}",
                lang.pick("Услуга", "Service"),
                item.id,
                item.name
            ),
            facts: vec![
                fact(lang.pick("Тип", "Type"), item.itemtype.clone()),
                fact(lang.pick("Состояние", "Status"), item.status.raw()),
                link(
                    lang.pick("Клиент", "Client"),
                    format!("#{} {}", client.id, client.name),
                    Subject::Client.href(client.id),
                ),
                link(
                    lang.pick("Обработчик", "Processing module"),
                    format!("#{} {}", module.id, module.name),
                    Subject::Module.href(module.id),
                ),
            ],
            operations,
            charts: Vec::new(),
            circuit: None,
            now,
        }
    }

    /// A task's dossier: what it is about, its state and comment, links to its operation's
    /// history and to its service.
    pub fn task(
        task: &TaskView,
        operations: Vec<OperationRow>,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
        Dossier {
            title: format!("{} #{}", lang.pick("Задача", "Task"), task.id),
            facts: vec![
                fact(lang.pick("Вид", "Kind"), task.kind.clone()),
                fact(lang.pick("Состояние", "Status"), task.status.clone()),
                fact(lang.pick("Создана", "Created"), task.created.format()),
                fact(lang.pick("Комментарий", "Comment"), task.comment.clone()),
                link(
                    lang.pick("Операция", "Operation"),
                    format!("#{}", task.operation_id),
                    format!("/operation/{}", task.operation_id),
                ),
                link(
                    lang.pick("Услуга", "Service"),
                    format!("#{}", task.item_id),
                    Subject::Service.href(task.item_id),
                ),
            ],
            operations,
            charts: Vec::new(),
            circuit: None,
            now,
        }
    }
}

impl Dossier {
    /// A processing module's dossier: its kind and limits (never its target or secret), its
    /// circuit breaker (with whether the caller may pause or resume it), its current operations
    /// by status, its success rates over the last day and week (`rates`) and `chart`, the first
    /// of its current operations.
    pub fn module(
        module: &ModuleView,
        circuit: (CircuitView, bool),
        activity: ModuleActivity,
        operations: Vec<OperationRow>,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
        let ModuleActivity {
            counts,
            rates,
            chart,
        } = activity;
        let yes_no =
            |on: bool| lang.pick(if on { "да" } else { "нет" }, if on { "yes" } else { "no" });
        let current = Status::ALL
            .iter()
            .map(|status| {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                format!("{}: {n}", status.label(lang))
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let (day, week) = (&rates[0], &rates[1]);
        let rate = |r: &ModuleRate| match r.percent() {
            Some(p) => format!("{p:.1} % ({} / {})", r.ok, r.ok + r.failed),
            None => lang.pick("попыток не было", "no attempts").to_string(),
        };
        Dossier {
            title: format!(
                "{} #{} {}",
                lang.pick("Обработчик", "Processing module"),
                module.id,
                module.name
            ),
            facts: vec![
                fact(lang.pick("Вид", "Kind"), module.kind.raw()),
                fact(lang.pick("Включён", "Enabled"), yes_no(module.enabled)),
                fact(
                    lang.pick("Одновременно", "At once"),
                    module.max_running.to_string(),
                ),
                fact(lang.pick("Попыток", "Tries"), module.max_tries.to_string()),
                fact(
                    lang.pick("Время на попытку", "Time limit"),
                    format!("{} s", module.timeout_secs),
                ),
                fact(
                    lang.pick("Состояние", "Circuit"),
                    circuit_text(&circuit.0, lang),
                ),
                fact(
                    lang.pick("Правило отключения", "Circuit rule"),
                    match circuit.0.failures {
                        0 => lang.pick("не отключать", "never opens").to_string(),
                        n => format!(
                            "{n} {} {} s",
                            lang.pick(
                                "операций с ошибкой модуля за",
                                "operations failing module-level within"
                            ),
                            circuit.0.window_secs
                        ),
                    },
                ),
                fact(lang.pick("В работе", "Current"), current),
                fact(
                    lang.pick("Успешных за сутки", "Success, 24 hours"),
                    rate(day),
                ),
                fact(
                    lang.pick("Успешных за неделю", "Success, 7 days"),
                    rate(week),
                ),
                link(
                    lang.pick("Все графики", "All charts"),
                    lang.pick("Панель", "Dashboard").to_string(),
                    "/dashboard".to_string(),
                ),
            ],
            operations,
            charts: vec![chart],
            circuit: Some(circuit),
            now,
        }
    }
}

/// A circuit as a module's page states it: "Paused since ... (paused by admin)".
fn circuit_text(circuit: &CircuitView, lang: Lang) -> String {
    let mut text = circuit.state.label(lang).to_string();
    if circuit.state != CircuitState::Closed {
        if let Some(since) = circuit.since {
            text.push_str(&format!(
                " {} {} UTC",
                lang.pick("с", "since"),
                since.format()
            ));
        }
        if let Some(reason) = &circuit.reason {
            text.push_str(&format!(" ({reason})"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ItemStatus;

    #[test]
    fn a_subject_reads_back_from_its_own_path() {
        for subject in [
            Subject::Client,
            Subject::Service,
            Subject::Task,
            Subject::Module,
        ] {
            assert_eq!(Subject::parse(subject.path()), Some(subject));
        }
        assert_eq!(Subject::parse("operation"), None);
        assert_eq!(Subject::Service.href(12), "/services/12");
    }

    #[test]
    fn a_clients_dossier_links_each_of_its_services() {
        let client = ClientView {
            id: 7,
            name: "Acme".into(),
            email: None,
            created: Timestamp(0),
        };
        let item = |id, name: &str| ItemView {
            id,
            client_id: 7,
            module_id: 1,
            itemtype: "vds".into(),
            name: name.into(),
            status: ItemStatus::Active,
        };
        let dossier = Dossier::client(
            &client,
            &[item(3, "web"), item(4, "db")],
            vec![],
            Timestamp(5),
            Lang::En,
        );
        assert_eq!(dossier.title, "Client #7 Acme");
        let links: Vec<_> = dossier
            .facts
            .iter()
            .filter_map(|f| f.href.as_deref())
            .collect();
        assert_eq!(links, ["/services/3", "/services/4"]);
        assert_eq!(dossier.now, Timestamp(5));
    }
}
