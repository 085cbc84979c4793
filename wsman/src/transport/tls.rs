//! TLS for `https://` endpoints (rustls with the *ring* provider): trust
//! anchors, the `insecure` switch, client certificates, and the
//! `tls-server-end-point` channel binding ([RFC 5929] 4.1) that NTLM and
//! Kerberos bind into their tokens when the host enforces
//! `CbtHardeningLevel=Strict` ([MS-WSMV] 2.2.9.1).
//!
//! [RFC 5929]: https://www.rfc-editor.org/rfc/rfc5929
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::Digest;

use crate::{Error, Result};

/// TLS settings of a [`super::TransportConfig`].
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra trust anchors (PEM, one or more certificates), trusted besides
    /// the platform's roots (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (`--insecure`). The connection is
    /// still encrypted but anyone on the path can impersonate the host;
    /// the caller should warn.
    pub insecure: bool,
    /// Client certificate for certificate authentication
    /// ([`crate::auth::Mechanism::Certificate`]). It is offered in the
    /// initial handshake; rustls does not support TLS renegotiation, so on
    /// Windows the HTTPS binding must ask for it up front
    /// (`netsh http update sslcert ... clientcertnegotiation=enable`).
    pub client_certificate: Option<ClientCertificate>,
    /// Name to verify the server certificate against (and send as SNI)
    /// when it differs from the URL host, e.g. when connecting by address.
    pub server_name: Option<String>,
}

/// A PEM certificate (chain) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// Certificate file; the leaf first, then any intermediates.
    pub cert_file: PathBuf,
    /// Private key file.
    pub key_file: PathBuf,
}

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The platform's trust anchors, loaded and parsed once per process (a
/// program with thousands of sessions pays for it once).
fn platform_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!(error = %e, "skipping a platform trust anchor");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "platform trust anchors loaded");
        roots
    })
}

fn tls_error(message: String, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Transport {
        message,
        source: Some(Box::new(e)),
    }
}

fn config_error(message: String) -> Error {
    Error::Config { message }
}

/// The rustls client configuration for `opts`, shared by every transport
/// with the same trust settings (no client certificate): many sessions
/// cost one configuration, and reconnects resume TLS sessions.
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>> {
    type Key = (Option<PathBuf>, bool);
    static SHARED: OnceLock<Mutex<HashMap<Key, Arc<ClientConfig>>>> = OnceLock::new();
    if opts.client_certificate.is_some() {
        return build_client_config(opts);
    }
    let key = (opts.ca_file.clone(), opts.insecure);
    let shared = SHARED.get_or_init(Default::default);
    if let Some(c) = shared.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let config = build_client_config(opts)?;
    shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, config.clone());
    Ok(config)
}

