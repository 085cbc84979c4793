//! The one error type of the crate.

use std::fmt;

/// Everything that can go wrong in the protocol engine.
///
/// Variants are categories: bad bytes or CLIXML from the peer
/// ([`Error::Malformed`], [`Error::Clixml`]), a peer that breaks the protocol
/// ([`Error::Protocol`]), a limit that protects memory ([`Error::TooLarge`]),
/// a call made in the wrong state ([`Error::InvalidState`]) or with bad
/// arguments ([`Error::Misuse`]), and key exchange or SecureString failures
/// ([`Error::Crypto`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from the peer that do not parse: a truncated fragment or message
    /// header, an unknown message type, a fragment out of order.
    Malformed {
        /// What was being decoded (for example "fragment", "message").
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A message body that is not valid CLIXML or lacks a property the
    /// message type requires.
    Clixml {
        /// The message or type being decoded.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The peer broke the protocol: a message that is not allowed now, a
    /// response to a call that was never made.
    Protocol(String),
    /// A length from the peer exceeds a configured bound; nothing was
    /// allocated for it.
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The size announced or reached.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A call that is not allowed in the current state of the RunspacePool
    /// or pipeline.
    InvalidState {
        /// What the caller tried to do.
        action: &'static str,
        /// The state the object is in.
        current: String,
        /// The states in which the call is allowed.
        expected: String,
    },
    /// A call with arguments that cannot work (an unknown pipeline id, a
    /// host response to a call that was not made, a size too small for a
    /// fragment).
    Misuse(String),
    /// The session key exchange or a SecureString failed.
    Crypto(String),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn clixml(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Clixml {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn state(
        action: &'static str,
        current: impl fmt::Debug,
        expected: &[&dyn fmt::Debug],
    ) -> Self {
        let expected = expected
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(" or ");
        Error::InvalidState {
            action,
            current: format!("{current:?}"),
            expected,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { what, detail } => {
                write!(f, "malformed {what} from the peer: {detail}")
            }
            Error::Clixml { what, detail } => write!(f, "invalid {what} body: {detail}"),
            Error::Protocol(detail) => write!(f, "the peer broke the PSRP protocol: {detail}"),
            Error::TooLarge { what, size, limit } => {
                write!(
                    f,
                    "{what} of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            Error::InvalidState {
                action,
                current,
                expected,
            } => write!(
                f,
                "cannot {action}: the state is {current}, it must be {expected}"
            ),
            Error::Misuse(detail) => write!(f, "invalid call: {detail}"),
            Error::Crypto(detail) => write!(f, "session key or SecureString: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
