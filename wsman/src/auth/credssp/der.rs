//! The DER structures of CredSSP ([MS-CSSP] 2.2.1): TSRequest, NegoData,
//! TSCredentials and TSPasswordCreds, and the one piece of X.509 CredSSP
//! binds to, the certificate's subjectPublicKey ([RFC 5280] 4.1).
//!
//! A small hand-written TLV reader and writer: the structures are few and
//! fixed, and every read is bounds-checked (bad input is an error, never a
//! panic).
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
//! [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280
use zeroize::Zeroizing;

use crate::{Error, Result};

pub(super) const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
pub(super) const OCTET_STRING: u8 = 0x04;
const BIT_STRING: u8 = 0x03;

/// `[n]` EXPLICIT, context-specific and constructed.
pub(super) const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

pub(super) fn malformed(what: &str) -> Error {
    Error::Protocol {
        message: format!("malformed CredSSP message from the host: {what}"),
    }
}

/// Reads one TLV from the front of `input`: (tag, value, rest).
pub(super) fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first().ok_or_else(|| malformed("truncated"))?;
    let (&first, mut rest) = rest.split_first().ok_or_else(|| malformed("truncated"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(malformed("bad length"));
        }
        let (bytes, r) = rest.split_at(n);
        rest = r;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(malformed("length past the end"));
    }
    let (value, rest) = rest.split_at(len);
    Ok((tag, value, rest))
}

/// Reads a TLV that must carry `tag`.
pub(super) fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8])> {
    let (t, value, rest) = read_tlv(input)?;
    if t != tag {
        return Err(malformed(what));
    }
    Ok((value, rest))
}

/// Appends a TLV with a DER length.
pub(super) fn put(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
}

pub(super) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    put(&mut out, tag, value);
    out
}

/// `[n] OCTET STRING`.
fn explicit_octets(out: &mut Vec<u8>, n: u8, value: &[u8]) {
    put(out, ctx(n), &tlv(OCTET_STRING, value));
}

/// `INTEGER` holding `v` (read back as unsigned 32 bits, as [`integer`]
/// does): minimal two's complement of the signed value, so an NTSTATUS
/// such as 0xC000006D goes as the negative number Windows sends.
fn put_integer(out: &mut Vec<u8>, v: u32) {
    let bytes = (v as i32).to_be_bytes();
    let mut start = 0;
    while start < 3 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    put(out, INTEGER, &bytes[start..]);
}

/// A DER INTEGER (two's complement) as the unsigned 32-bit value NTSTATUS
/// and version fields are.
fn integer(value: &[u8]) -> Result<u32> {
    if value.is_empty() || value.len() > 5 {
        return Err(malformed("bad INTEGER"));
    }
    let negative = value[0] & 0x80 != 0;
    let start: i64 = if negative { -1 } else { 0 };
    let v = value
        .iter()
        .fold(start, |acc, &b| (acc << 8) | i64::from(b));
    Ok(v as u32)
}

/// TSRequest ([MS-CSSP] 2.2.1), the message every CredSSP leg carries.
///
/// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TsRequest {
    /// The sender's CredSSP version (2 to 6).
    pub version: u32,
    /// The SPNEGO (or NTLM) token of `negoTokens`, one at most.
    pub nego_token: Option<Vec<u8>>,
    /// `authInfo`: the encrypted TSCredentials.
    pub auth_info: Option<Vec<u8>>,
    /// `pubKeyAuth`: the encrypted public-key proof.
    pub pub_key_auth: Option<Vec<u8>>,
    /// `errorCode`: an NTSTATUS the acceptor failed with (versions 3, 4, 6).
    pub error_code: Option<u32>,
    /// `clientNonce`: 32 random bytes binding the hashes (versions 5, 6).
    pub client_nonce: Option<[u8; 32]>,
}

