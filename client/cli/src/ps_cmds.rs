//! The PowerShell commands: `invoke` (a temporary session, also on many
//! hosts at once), and what `session ...` ([`super::session_cmds`]) and
//! `enter` share: running a script and printing it, the local records.
use std::path::Path;

use psrp::clixml::Value;
use psrp::types::{Command, PowerShell};
use pssession::fanout::throttled;
use uuid::Uuid;

use super::args::ConnectionArgs;
use super::config::{connection_info, single_host};
use super::input::Input;
use super::output::{self, err_line, out_line};
use super::render::Printer;
use super::sanitize::{error_text, for_terminal};
use super::script_source::Script;
use super::signals::Interrupt;
use crate::console_host::ConsoleHost;
use crate::host::Host;
use crate::session::{InvokeOptions, PsSession, SessionOptions};
use crate::store::{state_dir, SessionLock, SessionRecord, Store};
use crate::{ConnectionInfo, Error, Result};

pub(crate) fn console_host() -> Box<dyn Host> {
    console_host_for(None)
}

/// The console host of a session on one of several hosts (`--json`: its
/// lines carry `host`).
pub(crate) fn console_host_for(json_host: Option<String>) -> Box<dyn Host> {
    Box::new(ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        json_host,
        json_session: None,
    })
}

/// The console host of a session that `printer` prints for: its JSON
/// lines carry the printer's host and session.
pub(crate) fn console_host_of(printer: &Printer) -> Box<dyn Host> {
    Box::new(ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        json_host: printer.host_prefix.clone(),
        json_session: printer.session.clone(),
    })
}

/// Runs `script` in `session` with positional arguments (`--arg`),
/// printing as it goes; Ctrl+C (and SIGTERM, SIGHUP once the command
/// [listens](Interrupt::listen) for them) stops the pipeline, not the
/// session: the caller cleans up after. The script goes as a script
/// command with one unnamed parameter per argument, as Invoke-Command
/// -ArgumentList sends it ([MS-PSRP] 2.2.3.11).
pub(crate) async fn run_script_with(
    session: &mut PsSession,
    script: &str,
    arguments: &[String],
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    run_commands(session, script_command(script, arguments), input, printer).await
}

/// The script with its `--arg` values as unnamed parameters, as
/// Invoke-Command -ArgumentList sends them ([MS-PSRP] 2.2.3.11).
pub(crate) fn script_command(script: &str, arguments: &[String]) -> PowerShell {
    let command = arguments.iter().fold(Command::script(script), |c, a| {
        c.argument(Value::String(a.clone()))
    });
    PowerShell::new(vec![command])
}

/// [`run_script_with`] for a pipeline of commands.
pub(crate) async fn run_commands(
    session: &mut PsSession,
    ps: PowerShell,
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    run_commands_with(session, ps, InvokeOptions::default(), input, printer).await
}

/// [`run_commands`] with the CREATE_PIPELINE settings of `options`
/// ([MS-PSRP] 2.2.2.10; `enter`: a typed line goes into the history); the
/// pipeline takes input when `input` is given, whatever `options` says.
pub(crate) async fn run_commands_with(
    session: &mut PsSession,
    ps: PowerShell,
    options: InvokeOptions,
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    let options = InvokeOptions {
        input: input.is_some(),
        ..options
    };
    let mut progress_host = ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        json_host: printer.host_prefix.clone(),
        json_session: printer.session.clone(),
    };
    let info = session.connection().clone();
    let instance_id = session.instance_id();
    let mut pipeline = session.invoke_with(ps, options).await?;
    if let Some(input) = input {
        input.send(&mut pipeline).await?;
    }
    // Ctrl+C stops the pipeline with a Signal sent on a second connection,
    // while the Receive in flight on the session's connection goes on: so
    // nothing the host already sent is lost.
    let pipeline_id = pipeline.id();
    let interrupt = Interrupt::current();
    let interrupted = || async {
        match &interrupt {
            Some(i) => i.wait().await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
                super::signals::EXIT_SIGINT
            }
        }
    };
    let mut stopping = false;
    let _batch = output::Batch::begin();
    loop {
        // What the last Receive brought is printed without waiting, and
        // written out (one write) before the next wait on the network.
        while let Some(e) = pipeline.next_queued().await? {
            printer.event(&e, &mut progress_host);
        }
        output::flush_out();
        let next = pipeline.next();
        tokio::pin!(next);
        let event = loop {
            tokio::select! {
                e = &mut next => break e?,
                _ = super::render::held_rows_due(printer.held_since()) => {
                    printer.release_held();
                    output::flush_out();
                }
                code = interrupted(), if !stopping => {
                    stopping = true;
                    err_line(&format!("wsman: {}: stopping the pipeline", Interrupt::name(code)));
                    if let Err(e) = send_stop(&info, instance_id, pipeline_id).await {
                        err_line(&format!(
                            "wsman: could not stop the pipeline: {}",
                            error_text(&e.to_string())
                        ));
                    }
                }
            }
        };
        match event {
            Some(e) => printer.event(&e, &mut progress_host),
            None => break,
        }
    }
    Ok(())
}

/// Sends PowerShell's stop signal for a pipeline on a new connection.
async fn send_stop(info: &ConnectionInfo, instance_id: Uuid, pipeline_id: Uuid) -> Result<()> {
    let upper = |id: Uuid| id.hyphenated().to_string().to_uppercase();
    let mut c = info.wsman_client()?;
    c.signal(
        &info.resource_uri(),
        &upper(instance_id),
        Some(&upper(pipeline_id)),
        wsman::soap::ns::signal::PS_CTRL_C,
    )
    .await?;
    Ok(())
}

