//! The PowerShell host that answers a remote script's host calls
//! ([MS-PSRP] 2.2.3.17): Write-Host and friends, Read-Host (also
//! `-AsSecureString`), Get-Credential, PromptForChoice (`-Confirm`),
//! `$host.UI.Prompt`, progress.
//!
//! Implement [`Host`] to answer them your way, or use [`NullHost`] (no one
//! to ask). The `wsman` command line's console host (a terminal, or one
//! line of stdin per answer when stdin is not a terminal) is in the
//! `wsman-cli` crate; [`choice_line`] and [`parse_choice`] help write one.
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
use psrp::types::ProgressRecord;
use zeroize::Zeroizing;

mod choice;

pub use choice::{choice_help, choice_line, multiple_choice_line, parse_choice, ChoiceAnswer};

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

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn confirm() -> Vec<Choice> {
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
    fn null_host_declines() {
        let mut h = NullHost;
        assert_eq!(h.prompt_for_choice("c", "m", &confirm(), 0), None);
        assert!(h.prompt_for_credential("c", "m", Some("u")).is_none());
        assert!(h.read_line_secret().is_none());
        assert_eq!(
            h.prompt_for_multiple_choice("c", "m", &confirm(), &[0]),
            None
        );
        let field = PromptField {
            name: "Name".into(),
            label: String::new(),
            help_message: String::new(),
            kind: FieldKind::Text,
        };
        assert_eq!(h.prompt("c", "m", std::slice::from_ref(&field)), None);

        // A host that only reads lines answers a text Prompt with them.
        struct Lines;
        impl Host for Lines {
            fn read_line(&mut self, hint: Option<&str>) -> Option<String> {
                Some(format!("for {}", hint.unwrap_or("")))
            }
        }
        assert_eq!(
            Lines.prompt("c", "m", std::slice::from_ref(&field)),
            Some(vec![FieldAnswer::Text("for Name".into())])
        );
    }
}
