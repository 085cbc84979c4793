//! NTLMv2 ([MS-NLMP]) as a WinRM client uses it: NEGOTIATE → CHALLENGE →
//! AUTHENTICATE with MIC, MsvAvTargetName and MsvAvChannelBindings, key
//! exchange, then SEAL/UNSEAL of every body with RC4 and sequence numbers.
//! The tokens travel raw under the `Negotiate` HTTP scheme, as Windows and
//! pypsrp send them ([MS-WSMV] 3.1.4.1.30.1 "HTTP-SPNEGO-session-encrypted").
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
pub mod crypto;
mod md5_rc4;
pub mod messages;
pub mod sign;

use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use self::crypto::{Direction, Key16};
use self::messages::{av, Authenticate, Challenge};
use super::{channel_bindings, Credentials, Secret, SecurityContext};
use crate::{Error, Result};

/// NegotiateFlags bits ([MS-NLMP] 2.2.2.5).
pub mod flags {
    /// NTLMSSP_NEGOTIATE_UNICODE (A).
    pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    /// NTLM_NEGOTIATE_OEM (B).
    pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
    /// NTLMSSP_REQUEST_TARGET (C).
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// NTLMSSP_NEGOTIATE_SIGN (D).
    pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
    /// NTLMSSP_NEGOTIATE_SEAL (E).
    pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
    /// NTLMSSP_NEGOTIATE_NTLM (H).
    pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
    /// NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M).
    pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P).
    pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// NTLMSSP_NEGOTIATE_TARGET_INFO (S).
    pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
    /// NTLMSSP_NEGOTIATE_VERSION (T).
    pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
    /// NTLMSSP_NEGOTIATE_128 (U).
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
    /// NTLMSSP_NEGOTIATE_KEY_EXCH (V).
    pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
    /// NTLMSSP_NEGOTIATE_56 (W).
    pub const NEGOTIATE_56: u32 = 0x8000_0000;

    /// What we ask for in the NEGOTIATE_MESSAGE: what a Windows client asks
    /// for when it needs sealing.
    pub const CLIENT: u32 = NEGOTIATE_56
        | NEGOTIATE_KEY_EXCH
        | NEGOTIATE_128
        | NEGOTIATE_VERSION
        | NEGOTIATE_TARGET_INFO
        | NEGOTIATE_EXTENDED_SESSIONSECURITY
        | NEGOTIATE_ALWAYS_SIGN
        | NEGOTIATE_NTLM
        | NEGOTIATE_SEAL
        | NEGOTIATE_SIGN
        | REQUEST_TARGET
        | NEGOTIATE_OEM
        | NEGOTIATE_UNICODE;
}

/// The keys and RC4 states of an established NTLM session ([MS-NLMP] 3.4).
pub struct Session {
    /// Negotiated flags (those of the AUTHENTICATE_MESSAGE).
    pub flags: u32,
    out: Direction,
    inbound: Direction,
}

impl Session {
    /// Session security from the ExportedSessionKey, client side.
    pub fn client(exported: &[u8; 16], flags: u32) -> Session {
        Session {
            flags,
            out: Direction::new(exported, flags, true),
            inbound: Direction::new(exported, flags, false),
        }
    }

    /// Seals one message client → server: (signature, sealed bytes).
    pub fn seal(&mut self, plaintext: &[u8]) -> ([u8; 16], Vec<u8>) {
        self.out.seal(plaintext)
    }

    /// Session security from the ExportedSessionKey, server side (what a
    /// host derives from the AUTHENTICATE_MESSAGE): its outbound direction
    /// is the client's inbound one. For test and benchmark hosts.
    pub fn server(exported: &[u8; 16], flags: u32) -> Session {
        Session {
            flags,
            out: Direction::new(exported, flags, false),
            inbound: Direction::new(exported, flags, true),
        }
    }

    /// Seals `message` in place (no copy); returns the signature.
    pub fn seal_in_place(&mut self, message: &mut [u8]) -> [u8; 16] {
        self.out.seal_in_place(message)
    }

