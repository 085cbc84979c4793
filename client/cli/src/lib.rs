//! The `wsman` command-line client: argument syntax ([`args`]), resolution
//! into connection settings ([`config`]), then one module per group of
//! commands; the local session records ([`store`]) and the console host
//! ([`console_host`]) live here too, since only a program with a person at
//! a terminal needs them. The PSSession work itself is the `pssession`
//! library's. `main` only turns [`run`]'s result into an exit code
//! ([`exit_code`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod config;
pub mod console_host;
mod copy_cmd;
mod enter;
pub mod output;
mod ps_cmds;
mod render;
pub mod sanitize;
mod session_cmds;
pub mod signals;
pub mod store;
mod tty;
mod wsman_cmds;

pub use args::Cli;
use args::Command;

// The library's modules under the names the command modules use.
use pssession::{copy, format, host, session, winrs};
use pssession::{ConnectionInfo, Error, Result};

/// The `wsman` exit code for an error (`shared/docs/cli.md`): 2 usage or
/// configuration, 3 authentication, 4 connection or TLS, 5 WS-Management
/// fault, 1 anything else (the remote side failed).
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Wsman(e) => match e {
            wsman::Error::Authentication { .. } => 3,
            wsman::Error::Encryption { .. } => 3,
            wsman::Error::Transport { .. } | wsman::Error::Timeout { .. } => 4,
            wsman::Error::Protocol { .. } => 4,
            wsman::Error::Fault(_) => 5,
            wsman::Error::Config { .. } => 2,
            _ => 1,
        },
        Error::Psrp(_) | Error::Broken(_) => 1,
        Error::SessionNotFound(_) => 5,
        Error::Usage(_) => 2,
        _ => 1,
    }
}

/// Sets up diagnostics on stderr: `-v` debug, `-vv` trace (SOAP bodies,
/// secrets redacted by the transport). `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "wsman=debug,pssession=debug,wsman_cli=debug,psrp=debug",
        _ => "wsman=trace,pssession=trace,wsman_cli=trace,psrp=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Runs a parsed command line; returns the process exit code
/// (`shared/docs/cli.md`).
pub async fn run(cli: Cli) -> Result<i32> {
    init_tracing(cli.connection.verbose);
    if cli.connection.insecure {
        eprintln!(
            "wsman: warning: --insecure: the host's TLS certificate is not verified; \
             anyone on the network path can impersonate it"
        );
    }
    let c = &cli.connection;
    match &cli.command {
        Command::Identify => wsman_cmds::identify(c).await,
        Command::Get {
            resource,
            selectors,
        } => wsman_cmds::get(c, resource, selectors).await,
        Command::Enumerate { resource, filter } => {
            wsman_cmds::enumerate(c, resource, filter.as_deref()).await
        }
        Command::Exec { command, no_stdin } => wsman_cmds::exec(c, command, *no_stdin).await,
        Command::Invoke {
            script,
            throttle,
            input,
        } => ps_cmds::invoke(c, script, *throttle, input.as_deref()).await,
        Command::Session(cmd) => session_cmds::session(c, cmd).await,
        Command::Enter { session } => enter::enter(c, session.as_deref()).await,
        Command::Copy { src, dest } => copy_cmd::copy(c, src, dest).await,
    }
}
