//! The PowerShell commands: `invoke` (a temporary session, also on many
//! hosts at once) and `session ...` (PSSessions that persist on the host
//! between `wsman` runs: each command connects, works, and disconnects
//! again, as `Invoke-Command -Session` on a disconnected session does).
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use psrp::clixml::Value;
use psrp::types::{Command, PowerShell};
use uuid::Uuid;
use wsman::soap::request::BufferMode;

use super::args::{BufferModeArg, ConnectionArgs, SessionCommand};
use super::config::{connection_info, single_host};
use super::output::{self, err_line, out_line};
use super::render::Printer;
use crate::host::{ConsoleHost, Host};
use crate::session::{PsSession, RemoteSession, SessionOptions};
use crate::store::{state_dir, SessionRecord, Store};
use crate::{ConnectionInfo, Error, Result};

fn console_host() -> Box<dyn Host> {
    Box::new(ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    })
}

/// Reads `--input FILE` (`-` = stdin): one input object per line.
fn read_input(path: &Path) -> Result<Vec<String>> {
    let read = |r: &mut dyn BufRead| -> std::io::Result<Vec<String>> { r.lines().collect() };
    let lines = if path == Path::new("-") {
        read(&mut std::io::stdin().lock())
    } else {
        std::fs::File::open(path).and_then(|f| read(&mut std::io::BufReader::new(f)))
    };
    lines.map_err(|e| Error::Usage(format!("cannot read input {}: {e}", path.display())))
}

/// Runs `script` in `session`, printing as it goes; Ctrl+C stops the
/// pipeline (not the session).
pub(super) async fn run_script(
    session: &mut PsSession,
    script: &str,
    input: Option<&[String]>,
    printer: &mut Printer,
) -> Result<()> {
    let mut progress_host = ConsoleHost {
        show_progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let info = session.connection().clone();
    let instance_id = session.instance_id();
    let mut pipeline = match input {
        Some(_) => {
            let ps = PowerShell::new(vec![Command::script(script)]);
            session.invoke_powershell(ps, true).await?
        }
        None => session.invoke(script).await?,
    };
    if let Some(lines) = input {
        for line in lines {
            pipeline.send_input(Value::String(line.clone())).await?;
        }
        pipeline.close_input().await?;
    }
    // Ctrl+C stops the pipeline with a Signal sent on a second connection,
    // while the Receive in flight on the session's connection goes on: so
    // nothing the host already sent is lost.
    let pipeline_id = pipeline.id();
    let mut stopping = false;
    let _batch = output::Batch::begin();
    loop {
        // What the last Receive brought is printed without waiting, and
        // written out (one write) before the next wait on the network.
        while let Some(e) = pipeline.next_queued()? {
            printer.event(&e, &mut progress_host);
        }
        output::flush_out();
        let next = pipeline.next();
        tokio::pin!(next);
        let event = loop {
            tokio::select! {
                e = &mut next => break e?,
                _ = tokio::signal::ctrl_c(), if !stopping => {
                    stopping = true;
                    err_line("wsman: interrupted: stopping the pipeline");
                    if let Err(e) = send_stop(&info, instance_id, pipeline_id).await {
                        err_line(&format!("wsman: could not stop the pipeline: {e}"));
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
    script: &str,
    throttle: usize,
    input: Option<&Path>,
) -> Result<i32> {
    let input = input.map(read_input).transpose()?;
    if args.hosts.len() <= 1 {
        let info = connection_info(args, single_host(args)?)?;
        let mut printer = Printer {
            json: args.json,
            ..Default::default()
        };
        invoke_one(&info, script, input.as_deref(), &mut printer).await?;
        return Ok(i32::from(printer.had_errors));
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
        let script = script.to_string();
        let input = input.clone();
        let json = args.json;
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut printer = Printer {
                json,
                host_prefix: Some(name.clone()),
                had_errors: false,
            };
            let r = invoke_one(&info, &script, input.as_deref(), &mut printer).await;
            (name, r.map(|_| printer.had_errors))
        });
    }
    let mut code = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(false))) => {}
            Ok((_, Ok(true))) => code = code.max(1),
            Ok((name, Err(e))) => {
                err_line(&format!("[{name}] wsman: {e}"));
                code = code.max(e.exit_code());
            }
            Err(e) => {
                err_line(&format!("wsman: a host task failed: {e}"));
                code = code.max(1);
            }
        }
    }
    Ok(code)
}

