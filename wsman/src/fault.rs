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
    /// `f:WSManFault/f:Message` text (the host's own explanation).
    pub message: Option<String>,
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
