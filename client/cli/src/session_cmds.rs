//! `wsman session ...`: PSSessions that persist on the host between `wsman`
//! runs (each command connects, works, and disconnects again, as
//! `Invoke-Command -Session` on a disconnected session does), on one host
//! or many, one session or many at once (`New-PSSession -ComputerName
//! a,b,c`, `Invoke-Command -Session $s1,$s2 -ThrottleLimit N`).
//!
//! A command that addresses several sessions runs on each at once through
//! the library's [`throttled`] runner, prefixes their lines with `[host] `,
//! reports one session's failure on stderr without stopping the others,
//! saves every change to the records in one update at the end, and exits
//! with the highest of their exit codes.
use std::future::Future;
use std::time::Duration;

use clap::ValueEnum;
use pssession::fanout::throttled;
use uuid::Uuid;
use wsman::soap::request::BufferMode;
use wsman::transport::Endpoint;

use super::args::{AuthArg, BufferModeArg, ConnectionArgs, SessionCommand};
use super::config::{connection_info, single_host};
use super::input::Input;
use super::output::{err_line, out_line};
use super::ps_cmds::{
    console_host, console_host_of, hold_session, load_store, print_record, print_table_header,
    run_script_with, script_command, session_label, update_store,
};
use super::receive_interrupt::print_until_interrupted;
use super::render::Printer;
use super::sanitize::{error_text, for_terminal};
use super::script_source::Script;
use super::signals::Interrupt;
use crate::console_host::ConsoleHost;
use crate::session::{PsSession, RemoteSession, SessionOptions};
use crate::store::{SavedConnection, SessionRecord, Store};
use crate::{ConnectionInfo, Error, Result};

/// The connection settings of the command line to keep in a new record:
/// never a secret.
fn saved_connection(args: &ConnectionArgs) -> SavedConnection {
    SavedConnection {
        auth: args
            .auth
            .to_possible_value()
            .map(|v| v.get_name().to_string()),
        ca_file: args.ca_file.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        spn_service: Some(args.spn_service.clone()),
        spn_host: args.spn_host.clone(),
        no_encryption: args.no_encryption,
    }
}

/// The command line with a record's connection settings filled in where
/// the command line leaves an option at its default: options given win.
/// (An option given at its default value, such as `-a negotiate`, cannot
/// be told from one not given and leaves the record's.) The user comes
/// from the record too when `-u` is not given; the secret never does.
fn record_args(args: &ConnectionArgs, record: &SessionRecord) -> ConnectionArgs {
    let saved = &record.connection;
    let mut a = args.clone();
    a.user = a.user.or_else(|| record.user.clone());
    if a.auth == AuthArg::Negotiate {
        if let Some(m) = saved
            .auth
            .as_deref()
            .and_then(|n| AuthArg::from_str(n, true).ok())
        {
            a.auth = m;
        }
    }
    a.ca_file = a.ca_file.or_else(|| saved.ca_file.clone());
    a.cert = a.cert.or_else(|| saved.cert.clone());
    a.key = a.key.or_else(|| saved.key.clone());
    if a.spn_service == "HTTP" {
        if let Some(s) = &saved.spn_service {
            a.spn_service = s.clone();
        }
    }
    a.spn_host = a.spn_host.or_else(|| saved.spn_host.clone());
    a.no_encryption |= saved.no_encryption;
    a
}

/// Connection settings for a recorded session on `host` (its own endpoint
/// unless -H names another), with its own settings and configuration
/// (also for `wsman enter SESSION`).
pub(crate) fn record_info(
    args: &ConnectionArgs,
    record: &SessionRecord,
    host: &str,
) -> Result<ConnectionInfo> {
    let mut info = connection_info(&record_args(args, record), host)?;
    info.configuration = record.configuration.clone();
    Ok(info)
}

