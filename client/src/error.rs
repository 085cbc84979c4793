//! The one error type of the `pssession` crate.

/// What can go wrong with a PSSession.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// WS-Management: transport, authentication, a fault from the host.
    #[error("{0}")]
    Wsman(#[from] wsman::Error),
    /// The PowerShell Remoting Protocol: a malformed message from the host,
    /// or a call in the wrong state.
    #[error("PowerShell remoting protocol: {0}")]
    Psrp(#[from] psrp::Error),
    /// The RunspacePool or a pipeline broke or was closed by the host.
    #[error("{0}")]
    Broken(String),
    /// No such session, here or on the host.
    #[error("{0}")]
    SessionNotFound(String),
    /// The caller asked for something impossible (bad options, local state
    /// that cannot be read).
    #[error("{0}")]
    Usage(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

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