/// `wsman invoke SCRIPT`: a temporary session on each host (opened, used,
/// removed), several hosts at once up to `throttle`.
pub async fn invoke(
    args: &ConnectionArgs,
    script: &Script,
    throttle: usize,
    input: Option<&Path>,
) -> Result<i32> {
    let input = input.map(|p| Input::new(p, args.hosts.len())).transpose()?;
    // From here a signal removes the temporary sessions before exiting.
    let interrupt = Interrupt::listen();
    if args.hosts.len() <= 1 {
        let info = connection_info(args, single_host(args)?)?;
        let mut printer = Printer::for_args(args);
        invoke_one(&info, script, input.as_ref(), &mut printer).await?;
        return Ok(interrupt.code().unwrap_or(i32::from(printer.had_errors)));
    }
    // Fan-out: one task per host, `throttle` at a time; a host's failure is
    // reported and does not stop the others.
    let infos = args
        .hosts
        .iter()
        .map(|h| connection_info(args, h).map(|i| (h.clone(), i)))
        .collect::<Result<Vec<_>>>()?;
    let mut code = 0;
    let mut finished = 0;
    let names: Vec<String> = infos.iter().map(|(h, _)| h.clone()).collect();
    throttled(
        infos,
        throttle,
        |_, (name, info)| {
            let script = script.clone();
            let input = input.clone();
            let mut printer = Printer::for_args(args);
            printer.host_prefix = Some(name);
            async move {
                let r = invoke_one(&info, &script, input.as_ref(), &mut printer).await;
                r.map(|_| printer.had_errors)
            }
        },
        |i, r| {
            finished += 1;
            match r {
                Ok(false) => {}
                Ok(true) => code = code.max(1),
                Err(e) => {
                    let name = &names[i];
                    err_line(&format!("[{name}] wsman: {}", crate::describe(&e)));
                    if args.json {
                        super::render::json_failure(Some(name), None, &e);
                    }
                    code = code.max(crate::exit_code(&e));
                }
            }
        },
    )
    .await;
    if finished < names.len() {
        err_line("wsman: a host task failed");
        code = code.max(1);
    }
    Ok(interrupt.code().unwrap_or(code))
}

async fn invoke_one(
    info: &ConnectionInfo,
    script: &Script,
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    // A signal while the session opens is acted on once it is open, so it
    // can be removed.
    let host = console_host_for(printer.host_prefix.clone());
    // On a terminal, its width is announced: the host formats at it.
    let options = SessionOptions {
        raw_ui: super::enter_format::stdout_console(),
        ..Default::default()
    };
    let mut session = PsSession::open(info, options, host).await?;
    printer.computer_name = Some(info.host_name());
    let result = match Interrupt::current().and_then(|i| i.code()) {
        Some(code) => {
            err_line(&format!(
                "wsman: {}: removing the session",
                Interrupt::name(code)
            ));
            Ok(())
        }
        None => run_script_with(&mut session, &script.text, &script.args, input, printer).await,
    };
    // Leave nothing behind, whatever happened.
    let closed = session.close().await;
    result.and(closed)
}

pub(crate) fn print_table_header() {
    out_line(&format!(
        "{:>3} {:<16} {:<28} {:<13} {}",
        "Id", "Name", "ComputerName", "State", "InstanceId"
    ));
    out_line(&format!(
        "{:>3} {:<16} {:<28} {:<13} {}",
        "--", "----", "------------", "-----", "----------"
    ));
}

pub(crate) fn print_record(r: &SessionRecord, state: &str, json: bool) {
    if json {
        out_line(
            &serde_json::json!({
                "Id": r.id, "Name": r.name, "ComputerName": r.computer_name,
                "State": state, "InstanceId": r.instance_id,
                "ConfigurationName": r.configuration,
            })
            .to_string(),
        );
    } else {
        // A name may come from the host (`session connect`).
        out_line(&format!(
            "{:>3} {:<16} {:<28} {:<13} {}",
            r.id,
            for_terminal(&r.name),
            r.computer_name,
            state,
            r.instance_id
        ));
    }
}

pub(crate) fn load_store() -> Result<Store> {
    let dir = state_dir();
    Store::load(&dir)
        .map_err(|e| Error::Usage(format!("session records in {}: {e}", dir.display())))
}

/// Loads, changes and saves the records under the state folder's lock:
/// another `wsman` doing the same at the same time waits, and neither
/// loses the other's change.
pub(crate) fn update_store<T>(change: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
    let dir = state_dir();
    Store::update(&dir, change).map_err(|e| {
        Error::Usage(format!(
            "cannot save session records in {}: {e}",
            dir.display()
        ))
    })?
}

/// How a session is named in messages: `Id (name)`, or its InstanceId when
/// it is not recorded yet.
pub(crate) fn session_label(record: &SessionRecord) -> String {
    if record.id == 0 {
        record.instance_id.to_string()
    } else {
        format!("{} ({})", record.id, for_terminal(&record.name))
    }
}

/// Holds SESSION for this process while it works in it: a second `wsman`
/// on the same session is refused before anything is sent to the host
/// (the host would run its script and leave its output to whoever
/// receives next).
pub(crate) fn hold_session(record: &SessionRecord) -> Result<SessionLock> {
    let dir = state_dir();
    match SessionLock::try_hold(&dir, record.instance_id) {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(Error::Usage(format!(
            "session {} is busy: another wsman process is working in it; \
             try again when it has finished",
            session_label(record)
        ))),
        Err(e) => Err(Error::Usage(format!(
            "cannot lock session {} in {}: {e}",
            session_label(record),
            dir.display()
        ))),
    }
}
