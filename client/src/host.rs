//! The PowerShell host that answers a remote script's host calls
//! ([MS-PSRP] 2.2.3.17): Write-Host and friends, Read-Host (also
//! `-AsSecureString`), Get-Credential, PromptForChoice (`-Confirm`),
//! `$host.UI.Prompt`, progress.
//!
//! Implement [`Host`] to answer them your way, or use [`ConsoleHost`] (a
//! terminal, or one line of stdin per answer when stdin is not a terminal)
//! or [`NullHost`] (no one to ask).
//!
//! The methods are synchronous and may block (a person typing): the
//! session calls them on a blocking thread (`tokio::task::spawn_blocking`),
//! never on a runtime worker. A method that cannot or will not answer
//! returns `None`; the remote command then sees the host call fail, as in
//! PowerShell when a host throws. The defaults decline every question:
//! a host that cannot ask a person never approves a `-Confirm` choice nor
//! invents a credential.
//!
//! Secrets (SecureString answers, passwords) travel as
//! [`Zeroizing`] strings; the session encrypts them with the session key,
//! which it exchanges first when there is none yet ([MS-PSRP] 3.1.4.3).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::{BufRead, IsTerminal};

use psrp::types::ProgressRecord;
use zeroize::Zeroizing;

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

/// What a field of `$host.UI.Prompt` asks for (its FieldDescription's
/// `parameterTypeFullName`, [MS-PSRP] 2.2.3.17 method 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A line of text (String and any other type).
    Text,
    /// A SecureString: read without echo.
    Secret,
    /// A PSCredential: a user name, then a password.
    Credential,
}

/// One field of `$host.UI.Prompt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptField {
    /// The field's name (the key of the answer).
    pub name: String,
    /// The label to show (`name` when the script gave none).
    pub label: String,
    /// The field's help message.
    pub help_message: String,
    /// What to ask for.
    pub kind: FieldKind,
}

/// The answer to one [`PromptField`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldAnswer {
    /// For [`FieldKind::Text`].
    Text(String),
    /// For [`FieldKind::Secret`].
    Secret(Zeroizing<String>),
    /// For [`FieldKind::Credential`]: user name and password.
    Credential(String, Zeroizing<String>),
}

/// One choice of PromptForChoice (a ChoiceDescription, [MS-PSRP] 2.2.3.17
/// method 26): its label with `&` before the hotkey, and its help message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choice {
    /// `&Yes`, `Yes to &All`...
    pub label: String,
    /// Shown for `?`.
    pub help_message: String,
}

impl Choice {
    /// The hotkey (the character after `&`), upper-cased, if any.
    pub fn hotkey(&self) -> Option<String> {
        let i = self.label.find('&')?;
        let c = self.label[i + 1..].chars().next()?;
        Some(c.to_uppercase().collect())
    }

    /// The label without its `&`.
    pub fn plain_label(&self) -> String {
        self.label.replacen('&', "", 1)
    }
}

/// What a remote script may ask of its host. Every method has a default
/// that does what a host without anyone to ask does: writes go nowhere,
/// questions are declined (`None`).
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
    fn read_line_secret(&mut self) -> Option<Zeroizing<String>> {
        None
    }
    /// Get-Credential, `$host.UI.PromptForCredential`: a user name and a
    /// password (`user_name` is asked only when not given).
    fn prompt_for_credential(
        &mut self,
        _caption: &str,
        _message: &str,
        _user_name: Option<&str>,
    ) -> Option<(String, Zeroizing<String>)> {
        None
    }
    /// PromptForChoice (`-Confirm`): the index of the chosen choice.
    /// The default declines: it never approves on anyone's behalf.
    fn prompt_for_choice(
        &mut self,
        _caption: &str,
        _message: &str,
        _choices: &[Choice],
        _default: i32,
    ) -> Option<i32> {
        None
    }
    /// PromptForChoice with several defaults
    /// (IHostUISupportsMultipleChoiceSelection, method 56): the indexes
    /// chosen. The default declines.
    fn prompt_for_multiple_choice(
        &mut self,
        _caption: &str,
        _message: &str,
        _choices: &[Choice],
        _defaults: &[i32],
    ) -> Option<Vec<i32>> {
        None
    }
    /// `$host.UI.Prompt` (also what Windows' Read-Host -Prompt calls): one
    /// answer per field, in order. The default asks [`read_line`],
    /// [`read_line_secret`] or [`prompt_for_credential`] for each field, so
    /// a host that implements those answers it too; any refusal declines.
    ///
    /// [`read_line`]: Host::read_line
    /// [`read_line_secret`]: Host::read_line_secret
    /// [`prompt_for_credential`]: Host::prompt_for_credential
    fn prompt(
        &mut self,
        _caption: &str,
        _message: &str,
        fields: &[PromptField],
    ) -> Option<Vec<FieldAnswer>> {
        fields
            .iter()
            .map(|f| match f.kind {
                FieldKind::Text => self.read_line(Some(&f.name)).map(FieldAnswer::Text),
                FieldKind::Secret => self.read_line_secret().map(FieldAnswer::Secret),
                FieldKind::Credential => self
                    .prompt_for_credential("", "", None)
                    .map(|(u, p)| FieldAnswer::Credential(u, p)),
            })
            .collect()
    }
    /// Write-Progress.
    fn progress(&mut self, _record: &ProgressRecord) {}
}

