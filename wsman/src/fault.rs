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

/// What a fault means to a caller ([MS-WSMV] 2.2.4.43, DSP0226 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// `w:TimedOut`: the operation timeout passed with nothing to return.
    /// A Receive long-poll answers this way; retry it.
    TimedOut,
    /// `w:InvalidSelectors`: the shell (or resource) named by the selectors
    /// does not exist (closed, timed out, or never created).
    ShellNotFound,
    /// `w:AccessDenied`: the user may not do this.
    AccessDenied,
    /// `w:QuotaLimit` and the quota codes: too many shells, operations or
    /// processes for this user (`MaxShellsPerUser`, ...).
    QuotaExceeded,
    /// `w:EncodingLimit` with detail `w:MaxEnvelopeSize`: the request or
    /// response exceeds MaxEnvelopeSize.
    EnvelopeTooLarge,
    /// `w:SchemaValidationError`: the request's SOAP does not match the
    /// schema (a client bug, or an option the host does not know).
    SchemaValidation,
    /// `w:InvalidState`: the shell is disconnected (or otherwise not in a
    /// state for the operation); Reconnect or Connect first.
    ShellDisconnected,
    /// `wsa:InvalidMessageInformationHeader`: an addressing or WS-Man header
    /// is wrong (also a reused OperationID, [MS-WSMV] 3.1.4.1.39).
    InvalidHeader,
    /// The host only accepts encrypted traffic (recognised by its message,
    /// "unencrypted traffic is currently disabled").
    EncryptionRequired,
    /// Anything else; the code and message tell more.
    Other,
}

/// `w:TimedOut`: `ERROR_WSMAN_OPERATION_TIMEDOUT` (0x80338029).
pub const CODE_TIMED_OUT: u32 = 2_150_858_793;
/// The shell named by the selectors is not there:
/// `ERROR_WSMAN_UNEXPECTED_SELECTORS` (0x8033805B), what Windows answers.
pub const CODE_SHELL_NOT_FOUND: u32 = 2_150_858_843;
/// `ERROR_ACCESS_DENIED`.
pub const CODE_ACCESS_DENIED: u32 = 5;
/// `ERROR_WSMAN_SCHEMA_VALIDATION_ERROR` (0x80338041).
pub const CODE_SCHEMA_VALIDATION: u32 = 2_150_858_817;

