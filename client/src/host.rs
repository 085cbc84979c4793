//! The PowerShell host that answers a remote script's host calls
//! ([MS-PSRP] 2.2.3.17): Write-Host and friends, Read-Host (also
//! `-AsSecureString`), Get-Credential, PromptForChoice, progress.
//!
//! Implement [`Host`] to answer them your way, or use [`ConsoleHost`] (a
//! terminal, or one line of stdin per answer when stdin is not a terminal)
//! or [`NullHost`] (no host: PowerShell then fails calls that need one).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::{BufRead, IsTerminal, Write};

use psrp::types::ProgressRecord;

/// Where a host write goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStream {
    /// Write / WriteLine (Write-Host).
    Output,
    /// WriteErrorLine.
    Error,
    /// WriteWarningLine.
    Warning,
    /// WriteVerboseLine.
    Verbose,
    /// WriteDebugLine.
    Debug,
}

/// One field of a Prompt or of Get-Credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptField {
    /// The field's name (the key of the answer).
    pub name: String,
    /// Whether the answer is secret (SecureString or PSCredential password).
    pub secret: bool,
}

/// What a remote script may ask of its host. Every method has a default
/// that does what a host without UI does.
pub trait Host: Send {
    /// Whether the pool announces an interactive host (Read-Host works
    /// only then).
    fn is_interactive(&self) -> bool {
        false
    }
    /// Write-Host and the host's Write*Line methods. `newline` is false
    /// for `Write` (no line end).
    fn write(&mut self, _stream: HostStream, _text: &str, _newline: bool) {}
    /// Read-Host: one line, or `None` if there is nothing to read.
    fn read_line(&mut self, _prompt_hint: Option<&str>) -> Option<String> {
        None
    }
    /// Read-Host -AsSecureString: one line read without echo.
    fn read_line_secret(&mut self) -> Option<String> {
        None
    }
    /// Get-Credential: a user name and a password.
    fn prompt_for_credential(
        &mut self,
        _caption: &str,
        _message: &str,
        _user_name: Option<&str>,
    ) -> Option<(String, String)> {
        None
    }
    /// PromptForChoice: the index of the chosen label.
    fn prompt_for_choice(
        &mut self,
        _caption: &str,
        _message: &str,
        _choices: &[String],
        default: i32,
    ) -> Option<i32> {
        Some(default)
    }
    /// Write-Progress.
    fn progress(&mut self, _record: &ProgressRecord) {}
}

/// No host at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullHost;

impl Host for NullHost {}

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
        use crate::cli::sanitize::{for_terminal, stdout_text};
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
            HostStream::Output => crate::cli::output::out_bytes(text.as_bytes()),
            HostStream::Error => crate::cli::output::err_bytes(text.as_bytes()),
            HostStream::Warning => {
                crate::cli::output::err_bytes(format!("WARNING: {text}").as_bytes())
            }
            HostStream::Verbose => {
                crate::cli::output::err_bytes(format!("VERBOSE: {text}").as_bytes())
            }
            HostStream::Debug => crate::cli::output::err_bytes(format!("DEBUG: {text}").as_bytes()),
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
                eprintln!("{}", crate::cli::sanitize::for_terminal(caption));
            }
            if !message.is_empty() {
                eprintln!("{}", crate::cli::sanitize::for_terminal(message));
            }
        }
        let user = match user_name.filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => Self::ask("User: ", false)?,
        };
        let shown = crate::cli::sanitize::for_terminal(&user);
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
                eprintln!("{}", crate::cli::sanitize::for_terminal(caption));
            }
            if !message.is_empty() {
                eprintln!("{}", crate::cli::sanitize::for_terminal(message));
            }
            for (i, c) in choices.iter().enumerate() {
                eprintln!(
                    "  [{i}] {}",
                    crate::cli::sanitize::for_terminal(&c.replace('&', ""))
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
        use crate::cli::sanitize::for_terminal;
        let activity = for_terminal(record.activity.as_deref().unwrap_or(""));
        let status = for_terminal(record.status_description.as_deref().unwrap_or(""));
        if record.percent_complete >= 0 {
            eprintln!("{activity}: {status} {}%", record.percent_complete);
        } else {
            eprintln!("{activity}: {status}");
        }
    }
}
