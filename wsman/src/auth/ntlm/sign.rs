//! NTLM message security with an explicit crypto state, as SPNEGO needs it
//! around NTLM ([MS-NLMP] 3.4.4 MAC without sealing, [RFC 4178] 5
//! mechListMIC, [MS-SPNG] 3.3.5.1): the mechListMIC is an NTLM signature
//! (`MAC()` alone, no sealing) over the DER MechTypeList, and once it is
//! made (or checked) the RC4 handle of that direction starts again from
//! its sealing key while the sequence number goes on (what Windows and
//! pyspnego do). Built on the primitives of [`super::crypto`]; the WinRM
//! sealing of a finished `Negotiate` context stays in [`super::Session`].
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
//! [MS-SPNG]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-spng/
//! [RFC 4178]: https://www.rfc-editor.org/rfc/rfc4178
use super::crypto::{hmac_md5, seal_key, sign_key, Key16, Rc4};
use super::flags;

/// One direction (client-to-server or server-to-client) of NTLM message
/// security with extended session security ([MS-NLMP] 3.4.4.2).
pub struct Half {
    sign_key: Key16,
    seal_key: Key16,
    handle: Rc4,
    seq: u32,
    key_exch: bool,
}

impl Half {
    /// The client-to-server (`client == true`) or server-to-client half,
    /// from the ExportedSessionKey and the negotiated flags.
    pub fn new(exported: &[u8; 16], negotiated: u32, client: bool) -> Half {
        let seal = seal_key(exported, negotiated, client);
        Half {
            sign_key: sign_key(exported, client),
            handle: Rc4::new(&seal),
            seal_key: seal,
            seq: 0,
            key_exch: negotiated & flags::NEGOTIATE_KEY_EXCH != 0,
        }
    }

    /// `HMAC_MD5(SigningKey, SeqNum + Message)` at the current sequence
    /// number, which is then advanced.
    fn hmac(&mut self, message: &[u8]) -> ([u8; 4], [u8; 16]) {
        let seq = self.seq.to_le_bytes();
        self.seq = self.seq.wrapping_add(1);
        (seq, hmac_md5(&self.sign_key[..], &[&seq, message]))
    }

    /// The NTLMSSP_MESSAGE_SIGNATURE: version 1, the checksum (RC4'd with
    /// key exchange), the sequence number.
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

    /// `MAC()` of `message` without sealing it ([MS-NLMP] 3.4.4): what
    /// GSS_GetMIC gives, e.g. the SPNEGO mechListMIC.
    pub fn sign(&mut self, message: &[u8]) -> [u8; 16] {
        let (seq, full) = self.hmac(message);
        self.signature(seq, &full)
    }

    /// Checks a `MAC()` made by the other side over `message`.
    pub fn verify(&mut self, message: &[u8], signature: &[u8]) -> bool {
        let expected = self.sign(message);
        constant_time_eq(&expected, signature)
    }

    /// `SEAL()` ([MS-NLMP] 3.4.3): the signature followed by the sealed
    /// bytes, as GSS_Wrap hands them to CredSSP.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 16];
        out.extend_from_slice(plaintext);
        let (seq, full) = self.hmac(plaintext);
        self.handle.apply_keystream(&mut out[16..]);
        let sig = self.signature(seq, &full);
        out[..16].copy_from_slice(&sig);
        out
    }

    /// Opens what [`Half::seal`] made on the other side; `None` when it is
    /// too short or its signature is wrong.
    pub fn unseal(&mut self, wrapped: &[u8]) -> Option<Vec<u8>> {
        let (sig, sealed) = (wrapped.get(..16)?, wrapped.get(16..)?);
        let mut plain = sealed.to_vec();
        self.handle.apply_keystream(&mut plain);
        let (seq, full) = self.hmac(&plain);
        let expected = self.signature(seq, &full);
        constant_time_eq(&expected, sig).then_some(plain)
    }

    /// Starts the RC4 handle again from the sealing key; the sequence
    /// number goes on. Done after the mechListMIC ([MS-SPNG] 3.3.5.1).
    pub fn reset_handle(&mut self) {
        self.handle = Rc4::new(&self.seal_key);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: u32 = flags::CLIENT;

    #[test]
    fn seal_and_sign_round_trip_between_client_and_server() {
        let key = [7u8; 16];
        let (mut c_out, mut s_in) = (Half::new(&key, FLAGS, true), Half::new(&key, FLAGS, true));
        let sig = c_out.sign(b"mech list");
        assert!(s_in.verify(b"mech list", &sig));
        c_out.reset_handle();
        s_in.reset_handle();
        let wrapped = c_out.seal(b"public key proof");
        assert_ne!(&wrapped[16..], b"public key proof");
        assert_eq!(&wrapped[12..16], &1u32.to_le_bytes(), "seq goes on");
        assert_eq!(
            s_in.unseal(&wrapped).as_deref(),
            Some(&b"public key proof"[..])
        );
        // replayed or tampered: refused
        assert!(s_in.unseal(&wrapped).is_none());
    }

    #[test]
    fn a_missed_reset_or_the_wrong_direction_fails() {
        let key = [9u8; 16];
        let mut c = Half::new(&key, FLAGS, true);
        let mut s = Half::new(&key, FLAGS, true);
        let sig = c.sign(b"m");
        assert!(s.verify(b"m", &sig));
        c.reset_handle(); // the server forgets its reset
        assert!(s.unseal(&c.seal(b"x")).is_none());
        let mut other = Half::new(&key, FLAGS, false);
        assert!(!other.verify(b"m", &Half::new(&key, FLAGS, true).sign(b"m")));
        assert!(other.unseal(b"short").is_none());
    }

    /// Sealing here is the crate's `Session` sealing (which ntlm/tests.rs
    /// checks against the [MS-NLMP] 4.2.4 samples), byte for byte.
    #[test]
    fn matches_the_session_sealing_of_the_crate() {
        let key = [3u8; 16];
        let mut ours = Half::new(&key, FLAGS, true);
        let mut session = super::super::Session::client(&key, FLAGS);
        let (sig, sealed) = session.seal(b"Plaintext");
        let wrapped = ours.seal(b"Plaintext");
        assert_eq!(&wrapped[..16], &sig[..]);
        assert_eq!(&wrapped[16..], &sealed[..]);
    }
}
