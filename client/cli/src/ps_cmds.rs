//! The PowerShell commands: `invoke` (a temporary session, also on many
//! hosts at once) and `session ...` (PSSessions that persist on the host
//! between `wsman` runs: each command connects, works, and disconnects
//! again, as `Invoke-Command -Session` on a disconnected session does).
use std::path::Path;
use std::time::Duration;

use psrp::clixml::Value;
use psrp::types::{Command, PowerShell};
use uuid::Uuid;
use wsman::soap::request::BufferMode;

use super::args::{BufferModeArg, ConnectionArgs, SessionCommand};
use super::config::{connection_info, single_host};
use super::input::Input;
use super::output::{self, err_line, out_line};
use super::render::Printer;
use super::sanitize::{error_text, for_terminal};
use super::script_source::Script;
use super::signals::Interrupt;
use crate::console_host::ConsoleHost;
use crate::host::Host;
use crate::session::{PsSession, RemoteSession, SessionOptions};
use crate::store::{state_dir, SessionLock, SessionRecord, Store};
use crate::{ConnectionInfo, Error, Result};

fn console_host() -> Box<dyn Host> {
    console_host_for(None)
}

/// The console host of a session on one of several hosts (`--json`: its
/// lines carry `host`).
fn console_host_for(json_host: Option<String>) -> Box<dyn Host> {
    Box::new(ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        json_host,
    })
}

/// Runs `script` in `session`, printing as it goes; Ctrl+C (and SIGTERM,
/// SIGHUP once the command [listens](Interrupt::listen) for them) stops
/// the pipeline, not the session: the caller cleans up after.
pub(super) async fn run_script(
    session: &mut PsSession,
    script: &str,
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    run_script_with(session, script, &[], input, printer).await
}

/// [`run_script`] with positional arguments (`--arg`): the script goes as
/// a script command with one unnamed parameter per argument, as
/// Invoke-Command -ArgumentList sends it ([MS-PSRP] 2.2.3.11).
pub(super) async fn run_script_with(
    session: &mut PsSession,
    script: &str,
    arguments: &[String],
    input: Option<&Input>,
    printer: &mut Printer,
) -> Result<()> {
    let mut progress_host = ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        json_host: printer.host_prefix.clone(),
    };
    let info = session.connection().clone();
    let instance_id = session.instance_id();
    let mut pipeline = match (input, arguments) {
        (None, []) => session.invoke(script).await?,
        _ => {
            let command = arguments.iter().fold(Command::script(script), |c, a| {
                c.argument(Value::String(a.clone()))
            });
            let ps = PowerShell::new(vec![command]);
            session.invoke_powershell(ps, input.is_some()).await?
        }
    };
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
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(throttle.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (name, info) in infos {
        let limit = limit.clone();
        let script = script.clone();
        let input = input.clone();
        let mut printer = Printer::for_args(args);
        printer.host_prefix = Some(name.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = invoke_one(&info, &script, input.as_ref(), &mut printer).await;
            (name, r.map(|_| printer.had_errors))
        });
    }
    let mut code = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(false))) => {}
            Ok((_, Ok(true))) => code = code.max(1),
            Ok((name, Err(e))) => {
                err_line(&format!("[{name}] wsman: {}", crate::describe(&e)));
                if args.json {
                    super::render::json_failure(Some(&name), None, &e);
                }
                code = code.max(crate::exit_code(&e));
            }
            Err(e) => {
                err_line(&format!("wsman: a host task failed: {e}"));
                code = code.max(1);
            }
        }
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
    let mut session = PsSession::open(info, SessionOptions::default(), host).await?;
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

fn print_table_header() {
    out_line(&format!(
        "{:>3} {:<16} {:<28} {:<13} {}",
        "Id", "Name", "ComputerName", "State", "InstanceId"
    ));
    out_line(&format!(
        "{:>3} {:<16} {:<28} {:<13} {}",
        "--", "----", "------------", "-----", "----------"
    ));
}

