//! `aoai-gateway`: the CLI. Everything else lives in the library.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use aoai_gateway::telemetry::logs::{self, LogGuard};
use aoai_gateway::telemetry::{Ledger, LogBuffer, Telemetry};
use aoai_gateway::{config, demo, listen, state::AppState, worker};
use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc instead of glibc malloc: the request path allocates many small, short-lived
/// buffers across threads; measured in bench/RESULTS.md (less CPU per request, flatter RSS).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aoai-gateway",
    version,
    about = "OpenAI-compatible gateway for Azure OpenAI and Azure AI Foundry"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway (config from --config, else CONFIG_PATH, else ./config/config.json,
    /// else env-only mode from AZURE_OPENAI_ENDPOINT).
    Serve {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Log line format on stdout.
        #[arg(long, value_enum, env = "LOG_FORMAT", default_value_t = LogFormat::Human)]
        log_format: LogFormat,
    },
    /// Check a config file and print every problem with its JSON path.
    CheckConfig { file: PathBuf },
    /// Run the gateway in front of an in-process mock Azure deployment on loopback.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Client key to accept (default: a generated one).
        #[arg(long)]
        key: Option<String>,
    },
}

/// stdout log formats (`--log-format`, `LOG_FORMAT`).
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Installs the logger (stdout and the admin ring); the ring goes to `Telemetry::new`, the
/// guard flushes stdout when `main` returns.
fn init_logs(format: LogFormat) -> Result<(Arc<LogBuffer>, LogGuard), String> {
    let format = match format {
        LogFormat::Human => logs::Format::Human,
        LogFormat::Json => logs::Format::Json,
    };
    let settings = logs::Settings::from_env(format, &|k| std::env::var(k).ok())?;
    logs::init::install(settings)
}

/// One line on stdout; scripts and tests read it, so it is flushed at once.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn check_config(file: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let (_, problems) = config::check_text(&text);
    let errors = problems
        .iter()
        .filter(|p| p.severity == config::Severity::Error)
        .count();
    for p in &problems {
        say(&p.to_string());
    }
    if errors > 0 {
        say(&format!(
            "{}: {errors} error(s), {} warning(s)",
            file.display(),
            problems.len() - errors
        ));
        ExitCode::FAILURE
    } else {
        say(&format!(
            "{}: ok ({} warning(s))",
            file.display(),
            problems.len()
        ));
        ExitCode::SUCCESS
    }
}

/// `serve`: one event loop per worker thread (see `listen`); blocks until shutdown.
fn serve(config_path: Option<PathBuf>, logs: Arc<LogBuffer>) -> Result<(), String> {
    let env = |k: &str| std::env::var(k).ok();
    let loaded = config::load(config_path.as_deref(), &env).map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let host = loaded.config.server.host.clone();
    let port = loaded.config.server.port;
    let workers = worker::resolve(loaded.config.server.workers);
    // Before the state is built: its upstream clients are sized by the worker count.
    worker::set_count(workers);
    let ledger = open_ledger(&loaded.config.server)?;
    let telemetry = Telemetry::new(ledger, logs);
    let app = AppState::with_telemetry(loaded.config, telemetry)?;
    tracing::info!(source = ?loaded.source, workers, "config loaded");
    let served = listen::run(&host, port, workers, Arc::clone(&app), |at| {
        // Before the `listening` line, which scripts and tests wait for.
        if let Some(metrics) = at.metrics {
            say(&format!("aoai-gateway metrics on http://{metrics}/metrics"));
        }
        say(&format!("aoai-gateway listening on http://{}", at.addr));
    });
    // Rows still queued reach the database before the process ends.
    app.telemetry.ledger.close();
    served
}

/// The usage ledger, when enabled. A ledger that cannot be opened stops the start: running
/// without the accounting an operator configured would lose what they pay for, silently.
fn open_ledger(server: &config::ServerConfig) -> Result<Ledger, String> {
    if !server.usage.enabled {
        return Ok(Ledger::disabled());
    }
    Ledger::open(&server.usage, Path::new(&server.data_dir)).map_err(|e| {
        format!("usage ledger: {e} (set server.usage.enabled: false to run without it)")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    let format = match &cli.command {
        Command::Serve { log_format, .. } => *log_format,
        _ => LogFormat::Human,
    };
    // Dropped last (after `serve` returns): queued log lines reach stdout before exit.
    let (ring, _log_guard) = match init_logs(format) {
        Ok(installed) => installed,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "otel")]
    let _otel = aoai_gateway::telemetry::otel::init();
    if let Command::Serve { config, .. } = cli.command {
        return match serve(config, ring) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo { port, key } => {
                demo::run(
                    demo::DemoOptions {
                        port,
                        key,
                        logs: ring,
                    },
                    say,
                )
                .await
            }
            Command::CheckConfig { .. } | Command::Serve { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
