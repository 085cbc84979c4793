//! `wsman enter`: an interactive PowerShell prompt on the host
//! (Enter-PSSession). Each line runs in one persistent runspace; line
//! editing and history come from rustyline; Ctrl+C stops the running
//! command, not the session; `exit` leaves. While the prompt waits for a
//! line (read on a blocking thread), the session is kept alive every
//! [`PsSession::keep_alive_interval`], so the host does not disconnect it
//! however long the person takes. Tab completes through the session's
//! TabExpansion2 ([`enter_complete`]); progress is one line redrawn in place.
//! Each line's output is formatted on the host at the terminal's width, as
//! Enter-PSSession's is ([`enter_format`]).
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;
use tokio::sync::mpsc::UnboundedReceiver;

use super::args::ConnectionArgs;
use super::config::{connection_info, single_host};
use super::enter_complete::{self, RemoteCompleter, Request};
use super::enter_format;
use super::enter_input;
use super::output::err_line;
use super::ps_cmds::run_commands_with;
use super::render::Printer;
use crate::console_host::ConsoleHost;
use crate::session::{PsSession, SessionOptions};
use crate::store::{state_dir, Store};
use crate::{Error, Result};

/// The line editor, completing through the session (Tab: TabExpansion2).
type LineEditor = Editor<RemoteCompleter, DefaultHistory>;

/// `wsman enter [SESSION]`.
pub async fn enter(args: &ConnectionArgs, session: Option<&str>) -> Result<i32> {
    let host: Box<dyn crate::host::Host> = Box::new(ConsoleHost {
        show_progress: true,
        ..Default::default()
    });
    // An existing session is connected and left disconnected again; a new
    // one is removed at the end, as Enter-PSSession -ComputerName does.
    let (mut s, temporary) = match session {
        Some(key) => {
            let store = Store::load(&state_dir()).map_err(|e| Error::Usage(e.to_string()))?;
            let record = store.find(key).cloned().ok_or_else(|| {
                Error::SessionNotFound(format!(
                    "no local session {key:?} (see `wsman session list`)"
                ))
            })?;
            if store.find_all(key).len() > 1 {
                return Err(Error::Usage(format!(
                    "{:?} names several sessions; enter one by its Id (see `wsman session list`)",
                    crate::sanitize::for_terminal(key)
                )));
            }
            let host_arg = match args.hosts.as_slice() {
                [] => record.computer_name.clone(),
                [h] => h.clone(),
                _ => return Err(Error::Usage("enter takes one host".into())),
            };
            // The record's connection settings (auth, https, CA file...)
            // where the command line leaves them out, as `session` does.
            let info = super::session_cmds::record_info(args, &record, &host_arg)?;
            (
                PsSession::connect(&info, record.instance_id, host).await?,
                false,
            )
        }
        None => {
            let info = connection_info(args, single_host(args)?)?;
            // The console is announced, as Enter-PSSession's: `$host.UI.RawUI`
            // answers from it and the host formats at its width.
            let options = SessionOptions {
                raw_ui: Some(enter_format::console()),
                ..Default::default()
            };
            (PsSession::open(&info, options, host).await?, true)
        }
    };
    if s.idle_timeout().is_none() {
        // A connected session: learn its idle timeout (one Get) to pace
        // the keep-alive.
        s.host_state().await?;
    }
    let prompt = format!("[{}]: PS> ", s.connection().host_name());
    let (completer, mut completions) = enter_complete::channel();
    let mut editor: Option<LineEditor> = Some(
        Editor::new().map_err(|e| Error::Usage(format!("cannot start the line editor: {e}")))?,
    );
    if let Some(ed) = editor.as_mut() {
        ed.set_helper(Some(completer));
    }
    // History from earlier runs, kept under the state folder.
    let history = enter_input::history_path(&state_dir());
    if let Some(ed) = editor.as_mut() {
        for entry in enter_input::load_history(&history) {
            let _ = ed.add_history_entry(entry);
        }
    }
    let mut printer = Printer::for_args(args);
    let result = 'session: loop {
        let (line, keep_alive_failed) =
            match read_line(&mut s, &mut editor, &mut completions, &prompt).await {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
        if let Some(e) = keep_alive_failed {
            break Err(e);
        }
        let mut line = match line {
            Ok(l) => l,
            // Ctrl+C at the prompt: a fresh prompt, as in PowerShell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break Ok(()),
            Err(e) => break Err(Error::Usage(format!("cannot read the terminal: {e}"))),
        };
        // A block left open continues at `>> ` until it closes; an empty
        // line sends what there is, Ctrl+C drops it, as PowerShell does.
        while enter_input::is_incomplete(&line) {
            let (more, keep_alive_failed) =
                match read_line(&mut s, &mut editor, &mut completions, ">> ").await {
                    Ok(r) => r,
                    Err(e) => break 'session Err(e),
                };
            if let Some(e) = keep_alive_failed {
                break 'session Err(e);
            }
            match more {
                Ok(m) if m.trim().is_empty() => break,
                Ok(m) => {
                    line.push('\n');
                    line.push_str(&m);
                }
                Err(ReadlineError::Interrupted) => continue 'session,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    break 'session Err(Error::Usage(format!("cannot read the terminal: {e}")))
                }
            }
        }
        let Some(editor) = editor.as_mut() else {
            break Err(Error::Usage("the line editor is gone".into()));
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        enter_input::append_history(&history, trimmed);
        if trimmed.eq_ignore_ascii_case("exit") {
            break Ok(());
        }
        // One command failing (a fault, a prompt declined or cancelled)
        // does not end the session: only a session the host broke or
        // cannot be reached any more does.
        // Formatted on the host at this terminal's width (as it is now),
        // as Enter-PSSession does; `--json` keeps the objects.
        // The line goes into the host's history (Get-History), as typed.
        let ps = if printer.json {
            enter_format::unformatted(trimmed)
        } else {
            s.set_raw_ui(Some(enter_format::console()));
            enter_format::formatted(trimmed)
        };
        let options = enter_format::line_options();
        let ran = run_commands_with(&mut s, ps, options, None, &mut printer).await;
        // The progress line goes when the command ends, as PowerShell's does.
        crate::output::clear_progress();
        if let Err(e) = ran {
            let fatal = match &e {
                Error::Broken(_) => true,
                Error::Wsman(wsman::Error::Fault(_)) => {
                    s.state() != psrp::types::RunspacePoolState::Opened
                }
                Error::Wsman(_) => true,
                _ => false,
            };
            if fatal {
                break Err(e);
            }
            err_line(&format!("wsman: {}", crate::describe(&e)));
        }
    };
    let finish = if temporary {
        s.close().await
    } else {
        s.disconnect(None, None).await
    };
    result.and(finish)?;
    Ok(0)
}