/// One session a command works on.
struct Target {
    /// Its record; Id 0 when it is not recorded here (an InstanceId the
    /// host keeps).
    record: SessionRecord,
    /// How to reach it.
    info: ConnectionInfo,
    /// What its lines and messages are prefixed with: its host.
    label: String,
}

/// The sessions SESSION names: a comma list of local Ids, names (every
/// record of that name) and InstanceIds. With `-H`, one host for one
/// session reaches it there; otherwise only sessions on the `-H` hosts are
/// kept. An InstanceId not recorded here is taken as a session on the one
/// `-H` host when `unrecorded` allows. Naming nothing recorded is a usage
/// error (nothing was asked of a host).
fn resolve(
    args: &ConnectionArgs,
    store: &Store,
    spec: &str,
    unrecorded: bool,
) -> Result<Vec<Target>> {
    let keys: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(Error::Usage(
            "no session given: name a local Id, a name or an InstanceId".into(),
        ));
    }
    let mut records: Vec<SessionRecord> = Vec::new();
    let mut unknown: Vec<Uuid> = Vec::new();
    for key in keys {
        let found = store.find_all(key);
        if found.is_empty() {
            match key.parse::<Uuid>() {
                Ok(id) if unrecorded => {
                    if !unknown.contains(&id) {
                        unknown.push(id);
                    }
                    continue;
                }
                _ => {
                    return Err(Error::Usage(format!(
                        "no local session {:?}: see `wsman session list`, or `wsman -H HOST \
                         session connect INSTANCE_ID` for one listed by `wsman -H HOST session \
                         list --remote`",
                        for_terminal(key)
                    )))
                }
            }
        }
        for r in found {
            if !records.iter().any(|x| x.instance_id == r.instance_id) {
                records.push(r.clone());
            }
        }
    }
    let mut picked: Vec<(SessionRecord, String)> = Vec::new();
    match args.hosts.as_slice() {
        [] => picked.extend(records.into_iter().map(|r| {
            let h = r.computer_name.clone();
            (r, h)
        })),
        [h] if records.len() == 1 && unknown.is_empty() => {
            picked.extend(records.into_iter().map(|r| (r, h.clone())))
        }
        hosts => {
            let endpoints = hosts
                .iter()
                .map(|h| Endpoint::parse(h, args.https).map(|e| e.to_string()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            for r in records {
                if endpoints.contains(&r.computer_name) {
                    let h = r.computer_name.clone();
                    picked.push((r, h));
                }
            }
            if picked.is_empty() && unknown.is_empty() {
                return Err(Error::Usage(format!(
                    "none of the sessions {:?} is recorded on {}",
                    for_terminal(spec),
                    hosts.join(",")
                )));
            }
        }
    }
    let mut targets = Vec::new();
    for (record, host) in picked {
        let info = record_info(args, &record, &host)?;
        targets.push(Target {
            label: info.computer_name(),
            record,
            info,
        });
    }
    if !unknown.is_empty() {
        let host = single_host(args).map_err(|_| {
            Error::Usage(format!(
                "no local session {}: pass the one host that keeps it with -H HOST",
                unknown[0]
            ))
        })?;
        for id in unknown {
            let info = connection_info(args, host)?;
            let record = SessionRecord {
                id: 0,
                name: String::new(),
                computer_name: info.computer_name(),
                instance_id: id,
                configuration: info.configuration.clone(),
                user: args.user.clone(),
                pending_commands: Vec::new(),
                connection: saved_connection(args),
            };
            targets.push(Target {
                label: info.computer_name(),
                record,
                info,
            });
        }
    }
    // Two sessions on one host: the label names the session too.
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    for t in &mut targets {
        if labels.iter().filter(|l| **l == t.label).count() > 1 {
            t.label = match t.record.id {
                0 => format!("{} {}", t.label, t.record.instance_id),
                id => format!("{} #{id}", t.label),
            };
        }
    }
    Ok(targets)
}

/// A change to the records that a session's work calls for, saved with
/// the others' in one update once all are done.
enum Change {
    /// Record (or re-record) a session; Id 0 is given the next Id.
    Upsert(Box<SessionRecord>),
    /// The session is gone.
    Remove(Uuid),
    /// A pipeline was started while disconnected (session, pipeline).
    AddPending(Uuid, Uuid),
    /// Pipelines whose output was received (session, pipelines).
    Received(Uuid, Vec<Uuid>),
}

/// What one session's work came to: its exit code or error, and the
/// changes to the records it calls for (also after an error).
type Outcome = (Result<i32>, Vec<Change>);

/// Saves `changes` in one update; returns the records it (re)recorded.
fn apply(changes: Vec<Change>) -> Result<Vec<SessionRecord>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    update_store(|store| {
        let mut recorded = Vec::new();
        for change in changes {
            match change {
                Change::Upsert(record) => {
                    let mut record = *record;
                    if let Some(existing) = store.get_mut(record.instance_id) {
                        recorded.push(existing.clone());
                        continue;
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
                    recorded.push(record);
                }
                Change::Remove(id) => {
                    store.remove(id);
                }
                Change::AddPending(id, pipeline) => {
                    if let Some(r) = store.get_mut(id) {
                        r.pending_commands.push(pipeline);
                    }
                }
                Change::Received(id, pipelines) => {
                    if let Some(r) = store.get_mut(id) {
                        r.pending_commands.retain(|p| !pipelines.contains(p));
                    }
                }
            }
        }
        Ok(recorded)
    })
}

/// Runs `op` on every target, at most `throttle` at once, then saves the
/// changes they call for. One target: its error is the command's (printed
/// as any). Several: each failure is printed on stderr prefixed by its
/// host and the exit code is the highest of theirs. Returns the exit code
/// and the records (re)recorded.
async fn on_each<F, Fut>(
    targets: Vec<Target>,
    throttle: usize,
    json: bool,
    op: F,
) -> Result<(i32, Vec<SessionRecord>)>
where
    F: FnMut(usize, Target) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    // With --json, a session that failed as a whole is a failure line too.
    let tags: Vec<(String, String)> = targets
        .iter()
        .map(|t| (t.info.computer_name(), session_tag(&t.record)))
        .collect();
    let single = labels.len() == 1;
    let mut code = 0;
    let mut changes = Vec::new();
    let mut only_error = None;
    let mut finished = 0;
    throttled(targets, throttle, op, |i, (result, change)| {
        finished += 1;
        changes.extend(change);
        match result {
            Ok(c) => code = code.max(c),
            Err(e) => {
                code = code.max(crate::exit_code(&e));
                if single {
                    only_error = Some(e);
                } else {
                    err_line(&format!(
                        "[{}] wsman: {}",
                        labels[i],
                        error_text(&e.to_string())
                    ));
                    if json {
                        let (host, session) = &tags[i];
                        super::render::json_failure(Some(host), Some(session), &e);
                    }
                }
            }
        }
    })
    .await;
    if finished < labels.len() {
        err_line("wsman: a session task failed");
        code = code.max(1);
    }
    let recorded = apply(changes)?;
    if let Some(e) = only_error {
        return Err(e);
    }
    let code = Interrupt::current().and_then(|i| i.code()).unwrap_or(code);
    Ok((code, recorded))
}

