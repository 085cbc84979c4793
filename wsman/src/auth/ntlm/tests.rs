//! [MS-NLMP] 4.2.4 (NTLMv2 authentication) test vectors: user "User",
//! domain "Domain", password "Password", server "Server", ServerChallenge
//! 0123456789abcdef, ClientChallenge aa×8, RandomSessionKey 55×16, time 0.
use super::crypto::*;
use super::messages::*;
use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The 4.2.4 target info: MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server".
pub(crate) fn spec_target_info() -> AvPairs {
    AvPairs(vec![
        (av::NB_DOMAIN_NAME, utf16le("Domain")),
        (av::NB_COMPUTER_NAME, utf16le("Server")),
    ])
}

const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

#[test]
fn ntowfv2_4_2_4_1_1() {
    let k = ntowf_v2(&nt_hash("Password"), "User", "Domain");
    assert_eq!(&k[..], hex("0c868a403bfd7a93a3001ef22ef02e3f"));
}

#[test]
fn responses_and_session_base_key_4_2_4_1_3_and_4_2_4_2() {
    let k = ntowf_v2(&nt_hash("Password"), "User", "Domain");
    let r = compute_response_v2(
        &k,
        &SERVER_CHALLENGE,
        &[0xaa; 8],
        0,
        &spec_target_info().encode(),
    );
    assert_eq!(
        &r.session_base_key[..],
        hex("8de40ccadbc14a82f15cb0ad0de95ca3")
    );
    assert_eq!(
        r.lm_response,
        hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
    );
    assert_eq!(
        &r.nt_response[..16],
        hex("68cd0ab851e51c96aabc927bebef6a1c")
    );
    // temp: 0101 Z(6) time Z... ClientChallenge Z(4) AV pairs Z(4)
    assert_eq!(
        &r.nt_response[16..],
        hex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000
             02000c0044006f006d00610069006e00 01000c00530065007200760065007200
             00000000 00000000")
    );
    // 4.2.4.2.3: EncryptedSessionKey = RC4K(KeyExchangeKey, RandomSessionKey).
    assert_eq!(
        rc4k(&r.session_base_key, &[0x55; 16]),
        hex("c5dad2544fc9799094ce1ce90bc9d03e")
    );
}

#[test]
fn keys_and_seal_4_2_4_4() {
    let exported = [0x55u8; 16];
    let negotiated = 0xe28a_8233; // the 4.2.4 challenge flags (33 82 8a e2)
    assert_eq!(
        &seal_key(&exported, negotiated, true)[..],
        hex("59f600973cc4960a25480a7c196e4c58")
    );
    assert_eq!(
        &sign_key(&exported, true)[..],
        hex("4788dc861b4782f35d43fd98fe1a2d39")
    );
    let mut s = Session::client(&exported, negotiated);
    let (sig, data) = s.seal(&utf16le("Plaintext"));
    assert_eq!(data, hex("54e50165bf1936dc996020c1811b0f06fb5f"));
    assert_eq!(sig.to_vec(), hex("01000000 7fb38ec5c55d4976 00000000"));
    // The next message uses sequence number 1 and the continuing RC4 stream.
    let (sig2, data2) = s.seal(&utf16le("Plaintext"));
    assert_eq!(&sig2[12..], &1u32.to_le_bytes());
    assert_ne!(data2, data);
}

/// A server-side mirror of our session, built from the same exported key
/// with the directions swapped, opens what we seal and the reverse.
#[test]
fn seal_unseal_both_directions() {
    let exported = [7u8; 16];
    let f = flags::CLIENT;
    let mut client = Session::client(&exported, f);
    let mut server_out = Direction::new(&exported, f, false);
    let mut server_in = Direction::new(&exported, f, true);
    for i in 0..3 {
        let msg = format!("message {i}").into_bytes();
        let (sig, data) = client.seal(&msg);
        assert_eq!(server_in.unseal(&sig, &data).unwrap(), msg);
        let (sig, data) = server_out.seal(&msg);
        assert_eq!(client.unseal(&sig, &data).unwrap(), msg);
    }
    // Tampering or replay is detected.
    let (mut sig, data) = server_out.seal(b"x");
    sig[5] ^= 1;
    assert!(client.unseal(&sig, &data).is_err());
}

pub(crate) fn challenge_msg(flags: u32, info: &AvPairs) -> Vec<u8> {
    let name = utf16le("Server");
    let info = info.encode();
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&56u32.to_le_bytes());
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&SERVER_CHALLENGE);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&((56 + name.len()) as u32).to_le_bytes());
    m.extend_from_slice(&VERSION);
    m.extend_from_slice(&name);
    m.extend_from_slice(&info);
    m
}