fn build_client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("no usable TLS protocol version".into(), e))?;
    let builder = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
    } else {
        let mut roots = platform_roots().clone();
        if let Some(path) = &opts.ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    config_error(format!(
                        "cannot read CA certificates from {}: {e}",
                        path.display()
                    ))
                })?;
            if certs.is_empty() {
                return Err(config_error(format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                )));
            }
            for c in certs {
                roots.add(c).map_err(|e| {
                    config_error(format!(
                        "{}: not a usable CA certificate: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match &opts.client_certificate {
        None => builder.with_no_client_auth(),
        Some(cc) => {
            let chain = CertificateDer::pem_file_iter(&cc.cert_file)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    config_error(format!(
                        "cannot read the client certificate {}: {e}",
                        cc.cert_file.display()
                    ))
                })?;
            if chain.is_empty() {
                return Err(config_error(format!(
                    "{} holds no PEM certificate",
                    cc.cert_file.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_file(&cc.key_file).map_err(|e| {
                config_error(format!(
                    "cannot read the client key {}: {e}",
                    cc.key_file.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                config_error(format!(
                    "the client certificate {} and key {} do not fit together: {e}",
                    cc.cert_file.display(),
                    cc.key_file.display()
                ))
            })?
        }
    };
    Ok(Arc::new(config))
}

/// The name rustls verifies and sends as SNI.
pub(crate) fn server_name(host: &str, opts: &TlsOptions) -> Result<ServerName<'static>> {
    let name = opts.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string())
        .map_err(|_| config_error(format!("{name:?} is not a valid TLS server name")))
}

/// No chain or name check, but handshake signatures are still verified so
/// the session keys belong to whoever holds the certificate: `--insecure`,
/// and CredSSP's inner TLS (whose key pubKeyAuth binds, [MS-CSSP] 3.1.5).
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate(pub(crate) Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Prefix of the channel-binding application data ([RFC 5929] 4.1).
///
/// [RFC 5929]: https://www.rfc-editor.org/rfc/rfc5929
pub const TLS_SERVER_END_POINT: &[u8] = b"tls-server-end-point:";

/// The `tls-server-end-point` hash of a DER certificate ([RFC 5929] 4.1):
/// the certificate hashed with the hash of its signature algorithm, SHA-256
/// when that is MD5 or SHA-1 or when the algorithm names no single hash
/// (EdDSA).
///
/// [RFC 5929]: https://www.rfc-editor.org/rfc/rfc5929
pub fn tls_server_end_point(cert_der: &[u8]) -> Result<Vec<u8>> {
    let hash = signature_hash(cert_der).ok_or_else(|| Error::Protocol {
        message: "the server certificate is not a valid X.509 DER certificate".into(),
    })?;
    Ok(match hash {
        Hash::Sha224 => sha2::Sha224::digest(cert_der).to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(cert_der).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(cert_der).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(cert_der).to_vec(),
    })
}

/// The channel-binding application data for the auth layer:
/// `"tls-server-end-point:"` followed by [`tls_server_end_point`].
pub fn channel_binding_data(cert_der: &[u8]) -> Result<Vec<u8>> {
    let mut out = TLS_SERVER_END_POINT.to_vec();
    out.extend_from_slice(&tls_server_end_point(cert_der)?);
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Reads one DER TLV: (tag, contents, rest). Lengths up to 4 bytes.
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

// Contents octets of the object identifiers involved.
const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01]; // 1.2.840.113549.1.1
const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]; // 1.2.840.10045.4.1
const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03]; // 1.2.840.10045.4.3
const DSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03]; // 1.2.840.10040.4.3
const NIST_SIG: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03]; // 2.16.840.1.101.3.4.3
const NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02]; // 2.16.840.1.101.3.4.2

/// The hash RFC 5929 prescribes for the certificate's `signatureAlgorithm`;
/// `None` if the certificate cannot be parsed.
fn signature_hash(cert: &[u8]) -> Option<Hash> {
    let (tag, body, _) = der(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _tbs, rest) = der(body)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, alg, _) = der(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, oid, params) = der(alg)?;
    if tag != OID {
        return None;
    }
    Some(hash_for_signature(oid, params))
}

fn hash_for_signature(oid: &[u8], params: &[u8]) -> Hash {
    let last = |prefix: &[u8]| {
        (oid.len() == prefix.len() + 1 && oid.starts_with(prefix)).then(|| oid[prefix.len()])
    };
    let hash = match (last(PKCS1), last(ECDSA_SHA2), last(NIST_SIG)) {
        // md5/sha1/sha256/sha384/sha512/sha224 WithRSAEncryption
        (Some(4 | 5 | 11), _, _) => Hash::Sha256,
        (Some(12), _, _) => Hash::Sha384,
        (Some(13), _, _) => Hash::Sha512,
        (Some(14), _, _) => Hash::Sha224,
        // RSASSA-PSS: the hash is in the parameters
        (Some(10), _, _) => pss_hash(params),
        // ecdsa-with-SHA224/256/384/512
        (_, Some(1), _) => Hash::Sha224,
        (_, Some(2), _) => Hash::Sha256,
        (_, Some(3), _) => Hash::Sha384,
        (_, Some(4), _) => Hash::Sha512,
        // dsa-with-sha224/256, ecdsa/rsa with sha3 are not expected from
        // WinRM hosts; dsa-with-sha224 and -sha256 map directly.
        (_, _, Some(1)) => Hash::Sha224,
        (_, _, Some(2)) => Hash::Sha256,
        _ => {
            if oid != ECDSA_SHA1 && oid != DSA_SHA1 {
                tracing::debug!(
                    "certificate signature algorithm without a single hash; using SHA-256 for channel binding"
                );
            }
            Hash::Sha256
        }
    };
    hash
}

