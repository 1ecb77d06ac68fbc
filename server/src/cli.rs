//! Command-line parsing and the subcommands. Each subcommand is a thin adapter over the
//! service layer; errors come back as the service's message, in English.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use app::service::alert::BurstRule;
use app::service::{Actor, ModuleInput, Services, SystemClock, UserError};
use app::types::{AppError, FieldReason, ItemStatus, Lang, Level, ModuleKind};
use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::{Drivers, Engine, EngineConfig};
use crate::guard::HttpConfig;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// billops: the current-operations console of a hosting billing platform.
#[derive(Debug, Parser)]
#[command(name = "billops", version, about)]
pub struct Cli {
    /// Database: `sqlite://FILE` (created when missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://billops.db",
        global = true
    )]
    database_url: String,
    /// The directory `exec` modules' programs must be in (changes over HTTP can name no other
    /// program on the host; `module add --outside-modules-dir` can, from the command line).
    #[arg(
        long,
        env = "BILLOPS_MODULES_DIR",
        default_value = "modules",
        global = true
    )]
    modules_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the UI and its API over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BILLOPS_LISTEN", default_value = "127.0.0.1:1500")]
        listen: SocketAddr,
        /// Processing modules this node runs at once (0: this node only serves HTTP).
        #[arg(long, env = "BILLOPS_WORKERS", default_value_t = 8)]
        workers: usize,
        /// Seconds a claimed operation stays leased without renewal (renewed every third).
        /// When a node dies, its operations are restarted after this long.
        #[arg(long, env = "BILLOPS_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        lease_secs: u64,
        /// Seconds a stopped module has between SIGTERM and SIGKILL.
        #[arg(long, env = "BILLOPS_GRACE_SECS", default_value_t = 5)]
        grace_secs: u64,
        /// Hours a session lasts at most, however busy (besides the hour without a request).
        #[arg(long, env = "BILLOPS_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
        session_hours: u64,
        /// A reverse proxy in front says who the client is (`X-Forwarded-For`) and whether it
        /// spoke TLS (`X-Forwarded-Proto`). Only behind a proxy that sets both.
        #[arg(long, env = "BILLOPS_TRUST_PROXY")]
        trust_proxy: bool,
        /// Serve HTTPS with this PEM certificate chain (with `--tls-key`).
        #[arg(long, env = "BILLOPS_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of `--tls-cert`.
        #[arg(long, env = "BILLOPS_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Seconds running modules get to finish after SIGTERM (or Ctrl-C) before they are
        /// stopped and returned for a restart.
        #[arg(long, env = "BILLOPS_SHUTDOWN_SECS", default_value_t = 10)]
        shutdown_secs: u64,
        /// Serve Prometheus metrics at `/metrics` on this address (off when not given). It has
        /// no login: bind it where only the monitoring reaches it.
        #[arg(long, env = "BILLOPS_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// A module's failures make a `burst` alert when this many come within
        /// `--alert-burst-minutes` (counted per node).
        #[arg(long, env = "BILLOPS_ALERT_BURST_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        alert_burst_failures: u64,
        /// The window of `--alert-burst-failures`, in minutes.
        #[arg(long, env = "BILLOPS_ALERT_BURST_MINUTES", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1440))]
        alert_burst_minutes: u64,
        /// Operations a bulk job handles per batch (one transaction each).
        #[arg(long, env = "BILLOPS_BULK_BATCH", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
        bulk_batch: u32,
        /// Milliseconds between two batches of a bulk job.
        #[arg(long, env = "BILLOPS_BULK_PAUSE_MS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=60000))]
        bulk_pause_ms: u64,
    },
    /// Create or update the database schema (every other subcommand does this first too).
    Migrate,
    /// Copy a SQLite database to a new FILE, consistently, while the server may be running
    /// (an existing FILE is never overwritten). PostgreSQL: use pg_dump.
    Backup {
        /// The copy to write; it must not exist yet.
        file: PathBuf,
    },
    /// Load demo data into an empty database, and give the user `admin` a fresh random password.
    Demo {
        /// The demo `exec` processing-module script.
        #[arg(long, default_value = "modules/demo-module.sh")]
        program: PathBuf,
        /// The admin to create (or whose password to renew).
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// Users: employees and clients' users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Processing modules.
    Module {
        #[command(subcommand)]
        command: ModuleCommand,
    },
    /// Clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Alert webhooks: a JSON POST (with a Slack/Mattermost `text`) when an operation needs
    /// attention or a module's failures burst.
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// Clients' services.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// One action on every current operation the filter flags match, as a bulk job: in
    /// batches, each one transaction with its journal rows; a progress bar on a terminal.
    Operations {
        #[command(subcommand)]
        command: OperationsCommand,
    },
}