    /// Unseals one message server → client and checks its signature.
    pub fn unseal(&mut self, signature: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        self.inbound
            .unseal(signature, sealed)
            .ok_or_else(bad_signature)
    }

    /// [`unseal`](Self::unseal) in place: `data` holds the plaintext when
    /// this returns `Ok`.
    pub fn unseal_in_place(&mut self, signature: &[u8], data: &mut [u8]) -> Result<()> {
        if self.inbound.unseal_in_place(signature, data) {
            Ok(())
        } else {
            Err(bad_signature())
        }
    }
}

fn bad_signature() -> Error {
    Error::Protocol {
        message: "NTLM signature of the sealed message from the host is wrong \
                  (tampered, out of order, or not for this session)"
            .into(),
    }
}

/// What the client-side computation of an AUTHENTICATE_MESSAGE needs that is
/// normally random or from the clock; fixed in tests.
pub struct Randomness {
    /// The 8-byte ClientChallenge.
    pub client_challenge: [u8; 8],
    /// The RandomSessionKey used with NEGOTIATE_KEY_EXCH.
    pub session_key: Key16,
    /// FILETIME to use when the challenge carries no MsvAvTimestamp.
    pub now: u64,
}

impl Randomness {
    /// Fresh values from the OS RNG and clock.
    pub fn fresh() -> Result<Randomness> {
        let mut client_challenge = [0u8; 8];
        let mut session_key = Zeroizing::new([0u8; 16]);
        getrandom::getrandom(&mut client_challenge)
            .and_then(|_| getrandom::getrandom(&mut session_key[..]))
            .map_err(|e| Error::Authentication {
                message: format!("no random numbers for NTLM: {e}"),
            })?;
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() / 100)
            .unwrap_or(0) as u64;
        Ok(Randomness {
            client_challenge,
            session_key,
            now: unix + 116_444_736_000_000_000,
        })
    }
}

/// The inputs of the AUTHENTICATE_MESSAGE that come from the caller.
pub struct ClientIdentity<'a> {
    /// UserName.
    pub user: &'a str,
    /// UserDom.
    pub domain: &'a str,
    /// NTOWFv1 of the password.
    pub nt_hash: &'a [u8; 16],
    /// The SPN for MsvAvTargetName (`HTTP/host`).
    pub spn: &'a str,
    /// Application data of the channel bindings, if any.
    pub channel_bindings: Option<&'a [u8]>,
}

