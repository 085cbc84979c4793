//! Pipeline input written straight into its message ([MS-PSRP] 3.1.4.5):
//! a file copy's chunks, base64 text of hundreds of KB each, go from the
//! caller's bytes into the PIPELINE_INPUT message in one pass, in a buffer
//! the packer reuses, instead of through a `String`, a [`Value`], its
//! CLIXML and the message, each a copy in fresh memory.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use uuid::Uuid;

use super::RunspacePool;
use crate::error::Result;
use crate::fragment::Stream;
use crate::message::{Destination, Message, MessageType};

#[cfg(doc)]
use crate::clixml::Value;

impl RunspacePool {
    /// Sends one input object, the string that is the base64 of `bytes`
    /// ([MS-PSRP] 3.1.4.5, 2.2.5.1.1): the same message as
    /// [`send_input`](Self::send_input) of that [`Value::String`], with the
    /// base64 encoded straight into the message (base64 text needs no
    /// CLIXML escaping).
    pub fn send_input_base64(&mut self, pipeline_id: Uuid, bytes: &[u8]) -> Result<()> {
        self.check_input_open(pipeline_id)?;
        let mut data = self.packer.buffer();
        let text_len = base64_simd::STANDARD.encoded_length(bytes.len());
        data.reserve(crate::message::HEADER_LEN + text_len + 7);
        // the header alone (the message without data), then the data after it
        let header = Message {
            destination: Destination::Server,
            message_type: MessageType::PIPELINE_INPUT,
            rpid: self.id,
            pid: Some(pipeline_id),
            data: Vec::new(),
        }
        .encode();
        data.extend_from_slice(&header);
        if bytes.is_empty() {
            // as the serializer writes an empty string
            data.extend_from_slice(b"<S />");
        } else {
            data.extend_from_slice(b"<S>");
            base64_simd::STANDARD.encode_append(bytes, &mut data);
            data.extend_from_slice(b"</S>");
        }
        self.packer.push(data, Stream::Default, Some(pipeline_id));
        Ok(())
    }

    /// Gives back the buffer of a packet ([`crate::fragment::Outgoing::data`])
    /// once it was sent, to be reused for the next messages and packets.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.packer.recycle(buf);
    }
}
