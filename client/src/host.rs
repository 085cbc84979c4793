//! The PowerShell host that answers a remote script's host calls
//! ([MS-PSRP] 2.2.3.17): Write-Host and friends, Read-Host (also
//! `-AsSecureString`), Get-Credential, PromptForChoice, progress.
//!
//! Implement [`Host`] to answer them your way, or use [`NullHost`] (no
//! host: PowerShell then fails calls that need one). The `wsman` command
//! line's console host (a person at a terminal) is in the `wsman-cli` crate.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
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
