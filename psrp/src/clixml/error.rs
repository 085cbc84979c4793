//! The one error type of CLIXML parsing.
use std::fmt;

/// Why a CLIXML document could not be read ([MS-PSRP] 2.2.5), with the byte
/// offset in the input where it was noticed.
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    // Boxed so that `Result<Value, Error>` stays small on the hot path.
    inner: Box<(ErrorKind, u64)>,
}

/// The category of a CLIXML [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not well-formed XML (or not UTF-8).
    Xml(String),
    /// The XML is well-formed but not CLIXML: an unknown element, a
    /// misplaced or missing one, a missing attribute.
    Structure(String),
    /// A primitive's text is not valid for its type, for example `<I32>x</I32>`.
    InvalidValue {
        /// The element, e.g. `I32`.
        element: String,
        /// What was wrong.
        message: String,
    },
    /// `<Ref RefId>` or `<TNRef RefId>` names an id not defined before it.
    UnknownRef(String),
    /// The input exceeds a [`Limits`](super::Limits) bound (depth, element
    /// count, reference expansion); hostile or unreasonable input.
    LimitExceeded(String),
    /// A `<!DOCTYPE>`: refused, because CLIXML never has one and it is how
    /// entity-expansion attacks start.
    DocType,
    /// The document ended before the value was complete, or had no value.
    UnexpectedEof,
    /// More than one value where one was expected ([`from_str`](super::from_str)).
    TrailingContent,
}

impl Error {
    /// An error of `kind` noticed at byte `position` of the input.
    pub(crate) fn new(kind: ErrorKind, position: u64) -> Self {
        Error {
            inner: Box::new((kind, position)),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.0
    }

    /// The byte offset in the input where the problem was noticed.
    pub fn position(&self) -> u64 {
        self.inner.1
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Xml(m) => write!(f, "malformed XML: {m}"),
            ErrorKind::Structure(m) => write!(f, "not valid CLIXML: {m}"),
            ErrorKind::InvalidValue { element, message } => {
                write!(f, "invalid <{element}> value: {message}")
            }
            ErrorKind::UnknownRef(id) => write!(f, "reference to undefined RefId {id:?}"),
            ErrorKind::LimitExceeded(m) => write!(f, "limit exceeded: {m}"),
            ErrorKind::DocType => f.write_str("DOCTYPE is not allowed in CLIXML"),
            ErrorKind::UnexpectedEof => f.write_str("unexpected end of document"),
            ErrorKind::TrailingContent => f.write_str("more than one value in the document"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CLIXML: {} at byte {}", self.inner.0, self.inner.1)
    }
}

impl std::error::Error for Error {}