/// A printer for one of `count` sessions: lines prefixed by its label when
/// there are several; with `--json`, `host` and `session` fields instead.
fn printer_for(args: &ConnectionArgs, t: &Target, count: usize) -> Printer {
    let mut p = Printer::for_args(args);
    p.computer_name = Some(t.info.host_name());
    if count > 1 {
        if args.json {
            p.host_prefix = Some(t.info.computer_name());
            p.session = Some(session_tag(&t.record));
        } else {
            p.host_prefix = Some(t.label.clone());
        }
    }
    p
}

/// The `session` field of a session's JSON lines: its local Id, or its
/// InstanceId when it is not recorded here.
fn session_tag(record: &SessionRecord) -> String {
    match record.id {
        0 => record.instance_id.to_string(),
        id => id.to_string(),
    }
}

fn buffer_mode(b: Option<BufferModeArg>) -> Option<BufferMode> {
    b.map(|b| match b {
        BufferModeArg::Block => BufferMode::Block,
        BufferModeArg::Drop => BufferMode::Drop,
    })
}

/// Whether a signal came (then the session is left disconnected).
fn interrupted() -> Option<i32> {
    Interrupt::current().and_then(|i| i.code())
}

/// `wsman session ...`.
pub async fn session(args: &ConnectionArgs, cmd: &SessionCommand) -> Result<i32> {
    match cmd {
        SessionCommand::New {
            name,
            idle_timeout,
            throttle,
        } => new_sessions(args, name.as_deref(), *idle_timeout, *throttle).await,
        SessionCommand::List { remote: false, .. } => {
            let store = load_store()?;
            if !args.json && !store.records().is_empty() {
                print_table_header();
            }
            for r in store.records() {
                print_record(r, "Disconnected", args.json);
            }
            Ok(0)
        }
        SessionCommand::List {
            remote: true,
            throttle,
        } => list_remote(args, *throttle).await,
        SessionCommand::Invoke {
            session,
            script,
            disconnected,
            input,
            throttle,
        } => {
            let Script {
                text: script,
                args: arguments,
            } = super::script_source::load(script)?;
            let targets = resolve(args, &load_store()?, session, false)?;
            if !*disconnected {
                if let Some(t) = targets
                    .iter()
                    .find(|t| !t.record.pending_commands.is_empty())
                {
                    // Its pipeline may hold the session's runspace: a new
                    // command would wait behind it for ever (PowerShell calls
                    // the session Busy). Its output comes first.
                    return Err(Error::Usage(format!(
                        "session {} is busy: {} command(s) in it have output not received yet \
                         (started with --disconnected, or cut off by a lost connection); get it \
                         with `wsman session receive {}` first, or remove the session",
                        session_label(&t.record),
                        t.record.pending_commands.len(),
                        selector(&t.record)
                    )));
                }
            }
            let input = input
                .as_deref()
                .map(|p| Input::new(p, targets.len()))
                .transpose()?;
            // From here a signal stops the scripts and leaves the sessions
            // disconnected before exiting.
            let interrupt = Interrupt::listen();
            let count = targets.len();
            let (code, _) = on_each(targets, *throttle, args.json, |_, t| {
                let printer = printer_for(args, &t, count);
                let script = script.clone();
                let arguments = arguments.clone();
                let input = input.clone();
                let disconnected = *disconnected;
                async move { invoke_in(t, script, arguments, disconnected, input, printer).await }
            })
            .await?;
            Ok(interrupt.code().unwrap_or(code))
        }
        SessionCommand::Receive { session, throttle } => {
            let targets = resolve(args, &load_store()?, session, false)?;
            let count = targets.len();
            // From here a signal leaves the sessions disconnected, their
            // unreceived output kept on the host.
            let interrupt = Interrupt::listen();
            let (code, _) = on_each(targets, *throttle, args.json, |_, t| {
                let printer = printer_for(args, &t, count);
                async move { receive_in(t, printer).await }
            })
            .await?;
            Ok(interrupt.code().unwrap_or(code))
        }
        SessionCommand::Connect { session, throttle } => {
            let targets = resolve(args, &load_store()?, session, true)?;
            let (code, recorded) = on_each(targets, *throttle, false, |_, t| async move {
                match connect_to(t).await {
                    Ok(record) => (Ok(0), vec![Change::Upsert(Box::new(record))]),
                    Err(e) => (Err(e), Vec::new()),
                }
            })
            .await?;
            print_rows(args, &recorded);
            for record in &recorded {
                err_line(&format!(
                    "wsman: connected to session {} on {} and recorded it here; it is left \
                     disconnected on the host, ready for `wsman session invoke {} SCRIPT`, \
                     `wsman session receive {}` or `wsman enter {}`",
                    session_label(record),
                    record.computer_name,
                    record.id,
                    record.id,
                    record.id
                ));
            }
            Ok(code)
        }
        SessionCommand::Disconnect {
            session,
            idle_timeout,
            buffer_mode: mode,
            throttle,
        } => {
            let targets = resolve(args, &load_store()?, session, false)?;
            let idle = idle_timeout.map(|s| Duration::from_secs(u64::from(s)));
            let mode = buffer_mode(*mode);
            let (code, recorded) = on_each(targets, *throttle, false, |_, t| async move {
                let r = async {
                    let _busy = hold_session(&t.record)?;
                    let mut s =
                        PsSession::connect(&t.info, t.record.instance_id, console_host()).await?;
                    s.disconnect(idle, mode).await?;
                    Ok(0)
                }
                .await;
                let change = match r {
                    // Re-recording a recorded session keeps it as it is.
                    Ok(_) => vec![Change::Upsert(Box::new(t.record))],
                    Err(_) => Vec::new(),
                };
                (r, change)
            })
            .await?;
            print_rows(args, &recorded);
            Ok(code)
        }
        SessionCommand::Remove { session, throttle } => {
            let targets = resolve(args, &load_store()?, session, true)?;
            let (code, _) = on_each(targets, *throttle, false, |_, t| async move {
                let id = t.record.instance_id;
                match remove_one(t).await {
                    Ok(()) => (Ok(0), vec![Change::Remove(id)]),
                    Err(e) => (Err(e), Vec::new()),
                }
            })
            .await?;
            Ok(code)
        }
    }
}

