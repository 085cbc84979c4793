//! [`ConsoleHost`]: the person at this process's terminal, asked as
//! PowerShell's console host asks ([MS-PSRP] 2.2.3.17 host methods).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::{BufRead, IsTerminal};

use psrp::types::{ProgressRecord, ProgressRecordType};
use zeroize::Zeroizing;

use pssession::host::{
    choice_help, choice_line, multiple_choice_line, parse_choice, Choice, ChoiceAnswer,
    FieldAnswer, FieldKind, Host, HostStream, PromptField,
};

/// The person at this process's terminal, as PowerShell's console host
/// asks: writes to stdout/stderr; prompts (caption, message, field labels,
/// choices) written to stderr whether or not stdin is a terminal; answers
/// read from the terminal (secrets without echo, Ctrl+C cancels the
/// prompt), or one line of stdin per answer when stdin is not a terminal.
#[derive(Debug, Default)]
pub struct ConsoleHost {
    /// Show progress records on stderr.
    pub show_progress: bool,
    /// With `--json` and several hosts: the host this one answers for
    /// (the `host` field of its JSON lines).
    pub json_host: Option<String>,
    /// With `--json` and several sessions: the session this one answers
    /// for (the `session` field of its JSON lines).
    pub json_session: Option<String>,
}

/// The text written to stdout since its last line end (a Read-Host prompt
/// such as `name: `): redrawn as the prompt of a terminal read. One per
/// process, as stdout is.
static PARTIAL_LINE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Lines shown by one side (a host call, or a record) that the other may
/// repeat: Windows sends `$host.UI.WriteWarningLine('x')` both as the host
/// call and as a WARNING record (likewise verbose and debug). Each is shown
/// once: the second of a pair is skipped. Bounded; oldest dropped.
static ECHOES: std::sync::Mutex<std::collections::VecDeque<(HostStream, bool, String)>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const ECHO_LIMIT: usize = 64;

/// Whether a warning/verbose/debug line should be shown: false when the
/// other side (`from_host`: the host call; else the record) showed the same
/// text already.
pub(crate) fn show_once(stream: HostStream, text: &str, from_host: bool) -> bool {
    let Ok(mut echoes) = ECHOES.lock() else {
        return true;
    };
    let text = text.trim_end_matches(['\r', '\n']);
    if let Some(i) = echoes
        .iter()
        .position(|(s, h, t)| *s == stream && *h != from_host && t == text)
    {
        echoes.remove(i);
        return false;
    }
    if echoes.len() == ECHO_LIMIT {
        echoes.pop_front();
    }
    echoes.push_back((stream, from_host, text.to_string()));
    true
}

fn take_partial_line() -> String {
    PARTIAL_LINE
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

fn note_output(text: &str) {
    if let Ok(mut l) = PARTIAL_LINE.lock() {
        match text.rfind('\n') {
            Some(i) => *l = text[i + 1..].to_string(),
            None => l.push_str(text),
        }
    }
}

impl ConsoleHost {
    /// One answer: from the terminal (`secret`: without echo; `None` on
    /// Ctrl+C or end of input), else one line of stdin.
    fn ask(&mut self, prompt: &str, secret: bool) -> Option<Zeroizing<String>> {
        if std::io::stdin().is_terminal() {
            return crate::tty::read_line(&prompt_text(prompt), !secret).ok();
        }
        // Not a terminal: the prompt still goes to stderr, so a log of the
        // run shows what was asked; the answer (maybe secret) never does.
        show_prompt(prompt);
        let mut line = Zeroizing::new(String::new());
        let answer = match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let end = line.trim_end_matches(['\r', '\n']).len();
                line.truncate(end);
                Some(line)
            }
        };
        if !prompt.is_empty() {
            show_prompt("\n");
        }
        answer
    }

    /// Read-Host's answer: on a terminal the prompt text already on
    /// stdout (`name: `) is redrawn in place as the read's prompt.
    fn read_answer(&mut self, secret: bool) -> Option<Zeroizing<String>> {
        let on_stdout = take_partial_line();
        if std::io::stdin().is_terminal() && !on_stdout.is_empty() {
            return crate::tty::read_line(&prompt_text(&on_stdout), !secret).ok();
        }
        let answer = self.ask("", secret);
        if !on_stdout.is_empty() {
            // The prompt's line ends, as on a console after Enter.
            crate::output::out_bytes(b"\n");
        }
        answer
    }

    fn heading(caption: &str, message: &str) {
        let mut text = String::new();
        for part in [caption, message] {
            if !part.is_empty() {
                text.push_str(part);
                text.push('\n');
            }
        }
        show_prompt(&text);
    }

    fn credential(&mut self, user_name: Option<&str>) -> Option<(String, Zeroizing<String>)> {
        let user = match user_name.filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => self.ask("User: ", false)?.to_string(),
        };
        let password = self.ask(&format!("Password for user {user}: "), true)?;
        Some((user, password))
    }
}

