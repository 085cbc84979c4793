//! The session key exchange and SecureString ([MS-PSRP] 3.1.4.3.1,
//! 2.2.2.3 PUBLIC_KEY, 2.2.2.4 ENCRYPTED_SESSION_KEY, 2.2.5.1.24).
//!
//! The client sends its RSA-2048 public key as a CAPI PUBLICKEYBLOB; the
//! server answers with a 256-bit AES key encrypted with it (RSA PKCS#1
//! v1.5) in a CAPI SIMPLEBLOB, whose cipher text is little-endian (reversed).
//! A SecureString is then the UTF-16LE text, PKCS#7 padded, encrypted with
//! AES-256-CBC and an all-zero IV.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::random::Random;

/// PUBLICKEYBLOB header: bType PUBLICKEYBLOB (6), bVersion 2, reserved,
/// aiKeyAlg CALG_RSA_KEYX (0x0000a400), then RSAPUBKEY magic "RSA1" and
/// bitlen 2048.
const PUBLIC_KEY_HEADER: [u8; 16] = [
    0x06, 0x02, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00, b'R', b'S', b'A', b'1', 0x00, 0x08, 0x00, 0x00,
];

/// SIMPLEBLOB header: bType SIMPLEBLOB (1), bVersion 2, reserved,
/// aiKeyAlg CALG_AES_256 (0x00006610), algid of the exchange key
/// CALG_RSA_KEYX.
const SIMPLE_BLOB_HEADER: [u8; 12] = [
    0x01, 0x02, 0x00, 0x00, 0x10, 0x66, 0x00, 0x00, 0x00, 0xa4, 0x00, 0x00,
];

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// The client's RSA key pair for one exchange.
pub struct ExchangeKey {
    private: RsaPrivateKey,
}

impl std::fmt::Debug for ExchangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeKey(..)")
    }
}

impl ExchangeKey {
    /// Generates a fresh RSA-2048 key with the operating system's RNG.
    pub fn generate() -> Result<Self> {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// Generates a fresh RSA-2048 key with `random`.
    pub fn generate_with(mut random: &mut dyn Random) -> Result<Self> {
        // `&mut dyn Random` is itself a (sized) generator.
        let private = RsaPrivateKey::new(&mut random, 2048)
            .map_err(|e| Error::Crypto(format!("cannot generate the RSA key: {e}")))?;
        Ok(ExchangeKey { private })
    }

    /// Uses an existing RSA-2048 private key.
    pub fn from_private_key(private: RsaPrivateKey) -> Result<Self> {
        if private.size() != 256 {
            return Err(Error::Crypto(format!(
                "the exchange key must be RSA-2048, not {} bits",
                private.size() * 8
            )));
        }
        Ok(ExchangeKey { private })
    }

    /// The public key as a CAPI PUBLICKEYBLOB ([MS-PSRP] 2.2.2.3).
    pub fn public_key_blob(&self) -> Vec<u8> {
        let mut out = PUBLIC_KEY_HEADER.to_vec();
        let e = self.private.e().to_bytes_le();
        let mut exponent = [0u8; 4];
        exponent[..e.len().min(4)].copy_from_slice(&e[..e.len().min(4)]);
        out.extend_from_slice(&exponent);
        let mut n = self.private.n().to_bytes_le();
        n.resize(256, 0);
        out.extend_from_slice(&n);
        out
    }

    /// Decrypts an ENCRYPTED_SESSION_KEY blob ([MS-PSRP] 2.2.2.4) into the
    /// session key.
    pub fn decrypt_session_key(&self, blob: &[u8]) -> Result<SessionKey> {
        if blob.len() != SIMPLE_BLOB_HEADER.len() + 256 {
            return Err(Error::Crypto(format!(
                "the encrypted session key has {} bytes, expected {}",
                blob.len(),
                SIMPLE_BLOB_HEADER.len() + 256
            )));
        }
        if blob[..4] != SIMPLE_BLOB_HEADER[..4] || blob[4..8] != SIMPLE_BLOB_HEADER[4..8] {
            return Err(Error::Crypto(
                "the encrypted session key is not a SIMPLEBLOB for AES-256".into(),
            ));
        }
        let mut cipher = blob[SIMPLE_BLOB_HEADER.len()..].to_vec();
        cipher.reverse();
        let key = Zeroizing::new(
            self.private
                .decrypt(Pkcs1v15Encrypt, &cipher)
                .map_err(|e| Error::Crypto(format!("cannot decrypt the session key: {e}")))?,
        );
        SessionKey::from_bytes(&key)
    }
}

/// Encrypts a session key for a client's PUBLICKEYBLOB, as a server does
/// ([MS-PSRP] 2.2.2.4); used by tests and in-memory peers.
pub fn encrypt_session_key(public_key_blob: &[u8], session_key: &SessionKey) -> Result<Vec<u8>> {
    if public_key_blob.len() < 20 || public_key_blob[..8] != PUBLIC_KEY_HEADER[..8] {
        return Err(Error::Crypto("not a PUBLICKEYBLOB".into()));
    }
    let e = u32::from_le_bytes(public_key_blob[16..20].try_into().expect("4"));
    let n = BigUint::from_bytes_le(&public_key_blob[20..]);
    let public = RsaPublicKey::new(n, BigUint::from(e))
        .map_err(|err| Error::Crypto(format!("bad public key: {err}")))?;
    let mut cipher = public
        .encrypt(
            &mut rand::rngs::OsRng,
            Pkcs1v15Encrypt,
            &session_key.key[..],
        )
        .map_err(|err| Error::Crypto(format!("cannot encrypt the session key: {err}")))?;
    cipher.reverse();
    let mut out = SIMPLE_BLOB_HEADER.to_vec();
    out.extend_from_slice(&cipher);
    Ok(out)
}

/// The AES-256 session key that protects SecureStrings.
#[derive(Clone)]
pub struct SessionKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(redacted)")
    }
}

