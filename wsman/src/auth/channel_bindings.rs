//! Channel bindings ([RFC 5929] `tls-server-end-point`, [RFC 2744] 3.11
//! `gss_channel_bindings_struct`): what ties an NTLM or Kerberos
//! authentication to the TLS connection it runs over (Extended Protection
//! for Authentication).
//!
//! [RFC 5929]: https://www.rfc-editor.org/rfc/rfc5929
//! [RFC 2744]: https://www.rfc-editor.org/rfc/rfc2744
use super::ntlm::crypto::md5;

/// The `gss_channel_bindings_struct` as NTLM hashes it ([MS-NLMP] 2.2.2.1
/// MsvAvChannelBindings): initiator and acceptor address types and addresses
/// (all empty for TLS), then the application data, each length as a u32 LE.
///
/// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
pub fn gss_channel_bindings_struct(application_data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + application_data.len());
    out.extend_from_slice(&0u32.to_le_bytes()); // initiator_addrtype
    out.extend_from_slice(&0u32.to_le_bytes()); // initiator_address.length
    out.extend_from_slice(&0u32.to_le_bytes()); // acceptor_addrtype
    out.extend_from_slice(&0u32.to_le_bytes()); // acceptor_address.length
    out.extend_from_slice(&(application_data.len() as u32).to_le_bytes());
    out.extend_from_slice(application_data);
    out
}

/// MD5 of the packed `gss_channel_bindings_struct`: the MsvAvChannelBindings
/// value.
pub fn ntlm_channel_bindings_hash(application_data: &[u8]) -> [u8; 16] {
    md5(&[&gss_channel_bindings_struct(application_data)])
}

/// `tls-server-end-point:` + `hash` ([RFC 5929] 4.1): the application data
/// for a server certificate whose hash (SHA-256 for MD5/SHA-1 signatures,
/// otherwise the signature's hash) the transport computed.
pub fn tls_server_end_point(cert_hash: &[u8]) -> Vec<u8> {
    let mut v = b"tls-server-end-point:".to_vec();
    v.extend_from_slice(cert_hash);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layout() {
        let s = gss_channel_bindings_struct(b"abc");
        assert_eq!(s.len(), 23);
        assert_eq!(&s[16..20], &3u32.to_le_bytes());
        assert_eq!(&s[20..], b"abc");
    }
}
