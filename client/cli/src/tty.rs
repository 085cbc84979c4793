//! Reading one answer from the terminal, as PowerShell's console host does
//! at a prompt: the line editor (rustyline) on the terminal itself, a
//! secret shown as `*` (never echoed, as PowerShell's
//! `Read-Host -AsSecureString`), Ctrl+C cancels the prompt only (the
//! terminal is in raw mode, so no SIGINT reaches the process), Ctrl+D on
//! an empty line ends the input. Nothing is kept in a history.
use std::borrow::Cow;
use std::io::Write;

use rustyline::completion::Completer;
use rustyline::config::{Behavior, ColorMode, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::MemHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};
use zeroize::Zeroizing;

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtyError {
    /// Ctrl+C.
    Interrupted,
    /// Ctrl+D on an empty line, the terminal closed, or no terminal.
    Eof,
}

/// Shows every character of a secret as `*`.
struct Mask {
    secret: bool,
}

impl Completer for Mask {
    type Candidate = String;
}
impl Hinter for Mask {
    type Hint = String;
}
impl Validator for Mask {}
impl Helper for Mask {}
impl Highlighter for Mask {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.secret {
            Cow::Owned("*".repeat(line.chars().count()))
        } else {
            Cow::Borrowed(line)
        }
    }
    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.secret
    }
}

/// Reads one line from the terminal after `prompt`; `echo` false for
/// secrets (shown as `*`).
pub fn read_line(prompt: &str, echo: bool) -> Result<Zeroizing<String>, TtyError> {
    // Back to column 0: a prompt already on the line (Read-Host's
    // `name: `, written through the host) is redrawn in place.
    let mut err = std::io::stderr();
    let _ = err.write_all(b"\r");
    let _ = err.flush();
    let config = Config::builder()
        .behavior(Behavior::PreferTerm)
        .auto_add_history(false)
        .color_mode(if echo {
            ColorMode::Disabled
        } else {
            ColorMode::Forced
        })
        .build();
    let mut editor: Editor<Mask, MemHistory> =
        Editor::with_history(config, MemHistory::new()).map_err(|_| TtyError::Eof)?;
    editor.set_helper(Some(Mask { secret: !echo }));
    match editor.readline(prompt) {
        Ok(line) => Ok(Zeroizing::new(line)),
        Err(ReadlineError::Interrupted) => Err(TtyError::Interrupted),
        Err(_) => Err(TtyError::Eof),
    }
}
