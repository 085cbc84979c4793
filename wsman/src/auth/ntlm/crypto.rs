//! The NTLMv2 one-way functions, keys and message security of [MS-NLMP]
//! 3.3.2 (NTOWFv2, the NTLMv2 response), 3.4.5 (KXKEY, SIGNKEY, SEALKEY) and
//! 3.4.3/3.4.4 (SEAL and MAC with extended session security).
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};
use zeroize::{Zeroize, Zeroizing};

use super::flags;
use super::md5_rc4::{hmac_md5_rc4, Order};

/// A 16-byte key that is wiped when dropped.
pub type Key16 = Zeroizing<[u8; 16]>;

/// `HMAC_MD5(K, M)` ([MS-NLMP] 6).
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `MD5(M)`.
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// UTF-16LE encoding of a string (the `UNICODE()` of [MS-NLMP] 6).
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

/// `NTOWFv1(Passwd) = MD4(UNICODE(Passwd))` ([MS-NLMP] 3.3.1): the NT hash.
pub fn nt_hash(password: &str) -> Key16 {
    let pw = Zeroizing::new(utf16le(password));
    let mut h = Md4::new();
    h.update(&pw[..]);
    Zeroizing::new(h.finalize().into())
}

/// `NTOWFv2 = HMAC_MD5(NTOWFv1, UNICODE(Uppercase(User) + UserDom))`
/// ([MS-NLMP] 3.3.2); also `LMOWFv2` (the same value).
pub fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> Key16 {
    let who = utf16le(&(user.to_uppercase() + domain));
    Zeroizing::new(hmac_md5(nt_hash, &[&who]))
}

/// What the NTLMv2 computation of [MS-NLMP] 3.3.2 yields.
pub struct V2Response {
    /// `NtChallengeResponse = NTProofStr + temp`.
    pub nt_response: Vec<u8>,
    /// `LmChallengeResponse` (the LMv2 response; callers send Z(24) when
    /// the challenge carried a timestamp).
    pub lm_response: Vec<u8>,
    /// `SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr)`, which is also
    /// the KeyExchangeKey for NTLMv2 ([MS-NLMP] 3.4.5.1).
    pub session_base_key: Key16,
}

/// `ComputeResponse()` for NTLMv2 ([MS-NLMP] 3.3.2). `av_pairs` is the
/// client's copy of the target info, ending with MsvAvEOL; `time` is a
/// FILETIME (100 ns since 1601).
pub fn compute_response_v2(
    response_key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: u64,
    av_pairs: &[u8],
) -> V2Response {
    // temp = Responserversion(1) HiResponserversion(1) Z(6) Time ClientChallenge Z(4) ServerName Z(4)
    let mut temp = Vec::with_capacity(28 + av_pairs.len() + 4);
    temp.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    temp.extend_from_slice(&time.to_le_bytes());
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(av_pairs);
    temp.extend_from_slice(&[0; 4]);
    let nt_proof = hmac_md5(response_key, &[server_challenge, &temp]);
    let mut nt_response = nt_proof.to_vec();
    nt_response.extend_from_slice(&temp);
    let mut lm_response = hmac_md5(response_key, &[server_challenge, client_challenge]).to_vec();
    lm_response.extend_from_slice(client_challenge);
    V2Response {
        nt_response,
        lm_response,
        session_base_key: Zeroizing::new(hmac_md5(response_key, &[&nt_proof])),
    }
}

/// `RC4K(K, D)`: RC4 with a fresh key over one buffer ([MS-NLMP] 6).
pub fn rc4k(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    Rc4::new(key).apply_keystream(&mut out);
    out
}

/// The RC4 stream cipher ([MS-NLMP] 6, `RC4Init`/`RC4`): key schedule and
/// keystream as the algorithm is published. Written here rather than taken
/// from the `rc4` crate because every byte of every sealed message goes
/// through it and that crate's generic block wrapper costs twice as much
/// per byte. The state is wiped when dropped.
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// `RC4Init(key)`: the key-scheduling algorithm.
    pub fn new(key: &[u8; 16]) -> Rc4 {
        let mut s = [0u8; 256];
        for (k, v) in s.iter_mut().enumerate() {
            *v = k as u8;
        }
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % 16]);
            s.swap(i, usize::from(j));
        }
        Rc4 { s, i: 0, j: 0 }
    }

    /// XORs `data` with the next `data.len()` keystream bytes.
    pub fn apply_keystream(&mut self, data: &mut [u8]) {
        let mut ks = self.keystream();
        let mut words = data.chunks_exact_mut(8);
        for w in &mut words {
            let mut k = [0u8; 8];
            for b in &mut k {
                *b = ks.next_byte();
            }
            let x = u64::from_ne_bytes(k) ^ u64::from_ne_bytes((&*w).try_into().expect("8"));
            w.copy_from_slice(&x.to_ne_bytes());
        }
        for b in words.into_remainder() {
            *b ^= ks.next_byte();
        }
    }

    /// The keystream byte by byte, its indices held in locals (registers)
    /// until it is dropped.
    pub(super) fn keystream(&mut self) -> Keystream<'_> {
        Keystream {
            i: self.i,
            j: self.j,
            rc4: self,
        }
    }
}

/// [`Rc4`]'s keystream with `i` and `j` out of the state until dropped.
pub(super) struct Keystream<'a> {
    rc4: &'a mut Rc4,
    i: u8,
    j: u8,
}

