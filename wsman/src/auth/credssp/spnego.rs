//! SPNEGO ([RFC 4178], [MS-SPNG]) with NTLM inside, as the `negoTokens` of
//! CredSSP carry it ([MS-CSSP] 2.2.1, 3.1.5: "SPNEGO tokens").
//!
//! The client's legs:
//! 1. `NegTokenInit` (in the GSS-API InitialContextToken) offering the
//!    NTLM mechanism with the NEGOTIATE_MESSAGE as its optimistic token;
//! 2. on the host's `NegTokenResp` (accept-incomplete, the
//!    CHALLENGE_MESSAGE): a `NegTokenResp` with the AUTHENTICATE_MESSAGE
//!    and the mechListMIC, an NTLM signature over the DER MechTypeList
//!    (required because the AUTHENTICATE_MESSAGE carries a MIC,
//!    [MS-SPNG] 3.3.5.1);
//! 3. the host's last `NegTokenResp` (accept-completed) carries its own
//!    mechListMIC, which must verify: a mechanism list altered on the way
//!    is a downgrade and ends the logon.
//!
//! After each mechListMIC the RC4 handle of its direction restarts
//! ([`Half::reset_handle`]); the sequence numbers go on.
//!
//! [RFC 4178]: https://www.rfc-editor.org/rfc/rfc4178
//! [MS-SPNG]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-spng/
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
use super::der::{ctx, expect, malformed, put, read_tlv, tlv, OCTET_STRING, SEQUENCE};
use crate::auth::ntlm::crypto::Key16;
use crate::auth::ntlm::sign::Half;
use crate::auth::ntlm::{self, flags, messages, ClientIdentity, Randomness};
use crate::auth::Credentials;
use crate::{Error, Result};

/// The DER of OID 1.3.6.1.5.5.2 (SPNEGO).
const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// The DER of OID 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
pub const NTLM_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
];
const ENUMERATED: u8 = 0x0a;

/// `negState` of a NegTokenResp ([RFC 4178] 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegState {
    /// accept-completed (0).
    AcceptCompleted,
    /// accept-incomplete (1).
    AcceptIncomplete,
    /// reject (2).
    Reject,
    /// request-mic (3).
    RequestMic,
}

/// A NegTokenResp ([RFC 4178] 4.2.2): what the host answers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// `negState`, when present.
    pub neg_state: Option<NegState>,
    /// `supportedMech` (the DER OID), when present.
    pub supported_mech: Option<Vec<u8>>,
    /// `responseToken`: the mechanism's token.
    pub response_token: Option<Vec<u8>>,
    /// `mechListMIC`.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// The DER MechTypeList `SEQUENCE OF MechType` holding `oids` (each a DER
/// OID): what NegTokenInit offers and what the mechListMIC signs.
pub fn mech_type_list(oids: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &oids.concat())
}

/// The client's first token: `[APPLICATION 0] { SPNEGO OID, [0]
/// NegTokenInit { [0] mechTypes, [2] mechToken } }` ([RFC 4178] 4.2.1).
pub fn neg_token_init(mech_types: &[u8], mech_token: &[u8]) -> Vec<u8> {
    let mut init = Vec::new();
    put(&mut init, ctx(0), mech_types);
    put(&mut init, ctx(2), &tlv(OCTET_STRING, mech_token));
    let mut inner = SPNEGO_OID.to_vec();
    put(&mut inner, ctx(0), &tlv(SEQUENCE, &init));
    tlv(0x60, &inner)
}

impl NegTokenResp {
    /// `[1] NegTokenResp` as the initiator sends it after the first leg.
    pub fn encode(&self) -> Vec<u8> {
        let mut seq = Vec::new();
        if let Some(state) = self.neg_state {
            let v = match state {
                NegState::AcceptCompleted => 0,
                NegState::AcceptIncomplete => 1,
                NegState::Reject => 2,
                NegState::RequestMic => 3,
            };
            put(&mut seq, ctx(0), &tlv(ENUMERATED, &[v]));
        }
        if let Some(m) = &self.supported_mech {
            put(&mut seq, ctx(1), m);
        }
        if let Some(t) = &self.response_token {
            put(&mut seq, ctx(2), &tlv(OCTET_STRING, t));
        }
        if let Some(m) = &self.mech_list_mic {
            put(&mut seq, ctx(3), &tlv(OCTET_STRING, m));
        }
        tlv(ctx(1), &tlv(SEQUENCE, &seq))
    }