fn print_record(r: &SessionRecord, state: &str, json: bool) {
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

fn load_store() -> Result<Store> {
    let dir = state_dir();
    Store::load(&dir)
        .map_err(|e| Error::Usage(format!("session records in {}: {e}", dir.display())))
}

/// Loads, changes and saves the records under the state folder's lock:
/// another `wsman` doing the same at the same time waits, and neither
/// loses the other's change.
fn update_store<T>(change: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
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
fn session_label(record: &SessionRecord) -> String {
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
fn hold_session(record: &SessionRecord) -> Result<SessionLock> {
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

/// The local record for SESSION, or, for an InstanceId the host knows but
/// we do not (a session made elsewhere), a new record.
fn find_record(store: &Store, key: &str) -> Result<SessionRecord> {
    // Not recorded here: a usage mistake (exit 2, shared/docs/cli.md).
    store.find(key).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "no local session {key:?}: see `wsman session list`, or `wsman session connect INSTANCE_ID` \
             for one listed by `wsman session list --remote`"
        ))
    })
}

/// Connection settings for a recorded session: its own endpoint unless -H
/// names one, its own configuration.
fn info_for(args: &ConnectionArgs, record: &SessionRecord) -> Result<ConnectionInfo> {
    let host = match args.hosts.as_slice() {
        [] => record.computer_name.as_str(),
        [h] => h.as_str(),
        _ => return Err(Error::Usage("session commands take one host".into())),
    };
    let mut info = connection_info(args, host)?;
    info.configuration = record.configuration.clone();
    Ok(info)
}

fn buffer_mode(b: Option<BufferModeArg>) -> Option<BufferMode> {
    b.map(|b| match b {
        BufferModeArg::Block => BufferMode::Block,
        BufferModeArg::Drop => BufferMode::Drop,
    })
}

