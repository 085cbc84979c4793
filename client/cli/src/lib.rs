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
mod enter_complete;
mod enter_format;
mod enter_input;
mod input;
pub mod output;
pub mod profile;
mod ps_cmds;
mod receive_interrupt;
mod render;
mod resource_text;
pub mod sanitize;
mod script_source;
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

/// An error as `wsman` prints it: the library's text (cut and escaped, as
/// host text may be in it), then what to type, by the error's kind: the
/// library says what happened, the command line adds its own flags.
pub fn describe(e: &Error) -> String {
    let text = sanitize::error_text(&e.to_string());
    match advice(e) {
        Some(a) => format!("{text}\n  hint: {a}"),
        None => text,
    }
}

/// The command-line advice for an error kind, if any.
fn advice(e: &Error) -> Option<&'static str> {
    use wsman::ErrorKind as K;
    match e.wsman_kind()? {
        K::TlsUntrusted => Some(
            "pass the CA that signed the host's certificate with --ca-file, or --insecure to \
             skip verification (which lets anyone impersonate the host)",
        ),
        K::Encryption => Some(
            "--https uses TLS; over plain HTTP negotiate, ntlm and kerberos seal every message; \
             --no-encryption allows unencrypted bodies where the host does (AllowUnencrypted=true)",
        ),
        K::Authentication if e.to_string().contains("not forwardable") => Some(
            "--delegate needs a forwardable ticket-granting ticket: kinit -f USER@REALM, or -p so \
             wsman gets one itself (krb5.conf [libdefaults] forwardable = true)",
        ),
        K::Authentication => Some(
            "check the user (-u) and the password (-p or WSMAN_PASSWORD) and the mechanism (-a); \
             Basic over plain HTTP also needs --https, or --no-encryption where the host allows it",
        ),
        _ => None,
    }
}

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

/// Parses the command line (exiting with 2 and clap's message on a usage
/// error, 0 for `--help`), then fills in the chosen profile.
pub fn parse_args() -> Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    profile::apply(&mut cli.connection, &matches)?;
    Ok(cli)
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
    render::set_json_mode(c.json);
    let result = dispatch(&cli).await;
    if let Err(e) = &result {
        json_failure(&cli, e);
    }
    // Interrupted (Ctrl+C, SIGTERM, SIGHUP): the signal's code (130, 143,
    // 129), also when the interruption made the command fail.
    if let Some(code) = signals::Interrupt::current().and_then(|i| i.code()) {
        if let Err(e) = &result {
            output::err_line(&format!("wsman: {}", sanitize::error_text(&e.to_string())));
        }
        return Ok(code);
    }
    result
}

/// With `--json`, a PowerShell command that failed as a whole says so on
/// stdout too (`{"stream":"failure",...}`), so a reader of the JSON lines
/// sees it; the message still goes to stderr.
fn json_failure(cli: &Cli, e: &Error) {
    use args::SessionCommand as S;
    let c = &cli.connection;
    if !c.json {
        return;
    }
    let host = match c.hosts.as_slice() {
        [h] => Some(h.as_str()),
        _ => None,
    };
    match &cli.command {
        Command::Invoke { .. } => render::json_failure(host, None, e),
        Command::Session(S::Invoke { session, .. } | S::Receive { session, .. }) => {
            render::json_failure(host, Some(session), e)
        }
        _ => {}
    }
}

async fn dispatch(cli: &Cli) -> Result<i32> {
    let c = &cli.connection;
    match &cli.command {
        Command::Identify => wsman_cmds::identify(c).await,
        Command::Get {
            resource,
            selectors,
            xml,
        } => wsman_cmds::get(c, resource, selectors, *xml).await,
        Command::Enumerate {
            resource,
            filter,
            xml,
        } => wsman_cmds::enumerate(c, resource, filter.as_deref(), *xml).await,
        Command::Exec { command, no_stdin } => wsman_cmds::exec(c, command, *no_stdin).await,
        Command::Invoke {
            script,
            throttle,
            input,
        } => {
            let script = script_source::load(script)?;
            ps_cmds::invoke(c, &script, *throttle, input.as_deref()).await
        }
        Command::Session(cmd) => session_cmds::session(c, cmd).await,
        Command::Enter { session } => enter::enter(c, session.as_deref()).await,
        Command::Copy { recurse, src, dest } => copy_cmd::copy(c, *recurse, src, dest).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "wsman", &mut out);
            output::out_bytes(&out);
            Ok(0)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::Usage(format!("cannot render the man page: {e}")))?;
            output::out_bytes(&out);
            Ok(0)
        }
    }
}
