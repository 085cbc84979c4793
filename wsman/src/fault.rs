//! SOAP faults from a WS-Management host ([MS-WSMV] 2.2.4.7, DSP0226 14).
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::fmt;

/// A fault the host answered with, with everything Windows puts in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    /// `s:Code/s:Value`, e.g. `s:Receiver` or `s:Sender`.
    pub code: String,
    /// `s:Subcode/s:Value`, e.g. `w:TimedOut`, `w:InvalidSelectors`.
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`.
    pub reason: Option<String>,
    /// `f:WSManFault/@Code`, e.g. 2150858793.
    pub wsman_code: Option<u32>,
    /// `f:WSManFault/@Machine`.
    pub machine: Option<String>,
    /// `f:WSManFault/f:Message` text (the host's own explanation), nested
    /// elements such as `f:ProviderFault` flattened to their text.
    pub message: Option<String>,
    /// `w:FaultDetail` URI, e.g. `.../faultDetail/UnexpectedSelectors`.
    pub fault_detail: Option<String>,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WS-Management fault")?;
        if let Some(c) = self.wsman_code {
            write!(f, " {c}")?;
        }
        if let Some(s) = &self.subcode {
            write!(f, " ({s})")?;
        }
        let text = self.message.as_deref().or(self.reason.as_deref());
        if let Some(t) = text {
            write!(f, ": {}", t.trim())?;
        }
        Ok(())
    }
}

/// What a fault means to a caller, by the codes and subcodes Windows uses
/// ([MS-WSMV] 2.2.4.43 and the WinRM error codes seen on real hosts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// `w:TimedOut` / 2150858793: the operation timeout passed with nothing
    /// to return. A Receive long-poll answers this way; retry it.
    TimedOut,
    /// 2150858843 / `w:InvalidSelectors`: the shell (or resource) named by
    /// the selectors does not exist (closed, timed out, or never created).
    ShellNotFound,
    /// `w:AccessDenied` / 5: the user may not do this.
    AccessDenied,
    /// `w:QuotaLimit` and the quota codes: too many shells, operations or
    /// processes for this user (`MaxShellsPerUser`, ...).
    QuotaExceeded,
    /// `w:EncodingLimit` / 2150858817: the request or response exceeds
    /// MaxEnvelopeSize.
    EnvelopeTooLarge,
    /// The host only accepts encrypted traffic (recognised by its message,
    /// "unencrypted traffic is currently disabled").
    EncryptionRequired,
    /// Anything else; the code and message tell more.
    Other,
}

/// `w:TimedOut`: the operation timed out (0x80338029).
pub const CODE_TIMED_OUT: u32 = 2_150_858_793;
/// The shell or resource named by the selectors was not found (0x8033805B).
pub const CODE_SHELL_NOT_FOUND: u32 = 2_150_858_843;
/// `ERROR_ACCESS_DENIED`.
pub const CODE_ACCESS_DENIED: u32 = 5;
/// The envelope size limit was exceeded (0x80338041).
pub const CODE_ENCODING_LIMIT: u32 = 2_150_858_817;
/// Quota codes: 0x7FCC7E1C and `ERROR_WSMAN_QUOTA_MAX_SHELLUSERS` (0x803381A5).
pub const CODES_QUOTA: [u32; 2] = [2_144_108_060, 2_150_859_173];

impl Fault {
    /// Classifies the fault by WSManFault code, then subcode, then message.
    pub fn kind(&self) -> FaultKind {
        let sub = self
            .subcode
            .as_deref()
            .map(|s| s.rsplit(':').next().unwrap_or(s))
            .unwrap_or("");
        match self.wsman_code {
            Some(CODE_TIMED_OUT) => return FaultKind::TimedOut,
            Some(CODE_SHELL_NOT_FOUND) => return FaultKind::ShellNotFound,
            Some(CODE_ACCESS_DENIED) => return FaultKind::AccessDenied,
            Some(CODE_ENCODING_LIMIT) => return FaultKind::EnvelopeTooLarge,
            Some(c) if CODES_QUOTA.contains(&c) => return FaultKind::QuotaExceeded,
            _ => {}
        }
        match sub {
            "TimedOut" => return FaultKind::TimedOut,
            "InvalidSelectors" => return FaultKind::ShellNotFound,
            "AccessDenied" => return FaultKind::AccessDenied,
            "QuotaLimit" => return FaultKind::QuotaExceeded,
            "EncodingLimit" => return FaultKind::EnvelopeTooLarge,
            _ => {}
        }
        let text = self
            .message
            .as_deref()
            .or(self.reason.as_deref())
            .unwrap_or("")
            .to_ascii_lowercase();
        if text.contains("unencrypted traffic") {
            FaultKind::EncryptionRequired
        } else if text.contains("quota") {
            FaultKind::QuotaExceeded
        } else {
            FaultKind::Other
        }
    }

    /// The most useful text: the WSManFault message, else the reason.
    pub fn text(&self) -> Option<&str> {
        self.message.as_deref().or(self.reason.as_deref())
    }
}

/// Returns `Err(Error::Fault)` when `body` is a SOAP fault envelope,
/// `Ok(())` for any other well-formed SOAP envelope, `Err(Error::Protocol)`
/// when it is not one ([MS-WSMV] 2.2.4.43).
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
pub fn check(body: &[u8]) -> crate::Result<()> {
    crate::soap::response::parse_ack(body).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: Option<u32>, sub: Option<&str>, msg: Option<&str>) -> Fault {
        Fault {
            code: "s:Receiver".into(),
            subcode: sub.map(str::to_owned),
            wsman_code: code,
            message: msg.map(str::to_owned),
            ..Fault::default()
        }
    }

    #[test]
    fn kinds_by_code_subcode_and_message() {
        assert_eq!(
            fault(Some(2150858793), None, None).kind(),
            FaultKind::TimedOut
        );
        assert_eq!(
            fault(None, Some("w:TimedOut"), None).kind(),
            FaultKind::TimedOut
        );
        assert_eq!(
            fault(Some(2150858843), None, None).kind(),
            FaultKind::ShellNotFound
        );
        assert_eq!(
            fault(None, Some("w:InvalidSelectors"), None).kind(),
            FaultKind::ShellNotFound
        );
        assert_eq!(
            fault(Some(5), Some("w:AccessDenied"), None).kind(),
            FaultKind::AccessDenied
        );
        assert_eq!(
            fault(None, Some("w:QuotaLimit"), None).kind(),
            FaultKind::QuotaExceeded
        );
        assert_eq!(
            fault(None, Some("w:EncodingLimit"), None).kind(),
            FaultKind::EnvelopeTooLarge
        );
        assert_eq!(
            fault(
                None,
                None,
                Some("Unencrypted traffic is currently disabled")
            )
            .kind(),
            FaultKind::EncryptionRequired
        );
        assert_eq!(
            fault(Some(87), Some("w:InternalError"), None).kind(),
            FaultKind::Other
        );
    }

    #[test]
    fn display_prefers_the_host_message() {
        let f = fault(Some(2150858793), Some("w:TimedOut"), Some(" timed out "));
        assert_eq!(
            f.to_string(),
            "WS-Management fault 2150858793 (w:TimedOut): timed out"
        );
    }
}
