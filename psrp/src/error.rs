//! The one error type of the crate.

use std::fmt;

use crate::clixml;

/// Everything that can go wrong in the protocol engine.
///
/// Variants are categories: bad bytes or CLIXML from the peer
/// ([`Error::Malformed`], [`Error::Clixml`]), a peer that breaks the protocol
/// ([`Error::Protocol`]), a limit that protects memory ([`Error::TooLarge`]),
/// a call made in the wrong state ([`Error::InvalidState`]) or with bad
/// arguments ([`Error::Misuse`]), and key exchange or SecureString failures
/// ([`Error::Crypto`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from the peer that do not parse: a truncated fragment or message
    /// header, an unknown message type, a fragment out of order.
    #[error("malformed {what} from the peer: {detail}")]
    Malformed {
        /// What was being decoded (for example "fragment", "message").
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A message body that is not CLIXML at all; the CLIXML error (its
    /// kind and byte offset) is the source.
    #[error("invalid {what} body: {source}")]
    Decode {
        /// The message being decoded.
        what: &'static str,
        /// Why the CLIXML parser refused it.
        source: clixml::Error,
    },
    /// A message body that is valid CLIXML but lacks a property the message
    /// type requires, or holds one of the wrong type.
    #[error("invalid {what} body: {detail}")]
    Clixml {
        /// The message or type being decoded.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The peer broke the protocol: a message that is not allowed now, a
    /// response to a call that was never made.
    #[error("the peer broke the PSRP protocol: {0}")]
    Protocol(String),
    /// A length from the peer exceeds a configured bound; nothing was
    /// allocated for it.
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
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
    #[error("cannot {action}: the state is {current}, it must be {expected}")]
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
    #[error("invalid call: {0}")]
    Misuse(String),
    /// The session key exchange or a SecureString failed.
    #[error("session key or SecureString: {0}")]
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

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
