//! The PSRP message ([MS-PSRP] 2.2.1): a 40-byte header and a CLIXML body.
//!
//! Header: Destination u32 LE, MessageType u32 LE, RPID and PID as .NET GUID
//! bytes (the first three groups little-endian), then the UTF-8 CLIXML data,
//! which may start with a byte order mark.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use uuid::Uuid;

use crate::error::{Error, Result};

/// Size of the message header before the data ([MS-PSRP] 2.2.1).
pub const HEADER_LEN: usize = 40;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Who a message is for ([MS-PSRP] 2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// `0x00000001`: sent by the server to the client.
    Client,
    /// `0x00000002`: sent by the client to the server.
    Server,
}

impl Destination {
    /// The wire value.
    pub fn value(self) -> u32 {
        match self {
            Destination::Client => 1,
            Destination::Server => 2,
        }
    }
}

macro_rules! message_types {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// The type of a PSRP message ([MS-PSRP] 2.2.1), with its wire value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum MessageType {
            $($(#[$doc])* $name = $value,)*
        }

        impl MessageType {
            /// Every message type, in the order of [MS-PSRP] 2.2.1.
            pub const ALL: &'static [MessageType] = &[$(MessageType::$name,)*];

            /// The type with this wire value.
            pub fn from_u32(value: u32) -> Option<Self> {
                match value {
                    $($value => Some(MessageType::$name),)*
                    _ => None,
                }
            }

            /// The spec's name, e.g. `SESSION_CAPABILITY`.
            pub fn name(self) -> &'static str {
                match self {
                    $(MessageType::$name => stringify!($name),)*
                }
            }
        }
    };
}

message_types! {
    /// 2.2.2.1, client and server.
    SESSION_CAPABILITY = 0x0001_0002,
    /// 2.2.2.2, client to server.
    INIT_RUNSPACEPOOL = 0x0001_0004,
    /// 2.2.2.3, client to server.
    PUBLIC_KEY = 0x0001_0005,
    /// 2.2.2.4, server to client.
    ENCRYPTED_SESSION_KEY = 0x0001_0006,
    /// 2.2.2.5, server to client.
    PUBLIC_KEY_REQUEST = 0x0001_0007,
    /// 2.2.2.29, client to server.
    CONNECT_RUNSPACEPOOL = 0x0001_0008,
    /// 2.2.2.6, client to server.
    SET_MAX_RUNSPACES = 0x0002_1002,
    /// 2.2.2.7, client to server.
    SET_MIN_RUNSPACES = 0x0002_1003,
    /// 2.2.2.8, server to client.
    RUNSPACE_AVAILABILITY = 0x0002_1004,
    /// 2.2.2.9, server to client.
    RUNSPACEPOOL_STATE = 0x0002_1005,
    /// 2.2.2.10, client to server.
    CREATE_PIPELINE = 0x0002_1006,
    /// 2.2.2.11, client to server.
    GET_AVAILABLE_RUNSPACES = 0x0002_1007,
    /// 2.2.2.12, server to client.
    USER_EVENT = 0x0002_1008,
    /// 2.2.2.13, server to client.
    APPLICATION_PRIVATE_DATA = 0x0002_1009,
    /// 2.2.2.14, client to server.
    GET_COMMAND_METADATA = 0x0002_100A,
    /// 2.2.2.30, server to client.
    RUNSPACEPOOL_INIT_DATA = 0x0002_100B,
    /// 2.2.2.31, client to server.
    RESET_RUNSPACE_STATE = 0x0002_100C,
    /// 2.2.2.15, server to client.
    RUNSPACEPOOL_HOST_CALL = 0x0002_1100,
    /// 2.2.2.16, client to server.
    RUNSPACEPOOL_HOST_RESPONSE = 0x0002_1101,
    /// 2.2.2.17, client to server.
    PIPELINE_INPUT = 0x0004_1002,
    /// 2.2.2.18, client to server.
    END_OF_PIPELINE_INPUT = 0x0004_1003,
    /// 2.2.2.19, server to client.
    PIPELINE_OUTPUT = 0x0004_1004,
    /// 2.2.2.20, server to client.
    ERROR_RECORD = 0x0004_1005,
    /// 2.2.2.21, server to client.
    PIPELINE_STATE = 0x0004_1006,
    /// 2.2.2.22, server to client.
    DEBUG_RECORD = 0x0004_1007,
    /// 2.2.2.23, server to client.
    VERBOSE_RECORD = 0x0004_1008,
    /// 2.2.2.24, server to client.
    WARNING_RECORD = 0x0004_1009,
    /// 2.2.2.25, server to client.
    PROGRESS_RECORD = 0x0004_1010,
    /// 2.2.2.26, server to client.
    INFORMATION_RECORD = 0x0004_1011,
    /// 2.2.2.27, server to client.
    PIPELINE_HOST_CALL = 0x0004_1100,
    /// 2.2.2.28, client to server.
    PIPELINE_HOST_RESPONSE = 0x0004_1101,
}