    /// Reads the host's `[1] NegTokenResp`; anything else (a raw NTLM
    /// token, a NegTokenInit, garbage) is an error.
    pub fn decode(input: &[u8]) -> Result<NegTokenResp> {
        let (body, _) = expect(input, ctx(1), "not an SPNEGO NegTokenResp")?;
        let (mut fields, _) = expect(body, SEQUENCE, "NegTokenResp is not a SEQUENCE")?;
        let mut out = NegTokenResp::default();
        while !fields.is_empty() {
            let (tag, value, rest) = read_tlv(fields)?;
            fields = rest;
            match tag {
                t if t == ctx(0) => {
                    let (v, _) = expect(value, ENUMERATED, "bad negState")?;
                    out.neg_state = Some(match v {
                        [0] => NegState::AcceptCompleted,
                        [1] => NegState::AcceptIncomplete,
                        [2] => NegState::Reject,
                        [3] => NegState::RequestMic,
                        _ => return Err(malformed("unknown SPNEGO negState")),
                    });
                }
                t if t == ctx(1) => {
                    let (t, _, _) = read_tlv(value)?;
                    if t != 0x06 {
                        return Err(malformed("supportedMech is not an OID"));
                    }
                    out.supported_mech = Some(value.to_vec());
                }
                t if t == ctx(2) => {
                    let (v, _) = expect(value, OCTET_STRING, "bad responseToken")?;
                    out.response_token = Some(v.to_vec());
                }
                t if t == ctx(3) => {
                    let (v, _) = expect(value, OCTET_STRING, "bad mechListMIC")?;
                    out.mech_list_mic = Some(v.to_vec());
                }
                _ => {} // extensions: skipped
            }
        }
        Ok(out)
    }
}

enum Stage {
    /// The NegTokenInit with the NEGOTIATE_MESSAGE is to be sent.
    Start,
    /// Sent; the CHALLENGE_MESSAGE is awaited (the NEGOTIATE kept for the MIC).
    Negotiated(Vec<u8>),
    /// The AUTHENTICATE_MESSAGE and our mechListMIC went; the host's
    /// mechListMIC is awaited. Sealing works already.
    Authenticated,
    /// The host's mechListMIC verified.
    Complete,
    Failed,
}

/// An NTLM client context wrapped in SPNEGO, with the GSS_Wrap/GSS_Unwrap
/// CredSSP seals pubKeyAuth and authInfo with ([MS-CSSP] 3.1.5).
pub struct SpnegoNtlm {
    user: String,
    domain: String,
    nt_hash: Key16,
    spn: String,
    stage: Stage,
    out: Option<Half>,
    inbound: Option<Half>,
}

impl SpnegoNtlm {
    /// A context for `creds` (password or NT hash) and the service `spn`.
    pub fn new(creds: &Credentials, spn: &str) -> Result<SpnegoNtlm> {
        let (user, domain, nt_hash) = ntlm::identity_of(creds)?;
        Ok(SpnegoNtlm {
            user,
            domain,
            nt_hash,
            spn: spn.to_string(),
            stage: Stage::Start,
            out: None,
            inbound: None,
        })
    }

    fn refused(&self, why: &str) -> Error {
        Error::Authentication {
            message: format!("SPNEGO/NTLM logon for {} failed: {why}", self.spn),
        }
    }

    /// The next token: `None` in, the NegTokenInit out; then the host's
    /// NegTokenResp in, our answer (or `None` once complete) out.
    pub fn step(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let r = self.step_inner(token);
        if r.is_err() {
            self.stage = Stage::Failed;
        }
        r
    }