/// RSASSA-PSS-params ([RFC 4055] 3.1): `[0] hashAlgorithm`, default SHA-1.
///
/// [RFC 4055]: https://www.rfc-editor.org/rfc/rfc4055
fn pss_hash(params: &[u8]) -> Hash {
    let inner = || {
        let (tag, seq, _) = der(params)?;
        if tag != SEQUENCE {
            return None;
        }
        let (tag, explicit, _) = der(seq)?;
        if tag != 0xa0 {
            return None; // hashAlgorithm absent: SHA-1
        }
        let (_, alg, _) = der(explicit)?;
        let (tag, oid, _) = der(alg)?;
        if tag != OID || oid.len() != NIST_HASH.len() + 1 || !oid.starts_with(NIST_HASH) {
            return None;
        }
        match oid[NIST_HASH.len()] {
            1 => Some(Hash::Sha256),
            2 => Some(Hash::Sha384),
            3 => Some(Hash::Sha512),
            4 => Some(Hash::Sha224),
            _ => None,
        }
    };
    inner().unwrap_or(Hash::Sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alg(oid: &[u8], params: &[u8]) -> Vec<u8> {
        // Certificate ::= SEQUENCE { tbs SEQUENCE {}, AlgorithmIdentifier, BIT STRING }
        let mut a = vec![OID, oid.len() as u8];
        a.extend_from_slice(oid);
        a.extend_from_slice(params);
        let mut body = vec![SEQUENCE, 0];
        body.push(SEQUENCE);
        body.push(a.len() as u8);
        body.extend_from_slice(&a);
        body.extend_from_slice(&[0x03, 0x01, 0x00]);
        let mut cert = vec![SEQUENCE, body.len() as u8];
        cert.extend_from_slice(&body);
        cert
    }

    fn with_last(prefix: &[u8], last: u8) -> Vec<u8> {
        let mut v = prefix.to_vec();
        v.push(last);
        v
    }

    #[test]
    fn hash_follows_the_signature_algorithm() {
        for (oid, expected) in [
            (with_last(PKCS1, 4), Hash::Sha256),  // md5WithRSA
            (with_last(PKCS1, 5), Hash::Sha256),  // sha1WithRSA
            (with_last(PKCS1, 11), Hash::Sha256), // sha256WithRSA
            (with_last(PKCS1, 12), Hash::Sha384),
            (with_last(PKCS1, 13), Hash::Sha512),
            (ECDSA_SHA1.to_vec(), Hash::Sha256),
            (with_last(ECDSA_SHA2, 2), Hash::Sha256),
            (with_last(ECDSA_SHA2, 3), Hash::Sha384),
            (with_last(ECDSA_SHA2, 4), Hash::Sha512),
            (vec![0x2b, 0x65, 0x70], Hash::Sha256), // Ed25519
        ] {
            assert_eq!(
                signature_hash(&alg(&oid, &[])),
                Some(expected),
                "{oid:02x?}"
            );
        }
    }

    #[test]
    fn pss_reads_its_hash_parameter() {
        let sha384 = with_last(NIST_HASH, 2);
        // SEQUENCE { [0] { SEQUENCE { OID sha384 } } }
        let mut h = vec![OID, sha384.len() as u8];
        h.extend_from_slice(&sha384);
        let mut seq = vec![SEQUENCE, h.len() as u8];
        seq.extend_from_slice(&h);
        let mut exp = vec![0xa0, seq.len() as u8];
        exp.extend_from_slice(&seq);
        let mut params = vec![SEQUENCE, exp.len() as u8];
        params.extend_from_slice(&exp);
        let cert = alg(&with_last(PKCS1, 10), &params);
        assert_eq!(signature_hash(&cert), Some(Hash::Sha384));
        // no parameters: the SHA-1 default maps to SHA-256
        let cert = alg(&with_last(PKCS1, 10), &[SEQUENCE, 0]);
        assert_eq!(signature_hash(&cert), Some(Hash::Sha256));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x05, 0x30],
        ] {
            assert!(tls_server_end_point(bad).is_err());
        }
        let data = channel_binding_data(&alg(&with_last(PKCS1, 12), &[])).unwrap();
        assert!(data.starts_with(b"tls-server-end-point:"));
        assert_eq!(data.len(), TLS_SERVER_END_POINT.len() + 48);
    }

    #[test]
    fn configurations_are_shared() {
        let a = client_config(&TlsOptions::default()).unwrap();
        let b = client_config(&TlsOptions::default()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let insecure = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        assert!(!Arc::ptr_eq(&a, &client_config(&insecure).unwrap()));
        let missing = TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let e = client_config(&missing).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn mutated_certificates_never_panic() {
        let cert = alg(&with_last(PKCS1, 12), &[]);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut c = cert.clone();
            let at = (next() as usize) % c.len();
            c[at] = next() as u8;
            c.truncate(1 + (next() as usize) % c.len());
            let _ = tls_server_end_point(&c);
        }
    }
}
