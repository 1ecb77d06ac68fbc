//! The `exec` driver: runs the module's program as BILLmanager runs a processing module,
//! `PROGRAM --command <intname> --item <service id> --runningoperation <operation id>`, with the
//! operation as JSON in `BILLOPS_OPERATION`. Exit status 0 is success; otherwise a BILLmanager
//! error document on its output gives the error's type and message. The last 64 KiB of output
//! (stdout and stderr as they arrive) become the attempt's log, the secret masked.
//!
//! The program runs in a process group of its own, so that stopping it (SIGTERM, then SIGKILL
//! after the grace period) reaches whatever it started; it is killed with its node too (the
//! parent-death signal, set by [`super::spawn`] between its clone and its exec), so that a
//! killed node leaves no module running unseen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::service::engine::RunResult;
use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::driver::{cancelled, mask, operation_json, Cancel, Driver, Job, Tail};
use super::spawn::{spawn, Child, Program};

/// The `PATH` a module runs with.
pub const MODULE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Runs programs.
pub struct ExecDriver {
    grace: Duration,
}

impl ExecDriver {
    /// A driver that gives a stopped module `grace` between SIGTERM and SIGKILL.
    pub fn new(grace: Duration) -> ExecDriver {
        ExecDriver { grace }
    }

    fn program(&self, job: &Job) -> std::io::Result<Program> {
        let claim = &job.claim;
        let item = claim.item_id.to_string();
        let operation = claim.operation_id.to_string();
        let json = operation_json(job, true).to_string();
        Program::new(
            &job.module.target,
            [
                "--command",
                claim.intname.raw(),
                "--item",
                &item,
                "--runningoperation",
                &operation,
            ],
            // Nothing of the server's environment (its database URL and password among it): a
            // module gets a path, a locale and its operation.
            [
                ("PATH", MODULE_PATH),
                ("LANG", "C.UTF-8"),
                ("BILLOPS_OPERATION", json.as_str()),
            ],
            MODULE_PATH,
        )
    }
}

/// How the wait for a module ended.
enum Ending {
    Exited(std::process::ExitStatus),
    TimedOut,
    Cancelled(Cancel),
    WaitFailed(std::io::Error),
}

#[async_trait]
impl Driver for ExecDriver {
    async fn run(&self, job: &Job, mut cancel: watch::Receiver<Option<Cancel>>) -> RunResult {
        let secret = job.module.secret.as_deref();
        let mut child = match self.program(job).and_then(|program| spawn(&program)) {
            Ok(child) => child,
            Err(error) => {
                let message = mask(
                    &format!("Cannot start the module {}: {error}", job.module.target),
                    secret,
                );
                return RunResult::Failed {
                    error_type: "module".into(),
                    log: message.clone(),
                    message,
                };
            }
        };
        // The module's process group has the module's pid as its id.
        let group = Some(child.id());
        let tail = Arc::new(Mutex::new(Tail::new(secret)));
        let readers = [
            child
                .stdout
                .take()
                .map(|s| tokio::spawn(read_into(s, tail.clone()))),
            child
                .stderr
                .take()
                .map(|s| tokio::spawn(read_into(s, tail.clone()))),
        ];
        let limit = Duration::from_secs(u64::try_from(job.module.timeout_secs).unwrap_or(1).max(1));
        let ending = tokio::select! {
            status = child.wait() => match status {
                Ok(status) => Ending::Exited(status),
                Err(error) => Ending::WaitFailed(error),
            },
            _ = tokio::time::sleep(limit) => Ending::TimedOut,
            reason = cancelled(&mut cancel) => Ending::Cancelled(reason),
        };
        let terminated = match ending {
            Ending::TimedOut | Ending::Cancelled(_) => Some(self.terminate(&mut child).await),
            _ => None,
        };
        // The pipes close when the group is gone; a grandchild the module left behind (still
        // holding them) does not hold the run up for more than a second.
        for reader in readers.into_iter().flatten() {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        // Whatever the module left running in its group (a child in the background) ends with
        // it: nothing of a finished run keeps running unseen.
        if terminated.is_none() {
            kill_group(group, rustix::process::Signal::KILL);
        }
        let mut log = tail.lock().map(|t| t.text()).unwrap_or_default();
        if let Some(how) = terminated {
            log.push_str(&format!("\n[billops] {how}\n"));
        }
        match ending {
            Ending::Exited(status) if status.success() => RunResult::Ok { log },
            Ending::Exited(status) => {
                let (error_type, message) = error_of(&log).unwrap_or_else(|| {
                    (
                        "module".into(),
                        format!("The module failed ({status}){}", last_line(&log)),
                    )
                });
                RunResult::Failed {
                    error_type,
                    message: mask(&message, secret),
                    log,
                }
            }
            Ending::WaitFailed(error) => RunResult::Failed {
                error_type: "module".into(),
                message: format!("Lost track of the module: {error}"),
                log,
            },
            Ending::TimedOut => RunResult::Failed {
                error_type: "timeout".into(),
                message: format!("The module did not finish within {} s", limit.as_secs()),
                log,
            },
            Ending::Cancelled(Cancel::Stop) => RunResult::Stopped { log },
            Ending::Cancelled(Cancel::LeaseLost) => RunResult::Interrupted { log },
        }
    }
}

impl ExecDriver {
    /// SIGTERM to the module's process group, SIGKILL after the grace period; says which it took.
    async fn terminate(&self, child: &mut Child) -> &'static str {
        let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) else {
            return "the module had already ended";
        };
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        if tokio::time::timeout(self.grace, child.wait()).await.is_ok() {
            // The module is gone; whatever it started in its group goes too.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            return "terminated the module (SIGTERM)";
        }
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = child.wait().await;
        "killed the module (SIGKILL after the grace period)"
    }
}

