//! `billops operations start|stop|taskcreate|delete`: a bulk job on every current operation
//! the flags' filter matches, run by this process (or, when a server node took it first,
//! watched), with a progress bar on a terminal and a plain summary otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::anyhow;
use app::service::{Actor, Services};
use app::types::bulk::{BulkAction, BulkJobView};
use app::types::failure::skip_reason_label;
use app::types::{FilterForm, Lang};
use clap::Args;

/// The list's filter, as flags (the legacy API's field names; the same checks).
#[derive(Debug, Default, Args)]
pub struct FilterArgs {
    /// Status: waiting, running, error or manual.
    #[arg(long, default_value = "")]
    status: String,
    /// Processing module id.
    #[arg(long, default_value = "")]
    module: String,
    /// Client id.
    #[arg(long, default_value = "")]
    client: String,
    /// Failure group id (see `runningoperation.failures` or the Failures page).
    #[arg(long, default_value = "")]
    failure: String,
    /// Operation type (open, suspend, ...).
    #[arg(long, default_value = "")]
    intname: String,
    /// Product type (vds, domain, ...).
    #[arg(long, default_value = "")]
    itemtype: String,
    /// Text the last error contains.
    #[arg(long, default_value = "")]
    error_text: String,
    /// Manual (automatic restarts off): on or off.
    #[arg(long, default_value = "")]
    manual: String,
    /// At least this many tries.
    #[arg(long, default_value = "")]
    min_trycount: String,
}

impl FilterArgs {
    fn form(&self) -> FilterForm {
        FilterForm {
            status: self.status.clone(),
            processingmodule: self.module.clone(),
            client: self.client.clone(),
            failure: self.failure.clone(),
            intname: self.intname.clone(),
            itemtype: self.itemtype.clone(),
            errortext: self.error_text.clone(),
            manual: self.manual.clone(),
            mintrycount: self.min_trycount.clone(),
            ..FilterForm::default()
        }
    }
}

/// The job's summary line: what changed, what was left and why.
fn summary(job: &BulkJobView) -> String {
    let mut text = format!(
        "job {}: {} {}: {} of {} changed",
        job.id,
        job.action.raw(),
        job.state.raw(),
        job.done,
        job.total
    );
    let skipped: Vec<String> = job
        .skipped
        .iter()
        .map(|(code, n)| format!("{n} {}", skip_reason_label(code, Lang::En).unwrap_or(code)))
        .collect();
    if !skipped.is_empty() {
        text.push_str(&format!("; left as they were: {}", skipped.join(", ")));
    }
    text
}

/// Queues `action` on what `filter` matches and sees it through.
pub async fn run(
    services: &Services,
    action: BulkAction,
    filter: &FilterArgs,
) -> anyhow::Result<()> {
    let actor = Actor::command_line();
    let filter = filter.form().parse().map_err(|fields| {
        let named: Vec<String> = fields.iter().map(|f| f.message(Lang::En)).collect();
        anyhow!("{}", named.join("; "))
    })?;
    let job = services
        .queue_bulk_job(&actor, action, &filter)
        .await
        .map_err(|e| anyhow!("{}", app::types::AppError::from(e).message(Lang::En)))?;
    let bar = std::io::stdout().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(job.total.max(0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} {msg} ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(action.raw());
        bar
    });
    let owner = format!("cli-{}", std::process::id());
    let lease = Duration::from_secs(30);
    let show = |job: &BulkJobView| {
        if let Some(bar) = &bar {
            bar.set_length(job.total.max(job.handled()).max(0) as u64);
            bar.set_position(job.handled().max(0) as u64);
        }
    };
    let last = match services.claim_bulk_job(&owner, lease, Some(job.id)).await? {
        Some(claimed) => loop {
            let outcome = services
                .run_bulk_batch(&claimed, &owner, lease)
                .await
                .map_err(|e| anyhow!("{}", app::types::AppError::from(e).message(Lang::En)))?;
            show(&outcome.job);
            if outcome.stop {
                break outcome.job;
            }
        },
        // A server node took it first: watch it.
        None => loop {
            let now = services
                .bulk_job(&actor, job.id)
                .await
                .map_err(|e| anyhow!("{}", app::types::AppError::from(e).message(Lang::En)))?;
            show(&now);
            if now.state.is_over() {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        },
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!("{}", summary(&last));
    Ok(())
}
