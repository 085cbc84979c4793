//! The one error type of the `wsman` crate, by category.
use std::fmt;

/// Everything that can go wrong talking WS-Management to a host.
///
/// The variants are categories a caller acts on differently: a `Fault` is the
/// host's own answer ([MS-WSMV] 2.2.4.7 `WSManFault`), `Authentication` means
/// the credentials or mechanism were refused, `Transport` the connection or
/// TLS failed, `Protocol` the peer sent something malformed, `Config` the
/// caller asked for something impossible.
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Connecting, reading or writing failed, or TLS was refused
    /// (certificate not trusted, handshake failure). `message` says which.
    Transport {
        /// What failed, naming the host.
        message: String,
        /// The underlying error, if any.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The host refused the credentials, or no offered mechanism could be
    /// used. Never contains a secret.
    Authentication {
        /// What was refused, naming the user and host.
        message: String,
    },
    /// The host needs message encryption and the caller disallowed it, or
    /// the caller asked to send credentials or bodies in clear over HTTP.
    Encryption {
        /// What to change.
        message: String,
    },
    /// A SOAP fault from the host ([MS-WSMV] 2.2.4.7); see [`crate::fault`].
    Fault(Box<crate::fault::Fault>),
    /// The peer sent something that is not valid WS-Management, PSRP framing
    /// or HTTP as expected (malformed XML, missing element, bad sealing).
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// The request was not sent before the deadline, or no answer came in
    /// time (distinct from a `w:TimedOut` fault, which is the host's answer).
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The caller asked for something impossible (bad URL, conflicting
    /// options, missing credentials).
    Config {
        /// What to change.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport { message, source } => match source {
                Some(s) => write!(f, "{message}: {s}"),
                None => f.write_str(message),
            },
            Error::Authentication { message }
            | Error::Encryption { message }
            | Error::Protocol { message }
            | Error::Timeout { message }
            | Error::Config { message } => f.write_str(message),
            Error::Fault(fault) => fmt::Display::fmt(fault, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport {
                source: Some(s), ..
            } => Some(s.as_ref()),
            _ => None,
        }
    }
}

impl From<crate::fault::Fault> for Error {
    fn from(f: crate::fault::Fault) -> Self {
        Error::Fault(Box::new(f))
    }
}