/// `wsman session ...`.
pub async fn session(args: &ConnectionArgs, cmd: &SessionCommand) -> Result<i32> {
    match cmd {
        SessionCommand::New { name, idle_timeout } => {
            let info = connection_info(args, single_host(args)?)?;
            // The Id is taken (and the folder proved writable) before the
            // session exists on the host.
            let id = update_store(|s| s.allocate_id().map_err(|e| Error::Usage(e.to_string())))?;
            let name = name.clone().unwrap_or_else(|| format!("WinRM{id}"));
            let idle = idle_timeout.map(|s| Duration::from_secs(u64::from(s)));
            let opts = SessionOptions {
                name: Some(name.clone()),
                idle_timeout: idle,
                ..Default::default()
            };
            let mut s = PsSession::open(&info, opts, console_host()).await?;
            s.disconnect(idle, None).await?;
            let record = SessionRecord {
                id,
                name,
                computer_name: info.computer_name(),
                instance_id: s.instance_id(),
                configuration: info.configuration.clone(),
                user: args.user.clone(),
                pending_commands: Vec::new(),
            };
            if let Err(e) = update_store(|s| {
                s.upsert(record.clone());
                Ok(())
            }) {
                let host = info.computer_name();
                let iid = record.instance_id;
                return Err(Error::Usage(format!(
                    "{e}\nThe session was created on {host} and is left there, disconnected, \
                     with InstanceId {iid}. Record it with `wsman -H {host} session connect {iid}` \
                     once the state folder can be written, then use or remove it as usual."
                )));
            }
            if !args.json {
                print_table_header();
            }
            print_record(&record, "Disconnected", args.json);
            Ok(0)
        }
        SessionCommand::List { remote: false } => {
            let store = load_store()?;
            if !args.json && !store.records().is_empty() {
                print_table_header();
            }
            for r in store.records() {
                print_record(r, "Disconnected", args.json);
            }
            Ok(0)
        }
        SessionCommand::List { remote: true } => {
            let info = connection_info(args, single_host(args)?)?;
            let sessions = PsSession::list(&info).await?;
            print_remote(&sessions, &info, args.json);
            Ok(0)
        }
        SessionCommand::Invoke {
            session,
            script,
            disconnected,
            input,
        } => {
            let Script {
                text: script,
                args: arguments,
            } = super::script_source::load(script)?;
            if *disconnected && !arguments.is_empty() {
                return Err(Error::Usage(
                    "--arg is not supported with --disconnected yet: put the values in the script"
                        .into(),
                ));
            }
            let store = load_store()?;
            let record = find_record(&store, session)?;
            if !*disconnected && !record.pending_commands.is_empty() {
                // Its pipeline may hold the session's runspace: a new command
                // would wait behind it for ever (PowerShell calls the
                // session Busy). Its output comes first.
                return Err(Error::Usage(format!(
                    "session {} is busy: {} command(s) in it have output not received yet \
                     (started with --disconnected, or cut off by a lost connection); get it \
                     with `wsman session receive {}` first, or remove the session",
                    session_label(&record),
                    record.pending_commands.len(),
                    for_terminal(session)
                )));
            }
            let info = info_for(args, &record)?;
            let input = input.as_deref().map(|p| Input::new(p, 1)).transpose()?;
            let _busy = hold_session(&record)?;
            // From here a signal stops the script and leaves the session
            // disconnected before exiting.
            let interrupt = Interrupt::listen();
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            if let Some(code) = interrupt.code() {
                err_line(&format!(
                    "wsman: {}: disconnecting the session",
                    Interrupt::name(code)
                ));
                s.disconnect(None, None).await?;
                return Ok(code);
            }
            if *disconnected {
                let id = s.start(&script).await?;
                s.disconnect(None, None).await?;
                update_store(|store| {
                    if let Some(r) = store.get_mut(record.instance_id) {
                        r.pending_commands.push(id);
                    }
                    Ok(())
                })?;
                err_line(&format!(
                    "wsman: the script is running on {} in session {}, which is left \
                     disconnected; get its output with `wsman session receive {}`",
                    record.computer_name,
                    session_label(&record),
                    for_terminal(session)
                ));
                return Ok(interrupt.code().unwrap_or(0));
            }
            let mut printer = Printer::for_args(args);
            let result =
                run_script_with(&mut s, &script, &arguments, input.as_ref(), &mut printer).await;
            s.disconnect(None, None).await?;
            result?;
            Ok(interrupt.code().unwrap_or(i32::from(printer.had_errors)))
        }
        SessionCommand::Receive { session } => {
            let store = load_store()?;
            let mut record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let _busy = hold_session(&record)?;
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            let mut pending = record.pending_commands.clone();
            if pending.is_empty() {
                pending = s.remote_pipelines().await?;
            }
            let mut printer = Printer::for_args(args);
            let mut progress = ConsoleHost::default();
            let mut result = Ok(());
            for id in &pending {
                let r = match s.receive_pipeline(*id).await {
                    Ok(p) => printer.pipeline(p, &mut progress).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = r {
                    result = Err(e);
                    break;
                }
                record.pending_commands.retain(|p| p != id);
            }
            s.disconnect(None, None).await?;
            let received: Vec<Uuid> = pending
                .iter()
                .filter(|id| !record.pending_commands.contains(id))
                .copied()
                .collect();
            update_store(|store| {
                if let Some(r) = store.get_mut(record.instance_id) {
                    r.pending_commands.retain(|p| !received.contains(p));
                }
                Ok(())
            })?;
            result?;
            Ok(i32::from(printer.had_errors))
        }
        SessionCommand::Connect { session } => {
            let store = load_store()?;
            let (mut record, info) = match store.find(session).cloned() {
                Some(r) => {
                    let info = info_for(args, &r)?;
                    (r, info)
                }
                None => {
                    let id: Uuid = session.parse().map_err(|_| {
                        Error::SessionNotFound(format!(
                            "no local session {session:?}, and it is not an InstanceId \
                             (see `wsman session list --remote`)"
                        ))
                    })?;
                    let info = connection_info(args, single_host(args)?)?;
                    let remote = PsSession::list(&info).await?;
                    let found = remote.iter().find(|r| r.instance_id == id).ok_or_else(|| {
                        Error::SessionNotFound(format!(
                            "{} keeps no session {id} for this user",
                            info.computer_name()
                        ))
                    })?;
                    let mut info = info;
                    if let Some(cfg) = found
                        .resource_uri
                        .strip_prefix(wsman::soap::ns::uri::POWERSHELL_PREFIX)
                    {
                        info.configuration = cfg.to_string();
                    }
                    // The Id is given when the record is saved.
                    let record = SessionRecord {
                        id: 0,
                        name: found.name.clone().unwrap_or_default(),
                        computer_name: info.computer_name(),
                        instance_id: id,
                        configuration: info.configuration.clone(),
                        user: args.user.clone(),
                        pending_commands: Vec::new(),
                    };
                    (record, info)
                }
            };
            let _busy = hold_session(&record)?;
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            s.disconnect(None, None).await?;
            record = update_store(|store| {
                if let Some(existing) = store.get_mut(record.instance_id) {
                    return Ok(existing.clone());
                }
                if record.id == 0 {
                    record.id = store
                        .allocate_id()
                        .map_err(|e| Error::Usage(e.to_string()))?;
                }
                if record.name.is_empty() {
                    record.name = format!("WinRM{}", record.id);
                }
                store.upsert(record.clone());
                Ok(record)
            })?;
            if !args.json {
                print_table_header();
            }
            print_record(&record, "Disconnected", args.json);
            err_line(&format!(
                "wsman: connected to session {} on {} and recorded it here; it is left \
                 disconnected on the host, ready for `wsman session invoke {} SCRIPT`, \
                 `wsman session receive {}` or `wsman enter {}`",
                session_label(&record),
                record.computer_name,
                record.id,
                record.id,
                record.id
            ));
            Ok(0)
        }
        SessionCommand::Disconnect {
            session,
            idle_timeout,
            buffer_mode: mode,
        } => {
            let store = load_store()?;
            let record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let _busy = hold_session(&record)?;
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            let idle = idle_timeout.map(|s| Duration::from_secs(u64::from(s)));
            s.disconnect(idle, buffer_mode(*mode)).await?;
            if !args.json {
                print_table_header();
            }
            print_record(&record, "Disconnected", args.json);
            Ok(0)
        }
        SessionCommand::Remove { session } => {
            let store = load_store()?;
            let record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let busy = hold_session(&record)?;
            let outcome = match PsSession::connect(&info, record.instance_id, console_host()).await
            {
                Ok(s) => s.close().await,
                Err(Error::SessionNotFound(m)) => {
                    err_line(&format!(
                        "wsman: {}; removing the local record",
                        error_text(&m)
                    ));
                    Ok(())
                }
                Err(e) => Err(e),
            };
            outcome?;
            update_store(|store| Ok(store.remove(record.instance_id)))?;
            busy.release_and_remove();
            Ok(0)
        }
    }
}

fn print_remote(sessions: &[RemoteSession], info: &ConnectionInfo, json: bool) {
    if json {
        for s in sessions {
            out_line(
                &serde_json::json!({
                    "Name": s.name, "ComputerName": info.host_name(), "State": s.state,
                    "InstanceId": s.instance_id, "ConfigurationName": s.resource_uri
                        .strip_prefix(wsman::soap::ns::uri::POWERSHELL_PREFIX)
                        .unwrap_or(&s.resource_uri),
                    "Owner": s.owner,
                    "IdleTimeout": s.idle_timeout.map(|d| d.as_secs()),
                })
                .to_string(),
            );
        }
        return;
    }
    if sessions.is_empty() {
        return;
    }
    out_line(&format!(
        "{:<16} {:<20} {:<13} {:<24} {}",
        "Name", "ComputerName", "State", "ConfigurationName", "InstanceId"
    ));
    out_line(&format!(
        "{:<16} {:<20} {:<13} {:<24} {}",
        "----", "------------", "-----", "-----------------", "----------"
    ));
    for s in sessions {
        let cfg = s
            .resource_uri
            .strip_prefix(wsman::soap::ns::uri::POWERSHELL_PREFIX)
            .unwrap_or(&s.resource_uri);
        // Names and states come from the host.
        out_line(&format!(
            "{:<16} {:<20} {:<13} {:<24} {}",
            for_terminal(s.name.as_deref().unwrap_or("")),
            info.host_name(),
            for_terminal(&s.state.to_string()),
            for_terminal(cfg),
            s.instance_id
        ));
    }
}