/// Builds the AUTHENTICATE_MESSAGE for `challenge` ([MS-NLMP] 3.1.5.1.2):
/// returns the message and the session security it establishes.
pub fn authenticate(
    id: &ClientIdentity<'_>,
    negotiate_msg: &[u8],
    challenge_msg: &[u8],
    challenge: &Challenge,
    rnd: &Randomness,
) -> Result<(Vec<u8>, Session)> {
    let negotiated = (challenge.flags & flags::CLIENT) | flags::NEGOTIATE_UNICODE;
    let negotiated = negotiated & !flags::NEGOTIATE_OEM;
    if negotiated & flags::NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
        return Err(Error::Authentication {
            message: "the host does not offer NTLM extended session security; NTLMv1-era \
                      session security is not supported"
                .into(),
        });
    }
    let mut info = challenge.target_info.clone();
    let timestamp = info.get(av::TIMESTAMP).and_then(|t| {
        let b: [u8; 8] = t.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    });
    let with_mic = timestamp.is_some();
    if with_mic {
        let flags_now = info
            .get(av::FLAGS)
            .and_then(|f| f.try_into().ok().map(u32::from_le_bytes))
            .unwrap_or(0);
        info.set(av::FLAGS, (flags_now | av::FLAG_MIC).to_le_bytes().to_vec());
    }
    let cb = match id.channel_bindings {
        Some(app) => channel_bindings::ntlm_channel_bindings_hash(app),
        None => [0u8; 16],
    };
    info.set(av::CHANNEL_BINDINGS, cb.to_vec());
    info.set(av::TARGET_NAME, crypto::utf16le(id.spn));

    let key = crypto::ntowf_v2(id.nt_hash, id.user, id.domain);
    let time = timestamp.unwrap_or(rnd.now);
    let resp = crypto::compute_response_v2(
        &key,
        &challenge.server_challenge,
        &rnd.client_challenge,
        time,
        &info.encode(),
    );
    // NTLMv2: KeyExchangeKey = SessionBaseKey ([MS-NLMP] 3.4.5.1).
    let (exported, encrypted_session_key) = if negotiated & flags::NEGOTIATE_KEY_EXCH != 0 {
        let enc = crypto::rc4k(&resp.session_base_key, &rnd.session_key[..]);
        (rnd.session_key.clone(), enc)
    } else {
        (resp.session_base_key.clone(), Vec::new())
    };
    let mut msg = Authenticate {
        lm_response: if with_mic {
            vec![0; 24]
        } else {
            resp.lm_response
        },
        nt_response: resp.nt_response,
        domain: crypto::utf16le(id.domain),
        user: crypto::utf16le(id.user),
        workstation: Vec::new(),
        encrypted_session_key,
        flags: negotiated,
        mic: Some([0; 16]),
    }
    .encode();
    if with_mic {
        let mic = crypto::hmac_md5(&exported[..], &[negotiate_msg, challenge_msg, &msg]);
        msg[messages::MIC_OFFSET..messages::MIC_OFFSET + 16].copy_from_slice(&mic);
    }
    Ok((msg, Session::client(&exported, negotiated)))
}

/// The UserName, UserDom and NT hash NTLM sends for `creds` (a password or
/// an NT hash; `user@dns.domain` goes whole as a UPN, as Windows sends it).
pub(crate) fn identity_of(creds: &Credentials) -> Result<(String, String, Key16)> {
    let nt_hash = match &creds.secret {
        Secret::Password(p) => crypto::nt_hash(p),
        Secret::NtHash(h) => Zeroizing::new(**h),
        Secret::None => {
            return Err(Error::Config {
                message: format!(
                    "NTLM for {} needs a password or an NT hash",
                    creds.display_name()
                ),
            })
        }
    };
    // A DNS-style domain (from `user@example.com`) means a UPN: Windows
    // sends it whole as the UserName with an empty DomainName.
    let (user, domain) = match &creds.domain {
        Some(d) if d.contains('.') => (format!("{}@{}", creds.username, d), String::new()),
        Some(d) => (creds.username.clone(), d.clone()),
        None => (creds.username.clone(), String::new()),
    };
    Ok((user, domain, nt_hash))
}

enum State {
    Initial,
    SentNegotiate(Vec<u8>),
    Complete(Box<Session>),
    Failed,
}

/// An NTLM client security context for one connection.
pub struct NtlmContext {
    user: String,
    domain: String,
    nt_hash: Key16,
    spn: String,
    channel_bindings: Option<Vec<u8>>,
    state: State,
}

impl NtlmContext {
    /// A context for `creds` (a password or an NT hash) talking to the
    /// service `spn` (`HTTP/host`, sent as MsvAvTargetName).
    pub fn new(
        creds: &Credentials,
        spn: &str,
        channel_bindings: Option<&[u8]>,
    ) -> Result<NtlmContext> {
        let (user, domain, nt_hash) = identity_of(creds)?;
        Ok(NtlmContext {
            user,
            domain,
            nt_hash,
            spn: spn.to_string(),
            channel_bindings: channel_bindings.map(<[u8]>::to_vec),
            state: State::Initial,
        })
    }

    fn refused(&self, why: &str) -> Error {
        let who = if self.domain.is_empty() {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        };
        Error::Authentication {
            message: format!(
                "NTLM authentication as {who} for {} failed: {why}",
                self.spn
            ),
        }
    }
}