/// Writes prompt text (captions, messages, labels, choices) to stderr: the
/// one place the console host shows what it asks.
fn show_prompt(text: &str) {
    crate::output::err_bytes(prompt_text(text).as_bytes());
}

/// Host-supplied text as it goes before the terminal in a prompt (also the
/// prompt a terminal read redraws): the single place to make it safe for
/// the terminal.
fn prompt_text(text: &str) -> std::borrow::Cow<'_, str> {
    crate::sanitize::for_terminal(text)
}

impl ConsoleHost {
    /// A host write as a JSON line (`--json`): Write-Host and
    /// `$host.UI.Write*` text is `information` with `"ui":true`; the
    /// host's error, warning, verbose and debug lines go to their streams.
    fn write_json(&mut self, stream: HostStream, text: &str, newline: bool) {
        let name = match stream {
            HostStream::Output => "information",
            HostStream::Error => "error",
            HostStream::Warning => "warning",
            HostStream::Verbose => "verbose",
            HostStream::Debug => "debug",
        };
        if matches!(
            stream,
            HostStream::Warning | HostStream::Verbose | HostStream::Debug
        ) && !show_once(stream, text, true)
        {
            return;
        }
        let mut fields = serde_json::json!({ "message": text, "ui": true });
        if !newline {
            fields["newline"] = false.into();
        }
        crate::render::json_line_in(
            name,
            self.json_host.as_deref(),
            self.json_session.as_deref(),
            fields,
        );
    }
}

impl Host for ConsoleHost {
    fn is_interactive(&self) -> bool {
        true
    }

    fn write(&mut self, stream: HostStream, text: &str, newline: bool) {
        if crate::render::json_mode() {
            return self.write_json(stream, text, newline);
        }
        // Host text: byte-exact to a pipe, escaped before a terminal.
        let text = match stream {
            HostStream::Output => crate::sanitize::stdout_text(text),
            _ => crate::sanitize::for_terminal(text),
        };
        let text = if newline {
            format!("{text}\n")
        } else {
            text.to_string()
        };
        match stream {
            HostStream::Output => {
                note_output(&text);
                crate::output::out_bytes(text.as_bytes())
            }
            HostStream::Error => crate::output::err_bytes(text.as_bytes()),
            HostStream::Warning | HostStream::Verbose | HostStream::Debug
                if !show_once(stream, &text, true) => {}
            HostStream::Warning => crate::output::err_bytes(format!("WARNING: {text}").as_bytes()),
            HostStream::Verbose => crate::output::err_bytes(format!("VERBOSE: {text}").as_bytes()),
            HostStream::Debug => crate::output::err_bytes(format!("DEBUG: {text}").as_bytes()),
        }
    }

    fn read_line(&mut self, _prompt_hint: Option<&str>) -> Option<String> {
        // The prompt text (Read-Host's `name: `) came as a host Write and
        // is on stdout already; a terminal read redraws it.
        self.read_answer(false).map(|l| l.to_string())
    }

    fn read_line_secret(&mut self) -> Option<Zeroizing<String>> {
        self.read_answer(true)
    }

    fn prompt_for_credential(
        &mut self,
        caption: &str,
        message: &str,
        user_name: Option<&str>,
    ) -> Option<(String, Zeroizing<String>)> {
        Self::heading(caption, message);
        self.credential(user_name)
    }

    fn prompt_for_choice(
        &mut self,
        caption: &str,
        message: &str,
        choices: &[Choice],
        default: i32,
    ) -> Option<i32> {
        if choices.is_empty() {
            return None;
        }
        Self::heading(caption, message);
        loop {
            let answer = self.ask(&choice_line(choices, default), false)?;
            match parse_choice(choices, default, &answer) {
                ChoiceAnswer::Chosen(i) => return Some(i),
                ChoiceAnswer::Help => show_prompt(&choice_help(choices)),
                ChoiceAnswer::Unknown => {}
            }
        }
    }

    fn prompt_for_multiple_choice(
        &mut self,
        caption: &str,
        message: &str,
        choices: &[Choice],
        defaults: &[i32],
    ) -> Option<Vec<i32>> {
        if choices.is_empty() {
            return None;
        }
        Self::heading(caption, message);
        show_prompt(&format!("{}\n", multiple_choice_line(choices, defaults)));
        // One choice per line, as PowerShell's console host asks; an empty
        // line ends (with nothing chosen: the defaults).
        let mut chosen: Vec<i32> = Vec::new();
        loop {
            let answer = self.ask(&format!("Choice[{}]: ", chosen.len() + 1), false)?;
            if answer.trim().is_empty() {
                return Some(if chosen.is_empty() {
                    defaults.to_vec()
                } else {
                    chosen
                });
            }
            match parse_choice(choices, -1, &answer) {
                ChoiceAnswer::Chosen(i) => chosen.push(i),
                ChoiceAnswer::Help => show_prompt(&choice_help(choices)),
                ChoiceAnswer::Unknown => {}
            }
        }
    }