/// Prints session rows (with the table header unless `--json`), by Id.
/// How to name `record` on a later command line: its name, else its Id.
fn selector(record: &SessionRecord) -> String {
    if record.name.is_empty() {
        record.id.to_string()
    } else {
        for_terminal(&record.name).into_owned()
    }
}

fn print_rows(args: &ConnectionArgs, records: &[SessionRecord]) {
    let mut records = records.to_vec();
    records.sort_by_key(|r| r.id);
    if records.is_empty() {
        return;
    }
    if !args.json {
        print_table_header();
    }
    for r in &records {
        print_record(r, "Disconnected", args.json);
    }
}

/// `session new`: one session on each `-H` host, at most `throttle` at
/// once, each left disconnected and recorded with the command line's
/// connection settings.
async fn new_sessions(
    args: &ConnectionArgs,
    name: Option<&str>,
    idle_timeout: Option<u32>,
    throttle: usize,
) -> Result<i32> {
    if args.hosts.is_empty() {
        single_host(args)?;
    }
    let infos = args
        .hosts
        .iter()
        .map(|h| connection_info(args, h))
        .collect::<Result<Vec<_>>>()?;
    // The Ids are taken (and the folder proved writable) before any
    // session exists on a host; those of hosts that fail are given back
    // at the end (`give_back`).
    let count = infos.len();
    let ids = update_store(|s| {
        (0..count)
            .map(|_| s.allocate_id())
            .collect::<std::result::Result<Vec<u32>, _>>()
            .map_err(|e| Error::Usage(e.to_string()))
    })?;
    let idle = idle_timeout.map(|s| Duration::from_secs(u64::from(s)));
    let saved = saved_connection(args);
    let mut made: Vec<SessionRecord> = Vec::new();
    let mut code = 0;
    let mut only_error = None;
    throttled(
        infos.into_iter().zip(ids.clone()),
        throttle,
        |_, (info, id)| {
            let name = name.map_or_else(|| format!("WinRM{id}"), str::to_string);
            let record = SessionRecord {
                id,
                name,
                computer_name: info.computer_name(),
                instance_id: Uuid::nil(),
                configuration: info.configuration.clone(),
                user: args.user.clone(),
                pending_commands: Vec::new(),
                connection: saved.clone(),
            };
            async move {
                let opts = SessionOptions {
                    name: Some(record.name.clone()),
                    idle_timeout: idle,
                    ..Default::default()
                };
                let r = async {
                    let mut s = PsSession::open(&info, opts, console_host()).await?;
                    s.disconnect(idle, None).await?;
                    Ok(s.instance_id())
                }
                .await;
                (record, r)
            }
        },
        |_, (mut record, r): (SessionRecord, Result<Uuid>)| match r {
            Ok(iid) => {
                record.instance_id = iid;
                made.push(record);
            }
            Err(e) => {
                code = code.max(crate::exit_code(&e));
                if count == 1 {
                    only_error = Some(e);
                } else {
                    err_line(&format!(
                        "[{}] wsman: {}",
                        record.computer_name,
                        error_text(&e.to_string())
                    ));
                }
            }
        },
    )
    .await;
    let renumber = name.is_some();
    if let Some(e) = only_error {
        // Nothing made: its Id goes back when it can; the host's error is
        // the one to report.
        let _ = update_store(|s| give_back(s, &ids, &mut made, renumber));
        return Err(e);
    }
    made.sort_by_key(|r| r.id);
    if let Err(e) = update_store(|s| {
        give_back(s, &ids, &mut made, renumber)?;
        for r in &made {
            s.upsert(r.clone());
        }
        Ok(())
    }) {
        let left: Vec<String> = made
            .iter()
            .map(|r| {
                format!(
                    "  `wsman -H {} session connect {}`",
                    r.computer_name, r.instance_id
                )
            })
            .collect();
        return Err(Error::Usage(format!(
            "{e}\nThe sessions were created and are left on their hosts, disconnected. \
             Record them once the state folder can be written, then use or remove them \
             as usual:\n{}",
            left.join("\n")
        )));
    }
    print_rows(args, &made);
    Ok(code)
}