impl TsRequest {
    /// The DER encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut version = Vec::new();
        put_integer(&mut version, self.version);
        put(&mut body, ctx(0), &version);
        if let Some(t) = &self.nego_token {
            let mut item = Vec::new();
            explicit_octets(&mut item, 0, t);
            let nego_data = tlv(SEQUENCE, &tlv(SEQUENCE, &item));
            put(&mut body, ctx(1), &nego_data);
        }
        if let Some(a) = &self.auth_info {
            explicit_octets(&mut body, 2, a);
        }
        if let Some(p) = &self.pub_key_auth {
            explicit_octets(&mut body, 3, p);
        }
        if let Some(code) = self.error_code {
            let mut e = Vec::new();
            put_integer(&mut e, code);
            put(&mut body, ctx(4), &e);
        }
        if let Some(n) = &self.client_nonce {
            explicit_octets(&mut body, 5, n);
        }
        tlv(SEQUENCE, &body)
    }

    /// Parses a TSRequest; unknown fields are skipped.
    pub fn decode(input: &[u8]) -> Result<TsRequest> {
        let (mut fields, _) = expect(input, SEQUENCE, "a TSRequest is not a SEQUENCE")?;
        let mut req = TsRequest::default();
        while !fields.is_empty() {
            let (tag, value, rest) = read_tlv(fields)?;
            fields = rest;
            match tag {
                t if t == ctx(0) => req.version = integer(expect(value, INTEGER, "version")?.0)?,
                t if t == ctx(1) => {
                    let (items, _) = expect(value, SEQUENCE, "negoTokens")?;
                    if !items.is_empty() {
                        let (item, _) = expect(items, SEQUENCE, "NegoData item")?;
                        let (token, _) = expect(item, ctx(0), "negoToken")?;
                        let (token, _) = expect(token, OCTET_STRING, "negoToken")?;
                        req.nego_token = Some(token.to_vec());
                    }
                }
                t if t == ctx(2) => {
                    req.auth_info = Some(expect(value, OCTET_STRING, "authInfo")?.0.to_vec())
                }
                t if t == ctx(3) => {
                    req.pub_key_auth = Some(expect(value, OCTET_STRING, "pubKeyAuth")?.0.to_vec())
                }
                t if t == ctx(4) => {
                    req.error_code = Some(integer(expect(value, INTEGER, "errorCode")?.0)?)
                }
                t if t == ctx(5) => {
                    let (nonce, _) = expect(value, OCTET_STRING, "clientNonce")?;
                    req.client_nonce = Some(
                        nonce
                            .try_into()
                            .map_err(|_| malformed("clientNonce is not 32 bytes"))?,
                    );
                }
                _ => {}
            }
        }
        Ok(req)
    }
}

/// TSCredentials holding TSPasswordCreds ([MS-CSSP] 2.2.1.2, 2.2.1.2.1):
/// `credType` 1 and the domain, user name and password in UTF-16LE. The
/// result holds the password: it is zeroized on drop.
///
/// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
pub fn ts_password_credentials(domain: &str, user: &str, password: &str) -> Zeroizing<Vec<u8>> {
    let utf16 = |s: &str| -> Zeroizing<Vec<u8>> {
        Zeroizing::new(s.encode_utf16().flat_map(u16::to_le_bytes).collect())
    };
    let mut creds = Zeroizing::new(Vec::new());
    explicit_octets(&mut creds, 0, &utf16(domain));
    explicit_octets(&mut creds, 1, &utf16(user));
    explicit_octets(&mut creds, 2, &utf16(password));
    let password_creds = Zeroizing::new(tlv(SEQUENCE, &creds));
    let mut ts = Zeroizing::new(Vec::new());
    put(&mut ts, ctx(0), &tlv(INTEGER, &[1]));
    explicit_octets(&mut ts, 1, &password_creds);
    Zeroizing::new(tlv(SEQUENCE, &ts))
}