impl Keystream<'_> {
    /// The next keystream byte (the PRGA step of `RC4`, [MS-NLMP] 6).
    #[inline(always)]
    pub(super) fn next_byte(&mut self) -> u8 {
        let s = &mut self.rc4.s;
        self.i = self.i.wrapping_add(1);
        let si = s[usize::from(self.i)];
        self.j = self.j.wrapping_add(si);
        let sj = s[usize::from(self.j)];
        s[usize::from(self.i)] = sj;
        s[usize::from(self.j)] = si;
        s[usize::from(si.wrapping_add(sj))]
    }
}

impl Drop for Keystream<'_> {
    fn drop(&mut self) {
        self.rc4.i = self.i;
        self.rc4.j = self.j;
    }
}

impl Drop for Rc4 {
    fn drop(&mut self) {
        self.s.zeroize();
        self.i.zeroize();
        self.j.zeroize();
    }
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// `SIGNKEY()` with extended session security ([MS-NLMP] 3.4.5.2).
pub fn sign_key(exported: &[u8; 16], client: bool) -> Key16 {
    let magic = if client { CLIENT_SIGN } else { SERVER_SIGN };
    Zeroizing::new(md5(&[exported, magic]))
}

/// `SEALKEY()` with extended session security ([MS-NLMP] 3.4.5.3): the key
/// is cut to 16, 7 or 5 bytes by NEGOTIATE_128 / NEGOTIATE_56 first.
pub fn seal_key(exported: &[u8; 16], negotiated: u32, client: bool) -> Key16 {
    let magic = if client { CLIENT_SEAL } else { SERVER_SEAL };
    let len = if negotiated & flags::NEGOTIATE_128 != 0 {
        16
    } else if negotiated & flags::NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    Zeroizing::new(md5(&[&exported[..len], magic]))
}

/// One direction of an NTLM session: its signing key, its RC4 handle (kept
/// for the whole connection, [MS-NLMP] 3.4.3) and its sequence number.
pub struct Direction {
    sign_key: Key16,
    handle: Rc4,
    seq: u32,
    key_exch: bool,
}

impl Direction {
    /// The client-to-server (`client == true`) or server-to-client direction.
    pub fn new(exported: &[u8; 16], negotiated: u32, client: bool) -> Direction {
        let seal = seal_key(exported, negotiated, client);
        Direction {
            sign_key: sign_key(exported, client),
            handle: Rc4::new(&seal),
            seq: 0,
            key_exch: negotiated & flags::NEGOTIATE_KEY_EXCH != 0,
        }
    }

    /// The current sequence number, which is then advanced.
    fn next_seq(&mut self) -> [u8; 4] {
        let seq = self.seq.to_le_bytes();
        self.seq = self.seq.wrapping_add(1);
        seq
    }

    /// The rest of `MAC()`: the checksum (RC4-encrypted with key exchange,
    /// after the message's own RC4 pass) framed as a signature.
    fn signature(&mut self, seq: [u8; 4], full: &[u8; 16]) -> [u8; 16] {
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&full[..8]);
        if self.key_exch {
            self.handle.apply_keystream(&mut checksum);
        }
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        sig
    }

    /// `SEAL()` ([MS-NLMP] 3.4.3): returns (signature, sealed message).
    pub fn seal(&mut self, plaintext: &[u8]) -> ([u8; 16], Vec<u8>) {
        let mut sealed = plaintext.to_vec();
        let sig = self.seal_in_place(&mut sealed);
        (sig, sealed)
    }

    /// `SEAL()` ([MS-NLMP] 3.4.3) of `message` in place (no copy); returns
    /// the signature. `HMAC_MD5(SigningKey, SeqNum + Message)` and the RC4
    /// pass run together (`md5_rc4`).
    pub fn seal_in_place(&mut self, message: &mut [u8]) -> [u8; 16] {
        let seq = self.next_seq();
        let full = hmac_md5_rc4(
            &self.sign_key,
            &seq,
            message,
            &mut self.handle,
            Order::HashThenRc4,
        );
        self.signature(seq, &full)
    }

    /// `MAC()` of `message` without sealing it ([MS-NLMP] 3.4.4): what
    /// GSS_GetMIC gives, e.g. the SPNEGO mechListMIC.
    pub fn sign(&mut self, message: &[u8]) -> [u8; 16] {
        let seq = self.next_seq();
        let full = hmac_md5(&self.sign_key[..], &[&seq, message]);
        self.signature(seq, &full)
    }

    /// Starts the RC4 handle again from `seal_key` (this direction's
    /// SEALKEY); the sequence number goes on.
    pub fn restart_handle(&mut self, seal_key: &[u8; 16]) {
        self.handle = Rc4::new(seal_key);
    }

    /// Unseals and checks the signature; `None` when the signature is wrong
    /// (tampered, out of order, or not for this session).
    pub fn unseal(&mut self, signature: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let mut plain = sealed.to_vec();
        self.unseal_in_place(signature, &mut plain).then_some(plain)
    }

    /// Unseals `data` in place ([MS-NLMP] 3.4.3) and checks the signature;
    /// `false` when it is wrong (the bytes are then not to be used).
    pub fn unseal_in_place(&mut self, signature: &[u8], data: &mut [u8]) -> bool {
        let seq = self.next_seq();
        let full = hmac_md5_rc4(
            &self.sign_key,
            &seq,
            data,
            &mut self.handle,
            Order::Rc4ThenHash,
        );
        let expected = self.signature(seq, &full);
        signature.len() == 16 && constant_time_eq(&expected, signature)
    }
}

/// Equal contents, compared in a time that does not depend on where they
/// differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