/// Gives back the Ids `session new` took for hosts that failed, so a host
/// that fails burns no Id, when no other command took an Id since (else
/// they stay unused: an Id is never given twice). With `--name` the
/// sessions made are renumbered from the first Id taken; without, their
/// names (`WinRM<Id>`) are on their hosts already, so only the Ids after
/// the last one made come back.
fn give_back(
    store: &mut Store,
    taken: &[u32],
    made: &mut [SessionRecord],
    renumber: bool,
) -> Result<()> {
    let (Some(&first), Some(&top)) = (taken.first(), taken.last()) else {
        return Ok(());
    };
    if made.len() == taken.len() {
        return Ok(());
    }
    if renumber {
        if store.give_back_ids(first, top, first - 1) {
            for r in made.iter_mut() {
                r.id = store
                    .allocate_id()
                    .map_err(|e| Error::Usage(e.to_string()))?;
            }
        }
    } else {
        let last_made = made.iter().map(|r| r.id).max().unwrap_or(first - 1);
        store.give_back_ids(first, top, last_made);
    }
    Ok(())
}

/// `session list --remote`: what each `-H` host keeps for this user, at
/// most `throttle` hosts at once, one table with a host column.
async fn list_remote(args: &ConnectionArgs, throttle: usize) -> Result<i32> {
    if args.hosts.is_empty() {
        single_host(args)?;
    }
    let infos = args
        .hosts
        .iter()
        .map(|h| connection_info(args, h).map(|i| (h.clone(), i)))
        .collect::<Result<Vec<_>>>()?;
    let count = infos.len();
    let mut found: Vec<Option<(String, Vec<RemoteSession>)>> = vec![None; count];
    let mut code = 0;
    let mut only_error = None;
    throttled(
        infos,
        throttle,
        |_, (given, info)| async move {
            // One host: its name as Get-PSSession shows it; several: as
            // given, so hosts on one machine stay apart.
            let shown = if count == 1 { info.host_name() } else { given };
            (shown, PsSession::list(&info).await)
        },
        |i, (shown, r)| match r {
            Ok(list) => found[i] = Some((shown, list)),
            Err(e) => {
                code = code.max(crate::exit_code(&e));
                if count == 1 {
                    only_error = Some(e);
                } else {
                    err_line(&format!("[{shown}] wsman: {}", error_text(&e.to_string())));
                }
            }
        },
    )
    .await;
    if let Some(e) = only_error {
        return Err(e);
    }
    print_remote(&found.into_iter().flatten().collect::<Vec<_>>(), args.json);
    Ok(code)
}

