//! `mock-azure`: the mock as a process, for the demo and benchmarks.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use mock_azure::{MockConfig, MockServer};
use tokio::net::TcpListener;

/// A faithful Azure OpenAI and Azure AI Model Inference data-plane mock.
#[derive(Parser)]
#[command(name = "mock-azure", version)]
struct Args {
    /// Port to listen on (0 picks a free one; the startup line shows it).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accept only this key (default: any non-empty key).
    #[arg(long)]
    key: Option<String>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Do not record requests (cheaper for benchmarks; `/__mock/requests` stays empty).
    #[arg(long)]
    no_record: bool,
    /// A deployment's default behaviour, as `DEPLOYMENT:key=value,…` with the `x-mock-*`
    /// header names minus the prefix (e.g. `throttled:status=429,retry-after-ms=1000`).
    /// Repeatable.
    #[arg(long = "behavior", value_name = "SPEC")]
    behaviors: Vec<String>,
    /// A deployment that is a reasoning model although its name does not say so (names
    /// starting `gpt-5`, `o1`, `o3`, `o4`, `codex` are). Repeatable.
    #[arg(long = "reasoning", value_name = "DEPLOYMENT")]
    reasoning: Vec<String>,
    /// A deployment that serves only `/responses` although its name does not say so (names
    /// containing `codex`, or starting `gpt-5-pro`, `o3-pro` do). Repeatable.
    #[arg(long = "responses-only", value_name = "DEPLOYMENT")]
    responses_only: Vec<String>,
    /// A deployment that serves only chat completions (`/responses` refused). Repeatable.
    #[arg(long = "chat-only", value_name = "DEPLOYMENT")]
    chat_only: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-azure: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let behaviors = args
        .behaviors
        .iter()
        .map(|spec| mock_azure::control::behavior_spec(spec))
        .collect::<Result<HashMap<_, _>, _>>()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind((args.host, args.port)).await?;
    let config = MockConfig {
        key: args.key,
        record: !args.no_record,
        behaviors,
        reasoning: args.reasoning,
        responses_only: args.responses_only,
        chat_only: args.chat_only,
        ..MockConfig::default()
    };
    let server = MockServer::start_on(listener, config).await?;
    {
        // Scripts wait for this exact line, so flush it immediately.
        let mut out = std::io::stdout().lock();
        writeln!(out, "mock-azure listening on {}", server.base_url())?;
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown();
    Ok(())
}