/// Where a classification rule comes from, so every row can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Seen in recorded traffic from a real Windows host (the file named).
    Recording(&'static str),
    /// A section of [MS-WSMV] or DSP0226.
    Spec(&'static str),
    /// A constant of Windows' `wsmerror.h` (or winerror.h), by name.
    WsmError(&'static str),
    /// What the test host answers, not yet checked against a recording or
    /// the specification (the text says what is known).
    Unverified(&'static str),
}

/// What identifies a fault in one rule of [`RULES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `s:Subcode/s:Value` (local name) and, when given, the local name of
    /// `w:FaultDetail`.
    Subcode(&'static str, Option<&'static str>),
    /// `f:WSManFault/@Code`.
    Code(u32),
}

/// One row of the fault classification: subcodes (with detail) first, then
/// codes, each with where it is documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// What the fault must carry.
    pub matches: Match,
    /// What it then means.
    pub kind: FaultKind,
    /// Where this comes from.
    pub source: Source,
}

const fn sub(
    name: &'static str,
    detail: Option<&'static str>,
    kind: FaultKind,
    source: Source,
) -> Rule {
    Rule {
        matches: Match::Subcode(name, detail),
        kind,
        source,
    }
}

const fn code(code: u32, kind: FaultKind, source: Source) -> Rule {
    Rule {
        matches: Match::Code(code),
        kind,
        source,
    }
}

use FaultKind as K;
use Source::{Recording as Rec, Spec, WsmError as Wsm};

/// The classification table, in the order it is tried: the subcode and
/// detail say what happened; a code is a fallback for hosts that send a
/// generic subcode (`w:InternalError`) with a specific code.
pub const RULES: &[Rule] = &[
    sub(
        "TimedOut",
        None,
        K::TimedOut,
        Rec("pypsrp test_winrs_operation_timeout.yml, 2150858793"),
    ),
    sub(
        "InvalidSelectors",
        None,
        K::ShellNotFound,
        Rec("pypsrp test_psrp_is_alive_invalid_selectors.yml, 2150858843"),
    ),
    sub(
        "AccessDenied",
        None,
        K::AccessDenied,
        Spec("DSP0226 14.6.1 wsman:AccessDenied"),
    ),
    sub(
        "QuotaLimit",
        None,
        K::QuotaExceeded,
        Spec("DSP0226 14.6.2 wsman:QuotaLimit"),
    ),
    sub(
        "EncodingLimit",
        Some("MaxEnvelopeSize"),
        K::EnvelopeTooLarge,
        Spec("DSP0226 14.6.2 wsman:EncodingLimit, detail MaxEnvelopeSize"),
    ),
    sub(
        "SchemaValidationError",
        None,
        K::SchemaValidation,
        Spec("MS-WSMV 2.2.4.43 SchemaValidationError"),
    ),
    sub(
        "InvalidState",
        None,
        K::ShellDisconnected,
        Source::Unverified(
            "the test host's fault for an operation on a disconnected shell; no recording has one",
        ),
    ),
    sub(
        "InvalidMessageInformationHeader",
        None,
        K::InvalidHeader,
        Rec("pypsrp test_psrp_is_alive_other_wsman_error.yml, 2150858767"),
    ),
    code(
        CODE_TIMED_OUT,
        K::TimedOut,
        Wsm("ERROR_WSMAN_OPERATION_TIMEDOUT"),
    ),
    code(
        CODE_SHELL_NOT_FOUND,
        K::ShellNotFound,
        Wsm("ERROR_WSMAN_UNEXPECTED_SELECTORS"),
    ),
    code(
        2_150_858_813,
        K::ShellNotFound,
        Wsm("ERROR_WSMAN_INVALID_SELECTORS"),
    ),
    code(
        CODE_ACCESS_DENIED,
        K::AccessDenied,
        Wsm("ERROR_ACCESS_DENIED"),
    ),
    code(
        CODE_SCHEMA_VALIDATION,
        K::SchemaValidation,
        Wsm("ERROR_WSMAN_SCHEMA_VALIDATION_ERROR"),
    ),
    code(
        2_150_858_767,
        K::InvalidHeader,
        Wsm("ERROR_WSMAN_INVALID_MESSAGE_INFORMATION_HEADER"),
    ),
    code(
        2_150_858_824,
        K::EnvelopeTooLarge,
        Wsm("ERROR_WSMAN_MAX_ENVELOPE_SIZE_EXCEEDED"),
    ),
    code(
        2_150_858_790,
        K::EnvelopeTooLarge,
        Wsm("ERROR_WSMAN_ENVELOPE_TOO_LARGE"),
    ),
    code(
        2_150_858_815,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_LIMIT"),
    ),
    code(
        2_150_859_173,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_MAX_SHELLS"),
    ),
    code(
        2_150_859_174,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_MAX_OPERATIONS"),
    ),
    code(
        2_150_859_175,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_USER"),
    ),
    code(
        2_150_859_176,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_SYSTEM"),
    ),
    code(
        2_150_859_179,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_MAX_SHELLUSERS"),
    ),
    code(
        2_150_859_236,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_MAX_SHELLS_PPQ"),
    ),
    code(
        2_150_859_241,
        K::QuotaExceeded,
        Wsm("ERROR_WSMAN_QUOTA_MAX_COMMANDS_PER_SHELL_PPQ"),
    ),
];

fn local(name: &str) -> &str {
    name.rsplit([':', '/']).next().unwrap_or(name)
}

impl Rule {
    fn applies(&self, f: &Fault) -> bool {
        match self.matches {
            Match::Subcode(name, detail) => {
                f.subcode.as_deref().map(local) == Some(name)
                    && detail.is_none_or(|d| f.fault_detail.as_deref().map(local) == Some(d))
            }
            Match::Code(c) => f.wsman_code == Some(c),
        }
    }
}

impl Fault {
    /// Classifies the fault by the first row of [`RULES`] that applies
    /// (subcode and detail first, then the WSManFault code), else by its
    /// message ("unencrypted traffic", "quota").
    pub fn kind(&self) -> FaultKind {
        if let Some(rule) = RULES.iter().find(|r| r.applies(self)) {
            return rule.kind;
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

    /// A fault that carries exactly what `rule` looks for, and nothing that
    /// another rule could match first.
    fn fault_for(rule: &Rule) -> Fault {
        match rule.matches {
            Match::Subcode(name, detail) => Fault {
                code: "s:Sender".into(),
                subcode: Some(format!("w:{name}")),
                fault_detail: detail
                    .map(|d| format!("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/{d}")),
                ..Fault::default()
            },
            Match::Code(c) => fault(Some(c), Some("w:InternalError"), None),
        }
    }

    #[test]
    fn every_rule_classifies_its_own_fault() {
        for rule in RULES {
            assert_eq!(fault_for(rule).kind(), rule.kind, "{rule:?}");
        }
    }

    #[test]
    fn subcode_wins_over_code() {
        // A real Windows schema-validation fault: its code once read as an
        // envelope-size fault (issue 10).
        let f = fault(
            Some(CODE_SCHEMA_VALIDATION),
            Some("w:SchemaValidationError"),
            Some("The SOAP XML in the message does not match the corresponding XML schema definition."),
        );
        assert_eq!(f.kind(), FaultKind::SchemaValidation);
        // EncodingLimit means envelope size only with the MaxEnvelopeSize detail.
        let mut f = fault(None, Some("w:EncodingLimit"), None);
        assert_eq!(f.kind(), FaultKind::Other);
        f.fault_detail =
            Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize".into());
        assert_eq!(f.kind(), FaultKind::EnvelopeTooLarge);
    }

    #[test]
    fn message_is_the_last_resort() {
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
