//! The console host of the `wsman` command line: a person at this
//! process's terminal answers the remote script's host calls ([MS-PSRP]
//! 2.2.3.17), or one line of stdin per answer when stdin is not a terminal.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::{BufRead, IsTerminal, Write};

use psrp::types::ProgressRecord;
use pssession::host::{Host, HostStream};

/// The person at this process's terminal: writes to stdout/stderr, reads
/// answers from the terminal (secrets without echo), or one line of stdin
/// per answer when stdin is not a terminal.
#[derive(Debug, Default)]
pub struct ConsoleHost {
    /// Show progress records on stderr.
    pub show_progress: bool,
}

impl ConsoleHost {
    fn line_from_stdin() -> Option<String> {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }

    fn ask(prompt: &str, secret: bool) -> Option<String> {
        if std::io::stdin().is_terminal() {
            if secret {
                return rpassword::prompt_password(prompt).ok();
            }
            let mut err = std::io::stderr();
            let _ = write!(err, "{prompt}");
            let _ = err.flush();
        }
        Self::line_from_stdin()
    }
}

impl Host for ConsoleHost {
    fn is_interactive(&self) -> bool {
        true
    }

    fn write(&mut self, stream: HostStream, text: &str, newline: bool) {
        use crate::sanitize::{for_terminal, stdout_text};
        let text = match stream {
            HostStream::Output => stdout_text(text),
            _ => for_terminal(text),
        };
        let text = if newline {
            format!("{text}\n")
        } else {
            text.to_string()
        };
        match stream {
            HostStream::Output => crate::output::out_bytes(text.as_bytes()),
            HostStream::Error => crate::output::err_bytes(text.as_bytes()),
            HostStream::Warning => crate::output::err_bytes(format!("WARNING: {text}").as_bytes()),
            HostStream::Verbose => crate::output::err_bytes(format!("VERBOSE: {text}").as_bytes()),
            HostStream::Debug => crate::output::err_bytes(format!("DEBUG: {text}").as_bytes()),
        }
    }

    fn read_line(&mut self, _prompt_hint: Option<&str>) -> Option<String> {
        Self::ask("", false)
    }

    fn read_line_secret(&mut self) -> Option<String> {
        Self::ask("", true)
    }

    fn prompt_for_credential(
        &mut self,
        caption: &str,
        message: &str,
        user_name: Option<&str>,
    ) -> Option<(String, String)> {
        if std::io::stdin().is_terminal() {
            if !caption.is_empty() {
                eprintln!("{}", crate::sanitize::for_terminal(caption));
            }
            if !message.is_empty() {
                eprintln!("{}", crate::sanitize::for_terminal(message));
            }
        }
        let user = match user_name.filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => Self::ask("User: ", false)?,
        };
        let shown = crate::sanitize::for_terminal(&user);
        let password = Self::ask(&format!("Password for user {shown}: "), true)?;
        Some((user, password))
    }

    fn prompt_for_choice(
        &mut self,
        caption: &str,
        message: &str,
        choices: &[String],
        default: i32,
    ) -> Option<i32> {
        let terminal = std::io::stdin().is_terminal();
        if terminal {
            if !caption.is_empty() {
                eprintln!("{}", crate::sanitize::for_terminal(caption));
            }
            if !message.is_empty() {
                eprintln!("{}", crate::sanitize::for_terminal(message));
            }
            for (i, c) in choices.iter().enumerate() {
                eprintln!(
                    "  [{i}] {}",
                    crate::sanitize::for_terminal(&c.replace('&', ""))
                );
            }
        }
        let answer = Self::ask(&format!("Choice (default {default}): "), false)?;
        let answer = answer.trim();
        if answer.is_empty() {
            return Some(default);
        }
        if let Ok(n) = answer.parse::<i32>() {
            return Some(n);
        }
        choices
            .iter()
            .position(|c| c.replace('&', "").eq_ignore_ascii_case(answer))
            .and_then(|i| i32::try_from(i).ok())
    }

    fn progress(&mut self, record: &ProgressRecord) {
        if !self.show_progress {
            return;
        }
        use crate::sanitize::for_terminal;
        let activity = for_terminal(record.activity.as_deref().unwrap_or(""));
        let status = for_terminal(record.status_description.as_deref().unwrap_or(""));
        if record.percent_complete >= 0 {
            eprintln!("{activity}: {status} {}%", record.percent_complete);
        } else {
            eprintln!("{activity}: {status}");
        }
    }
}