/// `session invoke` in one session.
async fn invoke_in(
    t: Target,
    script: String,
    arguments: Vec<String>,
    disconnected: bool,
    input: Option<Input>,
    mut printer: Printer,
) -> Outcome {
    let id = t.record.instance_id;
    let mut changes = Vec::new();
    let r = async {
        let _busy = hold_session(&t.record)?;
        let mut s = PsSession::connect(&t.info, id, console_host_of(&printer)).await?;
        if let Some(code) = interrupted() {
            err_line(&format!(
                "wsman: {}: disconnecting the session",
                Interrupt::name(code)
            ));
            s.disconnect(None, None).await?;
            return Ok(code);
        }
        if disconnected {
            let pipeline = s
                .start_powershell(script_command(&script, &arguments))
                .await?;
            changes.push(Change::AddPending(id, pipeline));
            s.disconnect(None, None).await?;
            err_line(&format!(
                "wsman: the script is running on {} in session {}, which is left \
                 disconnected; get its output with `wsman session receive {}`",
                t.record.computer_name,
                session_label(&t.record),
                selector(&t.record)
            ));
            return Ok(0);
        }
        // On a terminal, its width is announced: the host formats at it.
        s.set_raw_ui(super::enter_format::stdout_console());
        let result =
            run_script_with(&mut s, &script, &arguments, input.as_ref(), &mut printer).await;
        s.disconnect(None, None).await?;
        result?;
        Ok(i32::from(printer.had_errors))
    }
    .await;
    (r, changes)
}