#[test]
fn authenticate_message_carries_mic_target_name_and_bindings() {
    let mut info = spec_target_info();
    info.set(
        av::TIMESTAMP,
        0x01d0_0000_0000_0000u64.to_le_bytes().to_vec(),
    );
    let chal_bytes = challenge_msg(0xe28a_8233, &info);
    let chal = parse_challenge(&chal_bytes).unwrap();
    assert_eq!(chal.target_info, info);
    let neg = negotiate(flags::CLIENT);
    let nt = nt_hash("Password");
    let id = ClientIdentity {
        user: "User",
        domain: "Domain",
        nt_hash: &nt,
        spn: "HTTP/server.example",
        channel_bindings: Some(b"tls-server-end-point:abc"),
    };
    let rnd = Randomness {
        client_challenge: [0xaa; 8],
        session_key: Zeroizing::new([0x55; 16]),
        now: 0,
    };
    let (msg, _) = authenticate(&id, &neg, &chal_bytes, &chal, &rnd).unwrap();
    let auth = Authenticate::parse(&msg).unwrap();
    assert_eq!(from_utf16le(&auth.user), "User");
    assert_eq!(from_utf16le(&auth.domain), "Domain");
    assert_eq!(
        auth.lm_response,
        vec![0; 24],
        "Z(24) when a timestamp is present"
    );
    assert_eq!(
        auth.encrypted_session_key,
        // RC4K(SessionBaseKey, 55×16) with this message's own SessionBaseKey
        {
            let k = ntowf_v2(&nt, "User", "Domain");
            let proof = &auth.nt_response[..16];
            let sbk = hmac_md5(&k[..], &[proof]);
            rc4k(&sbk, &[0x55; 16])
        }
    );
    let client_info = AvPairs::parse(&auth.nt_response[16 + 28..]).unwrap();
    assert_eq!(
        client_info.get(av::TARGET_NAME).unwrap(),
        utf16le("HTTP/server.example")
    );
    assert_eq!(
        client_info.get(av::CHANNEL_BINDINGS).unwrap(),
        channel_bindings::ntlm_channel_bindings_hash(b"tls-server-end-point:abc")
    );
    assert_eq!(client_info.get(av::FLAGS).unwrap(), 2u32.to_le_bytes());
    // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE with MIC zeroed)
    let mut zeroed = msg.clone();
    zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
    assert_eq!(
        auth.mic.unwrap(),
        hmac_md5(&[0x55; 16], &[&neg, &chal_bytes, &zeroed])
    );
}

#[test]
fn context_runs_the_legs_in_order() {
    let creds = Credentials::parse("Domain\\User", Secret::password("Password"));
    let mut ctx = NtlmContext::new(&creds, "HTTP/server", None).unwrap();
    assert!(
        ctx.wrap_winrm(b"x").is_err(),
        "no sealing before completion"
    );
    let neg = ctx.step(None).unwrap().unwrap();
    assert_eq!(parse_negotiate(&neg).unwrap().flags, flags::CLIENT);
    let chal = challenge_msg(0xe28a_8233, &spec_target_info());
    assert!(ctx.step(Some(&chal)).unwrap().is_some());
    assert!(ctx.is_complete());
    assert_eq!(ctx.step(None).unwrap(), None);
    let (sig, data) = ctx.wrap_winrm(b"body").unwrap();
    assert_eq!((sig.len(), data.len()), (16, 4));
}

#[test]
fn host_without_challenge_is_an_authentication_error() {
    let creds = Credentials::parse("User", Secret::password("Password"));
    let mut ctx = NtlmContext::new(&creds, "HTTP/server", None).unwrap();
    ctx.step(None).unwrap();
    let err = ctx.step(None).unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert!(!err.to_string().contains("Password"));
}

#[test]
fn malformed_challenges_are_protocol_errors() {
    let good = challenge_msg(0xe28a_8233, &spec_target_info());
    for bad in [
        &b""[..],
        &b"NTLMSSP\0\x02\0\0\0"[..],
        &good[..40],
        &good[..good.len() - 3],
    ] {
        assert!(parse_challenge(bad).is_err(), "{bad:?}");
    }
    let mut wrong_offset = good.clone();
    wrong_offset[44..48].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert!(parse_challenge(&wrong_offset).is_err());
}