impl SessionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::Crypto(format!("the session key has {} bytes, not 32", bytes.len()))
        })?;
        Ok(SessionKey {
            key: Zeroizing::new(key),
        })
    }

    /// A random key, as a server makes one.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// A random key from `random`.
    pub fn generate_with(random: &mut dyn Random) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        random.fill_bytes(&mut key[..]);
        SessionKey { key }
    }

    /// Encrypts text into the cipher text of a `<SS>` ([MS-PSRP] 2.2.5.1.24).
    pub fn encrypt(&self, text: &str) -> Vec<u8> {
        let plain: Zeroizing<Vec<u8>> =
            Zeroizing::new(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
        Aes256CbcEnc::new((&*self.key).into(), &[0u8; 16].into())
            .encrypt_padded_vec_mut::<Pkcs7>(&plain)
    }

    /// Decrypts the cipher text of a `<SS>` into its text.
    pub fn decrypt(&self, cipher: &[u8]) -> Result<Zeroizing<String>> {
        let plain = Zeroizing::new(
            Aes256CbcDec::new((&*self.key).into(), &[0u8; 16].into())
                .decrypt_padded_vec_mut::<Pkcs7>(cipher)
                .map_err(|_| {
                    Error::Crypto("the SecureString does not decrypt (bad padding)".into())
                })?,
        );
        if plain.len() % 2 != 0 {
            return Err(Error::Crypto("the SecureString is not UTF-16".into()));
        }
        let units: Vec<u16> = plain
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units)
            .map(Zeroizing::new)
            .map_err(|_| Error::Crypto("the SecureString is not valid UTF-16".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_string_round_trips_and_matches_the_block_layout() {
        let key = SessionKey::from_bytes(&[7u8; 32]).unwrap();
        let c = key.encrypt("pässwörd");
        // 8 UTF-16 units = 16 bytes, plus a whole block of PKCS#7 padding.
        assert_eq!(c.len(), 32);
        assert_eq!(&*key.decrypt(&c).unwrap(), "pässwörd");
        assert!(key.decrypt(&c[..31]).is_err());
        assert!(SessionKey::from_bytes(&[0; 16]).is_err());
    }
}