async fn invoke_one(
    info: &ConnectionInfo,
    script: &str,
    input: Option<&[String]>,
    printer: &mut Printer,
) -> Result<()> {
    let mut session = PsSession::open(info, SessionOptions::default(), console_host()).await?;
    let result = run_script(&mut session, script, input, printer).await;
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
        out_line(&format!(
            "{:>3} {:<16} {:<28} {:<13} {}",
            r.id, r.name, r.computer_name, state, r.instance_id
        ));
    }
}

fn load_store() -> Result<Store> {
    let dir = state_dir();
    Store::load(&dir)
        .map_err(|e| Error::Usage(format!("session records in {}: {e}", dir.display())))
}

fn save_store(store: &Store) -> Result<()> {
    store
        .save()
        .map_err(|e| Error::Usage(format!("cannot save session records: {e}")))
}

/// The local record for SESSION, or, for an InstanceId the host knows but
/// we do not (a session made elsewhere), a new record.
fn find_record(store: &Store, key: &str) -> Result<SessionRecord> {
    store.find(key).cloned().ok_or_else(|| {
        Error::SessionNotFound(format!(
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
            let mut store = load_store()?;
            let id = store.next_id();
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
            store.upsert(record.clone());
            save_store(&store)?;
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
            let mut store = load_store()?;
            let mut record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let input = input.as_deref().map(read_input).transpose()?;
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            if *disconnected {
                let id = s.start(script).await?;
                s.disconnect(None, None).await?;
                record.pending_commands.push(id);
                store.upsert(record);
                save_store(&store)?;
                return Ok(0);
            }
            let mut printer = Printer {
                json: args.json,
                ..Default::default()
            };
            let result = run_script(&mut s, script, input.as_deref(), &mut printer).await;
            s.disconnect(None, None).await?;
            result?;
            Ok(i32::from(printer.had_errors))
        }
        SessionCommand::Receive { session } => {
            let mut store = load_store()?;
            let mut record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            let mut pending = record.pending_commands.clone();
            if pending.is_empty() {
                pending = s.remote_pipelines().await?;
            }
            let mut printer = Printer {
                json: args.json,
                ..Default::default()
            };
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
            store.upsert(record);
            save_store(&store)?;
            result?;
            Ok(i32::from(printer.had_errors))
        }
        SessionCommand::Connect { session } => {
            let mut store = load_store()?;
            let (record, info) = match store.find(session).cloned() {
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
                    let record = SessionRecord {
                        id: store.next_id(),
                        name: found
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("WinRM{}", store.next_id())),
                        computer_name: info.computer_name(),
                        instance_id: id,
                        configuration: info.configuration.clone(),
                        user: args.user.clone(),
                        pending_commands: Vec::new(),
                    };
                    (record, info)
                }
            };
            let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
            s.disconnect(None, None).await?;
            store.upsert(record.clone());
            save_store(&store)?;
            if !args.json {
                print_table_header();
            }
            print_record(&record, "Disconnected", args.json);
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
            let mut store = load_store()?;
            let record = find_record(&store, session)?;
            let info = info_for(args, &record)?;
            let outcome = match PsSession::connect(&info, record.instance_id, console_host()).await
            {
                Ok(s) => s.close().await,
                Err(Error::SessionNotFound(m)) => {
                    err_line(&format!("wsman: {m}; removing the local record"));
                    Ok(())
                }
                Err(e) => Err(e),
            };
            outcome?;
            store.remove(record.instance_id);
            save_store(&store)?;
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
        out_line(&format!(
            "{:<16} {:<20} {:<13} {:<24} {}",
            s.name.as_deref().unwrap_or(""),
            info.host_name(),
            s.state,
            cfg,
            s.instance_id
        ));
    }
}
