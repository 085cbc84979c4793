//! The one error type of the `wsman` crate, by category, and
//! [`ErrorKind`]: what a caller matches on to decide what to do.
use crate::fault::FaultKind;

/// Everything that can go wrong talking WS-Management to a host.
///
/// The variants are categories a caller acts on differently: a `Fault` is the
/// host's own answer ([MS-WSMV] 2.2.4.7 `WSManFault`), `Authentication` means
/// the credentials or mechanism were refused, `Transport` the connection or
/// TLS failed, `Protocol` the peer sent something malformed, `Config` the
/// caller asked for something impossible.
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting, reading or writing failed, or TLS was refused
    /// (certificate not trusted, handshake failure). `message` says which.
    #[error("{message}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    Transport {
        /// What failed, naming the host.
        message: String,
        /// The underlying error, if any.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The host refused the credentials, or no offered mechanism could be
    /// used. Never contains a secret.
    #[error("{message}")]
    Authentication {
        /// What was refused, naming the user and host.
        message: String,
    },
    /// The host needs message encryption and the caller disallowed it, or
    /// the caller asked to send credentials or bodies in clear over HTTP.
    #[error("{message}")]
    Encryption {
        /// What to change.
        message: String,
    },
    /// A SOAP fault from the host ([MS-WSMV] 2.2.4.7); see [`crate::fault`].
    #[error("{0}")]
    Fault(Box<crate::fault::Fault>),
    /// The peer sent something that is not valid WS-Management, PSRP framing
    /// or HTTP as expected (malformed XML, missing element, bad sealing).
    #[error("{message}")]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// The request was not sent before the deadline, or no answer came in
    /// time (distinct from a `w:TimedOut` fault, which is the host's answer).
    #[error("{message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The caller asked for something impossible (bad URL, conflicting
    /// options, missing credentials).
    #[error("{message}")]
    Config {
        /// What to change.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<crate::fault::Fault> for Error {
    fn from(f: crate::fault::Fault) -> Self {
        Error::Fault(Box::new(f))
    }
}

/// What went wrong, as a caller decides on it: retry, report the host
/// unreachable, ask for other credentials, trust a certificate, look the
/// request up on the host. Worked out from the variant and its typed
/// sources ([`Error::kind`]), never from message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The host refused the TCP connection (nothing listens there).
    ConnectionRefused,
    /// The connection closed or was reset before the answer was complete.
    ConnectionDropped,
    /// The host (or a proxy) answered with an HTTP error status (404, 413,
    /// 5xx without a SOAP fault), or the transport reported a loss itself.
    HttpStatus,
    /// Another network failure (name resolution, unreachable, proxy).
    Network,
    /// The host's TLS certificate is not trusted (unknown issuer, wrong
    /// name, expired).
    TlsUntrusted,
    /// The TLS handshake failed for another reason.
    Tls,
    /// No answer in time (the request's deadline, not a `w:TimedOut`).
    Timeout,
    /// A request that must not run twice was written before its connection
    /// dropped: the host may or may not have carried it out
    /// ([`crate::transport::MaybeDelivered`]).
    MaybeDelivered,
    /// The answer to a Receive was lost on a host that keeps no answers for
    /// a retransmission: output may be missing ([`crate::transport::AnswerLost`]).
    AnswerLost,
    /// The credentials or the mechanism were refused.
    Authentication,
    /// Message encryption is required, or was refused.
    Encryption,
    /// A SOAP fault from the host, by its [`FaultKind`].
    Fault(FaultKind),
    /// The peer sent something that is not what the protocol allows.
    Protocol,
    /// The caller asked for something impossible.
    Config,
}

impl Error {
    /// The kind of failure; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Transport { source, .. } => match source {
                Some(s) => transport_kind(s.as_ref()),
                None => ErrorKind::HttpStatus,
            },
            Error::Authentication { .. } => ErrorKind::Authentication,
            Error::Encryption { .. } => ErrorKind::Encryption,
            Error::Fault(f) => ErrorKind::Fault(f.kind()),
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Config { .. } => ErrorKind::Config,
        }
    }

    /// Whether the network or the host's reachability failed (refused,
    /// dropped, unreachable, TLS, no answer in time: a transport failure
    /// with an underlying cause): trying again later may reach the host. Not
    /// for an answer from the host (fault, HTTP status, authentication) or a
    /// malformed one. [`kind`](Self::kind) tells which.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                source: Some(_),
                ..
            } | Error::Timeout { .. }
        )
    }

    /// The host's fault, when this is one.
    pub fn fault(&self) -> Option<&crate::fault::Fault> {
        match self {
            Error::Fault(f) => Some(f),
            _ => None,
        }
    }
}

/// The kind of a transport failure, from the first typed cause found along
/// its source chain.
fn transport_kind(mut cause: &(dyn std::error::Error + 'static)) -> ErrorKind {
    use crate::transport::{AnswerLost, MaybeDelivered};
    loop {
        if cause.is::<MaybeDelivered>() {
            return ErrorKind::MaybeDelivered;
        }
        if cause.is::<AnswerLost>() {
            return ErrorKind::AnswerLost;
        }
        if let Some(r) = cause.downcast_ref::<rustls::Error>() {
            return match r {
                rustls::Error::InvalidCertificate(_) => ErrorKind::TlsUntrusted,
                _ => ErrorKind::Tls,
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as Io;
            match io.kind() {
                Io::ConnectionRefused => return ErrorKind::ConnectionRefused,
                Io::ConnectionReset
                | Io::ConnectionAborted
                | Io::BrokenPipe
                | Io::UnexpectedEof => return ErrorKind::ConnectionDropped,
                Io::TimedOut => return ErrorKind::Timeout,
                _ => {}
            }
            // rustls reports through io::Error: look inside it.
            if let Some(inner) = io.get_ref() {
                cause = inner;
                continue;
            }
        }
        if let Some(h) = cause.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return ErrorKind::ConnectionDropped;
            }
        }
        match cause.source() {
            Some(next) => cause = next,
            None => return ErrorKind::Network,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;

    fn transport(source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Transport {
            message: "x".into(),
            source: Some(Box::new(source)),
        }
    }

    #[test]
    fn kinds_come_from_typed_sources() {
        let refused = transport(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
        assert!(refused.is_network());
        let reset = transport(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(reset.kind(), ErrorKind::ConnectionDropped);
        let untrusted = transport(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert_eq!(untrusted.kind(), ErrorKind::TlsUntrusted);
        let status = Error::Transport {
            message: "answered HTTP 413".into(),
            source: None,
        };
        assert_eq!(status.kind(), ErrorKind::HttpStatus);
        assert!(!status.is_network());
        let maybe = transport(crate::transport::MaybeDelivered(reset));
        assert_eq!(maybe.kind(), ErrorKind::MaybeDelivered);
        let fault = Error::from(Fault {
            subcode: Some("w:TimedOut".into()),
            ..Fault::default()
        });
        assert_eq!(fault.kind(), ErrorKind::Fault(FaultKind::TimedOut));
        assert!(!fault.is_network());
        assert!(fault.fault().is_some());
        let auth = Error::Authentication {
            message: "no".into(),
        };
        assert_eq!(auth.kind(), ErrorKind::Authentication);
    }
}
