//! NTLM message encoding ([MS-NLMP] 2.2.1): NEGOTIATE_MESSAGE,
//! CHALLENGE_MESSAGE, AUTHENTICATE_MESSAGE, and the AV_PAIR list of the
//! target info ([MS-NLMP] 2.2.2.1).
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
use super::flags;
use crate::{Error, Result};

/// `"NTLMSSP\0"`, the first 8 bytes of every NTLM message.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// The VERSION structure ([MS-NLMP] 2.2.2.10) we send: Windows 10.0
/// build 19041, NTLMSSP_REVISION_W2K3 (15).
pub const VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 15];

/// AV_PAIR AvId values ([MS-NLMP] 2.2.2.1).
pub mod av {
    /// MsvAvEOL: end of the list.
    pub const EOL: u16 = 0;
    /// MsvAvNbComputerName.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// MsvAvNbDomainName.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// MsvAvDnsComputerName.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// MsvAvDnsDomainName.
    pub const DNS_DOMAIN_NAME: u16 = 4;
    /// MsvAvFlags (u32; 0x2 = the AUTHENTICATE message carries a MIC).
    pub const FLAGS: u16 = 6;
    /// MsvAvTimestamp (FILETIME).
    pub const TIMESTAMP: u16 = 7;
    /// MsvAvTargetName (the SPN, UTF-16LE).
    pub const TARGET_NAME: u16 = 9;
    /// MsvAvChannelBindings (MD5 of gss_channel_bindings_struct).
    pub const CHANNEL_BINDINGS: u16 = 10;
    /// MsvAvFlags bit: MIC present.
    pub const FLAG_MIC: u32 = 0x2;
}

/// An ordered AV_PAIR list, without its MsvAvEOL terminator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvPairs(pub Vec<(u16, Vec<u8>)>);

impl AvPairs {
    /// Parses an AV_PAIR list; stops at MsvAvEOL (or the end of the buffer).
    pub fn parse(mut b: &[u8]) -> Result<AvPairs> {
        let mut out = Vec::new();
        while b.len() >= 4 {
            let id = u16::from_le_bytes([b[0], b[1]]);
            let len = u16::from_le_bytes([b[2], b[3]]) as usize;
            if id == av::EOL {
                return Ok(AvPairs(out));
            }
            let v = b
                .get(4..4 + len)
                .ok_or_else(|| bad("AV_PAIR runs past the target info"))?;
            out.push((id, v.to_vec()));
            b = &b[4 + len..];
        }
        if b.is_empty() {
            Ok(AvPairs(out))
        } else {
            Err(bad("truncated AV_PAIR in the target info"))
        }
    }

    /// The value of the first pair with this id.
    pub fn get(&self, id: u16) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }

    /// Replaces the value of `id`, or appends it.
    pub fn set(&mut self, id: u16, value: Vec<u8>) {
        match self.0.iter_mut().find(|(i, _)| *i == id) {
            Some(pair) => pair.1 = value,
            None => self.0.push((id, value)),
        }
    }

    /// The encoded list, terminated by MsvAvEOL.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, v) in &self.0 {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&[0, 0, 0, 0]);
        out
    }
}

fn bad(what: &str) -> Error {
    Error::Protocol {
        message: format!("malformed NTLM message: {what}"),
    }
}

/// Reads a (Len u16, MaxLen u16, Offset u32) field descriptor at `at` and
/// returns the bytes it points to within `msg`.
fn field<'a>(msg: &'a [u8], at: usize, name: &str) -> Result<&'a [u8]> {
    let d = msg.get(at..at + 8).ok_or_else(|| bad(name))?;
    let len = u16::from_le_bytes([d[0], d[1]]) as usize;
    let off = u32::from_le_bytes([d[4], d[5], d[6], d[7]]) as usize;
    if len == 0 {
        return Ok(&[]);
    }
    msg.get(off..off.checked_add(len).ok_or_else(|| bad(name))?)
        .ok_or_else(|| bad(&format!("{name} points outside the message")))
}

fn check_header(msg: &[u8], ty: u32, min: usize) -> Result<()> {
    if msg.len() < min || &msg[..8] != SIGNATURE {
        return Err(bad("not an NTLMSSP message"));
    }
    let got = u32::from_le_bytes([msg[8], msg[9], msg[10], msg[11]]);
    if got != ty {
        return Err(bad(&format!("expected message type {ty}, got {got}")));
    }
    Ok(())
}

/// NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1) with no domain or workstation
/// supplied, and the VERSION.
pub fn negotiate(flags: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(40);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&[0; 16]); // DomainNameFields, WorkstationFields
    m.extend_from_slice(&VERSION);
    m
}

/// The parts of a NEGOTIATE_MESSAGE a reader cares about.
#[derive(Debug)]
pub struct Negotiate {
    /// NegotiateFlags.
    pub flags: u32,
}