/// `billops operations ACTION [filter flags]`.
#[derive(Debug, Subcommand)]
enum OperationsCommand {
    /// Run each once now (even if manual); running ones and switched-off modules' are left.
    Start(crate::bulk::FilterArgs),
    /// Stop each: automatic restarts off, a running module terminated.
    Stop(crate::bulk::FilterArgs),
    /// Open an employee task for each that has none.
    Taskcreate(crate::bulk::FilterArgs),
    /// Take each off the current list (running ones are left).
    Delete(crate::bulk::FilterArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; prints its id.
    Add {
        name: String,
        #[arg(long)]
        password: String,
        #[arg(long, value_enum)]
        level: LevelArg,
        /// The client a `user`-level user belongs to.
        #[arg(long)]
        client: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LevelArg {
    Admin,
    Readonly,
    User,
}

#[derive(Debug, Subcommand)]
enum AlertCommand {
    /// Add a webhook; prints its id.
    Add {
        /// Where to POST (`http://` or `https://`).
        #[arg(long)]
        url: String,
        /// Events, comma-separated: `manual` (an operation needs attention), `burst` (a
        /// module's failures burst). All when not given.
        #[arg(long, default_value = "")]
        on: String,
        /// Signs each delivery (HMAC-SHA256, as `http` modules' requests are; never shown again).
        #[arg(long)]
        secret: Option<String>,
    },
    /// List webhooks (their URLs cut to scheme and host).
    List,
    /// Remove a webhook and its undelivered alerts.
    Delete { id: i64 },
}

#[derive(Debug, Subcommand)]
enum ModuleCommand {
    /// Add a processing module; prints its id.
    Add {
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The program an `exec` module runs.
        #[arg(long, required_if_eq("kind", "exec"), conflicts_with = "url")]
        program: Option<String>,
        /// The URL an `http` module POSTs to.
        #[arg(long, required_if_eq("kind", "http"))]
        url: Option<String>,
        /// HMAC secret of an `http` module (never shown again).
        #[arg(long)]
        secret: Option<String>,
        /// The module's control panel, opened by "go to panel".
        #[arg(long)]
        panel_url: Option<String>,
        /// Operations of this module running at once.
        #[arg(long, default_value_t = app::service::module::DEFAULT_MAX_RUNNING)]
        max_running: i64,
        /// Tries before an operation needs attention.
        #[arg(long, default_value_t = app::service::module::DEFAULT_MAX_TRIES)]
        max_tries: i64,
        /// Seconds one run may take.
        #[arg(long, default_value_t = app::service::module::DEFAULT_TIMEOUT_SECS)]
        timeout: i64,
        /// Accept an `exec` program outside `--modules-dir` (an operator's deliberate choice).
        #[arg(long)]
        outside_modules_dir: bool,
    },
    /// List processing modules (secrets masked) with their circuit breakers.
    List,
    /// Pause modules: none of their operations runs until they are resumed.
    Pause { ids: Vec<i64> },
    /// Resume paused modules, or close their open circuits: their operations run again.
    Resume { ids: Vec<i64> },
    /// Set the rule that opens a module's circuit: FAILURES different operations failing
    /// module-level within WINDOW seconds (0 failures: never).
    Circuit {
        id: i64,
        #[arg(long)]
        failures: i64,
        #[arg(long)]
        window_secs: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Exec,
    Http,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Add a client; prints its id.
    Add {
        name: String,
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ServiceCommand {
    /// Add a service of a client; prints its id.
    Add {
        #[arg(long)]
        client: i64,
        #[arg(long)]
        module: i64,
        /// Product type: vds, dedic, vhost, domain, ssl, ...
        #[arg(long)]
        itemtype: String,
        /// Host or domain name.
        #[arg(long)]
        name: String,
    },
}

/// A service error as the command line says it.
fn said<E: Into<AppError>>(error: E) -> anyhow::Error {
    anyhow!(error.into().message(Lang::En))
}

/// Opens the database the URL names and migrates it.
async fn open(url: &str) -> anyhow::Result<Services> {
    let store = app::store::connect(url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(Services::new(store, Arc::new(SystemClock)))
}

/// Opens the database for a server node: while it cannot be reached (a node started before its
/// database, a database restarting), says so and tries again, waiting longer each time (up to
/// 30 s), instead of exiting.
async fn open_patiently(url: &str) -> Services {
    let mut wait = Duration::from_millis(500);
    loop {
        match open(url).await {
            Ok(services) => return services,
            Err(error) => {
                tracing::warn!(
                    error = %format!("{error:#}"),
                    retry_in_ms = wait.as_millis() as u64,
                    "the database cannot be reached yet; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let services = if matches!(cli.command, Command::Serve { .. }) {
        open_patiently(&cli.database_url).await
    } else {
        open(&cli.database_url).await?
    }
    .with_modules_dir(&cli.modules_dir);
    let actor = Actor::command_line();
    match cli.command {
        Command::Serve {
            listen,
            workers,
            lease_secs,
            grace_secs,
            session_hours,
            trust_proxy,
            tls_cert,
            tls_key,
            shutdown_secs,
            metrics_listen,
            alert_burst_failures,
            alert_burst_minutes,
            bulk_batch,
            bulk_pause_ms,
        } => {
            let config = EngineConfig {
                workers,
                lease: Duration::from_secs(lease_secs),
                grace: Duration::from_secs(grace_secs),
                bulk_pause: Duration::from_millis(bulk_pause_ms),
                ..EngineConfig::default()
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(crate::tls::server_config(&cert, &key)?),
                _ => None,
            };
            let http = HttpConfig {
                trust_proxy,
                tls: tls.is_some(),
            };
            let hours = i64::try_from(session_hours).unwrap_or(720);
            let services = services
                .with_bulk_batch(bulk_batch)
                .with_session_lifetime(hours * 3_600_000)
                .with_burst_rule(BurstRule {
                    failures: usize::try_from(alert_burst_failures).unwrap_or(usize::MAX),
                    window: Duration::from_secs(alert_burst_minutes * 60),
                });
            let shutdown = Duration::from_secs(shutdown_secs);
            let listen = Listen {
                http: listen,
                metrics: metrics_listen,
            };
            serve(services, listen, config, http, tls, shutdown).await
        }
        Command::Migrate => {
            println!("database is up to date ({})", services.store().backend());
            Ok(())
        }
        Command::Backup { file } => {
            let backup = services
                .backup_database(&actor, &file)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!(
                "backup written: {} ({} bytes)",
                backup.path.display(),
                backup.bytes
            );
            Ok(())
        }
        Command::Demo { program, admin } => demo(&services, &actor, &program, &admin).await,
        Command::Operations { command } => {
            use app::types::bulk::BulkAction;
            let (action, filter) = match &command {
                OperationsCommand::Start(f) => (BulkAction::Start, f),
                OperationsCommand::Stop(f) => (BulkAction::Stop, f),
                OperationsCommand::Taskcreate(f) => (BulkAction::TaskCreate, f),
                OperationsCommand::Delete(f) => (BulkAction::Delete, f),
            };
            crate::bulk::run(&services, action, filter).await
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    password,
                    level,
                    client,
                },
        } => {
            let level = match level {
                LevelArg::Admin => Level::Admin,
                LevelArg::Readonly => Level::Readonly,
                LevelArg::User => Level::User,
            };
            let id = services
                .add_user(&actor, &name, &password, level, client)
                .await
                .map_err(said)?;
            println!("{id}");
            Ok(())
        }
        Command::Module {
            command:
                ModuleCommand::Add {
                    name,
                    kind,
                    program,
                    url,
                    secret,
                    panel_url,
                    max_running,
                    max_tries,
                    timeout,
                    outside_modules_dir,
                },
        } => {
            let (kind, target) = match kind {
                KindArg::Exec => (ModuleKind::Exec, program.unwrap_or_default()),
                KindArg::Http => (ModuleKind::Http, url.unwrap_or_default()),
            };
            if kind == ModuleKind::Exec && secret.is_some() {
                bail!("--secret is for http modules only");
            }
            let input = ModuleInput {
                name,
                kind,
                target,
                secret,
                panel_url,
                max_running,
                max_tries,
                timeout_secs: timeout,
                outside_modules_dir,
            };
            let id = services.add_module(&actor, &input).await.map_err(said)?;
            println!("{id}");
            Ok(())
        }
        Command::Alert {
            command: AlertCommand::Add { url, on, secret },
        } => {
            let id = services
                .add_alert_hook(&actor, &url, &on, secret.as_deref())
                .await
                .map_err(said)?;
            println!("{id}");
            Ok(())
        }
        Command::Alert {
            command: AlertCommand::List,
        } => {
            println!("id\turl\tevents\tsigned");
            for hook in services.list_alert_hooks(&actor).await.map_err(said)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    hook.id,
                    hook.url,
                    hook.events,
                    if hook.signed { "yes" } else { "no" }
                );
            }
            Ok(())
        }
        Command::Alert {
            command: AlertCommand::Delete { id },
        } => {
            services.delete_alert_hook(&actor, id).await.map_err(said)?;
            println!("alert hook {id} deleted");
            Ok(())
        }
        Command::Module {
            command: ModuleCommand::List,
        } => {
            println!("id\tname\tkind\ttarget\tsecret\tpanel_url\tmax_running\tmax_tries\ttimeout\tenabled\tcircuit\tcircuit_rule");
            let circuits = services.circuits(&actor).await.map_err(said)?;
            for m in services.list_modules(&actor).await.map_err(said)? {
                let circuit = circuits.iter().find(|c| c.module_id == m.id);
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    m.id,
                    m.name,
                    m.kind.raw(),
                    m.target,
                    if m.has_secret { "***" } else { "-" },
                    m.panel_url.as_deref().unwrap_or("-"),
                    m.max_running,
                    m.max_tries,
                    m.timeout_secs,
                    if m.enabled { "on" } else { "off" },
                    circuit.map_or("closed", |c| c.state.raw()),
                    circuit.map_or_else(String::new, |c| format!(
                        "{}/{}s",
                        c.failures, c.window_secs
                    )),
                );
            }
            Ok(())
        }
        Command::Module {
            command: ModuleCommand::Pause { ids },
        } => {
            for id in ids {
                services.pause_module(&actor, id).await.map_err(said)?;
                println!("module {id} paused");
            }
            Ok(())
        }
        Command::Module {
            command: ModuleCommand::Resume { ids },
        } => {
            for id in ids {
                services.resume_module(&actor, id).await.map_err(said)?;
                println!("module {id} resumed");
            }
            Ok(())
        }
        Command::Module {
            command:
                ModuleCommand::Circuit {
                    id,
                    failures,
                    window_secs,
                },
        } => {
            services
                .set_circuit_rule(&actor, id, failures, window_secs)
                .await
                .map_err(said)?;
            Ok(())
        }
        Command::Client {
            command: ClientCommand::Add { name, email },
        } => {
            let id = services
                .add_client(&actor, &name, email.as_deref())
                .await
                .map_err(said)?;
            println!("{id}");
            Ok(())
        }
        Command::Service {
            command:
                ServiceCommand::Add {
                    client,
                    module,
                    itemtype,
                    name,
                },
        } => {
            let id = services
                .add_item(
                    &actor,
                    client,
                    module,
                    &itemtype,
                    &name,
                    ItemStatus::Ordered,
                )
                .await
                .map_err(said)?;
            println!("{id}");
            Ok(())
        }
    }
}

/// Loads the demo data (once) and gives the admin a fresh password, printed.
async fn demo(
    services: &Services,
    actor: &Actor,
    program: &std::path::Path,
    admin: &str,
) -> anyhow::Result<()> {
    let program = std::fs::canonicalize(program)
        .with_context(|| format!("the demo module script {} is missing", program.display()))?;
    let program = program
        .to_str()
        .context("the demo module's path is not UTF-8")?;
    match services.load_demo(actor, program).await.map_err(|e| anyhow!("{e}"))? {
        Some(s) => println!(
            "demo data loaded: {} processing modules, {} clients, {} services, {} operations, {} attempts",
            s.modules, s.clients, s.items, s.operations, s.attempts
        ),
        None => println!("the database already has operations: demo data left as it is"),
    }
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    match services
        .add_user(actor, admin, &password, Level::Admin, None)
        .await
    {
        Ok(_) => {}
        Err(UserError::Invalid(fields))
            if fields.iter().any(|f| f.reason == FieldReason::Taken) =>
        {
            services
                .set_password(actor, admin, &password)
                .await
                .map_err(said)?;
        }
        Err(e) => return Err(said(e)),
    }
    println!("admin login: {admin}");
    println!("admin password: {password}");
    Ok(())
}

/// Where a node listens: the UI and APIs, and (when asked) the metrics.
struct Listen {
    http: SocketAddr,
    metrics: Option<SocketAddr>,
}

/// Serves HTTP until SIGTERM or Ctrl-C, with the engine and upkeep (idle sessions, statistics)
/// in the background; then stops gracefully (see [`Engine::shutdown`]) and returns.
async fn serve(
    services: Services,
    listen: Listen,
    engine: EngineConfig,
    http: HttpConfig,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: Duration,
) -> anyhow::Result<()> {
    if let Some(address) = listen.metrics {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen for metrics on {address}"))?;
        let bound = listener.local_addr().unwrap_or(address);
        println!("billops metrics on http://{bound}/metrics");
        let metrics = crate::metrics::router(services.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics server failed");
            }
        });
    }
    let listen = listen.http;
    let options = crate::config::site_options(listen);
    match crate::config::check_site(&options) {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            site_root = %options.site_root,
            "no built site here: pages render but do not hydrate (build with `cargo leptos build`)"
        ),
        Err(error) => bail!(error),
    }
    let upkeep = services.clone();
    tokio::spawn(async move {
        // The first tick is immediate: planner statistics are fresh from the start.
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = upkeep.maintain().await {
                tracing::warn!(error = %e, "upkeep (session expiry, statistics) failed");
            }
        }
    });
    crate::alerts::start(services.clone(), crate::alerts::AlertConfig::default());
    let drivers = Drivers::real(engine.grace);
    let engine = Engine::start(services.clone(), engine, drivers);
    let app = crate::router::router_with(services, options, http)
        .into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr().unwrap_or(listen);
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let stop_requested = async move {
        let mut stopped = http_stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let server: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match tls {
        None => {
            // On stdout, plainly: scripts that start the server on port 0 read the address here.
            println!("billops listening on http://{bound}");
            Box::pin(
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop_requested)
                    .into_future(),
            )
        }
        Some(config) => {
            use axum::serve::ListenerExt;
            // `tap_io` (doing nothing) gives the TLS listener axum's `ConnectInfo<SocketAddr>`.
            let listener = crate::tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            println!("billops listening on https://{bound}");
            Box::pin(
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop_requested)
                    .into_future(),
            )
        }
    };
    let mut server = server;
    tokio::select! {
        result = &mut server => return result.context("the HTTP server failed"),
        signal = stop_signal() => tracing::info!(signal, "shutting down: no new claims, running modules get {} s", shutdown.as_secs()),
    }
    let _ = stop_http.send(true);
    engine.shutdown(shutdown).await;
    // Open connections (a live event stream) get a moment to close; then the node exits anyway.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    Ok(())
}

/// Resolves on SIGTERM (a service manager stopping the node) or SIGINT (Ctrl-C); says which.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for signals: the node stops only when killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