    fn prompt(
        &mut self,
        caption: &str,
        message: &str,
        fields: &[PromptField],
    ) -> Option<Vec<FieldAnswer>> {
        Self::heading(caption, message);
        let mut answers = Vec::with_capacity(fields.len());
        for f in fields {
            let label = if f.label.is_empty() {
                f.name.replacen('&', "", 1)
            } else {
                f.label.replacen('&', "", 1)
            };
            answers.push(match f.kind {
                FieldKind::Text => {
                    FieldAnswer::Text(self.ask(&format!("{label}: "), false)?.to_string())
                }
                FieldKind::Secret => FieldAnswer::Secret(self.ask(&format!("{label}: "), true)?),
                FieldKind::Credential => {
                    show_prompt(&format!("{label}\n"));
                    let (u, p) = self.credential(None)?;
                    FieldAnswer::Credential(u, p)
                }
            });
        }
        Some(answers)
    }

    fn progress(&mut self, record: &ProgressRecord) {
        if crate::render::json_mode() {
            let fields = crate::render::progress_json(record);
            return crate::render::json_line_in(
                "progress",
                self.json_host.as_deref(),
                self.json_session.as_deref(),
                fields,
            );
        }
        if !self.show_progress {
            return;
        }
        if std::io::stderr().is_terminal() {
            // One line updated in place, gone when the activity completes
            // (or the command ends), as PowerShell's console shows it.
            if record.record_type == ProgressRecordType::Completed {
                return crate::output::clear_progress();
            }
            let width = crate::output::stderr_width().unwrap_or(80);
            return crate::output::progress_line(&progress_text(record, width));
        }
        let activity = record.activity.as_deref().unwrap_or("");
        let status = record.status_description.as_deref().unwrap_or("");
        if record.percent_complete >= 0 {
            eprintln!("{activity}: {status} {}%", record.percent_complete);
        } else {
            eprintln!("{activity}: {status}");
        }
    }
}

/// Cells of the progress bar.
const BAR_WIDTH: usize = 20;

/// The progress line for `record` in `width` columns: `Activity [====    ]
/// 40% Status`, without a bar when no percentage is given; control
/// characters shown escaped, line ends as spaces, cut to fit.
fn progress_text(record: &ProgressRecord, width: usize) -> String {
    let one_line = |s: Option<&str>| {
        crate::sanitize::for_terminal(s.unwrap_or(""))
            .replace(['\n', '\t'], " ")
            .trim()
            .to_string()
    };
    let activity = one_line(record.activity.as_deref());
    let status = one_line(record.status_description.as_deref());
    let text = if record.percent_complete >= 0 {
        let pct = record.percent_complete.min(100) as usize;
        let done = pct * BAR_WIDTH / 100;
        format!(
            "{activity} [{}{}] {pct}% {status}",
            "=".repeat(done),
            " ".repeat(BAR_WIDTH - done)
        )
    } else {
        format!("{activity}: {status}")
    };
    // One column short of the width: a full line would wrap on some terminals.
    text.trim_end()
        .chars()
        .take(width.saturating_sub(1).max(1))
        .collect()
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    fn record(activity: &str, status: &str, pct: i32) -> ProgressRecord {
        ProgressRecord {
            activity: Some(activity.into()),
            status_description: Some(status.into()),
            percent_complete: pct,
            activity_id: 1,
            current_operation: None,
            parent_activity_id: -1,
            record_type: ProgressRecordType::Processing,
            seconds_remaining: -1,
            extra: Vec::new(),
        }
    }

    #[test]
    fn a_bar_with_its_percentage() {
        let text = progress_text(&record("Copying", "file 3 of 4", 50), 80);
        assert_eq!(text, "Copying [==========          ] 50% file 3 of 4");
        let full = progress_text(&record("Copying", "", 150), 80);
        assert_eq!(full, format!("Copying [{}] 100%", "=".repeat(20)));
    }

    #[test]
    fn one_line_cut_to_the_terminal_with_controls_escaped() {
        let text = progress_text(&record("A\x1b[2Jb", "two\nlines", -1), 80);
        assert_eq!(text, "A\\x1b[2Jb: two lines");
        let long = progress_text(&record(&"x".repeat(200), "s", -1), 40);
        assert_eq!(long.chars().count(), 39);
    }
}