/// Reads one line on a blocking thread while keeping `s` alive every
/// [`PsSession::keep_alive_interval`]. Returns the line and, when a
/// keep-alive failed (the host cannot be reached any more), that error:
/// it is reported once the line is in, as the prompt owns the terminal.
/// A Tab press meanwhile ([`Request`]) runs TabExpansion2 in `s`.
async fn read_line(
    s: &mut PsSession,
    editor: &mut Option<LineEditor>,
    completions: &mut UnboundedReceiver<Request>,
    prompt: &str,
) -> Result<(rustyline::Result<String>, Option<Error>)> {
    let mut ed = editor
        .take()
        .ok_or_else(|| Error::Usage("the line editor is gone".into()))?;
    let prompt = prompt.to_string();
    let mut reading = tokio::task::spawn_blocking(move || {
        let line = ed.readline(&prompt);
        (ed, line)
    });
    let mut failed = None;
    let (ed, line) = loop {
        let tick = tokio::time::sleep(s.keep_alive_interval());
        tokio::select! {
            done = &mut reading => {
                break done.map_err(|e| Error::Usage(format!("the line editor stopped: {e}")))?;
            }
            Some(request) = completions.recv() => {
                enter_complete::serve(s, request).await;
            }
            _ = tick, if failed.is_none() => {
                // The line may come while the keep-alive waits (up to the
                // reconnect window when the host cannot be reached): the
                // line wins, the keep-alive is dropped.
                tokio::select! {
                    r = s.keep_alive() => {
                        if let Err(e) = r {
                            failed = Some(e);
                        }
                    }
                    done = &mut reading => {
                        break done.map_err(|e| Error::Usage(format!("the line editor stopped: {e}")))?;
                    }
                }
            }
        }
    };
    *editor = Some(ed);
    Ok((line, failed))
}