/// `session receive` from one session: the output of the pipelines it ran
/// while disconnected.
async fn receive_in(t: Target, mut printer: Printer) -> Outcome {
    let id = t.record.instance_id;
    let mut received = Vec::new();
    let r = async {
        let _busy = hold_session(&t.record)?;
        let mut s = PsSession::connect(&t.info, id, console_host_of(&printer)).await?;
        let mut pending = t.record.pending_commands.clone();
        if pending.is_empty() {
            pending = s.remote_pipelines().await?;
        }
        let mut progress = ConsoleHost {
            json_host: printer.host_prefix.clone(),
            json_session: printer.session.clone(),
            ..Default::default()
        };
        let mut result = Ok(());
        let mut stopped_by = interrupted();
        if stopped_by.is_some() {
            // A signal while connecting: nothing is being received yet.
            s.disconnect(None, None).await?;
            pending.clear();
        }
        for p in &pending {
            let r = match s.receive_pipeline(*p).await {
                Ok(pipe) => {
                    print_until_interrupted(pipe, &mut printer, &mut progress, &t.info, id).await
                }
                Err(e) => Err(e),
            };
            match r {
                Ok(None) => received.push(*p),
                // The session is disconnected already (from a second connection).
                Ok(Some(code)) => {
                    stopped_by = Some(code);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Some(code) = stopped_by {
            err_line(&format!(
                "wsman: {}: session {} is left disconnected on {}; what was not received stays \
                 there: get it with `wsman session receive {}`",
                Interrupt::name(code),
                session_label(&t.record),
                t.record.computer_name,
                selector(&t.record)
            ));
            return Ok(code);
        }
        s.disconnect(None, None).await?;
        result?;
        Ok(i32::from(printer.had_errors))
    }
    .await;
    (r, vec![Change::Received(id, received)])
}

/// `session connect` to one session; for one not recorded here, the host's
/// list gives its name and configuration. Returns the record to keep.
async fn connect_to(t: Target) -> Result<SessionRecord> {
    let Target {
        mut record,
        mut info,
        ..
    } = t;
    if record.id == 0 {
        let remote = PsSession::list(&info).await?;
        let found = remote
            .iter()
            .find(|r| r.instance_id == record.instance_id)
            .ok_or_else(|| {
                Error::SessionNotFound(format!(
                    "{} keeps no session {} for this user",
                    info.computer_name(),
                    record.instance_id
                ))
            })?;
        if let Some(cfg) = found
            .resource_uri
            .strip_prefix(wsman::soap::ns::uri::POWERSHELL_PREFIX)
        {
            info.configuration = cfg.to_string();
            record.configuration = cfg.to_string();
        }
        record.name = found.name.clone().unwrap_or_default();
    }
    let _busy = hold_session(&record)?;
    let mut s = PsSession::connect(&info, record.instance_id, console_host()).await?;
    s.disconnect(None, None).await?;
    Ok(record)
}

/// `session remove` of one session: deleted on the host (a recorded one
/// the host no longer keeps is only forgotten here).
async fn remove_one(t: Target) -> Result<()> {
    let busy = hold_session(&t.record)?;
    match PsSession::connect(&t.info, t.record.instance_id, console_host()).await {
        Ok(s) => s.close().await?,
        Err(Error::SessionNotFound(m)) if t.record.id != 0 => {
            err_line(&format!(
                "wsman: {}; removing the local record",
                error_text(&m)
            ));
        }
        Err(e) => return Err(e),
    }
    busy.release_and_remove();
    Ok(())
}

/// Prints what `list --remote` found: one table, a row per session, its
/// host in the ComputerName column.
fn print_remote(found: &[(String, Vec<RemoteSession>)], json: bool) {
    let cfg = |s: &RemoteSession| {
        s.resource_uri
            .strip_prefix(wsman::soap::ns::uri::POWERSHELL_PREFIX)
            .unwrap_or(&s.resource_uri)
            .to_string()
    };
    if json {
        for (host, sessions) in found {
            for s in sessions {
                out_line(
                    &serde_json::json!({
                        "Name": s.name, "ComputerName": host, "State": s.state,
                        "InstanceId": s.instance_id, "ConfigurationName": cfg(s),
                        "Owner": s.owner,
                        "IdleTimeout": s.idle_timeout.map(|d| d.as_secs()),
                    })
                    .to_string(),
                );
            }
        }
        return;
    }
    if found.iter().all(|(_, s)| s.is_empty()) {
        return;
    }
    // The host column as wide as the longest host shown.
    let w = found
        .iter()
        .map(|(h, _)| h.len())
        .max()
        .unwrap_or(0)
        .max(20);
    out_line(&format!(
        "{:<16} {:<w$} {:<13} {:<24} {}",
        "Name", "ComputerName", "State", "ConfigurationName", "InstanceId"
    ));
    out_line(&format!(
        "{:<16} {:<w$} {:<13} {:<24} {}",
        "----", "------------", "-----", "-----------------", "----------"
    ));
    for (host, sessions) in found {
        for s in sessions {
            // Names and states come from the host.
            out_line(&format!(
                "{:<16} {:<w$} {:<13} {:<24} {}",
                for_terminal(s.name.as_deref().unwrap_or("")),
                for_terminal(host),
                for_terminal(&s.state.to_string()),
                for_terminal(&cfg(s)),
                s.instance_id
            ));
        }
    }
}