/// The subjectPublicKey of an X.509 certificate (the BIT STRING's bytes,
/// e.g. the PKCS#1 RSAPublicKey), what CredSSP's pubKeyAuth binds
/// ([MS-CSSP] 3.1.5, [RFC 5280] 4.1).
///
/// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
/// [RFC 5280]: https://www.rfc-editor.org/rfc/rfc5280
pub fn subject_public_key(cert: &[u8]) -> Result<Vec<u8>> {
    let bad = |what: &str| Error::Protocol {
        message: format!("the host's CredSSP certificate cannot be read: {what}"),
    };
    let (certificate, _) = expect(cert, SEQUENCE, "Certificate").map_err(|_| bad("not DER"))?;
    let (mut tbs, _) = expect(certificate, SEQUENCE, "tbsCertificate").map_err(|_| bad("tbs"))?;
    if tbs.first() == Some(&ctx(0)) {
        tbs = read_tlv(tbs)?.2; // [0] version
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        tbs = read_tlv(tbs).map_err(|_| bad("tbsCertificate fields"))?.2;
    }
    let (spki, _) = expect(tbs, SEQUENCE, "spki").map_err(|_| bad("subjectPublicKeyInfo"))?;
    let (_, _, rest) = read_tlv(spki).map_err(|_| bad("algorithm"))?;
    let (bits, _) = expect(rest, BIT_STRING, "key").map_err(|_| bad("subjectPublicKey"))?;
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key.to_vec()),
        _ => Err(bad("subjectPublicKey has unused bits or is empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_request_round_trip() {
        let req = TsRequest {
            version: 6,
            nego_token: Some(vec![7; 300]),
            auth_info: None,
            pub_key_auth: Some(vec![1, 2, 3]),
            error_code: Some(0xc000_006d),
            client_nonce: Some([9; 32]),
        };
        let der = req.encode();
        assert_eq!(&der[..2], &[0x30, 0x82]);
        assert_eq!(TsRequest::decode(&der).unwrap(), req);
        // [4] INTEGER, negative as Windows sends NTSTATUS
        assert!(der
            .windows(8)
            .any(|w| w == [0xa4, 0x06, 0x02, 0x04, 0xc0, 0x00, 0x00, 0x6d]));
        for v in [
            0u32,
            1,
            6,
            127,
            128,
            255,
            256,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
        ] {
            let r = TsRequest {
                version: v,
                error_code: Some(v),
                ..Default::default()
            };
            assert_eq!(TsRequest::decode(&r.encode()).unwrap(), r, "{v}");
        }
    }

    #[test]
    fn error_code_is_unsigned() {
        // [4] INTEGER 0x8009030C, encoded as a negative number in 4 bytes
        let der = [
            0x30, 0x0b, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa4, 0x04, 0x02, 0x02, 0x03, 0x0c,
        ];
        let req = TsRequest::decode(&der).unwrap();
        assert_eq!(req.error_code, Some(0x030c));
        let der = [
            0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa4, 0x06, 0x02, 0x04, 0x80, 0x09, 0x03,
            0x0c,
        ];
        assert_eq!(
            TsRequest::decode(&der).unwrap().error_code,
            Some(0x8009_030c)
        );
    }

    #[test]
    fn truncated_and_garbage_are_errors() {
        let der = TsRequest {
            version: 6,
            nego_token: Some(vec![1; 40]),
            ..Default::default()
        }
        .encode();
        for cut in 0..der.len() {
            assert!(TsRequest::decode(&der[..cut]).is_err(), "cut at {cut}");
        }
        assert!(TsRequest::decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(subject_public_key(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_err());
    }

    #[test]
    fn password_credentials_layout() {
        let der = ts_password_credentials("D", "u", "p");
        // SEQUENCE { [0] INTEGER 1, [1] OCTET STRING { SEQUENCE { [0] "D", [1] "u", [2] "p" } } }
        let (ts, _) = expect(&der, SEQUENCE, "ts").unwrap();
        let (ty, rest) = expect(ts, ctx(0), "type").unwrap();
        assert_eq!(ty, &[INTEGER, 1, 1]);
        let (inner, _) = expect(rest, ctx(1), "creds").unwrap();
        let (inner, _) = expect(inner, OCTET_STRING, "creds").unwrap();
        let (pw, _) = expect(inner, SEQUENCE, "pw").unwrap();
        let (d, rest) = expect(pw, ctx(0), "d").unwrap();
        assert_eq!(d, &[OCTET_STRING, 2, b'D', 0]);
        let (_, rest) = expect(rest, ctx(1), "u").unwrap();
        let (p, _) = expect(rest, ctx(2), "p").unwrap();
        assert_eq!(p, &[OCTET_STRING, 2, b'p', 0]);
    }
}
