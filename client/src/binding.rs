//! PSRP carried over WS-Management ([MS-PSRP] 3.1.5.3 and 3.1.5.4), the
//! rules only, without I/O: how big a PSRP packet may be inside an envelope,
//! which envelope size a host takes before and after its protocol version is
//! known, which WS-Man stream a packet goes on, the CommandId of each
//! pipeline. The session layer drives it; it is tested here without HTTP.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use psrp::messages::SessionCapability;
use psrp::Stream;
use uuid::Uuid;

/// The PSRP protocol version announced in SESSION_CAPABILITY and in the
/// Create / Connect `protocolversion` option ([MS-PSRP] 3.1.5.3.1).
pub const PROTOCOL_VERSION: &str = SessionCapability::PROTOCOL_VERSION;

/// The largest envelope a PowerShell 2 host (protocol 2.1, WinRM 2.0)
/// takes: 150 KiB ([MS-PSRP] 3.1.4.1). Used until the host's
/// SESSION_CAPABILITY says it is newer, as PowerShell does.
pub const PS2_MAX_ENVELOPE: u32 = 153_600;

/// What a Send or Command envelope needs besides its base64 payload:
/// SOAP headers (addressing, selectors, options, locale) and body framing.
pub const SOAP_OVERHEAD: usize = 4096;

/// The BOM before CLIXML in a message's data ([MS-PSRP] 2.2.1).
const BOM_LEN: usize = 3;

/// `<S></S>` around a string input object.
const STRING_ELEMENT_LEN: usize = 7;

/// Room kept for what the serializer may add around a string input object
/// (a reference id, white space).
const STRING_SLACK: usize = 64;

/// The envelope size to use with a host: the configured MaxEnvelopeSize
/// once the host speaks protocol 2.2 or later, at most
/// [`PS2_MAX_ENVELOPE`] before that or for an older host
/// ([MS-WSMV] 2.2.4.19).
pub fn envelope_size(configured: u32, their_protocol: Option<(u32, u32)>) -> u32 {
    match their_protocol {
        Some(v) if v >= (2, 2) => configured,
        _ => configured.min(PS2_MAX_ENVELOPE),
    }
}

/// The largest PSRP packet (fragments, before base64) that fits in one
/// envelope of `max_envelope` bytes with room for the SOAP around it.
pub fn max_packet(max_envelope: u32) -> usize {
    let room = (max_envelope as usize)
        .saturating_sub(SOAP_OVERHEAD)
        .max(SOAP_OVERHEAD);
    room / 4 * 3
}

/// The longest ASCII text (base64, for instance) one string input object
/// may hold so that its PIPELINE_INPUT message is a single fragment of one
/// packet: the packet less the fragment header ([MS-PSRP] 2.2.4), the
/// message header ([MS-PSRP] 2.2.1), the BOM and `<S></S>`.
pub fn max_string_input(max_envelope: u32) -> usize {
    max_packet(max_envelope).saturating_sub(
        psrp::fragment::HEADER_LEN
            + psrp::message::HEADER_LEN
            + BOM_LEN
            + STRING_ELEMENT_LEN
            + STRING_SLACK,
    )
}

/// The WS-Man stream a packet is sent on: `stdin` for data, `pr` for host
/// responses ([MS-PSRP] 3.1.5.3.5).
pub fn send_stream(stream: Stream) -> &'static str {
    stream.wsman_name()
}

/// The WS-Man stream every PSRP answer arrives on ([MS-PSRP] 3.1.5.3.7).
pub const RECEIVE_STREAM: &str = "stdout";

/// A ShellId or CommandId as Windows writes GUIDs: upper case, hyphenated.
pub fn guid_text(id: Uuid) -> String {
    id.hyphenated()
        .encode_upper(&mut Uuid::encode_buffer())
        .to_string()
}

/// The CommandIds of a pool's pipelines. A pipeline's CommandId is its id
/// (PID), unless the host chose another: WinRM 2.0 ignores the client's
/// `CommandId` attribute ([MS-PSRP] 3.1.5.3.3).
#[derive(Debug, Default, Clone)]
pub struct CommandIds {
    chosen_by_host: Vec<(Uuid, String)>,
}

impl CommandIds {
    /// Records the CommandId the host answered for pipeline `id`.
    pub fn record(&mut self, id: Uuid, answered: &str) {
        if !answered.is_empty() && !answered.eq_ignore_ascii_case(&guid_text(id)) {
            self.chosen_by_host.push((id, answered.to_string()));
        }
    }

    /// The CommandId of pipeline `id`.
    pub fn get(&self, id: Uuid) -> String {
        self.chosen_by_host
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| guid_text(id))
    }

    /// Forgets pipeline `id` (it was released on the host).
    pub fn forget(&mut self, id: Uuid) {
        self.chosen_by_host.retain(|(p, _)| *p != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_stays_small_until_the_host_is_known_to_be_newer() {
        assert_eq!(envelope_size(512_000, None), PS2_MAX_ENVELOPE);
        assert_eq!(envelope_size(512_000, Some((2, 1))), PS2_MAX_ENVELOPE);
        assert_eq!(envelope_size(512_000, Some((2, 2))), 512_000);
        assert_eq!(envelope_size(100_000, Some((2, 3))), 100_000);
        assert_eq!(envelope_size(100_000, None), 100_000);
    }

    #[test]
    fn a_packet_and_a_string_input_fit_their_envelope() {
        for envelope in [PS2_MAX_ENVELOPE, 512_000, 8_192, 0] {
            let packet = max_packet(envelope);
            // base64 of the packet plus the SOAP fits the envelope (the
            // smallest sizes get at least SOAP_OVERHEAD of payload).
            assert!(
                packet.div_ceil(3) * 4 + SOAP_OVERHEAD
                    <= (envelope as usize).max(2 * SOAP_OVERHEAD)
            );
            let text = max_string_input(envelope);
            let message = psrp::message::HEADER_LEN + BOM_LEN + STRING_ELEMENT_LEN + text;
            assert!(psrp::fragment::HEADER_LEN + message <= packet, "{envelope}");
            // and not wastefully small
            assert!(psrp::fragment::HEADER_LEN + message + 2 * STRING_SLACK > packet);
        }
    }

    #[test]
    fn streams_and_command_ids() {
        assert_eq!(send_stream(Stream::Default), "stdin");
        assert_eq!(send_stream(Stream::PromptResponse), "pr");
        let id = Uuid::parse_str("0b2a2c5a-8f7e-4e8a-9d2b-3c4d5e6f7a8b").unwrap();
        let mut ids = CommandIds::default();
        assert_eq!(ids.get(id), "0B2A2C5A-8F7E-4E8A-9D2B-3C4D5E6F7A8B");
        ids.record(id, "0b2a2c5a-8f7e-4e8a-9d2b-3c4d5e6f7a8b");
        assert_eq!(ids.get(id), "0B2A2C5A-8F7E-4E8A-9D2B-3C4D5E6F7A8B");
        ids.record(id, "1111");
        assert_eq!(ids.get(id), "1111");
        ids.forget(id);
        assert_eq!(ids.get(id), "0B2A2C5A-8F7E-4E8A-9D2B-3C4D5E6F7A8B");
    }
}