/// No host at all: writes are dropped, every question is declined (the
/// remote command sees the host call fail).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullHost;

impl Host for NullHost {}

/// The person at this process's terminal, as PowerShell's console host
/// asks: writes to stdout/stderr; prompts (caption, message, field labels,
/// choices) written to stderr whether or not stdin is a terminal; answers
/// read from the terminal (secrets without echo, Ctrl+C cancels the
/// prompt), or one line of stdin per answer when stdin is not a terminal.
#[derive(Debug, Default)]
pub struct ConsoleHost {
    /// Show progress records on stderr.
    pub show_progress: bool,
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
            crate::cli::output::out_bytes(b"\n");
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
    crate::cli::output::err_bytes(prompt_text(text).as_bytes());
}

/// Host-supplied text as it goes before the terminal in a prompt (also the
/// prompt a terminal read redraws): the single place to make it safe for
/// the terminal.
fn prompt_text(text: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(text)
}

/// The choice line of PowerShell's console host:
/// `[Y] Yes  [N] No  [?] Help (default is "Y"): `.
pub fn choice_line(choices: &[Choice], default: i32) -> String {
    let mut line = String::new();
    for c in choices {
        match c.hotkey() {
            Some(k) => line.push_str(&format!("[{k}] {}  ", c.plain_label())),
            None => line.push_str(&format!("{}  ", c.plain_label())),
        }
    }
    line.push_str("[?] Help");
    if let Some(d) = usize::try_from(default).ok().and_then(|d| choices.get(d)) {
        let key = d.hotkey().unwrap_or_else(|| d.plain_label());
        line.push_str(&format!(" (default is \"{key}\")"));
    }
    line.push_str(": ");
    line
}

/// The choice line of a multiple selection:
/// `[A] Apple  [B] Banana  [?] Help (default choices are "A","B")`.
pub fn multiple_choice_line(choices: &[Choice], defaults: &[i32]) -> String {
    let mut line = choice_line(choices, -1);
    line.truncate(line.trim_end_matches([':', ' ']).len());
    let keys: Vec<String> = defaults
        .iter()
        .filter_map(|d| usize::try_from(*d).ok().and_then(|d| choices.get(d)))
        .map(|c| format!("\"{}\"", c.hotkey().unwrap_or_else(|| c.plain_label())))
        .collect();
    match keys.len() {
        0 => {}
        1 => line.push_str(&format!(" (default is {})", keys[0])),
        _ => line.push_str(&format!(" (default choices are {})", keys.join(","))),
    }
    line
}

/// The help PowerShell's console host prints for `?`: one line per choice.
pub fn choice_help(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| {
            let key = c.hotkey().unwrap_or_else(|| c.plain_label());
            format!("{key} - {}\n", c.help_message)
        })
        .collect()
}

/// What an answer to PromptForChoice means: the hotkey, the label or the
/// index (0-based) chosen; an empty answer is the default; `?` asks for
/// help; anything else matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceAnswer {
    /// This choice.
    Chosen(i32),
    /// `?`.
    Help,
    /// Not a choice: ask again.
    Unknown,
}