impl MessageType {
    /// The wire value.
    pub fn value(self) -> u32 {
        self as u32
    }

    /// Whether messages of this type go on the `pr` stream
    /// ([MS-PSRP] 3.1.5.3.5): host responses.
    pub fn is_prompt_response(self) -> bool {
        matches!(
            self,
            MessageType::RUNSPACEPOOL_HOST_RESPONSE | MessageType::PIPELINE_HOST_RESPONSE
        )
    }
}

impl MessageType {
    /// Whether the server sends this type ([MS-PSRP] 2.2.1 direction).
    pub fn is_from_server(self) -> bool {
        use MessageType as T;
        !matches!(
            self,
            T::INIT_RUNSPACEPOOL
                | T::PUBLIC_KEY
                | T::CONNECT_RUNSPACEPOOL
                | T::SET_MAX_RUNSPACES
                | T::SET_MIN_RUNSPACES
                | T::CREATE_PIPELINE
                | T::GET_AVAILABLE_RUNSPACES
                | T::GET_COMMAND_METADATA
                | T::RESET_RUNSPACE_STATE
                | T::RUNSPACEPOOL_HOST_RESPONSE
                | T::PIPELINE_INPUT
                | T::END_OF_PIPELINE_INPUT
                | T::PIPELINE_HOST_RESPONSE
        )
    }
}

/// One PSRP message ([MS-PSRP] 2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who the message is for.
    pub destination: Destination,
    /// What the data is.
    pub message_type: MessageType,
    /// The RunspacePool id (RPID).
    pub rpid: Uuid,
    /// The pipeline id (PID), `None` when the wire has the nil GUID.
    pub pid: Option<Uuid>,
    /// The CLIXML data, UTF-8, without a byte order mark.
    pub data: Vec<u8>,
}

impl Message {
    /// Decodes a whole reassembled message.
    pub fn decode(bytes: &[u8]) -> Result<Message> {
        Message::decode_owned(bytes.to_vec())
    }

    /// [`decode`](Self::decode) keeping the message's own buffer for its
    /// data (the header is cut off in place, no second allocation).
    pub fn decode_owned(mut bytes: Vec<u8>) -> Result<Message> {
        let head = MessageRef::decode(&bytes)?;
        let (destination, message_type, rpid, pid) =
            (head.destination, head.message_type, head.rpid, head.pid);
        let skip = bytes.len() - head.data.len();
        bytes.drain(..skip);
        Ok(Message {
            destination,
            message_type,
            rpid,
            pid,
            data: bytes,
        })
    }

    /// Encodes the message: header then data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.extend_from_slice(&self.destination.value().to_le_bytes());
        out.extend_from_slice(&self.message_type.value().to_le_bytes());
        out.extend_from_slice(&self.rpid.to_bytes_le());
        out.extend_from_slice(&self.pid.unwrap_or_default().to_bytes_le());
        out.extend_from_slice(&self.data);
        out
    }

    /// The data as text.
    pub fn data_str(&self) -> Result<&str> {
        std::str::from_utf8(&self.data).map_err(|e| {
            Error::malformed(
                "message",
                format!("{} data is not UTF-8: {e}", self.message_type.name()),
            )
        })
    }
}

