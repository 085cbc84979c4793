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
use super::crypto::{constant_time_eq, seal_key, Direction, Key16};

/// One direction (client-to-server or server-to-client) of NTLM message
/// security with extended session security ([MS-NLMP] 3.4.4.2): the
/// session's [`Direction`] and the sealing key to restart its RC4 handle.
pub struct Half {
    direction: Direction,
    seal_key: Key16,
}

impl Half {
    /// The client-to-server (`client == true`) or server-to-client half,
    /// from the ExportedSessionKey and the negotiated flags.
    pub fn new(exported: &[u8; 16], negotiated: u32, client: bool) -> Half {
        Half {
            direction: Direction::new(exported, negotiated, client),
            seal_key: seal_key(exported, negotiated, client),
        }
    }

    /// `MAC()` of `message` without sealing it ([MS-NLMP] 3.4.4): what
    /// GSS_GetMIC gives, e.g. the SPNEGO mechListMIC.
    pub fn sign(&mut self, message: &[u8]) -> [u8; 16] {
        self.direction.sign(message)
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
        let sig = self.direction.seal_in_place(&mut out[16..]);
        out[..16].copy_from_slice(&sig);
        out
    }

    /// Opens what [`Half::seal`] made on the other side; `None` when it is
    /// too short or its signature is wrong.
    pub fn unseal(&mut self, wrapped: &[u8]) -> Option<Vec<u8>> {
        let (sig, sealed) = (wrapped.get(..16)?, wrapped.get(16..)?);
        self.direction.unseal(sig, sealed)
    }

    /// Starts the RC4 handle again from the sealing key; the sequence
    /// number goes on. Done after the mechListMIC ([MS-SPNG] 3.3.5.1).
    pub fn reset_handle(&mut self) {
        self.direction.restart_handle(&self.seal_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::flags;

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