    fn step_inner(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let mech_types = mech_type_list(&[NTLM_OID]);
        match (std::mem::replace(&mut self.stage, Stage::Failed), token) {
            (Stage::Start, _) => {
                let negotiate = messages::negotiate(flags::CLIENT);
                let out = neg_token_init(&mech_types, &negotiate);
                self.stage = Stage::Negotiated(negotiate);
                Ok(Some(out))
            }
            (Stage::Negotiated(negotiate), Some(token)) => {
                let resp = NegTokenResp::decode(token)?;
                if resp.neg_state == Some(NegState::Reject) {
                    return Err(self.refused("the host rejected the NTLM mechanism"));
                }
                if resp
                    .supported_mech
                    .as_deref()
                    .is_some_and(|m| m != NTLM_OID)
                {
                    return Err(self.refused("the host chose a mechanism other than NTLM"));
                }
                let challenge_msg = resp
                    .response_token
                    .ok_or_else(|| self.refused("the host sent no NTLM CHALLENGE_MESSAGE"))?;
                let challenge = messages::parse_challenge(&challenge_msg)?;
                let rnd = Randomness::fresh()?;
                let id = ClientIdentity {
                    user: &self.user,
                    domain: &self.domain,
                    nt_hash: &self.nt_hash,
                    spn: &self.spn,
                    channel_bindings: None,
                };
                let (auth, session) =
                    ntlm::authenticate(&id, &negotiate, &challenge_msg, &challenge, &rnd)?;
                if session.flags & flags::NEGOTIATE_KEY_EXCH == 0 {
                    return Err(self.refused(
                        "the host does not offer NTLM key exchange, which CredSSP sealing needs",
                    ));
                }
                // with key exchange the ExportedSessionKey is our RandomSessionKey
                let exported = &rnd.session_key;
                let mut out = Half::new(exported, session.flags, true);
                let mic = out.sign(&mech_types);
                out.reset_handle();
                self.out = Some(out);
                self.inbound = Some(Half::new(exported, session.flags, false));
                self.stage = Stage::Authenticated;
                Ok(Some(
                    NegTokenResp {
                        response_token: Some(auth),
                        mech_list_mic: Some(mic.to_vec()),
                        ..Default::default()
                    }
                    .encode(),
                ))
            }
            (Stage::Authenticated, Some(token)) => {
                let resp = NegTokenResp::decode(token)?;
                if resp.neg_state != Some(NegState::AcceptCompleted) {
                    return Err(self.refused("the host did not complete the SPNEGO exchange"));
                }
                let mic = resp.mech_list_mic.ok_or_else(|| {
                    self.refused("the host sent no mechListMIC (the mechanism list is unprotected)")
                })?;
                let inbound = self.inbound.as_mut().ok_or_else(|| malformed("no keys"))?;
                if !inbound.verify(&mech_types, &mic) {
                    return Err(self.refused(
                        "the host's mechListMIC does not verify (the mechanism list was altered)",
                    ));
                }
                inbound.reset_handle();
                self.stage = Stage::Complete;
                Ok(None)
            }
            (Stage::Complete, _) => {
                self.stage = Stage::Complete;
                Ok(None)
            }
            (Stage::Negotiated(_) | Stage::Authenticated, None) => {
                Err(self.refused("the host answered without an SPNEGO token"))
            }
            (Stage::Failed, _) => Err(self.refused("the context failed earlier")),
        }
    }

    /// The AUTHENTICATE_MESSAGE went: the keys are known and [`wrap`](Self::wrap) works.
    pub fn can_wrap(&self) -> bool {
        matches!(self.stage, Stage::Authenticated | Stage::Complete)
    }