impl SecurityContext for NtlmContext {
    fn http_scheme(&self) -> &'static str {
        "Negotiate"
    }

    /// First call (`None`): the NEGOTIATE_MESSAGE. Second call (the
    /// CHALLENGE_MESSAGE): the AUTHENTICATE_MESSAGE, after which the context
    /// is complete. `None` after the first leg means the host answered
    /// without a challenge: an authentication error.
    fn step(&mut self, server_token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        match (
            std::mem::replace(&mut self.state, State::Failed),
            server_token,
        ) {
            (State::Initial, _) => {
                let msg = messages::negotiate(flags::CLIENT);
                self.state = State::SentNegotiate(msg.clone());
                Ok(Some(msg))
            }
            (State::SentNegotiate(neg), Some(tok)) => {
                let challenge = messages::parse_challenge(tok)?;
                let id = ClientIdentity {
                    user: &self.user,
                    domain: &self.domain,
                    nt_hash: &self.nt_hash,
                    spn: &self.spn,
                    channel_bindings: self.channel_bindings.as_deref(),
                };
                let (msg, session) =
                    authenticate(&id, &neg, tok, &challenge, &Randomness::fresh()?)?;
                self.state = State::Complete(Box::new(session));
                Ok(Some(msg))
            }
            (State::SentNegotiate(_), None) => {
                Err(self.refused("the host sent no CHALLENGE_MESSAGE"))
            }
            (State::Complete(s), None) => {
                self.state = State::Complete(s);
                Ok(None)
            }
            // NTLM has no fourth leg; a token some hosts attach to the final
            // answer carries nothing for us.
            (State::Complete(s), Some(_)) => {
                self.state = State::Complete(s);
                Ok(None)
            }
            (State::Failed, _) => Err(self.refused("the context failed earlier")),
        }
    }

    fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete(_))
    }

    fn encryption_protocol(&self) -> Option<&'static str> {
        Some("application/HTTP-SPNEGO-session-encrypted")
    }

    fn wrap_winrm(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let session = session_for_sealing(&mut self.state)?;
        let (sig, data) = session.seal(plaintext);
        Ok((sig.to_vec(), data))
    }

    fn unwrap_winrm(&mut self, header: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        let mut out = data.to_vec();
        let n = self.unwrap_winrm_in_place(header, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    fn wrap_winrm_into(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let session = session_for_sealing(&mut self.state)?;
        out.extend_from_slice(&16u32.to_le_bytes());
        let sig_at = out.len();
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(plaintext);
        let sig = session.seal_in_place(&mut out[sig_at + 16..]);
        out[sig_at..sig_at + 16].copy_from_slice(&sig);
        Ok(())
    }

    /// Unseals in place (RC4 over the received bytes, no copy).
    fn unwrap_winrm_in_place(&mut self, header: &[u8], data: &mut [u8]) -> Result<usize> {
        if header.len() != 16 {
            return Err(Error::Protocol {
                message: format!(
                    "NTLM signature of a sealed message must be 16 bytes, got {}",
                    header.len()
                ),
            });
        }
        session_for_sealing(&mut self.state)?.unseal_in_place(header, data)?;
        Ok(data.len())
    }
}

impl NtlmContext {
    /// A context whose handshake was done elsewhere: `session` is already
    /// established (benchmarks and test hosts that know the keys).
    pub fn established(session: Session, spn: &str) -> NtlmContext {
        NtlmContext {
            user: String::new(),
            domain: String::new(),
            nt_hash: Zeroizing::new([0; 16]),
            spn: spn.to_string(),
            channel_bindings: None,
            state: State::Complete(Box::new(session)),
        }
    }
}

fn session_for_sealing(state: &mut State) -> Result<&mut Session> {
    match state {
        State::Complete(s) if s.flags & flags::NEGOTIATE_SEAL != 0 => Ok(s),
        State::Complete(_) => Err(Error::Encryption {
            message: "the host did not negotiate NTLM sealing".into(),
        }),
        _ => Err(Error::Encryption {
            message: "cannot seal before NTLM authentication completed".into(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests;