/// Parses a NEGOTIATE_MESSAGE.
pub fn parse_negotiate(msg: &[u8]) -> Result<Negotiate> {
    check_header(msg, 1, 16)?;
    Ok(Negotiate {
        flags: u32::from_le_bytes([msg[12], msg[13], msg[14], msg[15]]),
    })
}

/// A parsed CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2).
#[derive(Debug, Clone)]
pub struct Challenge {
    /// NegotiateFlags chosen by the server.
    pub flags: u32,
    /// The 8-byte ServerChallenge.
    pub server_challenge: [u8; 8],
    /// TargetName (UTF-16LE when NEGOTIATE_UNICODE), raw.
    pub target_name: Vec<u8>,
    /// The target info AV_PAIRs.
    pub target_info: AvPairs,
}

/// Parses a CHALLENGE_MESSAGE.
pub fn parse_challenge(msg: &[u8]) -> Result<Challenge> {
    check_header(msg, 2, 32)?;
    let target_name = field(msg, 12, "TargetNameFields")?.to_vec();
    let flags = u32::from_le_bytes([msg[20], msg[21], msg[22], msg[23]]);
    let mut server_challenge = [0u8; 8];
    server_challenge.copy_from_slice(&msg[24..32]);
    let target_info = if msg.len() >= 48 && flags & flags::NEGOTIATE_TARGET_INFO != 0 {
        AvPairs::parse(field(msg, 40, "TargetInfoFields")?)?
    } else {
        AvPairs::default()
    };
    Ok(Challenge {
        flags,
        server_challenge,
        target_name,
        target_info,
    })
}

/// The payload fields of an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3).
#[derive(Debug, Default, Clone)]
pub struct Authenticate {
    /// LmChallengeResponse.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse.
    pub nt_response: Vec<u8>,
    /// DomainName (UTF-16LE).
    pub domain: Vec<u8>,
    /// UserName (UTF-16LE).
    pub user: Vec<u8>,
    /// Workstation (UTF-16LE).
    pub workstation: Vec<u8>,
    /// EncryptedRandomSessionKey.
    pub encrypted_session_key: Vec<u8>,
    /// NegotiateFlags.
    pub flags: u32,
    /// The MIC (zero until computed), present when `Some`.
    pub mic: Option<[u8; 16]>,
}

/// Offset of the MIC in an AUTHENTICATE_MESSAGE with VERSION and MIC.
pub const MIC_OFFSET: usize = 72;

impl Authenticate {
    /// Encodes the message: 64-byte header, VERSION, MIC (when present),
    /// then the payload in field order.
    pub fn encode(&self) -> Vec<u8> {
        let fixed = 64 + 8 + if self.mic.is_some() { 16 } else { 0 };
        let parts: [&[u8]; 6] = [
            &self.lm_response,
            &self.nt_response,
            &self.domain,
            &self.user,
            &self.workstation,
            &self.encrypted_session_key,
        ];
        let mut m = Vec::with_capacity(fixed + parts.iter().map(|p| p.len()).sum::<usize>());
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&3u32.to_le_bytes());
        let mut off = fixed;
        for p in parts {
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&(off as u32).to_le_bytes());
            off += p.len();
        }
        m.extend_from_slice(&self.flags.to_le_bytes());
        m.extend_from_slice(&VERSION);
        if let Some(mic) = &self.mic {
            m.extend_from_slice(mic);
        }
        for p in parts {
            m.extend_from_slice(p);
        }
        m
    }

    /// Parses an AUTHENTICATE_MESSAGE (used for tests and diagnostics). The
    /// MIC is read when the payload starts at or after its offset.
    pub fn parse(msg: &[u8]) -> Result<Authenticate> {
        check_header(msg, 3, 64)?;
        let first_payload = (0..6)
            .filter_map(|i| {
                let d = &msg[12 + i * 8..20 + i * 8];
                let len = u16::from_le_bytes([d[0], d[1]]);
                (len > 0).then(|| u32::from_le_bytes([d[4], d[5], d[6], d[7]]) as usize)
            })
            .min()
            .unwrap_or(msg.len());
        let mic = if first_payload >= MIC_OFFSET + 16 && msg.len() >= MIC_OFFSET + 16 {
            let mut mic = [0u8; 16];
            mic.copy_from_slice(&msg[MIC_OFFSET..MIC_OFFSET + 16]);
            Some(mic)
        } else {
            None
        };
        Ok(Authenticate {
            lm_response: field(msg, 12, "LmChallengeResponseFields")?.to_vec(),
            nt_response: field(msg, 20, "NtChallengeResponseFields")?.to_vec(),
            domain: field(msg, 28, "DomainNameFields")?.to_vec(),
            user: field(msg, 36, "UserNameFields")?.to_vec(),
            workstation: field(msg, 44, "WorkstationFields")?.to_vec(),
            encrypted_session_key: field(msg, 52, "EncryptedRandomSessionKeyFields")?.to_vec(),
            flags: u32::from_le_bytes([msg[60], msg[61], msg[62], msg[63]]),
            mic,
        })
    }
}

/// Decodes a UTF-16LE field for display.
pub fn from_utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}
