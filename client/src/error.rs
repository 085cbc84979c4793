//! The one error type of the `pssession` crate.
use std::fmt;

/// What can go wrong with a PSSession.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// WS-Management: transport, authentication, a fault from the host.
    Wsman(wsman::Error),
    /// The PowerShell Remoting Protocol: a malformed message from the host,
    /// or a call in the wrong state.
    Psrp(psrp::Error),
    /// The RunspacePool or a pipeline broke or was closed by the host.
    Broken(String),
    /// No such session, here or on the host.
    SessionNotFound(String),
    /// The caller asked for something impossible (bad options, local state
    /// that cannot be read).
    Usage(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Wsman(e) => fmt::Display::fmt(e, f),
            Error::Psrp(e) => write!(f, "PowerShell remoting protocol: {e}"),
            Error::Broken(m) | Error::SessionNotFound(m) | Error::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Wsman(e) => Some(e),
            Error::Psrp(e) => Some(e),
            _ => None,
        }
    }
}

impl From<wsman::Error> for Error {
    fn from(e: wsman::Error) -> Self {
        Error::Wsman(e)
    }
}

impl From<psrp::Error> for Error {
    fn from(e: psrp::Error) -> Self {
        Error::Psrp(e)
    }
}

impl Error {
    /// Whether the network or the host's reachability failed (see
    /// [`wsman::Error::is_network`]): the session may still be on the host.
    pub fn is_network(&self) -> bool {
        matches!(self, Error::Wsman(e) if e.is_network())
    }

    /// The kind of the host's fault, when this is one.
    pub fn fault_kind(&self) -> Option<wsman::FaultKind> {
        match self {
            Error::Wsman(e) => e.fault().map(|f| f.kind()),
            _ => None,
        }
    }

    /// The WS-Management error kind, when this is one.
    pub fn wsman_kind(&self) -> Option<wsman::ErrorKind> {
        match self {
            Error::Wsman(e) => Some(e.kind()),
            _ => None,
        }
    }
}