/// Reads `answer` as PowerShell's console host does (also the index).
pub fn parse_choice(choices: &[Choice], default: i32, answer: &str) -> ChoiceAnswer {
    let a = answer.trim();
    let index = |i: usize| i32::try_from(i).map_or(ChoiceAnswer::Unknown, ChoiceAnswer::Chosen);
    if a.is_empty() {
        return match usize::try_from(default).ok().filter(|d| *d < choices.len()) {
            Some(d) => index(d),
            None => ChoiceAnswer::Unknown,
        };
    }
    if a == "?" {
        return ChoiceAnswer::Help;
    }
    if let Some(i) = choices
        .iter()
        .position(|c| c.hotkey().is_some_and(|k| k.eq_ignore_ascii_case(a)))
    {
        return index(i);
    }
    if let Some(i) = choices
        .iter()
        .position(|c| c.plain_label().eq_ignore_ascii_case(a))
    {
        return index(i);
    }
    match a.parse::<usize>() {
        Ok(i) if i < choices.len() => index(i),
        _ => ChoiceAnswer::Unknown,
    }
}

impl Host for ConsoleHost {
    fn is_interactive(&self) -> bool {
        true
    }

    fn write(&mut self, stream: HostStream, text: &str, newline: bool) {
        let text = if newline {
            format!("{text}\n")
        } else {
            text.to_string()
        };
        match stream {
            HostStream::Output => {
                note_output(&text);
                crate::cli::output::out_bytes(text.as_bytes())
            }
            HostStream::Error => crate::cli::output::err_bytes(text.as_bytes()),
            HostStream::Warning | HostStream::Verbose | HostStream::Debug
                if !show_once(stream, &text, true) => {}
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
        if !self.show_progress {
            return;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn confirm() -> Vec<Choice> {
        [
            ("&Yes", "Continue with only the next step of the operation."),
            (
                "Yes to &All",
                "Continue with all the steps of the operation.",
            ),
            (
                "&No",
                "Skip this operation and proceed with the next operation.",
            ),
            (
                "No to A&ll",
                "Skip this operation and all subsequent operations.",
            ),
            ("&Suspend", "Pause the current pipeline."),
        ]
        .iter()
        .map(|(l, h)| Choice {
            label: (*l).into(),
            help_message: (*h).into(),
        })
        .collect()
    }

    #[test]
    fn choice_line_is_powershells() {
        assert_eq!(
            choice_line(&confirm(), 0),
            "[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is \"Y\"): "
        );
        assert_eq!(choice_line(&confirm()[..1], -1), "[Y] Yes  [?] Help: ");
    }

    #[test]
    fn answers_by_hotkey_label_index_default_help_or_none() {
        let c = confirm();
        assert_eq!(parse_choice(&c, 0, "y"), ChoiceAnswer::Chosen(0));
        assert_eq!(parse_choice(&c, 0, "L"), ChoiceAnswer::Chosen(3));
        assert_eq!(parse_choice(&c, 0, "no to all"), ChoiceAnswer::Chosen(3));
        assert_eq!(parse_choice(&c, 0, "2"), ChoiceAnswer::Chosen(2));
        assert_eq!(parse_choice(&c, 2, ""), ChoiceAnswer::Chosen(2));
        assert_eq!(parse_choice(&c, -1, ""), ChoiceAnswer::Unknown);
        assert_eq!(parse_choice(&c, 0, "?"), ChoiceAnswer::Help);
        assert_eq!(parse_choice(&c, 0, "maybe"), ChoiceAnswer::Unknown);
        assert_eq!(parse_choice(&c, 0, "9"), ChoiceAnswer::Unknown);
        assert!(choice_help(&c).starts_with("Y - Continue with only the next step"));
    }

    #[test]
    fn multiple_choice_line_names_the_defaults() {
        let c = confirm();
        assert_eq!(
            multiple_choice_line(&c[..2], &[0, 1]),
            "[Y] Yes  [A] Yes to All  [?] Help (default choices are \"Y\",\"A\")"
        );
        assert_eq!(multiple_choice_line(&c[..1], &[]), "[Y] Yes  [?] Help");
    }

    #[test]
    fn null_host_declines() {
        let mut h = NullHost;
        assert_eq!(h.prompt_for_choice("c", "m", &confirm(), 0), None);
        assert!(h.prompt_for_credential("c", "m", Some("u")).is_none());
        assert!(h.read_line_secret().is_none());
        assert_eq!(
            h.prompt_for_multiple_choice("c", "m", &confirm(), &[0]),
            None
        );
    }
}