/// A [`Message`] read in place: the header's fields and the data borrowed
/// from the received bytes ([MS-PSRP] 2.2.1), for a message that arrived in
/// one fragment and is decoded without being copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// Who the message is for.
    pub destination: Destination,
    /// What the data is.
    pub message_type: MessageType,
    /// The RunspacePool id (RPID).
    pub rpid: Uuid,
    /// The pipeline id (PID), `None` when the wire has the nil GUID.
    pub pid: Option<Uuid>,
    /// The CLIXML data, UTF-8, without a byte order mark.
    pub data: &'a [u8],
}

impl<'a> MessageRef<'a> {
    /// Reads a whole message's header and finds its data.
    pub fn decode(bytes: &'a [u8]) -> Result<MessageRef<'a>> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::malformed(
                "message",
                format!(
                    "{} bytes cannot hold the {HEADER_LEN}-byte header",
                    bytes.len()
                ),
            ));
        }
        let destination = match u32::from_le_bytes(bytes[0..4].try_into().expect("4")) {
            1 => Destination::Client,
            2 => Destination::Server,
            other => {
                return Err(Error::malformed(
                    "message",
                    format!("unknown destination {other:#010x}"),
                ))
            }
        };
        let raw_type = u32::from_le_bytes(bytes[4..8].try_into().expect("4"));
        let message_type = MessageType::from_u32(raw_type).ok_or_else(|| {
            Error::malformed("message", format!("unknown message type {raw_type:#010x}"))
        })?;
        let rpid = Uuid::from_bytes_le(bytes[8..24].try_into().expect("16"));
        let pid = Uuid::from_bytes_le(bytes[24..40].try_into().expect("16"));
        let data = &bytes[HEADER_LEN..];
        Ok(MessageRef {
            destination,
            message_type,
            rpid,
            pid: (!pid.is_nil()).then_some(pid),
            data: data.strip_prefix(BOM).unwrap_or(data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_are_unique_and_round_trip() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_u32(t.value()), Some(*t));
        }
        let mut values: Vec<_> = MessageType::ALL.iter().map(|t| t.value()).collect();
        values.sort();
        values.dedup();
        assert_eq!(values.len(), MessageType::ALL.len());
        assert_eq!(MessageType::ALL.len(), 31);
    }

    #[test]
    fn header_uses_dotnet_guid_bytes_and_strips_the_bom() {
        let rpid = Uuid::parse_str("76056a84-51dc-4f24-9262-ca2a55464b2b").unwrap();
        let mut raw = vec![2, 0, 0, 0, 0x02, 0x00, 0x01, 0x00];
        // .NET byte order: 84 6a 05 76 | dc 51 | 24 4f | 92 62 ...
        raw.extend_from_slice(&[
            0x84, 0x6a, 0x05, 0x76, 0xdc, 0x51, 0x24, 0x4f, 0x92, 0x62, 0xca, 0x2a, 0x55, 0x46,
            0x4b, 0x2b,
        ]);
        raw.extend_from_slice(&[0; 16]);
        raw.extend_from_slice(b"\xEF\xBB\xBF<S>x</S>");
        let m = Message::decode(&raw).unwrap();
        assert_eq!(m.destination, Destination::Server);
        assert_eq!(m.message_type, MessageType::SESSION_CAPABILITY);
        assert_eq!(m.rpid, rpid);
        assert_eq!(m.pid, None);
        assert_eq!(m.data_str().unwrap(), "<S>x</S>");
        let mut again = raw.clone();
        again.drain(40..43);
        assert_eq!(m.encode(), again);
    }

    #[test]
    fn short_or_unknown_headers_are_errors() {
        assert!(Message::decode(&[0; 39]).is_err());
        let mut raw = vec![0u8; 40];
        raw[0] = 1;
        raw[4] = 0x99;
        let err = Message::decode(&raw).unwrap_err();
        assert!(err.to_string().contains("unknown message type"), "{err}");
    }
}