/// Every truncation and many single-byte corruptions of a CHALLENGE and an
/// AUTHENTICATE message give a value or an error, never a panic; the same
/// for a context fed them.
#[test]
fn hostile_tokens_never_panic() {
    let mut info = spec_target_info();
    info.set(av::TIMESTAMP, 7u64.to_le_bytes().to_vec());
    let chal = challenge_msg(0xe28a_8233, &info);
    let nt = nt_hash("Password");
    let id = ClientIdentity {
        user: "User",
        domain: "Domain",
        nt_hash: &nt,
        spn: "HTTP/x",
        channel_bindings: None,
    };
    let rnd = Randomness::fresh().unwrap();
    let parsed = parse_challenge(&chal).unwrap();
    let (auth, _) = authenticate(&id, &negotiate(flags::CLIENT), &chal, &parsed, &rnd).unwrap();
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for msg in [&chal, &auth] {
        for n in 0..msg.len() {
            inputs.push(msg[..n].to_vec());
        }
        for i in 0..msg.len() {
            for v in [0x00, 0x7f, 0xff] {
                let mut m = msg.clone();
                m[i] = v;
                inputs.push(m);
            }
        }
    }
    for m in &inputs {
        let _ = parse_challenge(m);
        let _ = Authenticate::parse(m);
        let _ = AvPairs::parse(m);
        let creds = Credentials::parse("User", Secret::password("Password"));
        let mut ctx = NtlmContext::new(&creds, "HTTP/x", None).unwrap();
        ctx.step(None).unwrap();
        if ctx.step(Some(m)).is_ok() {
            // Whatever was accepted still seals and rejects garbage.
            let _ = ctx.wrap_winrm(b"x");
            assert!(ctx.unwrap_winrm(&[0; 16], b"garbage").is_err());
        }
    }
}

/// `new_context` routes NTLM (and Negotiate with an NT hash) to raw NTLM
/// tokens, with the SPN from `spn_service` and `spn_host` (or the URL host).
#[test]
fn new_context_spn_and_routing() {
    use crate::auth::{new_context, AuthOptions, Mechanism};
    let spn_of = |o: &AuthOptions| {
        let mut ctx = new_context(o, "url.host").unwrap();
        assert_eq!(ctx.http_scheme(), "Negotiate");
        let neg = ctx.step(None).unwrap().unwrap();
        assert!(neg.starts_with(SIGNATURE));
        let auth = ctx
            .step(Some(&challenge_msg(0xe28a_8233, &spec_target_info())))
            .unwrap()
            .unwrap();
        let auth = Authenticate::parse(&auth).unwrap();
        let info = AvPairs::parse(&auth.nt_response[16 + 28..]).unwrap();
        from_utf16le(info.get(av::TARGET_NAME).unwrap())
    };
    let hash = || Secret::NtHash(Zeroizing::new(*nt_hash("Password")));
    let mut o = AuthOptions::new(Mechanism::Ntlm, Credentials::parse("D\\User", hash()));
    assert_eq!(spn_of(&o), "HTTP/url.host");
    o.spn_service = "WSMAN".into();
    o.spn_host = Some("alias.example".into());
    assert_eq!(spn_of(&o), "WSMAN/alias.example");
    // Negotiate with an NT hash cannot be Kerberos: NTLM straight away.
    let o = AuthOptions::new(Mechanism::Negotiate, Credentials::parse("D\\User", hash()));
    assert_eq!(spn_of(&o), "HTTP/url.host");
    let o = AuthOptions::new(
        Mechanism::Certificate,
        Credentials::parse("u", Secret::password("p")),
    );
    assert!(matches!(new_context(&o, "h"), Err(Error::Config { .. })));
    // CredSSP delegates a password: without one it cannot start
    let o = AuthOptions::new(Mechanism::CredSsp, Credentials::parse("u", Secret::None));
    assert!(matches!(new_context(&o, "h"), Err(Error::Config { .. })));
    let o = AuthOptions::new(
        Mechanism::CredSsp,
        Credentials::parse("u", Secret::password("p")),
    );
    assert_eq!(new_context(&o, "h").unwrap().http_scheme(), "CredSSP");
    let o = AuthOptions::new(Mechanism::Ntlm, Credentials::parse("u", Secret::None));
    assert!(matches!(new_context(&o, "h"), Err(Error::Config { .. })));
}

/// Our RC4 gives the keystream of the `rc4` crate, for several keys and
/// across calls of every length (the state carries over).
#[test]
fn rc4_matches_an_independent_implementation() {
    use rc4::{consts::U16, KeyInit, StreamCipher};
    for seed in 0u8..8 {
        let key: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(seed));
        let mut ours = super::crypto::Rc4::new(&key);
        let mut theirs = rc4::Rc4::<U16>::new(&key.into());
        for len in [0usize, 1, 7, 16, 255, 256, 1000, 4097] {
            let data: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            let (mut a, mut b) = (data.clone(), data);
            ours.apply_keystream(&mut a);
            theirs.apply_keystream(&mut b);
            assert_eq!(a, b, "key {seed}, length {len}");
        }
    }
}