/// Sends `signal` to the process group `group` (a module's), if it still has members.
fn kill_group(group: Option<u32>, signal: rustix::process::Signal) {
    if let Some(pid) = group.and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

async fn read_into(mut stream: impl tokio::io::AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut buffer = vec![0_u8; 8192];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        if let Ok(mut tail) = tail.lock() {
            tail.push(&buffer[..n]);
        }
    }
}

/// `: <the last non-empty line>`, or nothing.
fn last_line(log: &str) -> String {
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| format!(": {}", l.chars().take(300).collect::<String>()))
        .unwrap_or_default()
}

/// The type and message of the last BILLmanager error document in the output:
/// `<doc><error type=".." object=".."><msg>..</msg></error></doc>`.
pub fn error_of(output: &str) -> Option<(String, String)> {
    let start = output.rfind("<doc")?;
    let end = output[start..].find("</doc>")? + start + "</doc>".len();
    let doc = roxmltree::Document::parse(&output[start..end]).ok()?;
    let error = doc.descendants().find(|n| n.has_tag_name("error"))?;
    let error_type = error.attribute("type").unwrap_or("module").to_owned();
    let message = error
        .children()
        .find(|n| n.has_tag_name("msg"))
        .and_then(|m| m.text())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| match error.attribute("object") {
            Some(object) => format!("{error_type} error ({object})"),
            None => format!("{error_type} error"),
        });
    Some((error_type, message))
}

#[cfg(test)]
mod tests {
    use super::error_of;

    #[test]
    fn a_billmanager_error_document_gives_type_and_message() {
        let output = "connecting\n<doc><error type=\"quota\" object=\"disk\"><msg>No space</msg></error></doc>\n";
        assert_eq!(error_of(output), Some(("quota".into(), "No space".into())));
    }

    #[test]
    fn an_error_without_a_message_names_its_object() {
        let output = "<doc><error type=\"value\" object=\"ip\"/></doc>";
        assert_eq!(
            error_of(output),
            Some(("value".into(), "value error (ip)".into()))
        );
    }

    #[test]
    fn output_without_a_document_gives_nothing() {
        assert_eq!(error_of("plain failure"), None);
        assert_eq!(error_of("<doc><error"), None);
    }
}