    /// The host's mechListMIC verified: SPNEGO is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Complete)
    }

    /// GSS_Wrap: the NTLM signature followed by the sealed bytes.
    pub fn wrap(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let out = self.out.as_mut().ok_or_else(|| Error::Encryption {
            message: "NTLM cannot seal before the AUTHENTICATE_MESSAGE".into(),
        })?;
        Ok(out.seal(data))
    }

    /// GSS_Unwrap of what the host sealed; a wrong signature is an error.
    pub fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        if !self.is_complete() {
            return Err(self.refused("the host sealed before completing SPNEGO"));
        }
        let inbound = self.inbound.as_mut().ok_or_else(|| malformed("no keys"))?;
        inbound.unseal(data).ok_or_else(|| Error::Protocol {
            message: "the NTLM signature of the host's sealed CredSSP message is wrong".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;

    #[test]
    fn neg_token_init_layout() {
        let t = neg_token_init(&mech_type_list(&[NTLM_OID]), b"NTLMSSP\0\x01");
        assert_eq!(t[0], 0x60);
        assert_eq!(&t[2..10], SPNEGO_OID);
        assert_eq!(t[10], 0xa0);
        assert!(t.windows(NTLM_OID.len()).any(|w| w == NTLM_OID));
        assert!(t.ends_with(b"NTLMSSP\0\x01"));
    }

    #[test]
    fn neg_token_resp_round_trip_and_garbage() {
        let r = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(NTLM_OID.to_vec()),
            response_token: Some(b"challenge".to_vec()),
            mech_list_mic: Some(vec![1; 16]),
        };
        assert_eq!(NegTokenResp::decode(&r.encode()).unwrap(), r);
        for bad in [
            &b""[..],
            b"NTLMSSP\0",
            b"\xa1\x05\x30\x03\xa0\x01",
            b"\xa1\x02\x04\x00",
        ] {
            assert!(NegTokenResp::decode(bad).is_err(), "{bad:?}");
        }
    }

    /// A context that sent its AUTHENTICATE_MESSAGE (to a host offering
    /// NTLM with key exchange), and that message's NegTokenResp.
    fn authenticated() -> (SpnegoNtlm, NegTokenResp) {
        use crate::auth::ntlm::tests::{challenge_msg, spec_target_info};
        let creds = Credentials::parse("Domain\\User", Secret::password("Password"));
        let mut c = SpnegoNtlm::new(&creds, "HTTP/h").unwrap();
        c.step(None).unwrap();
        let challenge = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(NTLM_OID.to_vec()),
            response_token: Some(challenge_msg(flags::CLIENT, &spec_target_info())),
            mech_list_mic: None,
        };
        let out = c.step(Some(&challenge.encode())).unwrap().unwrap();
        (c, NegTokenResp::decode(&out).unwrap())
    }

    #[test]
    fn the_authenticate_leg_carries_our_mech_list_mic_and_the_hosts_is_required() {
        let (mut c, sent) = authenticated();
        assert!(sent
            .response_token
            .unwrap()
            .starts_with(b"NTLMSSP\0\x03\0\0\0"));
        let mic = sent.mech_list_mic.expect("a mechListMIC");
        // an NTLMSSP_MESSAGE_SIGNATURE: version 1, sequence number 0
        assert_eq!(
            (&mic[..4], &mic[12..]),
            (&[1, 0, 0, 0][..], &[0, 0, 0, 0][..])
        );
        assert!(c.can_wrap() && !c.is_complete());
        let sealed = c.wrap(b"proof").unwrap();
        assert_eq!(&sealed[12..16], &[1, 0, 0, 0], "after the MIC, sequence 1");
        assert!(
            c.unwrap(&sealed).is_err(),
            "nothing is opened before the host's MIC"
        );

        // the host completes without a mechListMIC: refused
        let no_mic = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            ..Default::default()
        };
        let err = c.step(Some(&no_mic.encode())).unwrap_err().to_string();
        assert!(err.contains("no mechListMIC"), "{err}");

        // a mechListMIC that is not the host's: refused
        let (mut c, _) = authenticated();
        let forged = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            mech_list_mic: Some(mic),
            ..Default::default()
        };
        let err = c.step(Some(&forged.encode())).unwrap_err().to_string();
        assert!(err.contains("does not verify"), "{err}");
        assert!(!c.is_complete() && c.unwrap(&sealed).is_err());

        // the host still negotiating: refused
        let (mut c, _) = authenticated();
        let incomplete = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            ..Default::default()
        };
        assert!(c.step(Some(&incomplete.encode())).is_err());
    }

    #[test]
    fn another_mechanism_chosen_by_the_host_is_refused() {
        let creds = Credentials::parse("alice", Secret::password("pw"));
        let mut c = SpnegoNtlm::new(&creds, "HTTP/h").unwrap();
        c.step(None).unwrap();
        let krb5_oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
        ];
        let resp = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(krb5_oid.to_vec()),
            response_token: Some(b"\x60\x00".to_vec()),
            mech_list_mic: None,
        };
        let err = c.step(Some(&resp.encode())).unwrap_err().to_string();
        assert!(err.contains("other than NTLM"), "{err}");
    }

    #[test]
    fn a_rejection_or_a_missing_mic_ends_the_logon() {
        let creds = Credentials::parse("alice", Secret::password("pw"));
        let mut c = SpnegoNtlm::new(&creds, "HTTP/h").unwrap();
        let init = c.step(None).unwrap().unwrap();
        assert_eq!(init[0], 0x60);
        let reject = NegTokenResp {
            neg_state: Some(NegState::Reject),
            ..Default::default()
        };
        assert!(c.step(Some(&reject.encode())).is_err());
        assert!(c.step(Some(&reject.encode())).is_err(), "stays failed");
        assert!(c.wrap(b"x").is_err());
    }
}
