//! CredSSP ([MS-CSSP]): the client that delegates the user's password to
//! the host, for a second hop (`-Authentication CredSSP`).
//!
//! The exchange, each leg an `Authorization: CredSSP <base64>` header on an
//! empty POST answered by a 401 `WWW-Authenticate: CredSSP <base64>`
//! ([MS-CSSP] 3.1.5):
//!
//! 1. a TLS handshake with the host's CredSSP listener (over memory, see
//!    `tls`), whose certificate is self-signed;
//! 2. inside TLS, TSRequests carrying SPNEGO tokens (`inner`): Kerberos
//!    through GSSAPI when a ticket for the host can be had, else NTLM
//!    ([MS-NLMP]) in our own SPNEGO (`spnego`), until the host knows who
//!    the user is;
//! 3. `pubKeyAuth`: the client proves, sealed with that context, which TLS public key
//!    it saw (version 5 and 6: SHA-256 over a fixed string, a fresh
//!    `clientNonce` and the key); the host answers with its own proof, which
//!    the client checks **before anything else is sent**: a host (or a man in
//!    the middle) whose TLS key differs from the one it proves gets no
//!    credentials;
//! 4. `authInfo`: TSCredentials with the password (TSPasswordCreds), sealed
//!    the same way.
//!
//! Afterwards the WinRM bodies are sealed with the TLS channel itself
//! (`application/HTTP-CredSSP-session-encrypted`, [MS-WSMV] 2.2.9.1.1).
//!
//! Our own implementation rather than the `sspi` crate's: sspi needs a
//! newer Rust than this workspace's minimum, brings its own TLS provider
//! (aws-lc-rs by default), its own NTLM and a Kerberos that wants its own
//! KDC client; here CredSSP is TSRequest DER, rustls over memory, the
//! NTLM the crate already has (in SPNEGO with its mechListMIC) and the
//! system's GSSAPI for Kerberos, as the `Kerberos` mechanism uses it.
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
mod der;
mod inner;
pub mod spnego;
mod tls;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Credentials, Secret, SecurityContext};
use crate::transport::encryption::CREDSSP_PROTOCOL;
use crate::{Error, Result};
pub use der::{subject_public_key, ts_password_credentials, TsRequest};
use inner::Inner;
use tls::MemoryTls;

/// The CredSSP version this client speaks ([MS-CSSP] 2.2.1).
///
/// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
pub const VERSION: u32 = 6;

/// Bytes of a sealed CredSSP part given as its "signature" (the length
/// Windows and pyspnego use for AEAD suites: the 16-byte tag's worth); the
/// host joins the two pieces again before decrypting.
const HEADER_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not started: the next step sends the ClientHello.
    Start,
    /// The TLS handshake is under way.
    Tls,
    /// SPNEGO tokens are being exchanged.
    Negotiate,
    /// Our pubKeyAuth went; the host's proof is awaited.
    PublicKey,
    /// The credentials were sent: the channel seals.
    Done,
    /// A step failed; the context is unusable.
    Failed,
}

/// A CredSSP client security context for one connection ([MS-CSSP] 3.1.5).
///
/// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
pub struct CredSspContext {
    tls: MemoryTls,
    inner: Inner,
    domain: String,
    user: String,
    password: Zeroizing<String>,
    host: String,
    stage: Stage,
    nonce: [u8; 32],
    /// The version both sides speak (the lower of ours and the host's).
    version: u32,
    public_key: Vec<u8>,
}

impl std::fmt::Debug for CredSspContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredSspContext")
            .field("user", &self.user)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A name for the NTSTATUS / SECURITY_STATUS codes a CredSSP host answers
/// in `errorCode`.
fn status_name(code: u32) -> &'static str {
    match code {
        0x8009_030c | 0xc000_006d => "the user name or password is incorrect (logon denied)",
        0xc000_0022 | 0x8009_0311 => "access denied",
        0xc000_0072 => "the account is disabled",
        0xc000_0193 | 0xc000_0071 => "the account or its password has expired",
        _ => "the host refused the logon",
    }
}

fn binding_hash(direction: &str, nonce: &[u8; 32], public_key: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(format!("CredSSP {direction} Binding Hash\0").as_bytes());
    h.update(nonce);
    h.update(public_key);
    h.finalize().to_vec()
}

impl CredSspContext {
    /// A context delegating `creds` (which must hold a password: CredSSP
    /// hands the password itself to the host) to `host`; `spn` is the NTLM
    /// target name (`HTTP/host`). Kerberos is used inside when the
    /// password gets a ticket for that service (`HTTP@host`; this talks to
    /// the KDC).
    pub fn new(creds: &Credentials, host: &str, spn: &str) -> Result<CredSspContext> {
        CredSspContext::with_inner(creds, host, || Inner::new(creds, spn))
    }

    /// As [`new`](Self::new) with NTLM inside, without trying Kerberos
    /// (no KDC traffic): for hosts known to be outside a realm, and fuzzing.
    pub fn new_ntlm(creds: &Credentials, host: &str, spn: &str) -> Result<CredSspContext> {
        CredSspContext::with_inner(creds, host, || Inner::ntlm(creds, spn))
    }

    fn with_inner(
        creds: &Credentials,
        host: &str,
        inner: impl FnOnce() -> Result<Inner>,
    ) -> Result<CredSspContext> {
        let Secret::Password(password) = &creds.secret else {
            return Err(Error::Config {
                message: format!(
                    "CredSSP delegates the password of {} to the host: it needs a password, \
                     not an NT hash or a Kerberos credential cache",
                    creds.display_name()
                ),
            });
        };
        let mut nonce = [0u8; 32];
        getrandom::getrandom(&mut nonce).map_err(|e| Error::Config {
            message: format!("no randomness for the CredSSP nonce: {e}"),
        })?;
        Ok(CredSspContext {
            tls: MemoryTls::new(host)?,
            inner: inner()?,
            domain: creds.domain.clone().unwrap_or_default(),
            user: creds.username.clone(),
            password: password.clone(),
            host: host.to_string(),
            stage: Stage::Start,
            nonce,
            version: VERSION,
            public_key: Vec::new(),
        })
    }

    fn refused(&self, why: impl std::fmt::Display) -> Error {
        Error::Authentication {
            message: format!(
                "{} refused user {} (CredSSP authentication): {why}",
                self.host,
                if self.domain.is_empty() {
                    self.user.clone()
                } else {
                    format!("{}\\{}", self.domain, self.user)
                }
            ),
        }
    }

    /// Sends one TSRequest through the TLS channel.
    fn send_request(&mut self, req: &TsRequest) -> Result<Vec<u8>> {
        let der = Zeroizing::new(req.encode());
        let mut out = self.tls.take_records()?;
        out.extend(self.tls.send(&der)?);
        Ok(out)
    }

    /// Opens the host's TSRequest; an `errorCode` is the host's refusal.
    fn receive_request(&mut self, token: &[u8]) -> Result<TsRequest> {
        let plain = self.tls.receive(token)?;
        let req = TsRequest::decode(&plain)?;
        if let Some(code) = req.error_code {
            return Err(self.refused(format!("{} (0x{code:08X})", status_name(code))));
        }
        Ok(req)
    }

    fn step_inner(&mut self, server_token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        match (self.stage, server_token) {
            (Stage::Start, _) => {
                self.stage = Stage::Tls;
                Ok(Some(self.tls.take_records()?))
            }
            (Stage::Tls, Some(token)) => {
                self.tls.receive(token)?;
                if self.tls.is_handshaking() {
                    let out = self.tls.take_records()?;
                    if out.is_empty() {
                        return Err(self.refused("the CredSSP TLS handshake stalled"));
                    }
                    return Ok(Some(out));
                }
                let cert = self.tls.peer_certificate().ok_or_else(|| Error::Protocol {
                    message: "the host's CredSSP TLS sent no certificate".into(),
                })?;
                self.public_key = der::subject_public_key(cert)?;
                let first = self.inner.step(None)?;
                tracing::debug!(
                    inner = self.inner.name(),
                    "CredSSP: SPNEGO inside the TLS channel"
                );
                self.stage = Stage::Negotiate;
                let req = TsRequest {
                    version: VERSION,
                    nego_token: first,
                    ..Default::default()
                };
                Ok(Some(self.send_request(&req)?))
            }
            (Stage::Negotiate, Some(token)) => {
                let resp = self.receive_request(token)?;
                self.version = resp.version.clamp(2, VERSION);
                let answer = self.inner.step(resp.nego_token.as_deref())?;
                if !self.inner.can_wrap() {
                    let req = TsRequest {
                        version: VERSION,
                        nego_token: Some(answer.ok_or_else(|| {
                            self.refused(format!("the {} exchange stalled", self.inner.name()))
                        })?),
                        ..Default::default()
                    };
                    return Ok(Some(self.send_request(&req)?));
                }
                let proof = if self.version >= 5 {
                    binding_hash("Client-To-Server", &self.nonce, &self.public_key)
                } else {
                    self.public_key.clone()
                };
                let pub_key_auth = self.inner.wrap(&proof)?;
                self.stage = Stage::PublicKey;
                let req = TsRequest {
                    version: VERSION,
                    nego_token: answer,
                    pub_key_auth: Some(pub_key_auth),
                    client_nonce: (self.version >= 5).then_some(self.nonce),
                    ..Default::default()
                };
                Ok(Some(self.send_request(&req)?))
            }
            (Stage::PublicKey, Some(token)) => {
                let resp = self.receive_request(token)?;
                if let Some(last) = resp.nego_token.as_deref() {
                    // NTLM: the host's mechListMIC, checked before its pubKeyAuth
                    self.inner.step(Some(last))?;
                }
                if !self.inner.is_complete() {
                    return Err(self.refused(format!(
                        "the host did not complete the SPNEGO ({}) exchange",
                        self.inner.name()
                    )));
                }
                let sealed = resp
                    .pub_key_auth
                    .ok_or_else(|| self.refused("the host sent no pubKeyAuth"))?;
                let proof = self.inner.unwrap(&sealed)?;
                let expected = if self.version >= 5 {
                    binding_hash("Server-To-Client", &self.nonce, &self.public_key)
                } else {
                    let mut k = self.public_key.clone();
                    if let Some(first) = k.first_mut() {
                        *first = first.wrapping_add(1);
                    }
                    k
                };
                if proof != expected {
                    return Err(Error::Authentication {
                        message: format!(
                            "{}'s CredSSP public-key proof does not match the key of the TLS \
                             certificate it presented (a man in the middle?); the credentials \
                             were not sent",
                            self.host
                        ),
                    });
                }
                let creds = der::ts_password_credentials(&self.domain, &self.user, &self.password);
                let auth_info = self.inner.wrap(&creds)?;
                self.stage = Stage::Done;
                let req = TsRequest {
                    version: VERSION,
                    auth_info: Some(auth_info),
                    ..Default::default()
                };
                Ok(Some(self.send_request(&req)?))
            }
            (Stage::Done, _) => Ok(None),
            (_, None) => Err(self.refused("the host answered without a CredSSP token")),
            (Stage::Failed, _) => Err(Error::Authentication {
                message: "the CredSSP context failed earlier".into(),
            }),
        }
    }
}

impl SecurityContext for CredSspContext {
    fn http_scheme(&self) -> &'static str {
        "CredSSP"
    }

    fn step(&mut self, server_token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let r = self.step_inner(server_token);
        if r.is_err() {
            self.stage = Stage::Failed;
        }
        r
    }

    fn is_complete(&self) -> bool {
        self.stage == Stage::Done
    }

    fn encryption_protocol(&self) -> Option<&'static str> {
        Some(CREDSSP_PROTOCOL)
    }

    fn wrap_winrm(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        if self.stage != Stage::Done {
            return Err(Error::Encryption {
                message: "CredSSP cannot seal before the authentication finished".into(),
            });
        }
        let mut records = self.tls.send(plaintext)?;
        if records.len() < HEADER_LEN {
            return Err(Error::Encryption {
                message: "CredSSP sealed nothing".into(),
            });
        }
        let data = records.split_off(HEADER_LEN);
        Ok((records, data))
    }

    fn unwrap_winrm(&mut self, header: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        if self.stage != Stage::Done {
            return Err(Error::Encryption {
                message: "a CredSSP-sealed body arrived before the authentication finished".into(),
            });
        }
        let mut records = Vec::with_capacity(header.len() + data.len());
        records.extend_from_slice(header);
        records.extend_from_slice(data);
        self.tls.receive(&records).map_err(|e| Error::Encryption {
            message: format!("cannot open the host's CredSSP-sealed body: {e}"),
        })
    }

    fn unwrap_winrm_in_place(&mut self, header: &[u8], data: &mut [u8]) -> Result<usize> {
        let plain = self.unwrap_winrm(header, data)?;
        // TLS takes more bytes than it gives: the plaintext fits where the records were
        let dst = data.get_mut(..plain.len()).ok_or_else(|| Error::Protocol {
            message: "the CredSSP-unsealed body is longer than the sealed one".into(),
        })?;
        dst.copy_from_slice(&plain);
        Ok(plain.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_password() {
        let creds = Credentials::parse("CORP\\alice", Secret::None);
        let err = CredSspContext::new(&creds, "h", "HTTP/h").unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
        let creds = Credentials::parse("CORP\\alice", Secret::nt_hash([1; 16]));
        assert!(CredSspContext::new(&creds, "h", "HTTP/h").is_err());
    }

    #[test]
    fn starts_with_a_client_hello_and_cannot_seal_yet() {
        let creds = Credentials::parse("CORP\\alice", Secret::password("pw"));
        let mut ctx = CredSspContext::new_ntlm(&creds, "127.0.0.1", "HTTP/127.0.0.1").unwrap();
        assert_eq!(ctx.http_scheme(), "CredSSP");
        let hello = ctx.step(None).unwrap().unwrap();
        // a TLS handshake record (22), version 3.x, holding a ClientHello (1)
        assert_eq!((hello[0], hello[1], hello[5]), (22, 3, 1));
        assert!(!ctx.is_complete());
        assert!(ctx.wrap_winrm(b"x").is_err());
        // garbage from the host is an error, not a panic, and the context stays failed
        assert!(ctx.step(Some(b"\x16\x03\x03\x00\x02zz")).is_err());
        assert!(ctx.step(Some(b"again")).is_err());
    }

    #[test]
    fn binding_hashes_differ_by_direction_and_nonce() {
        let a = binding_hash("Client-To-Server", &[1; 32], b"key");
        let b = binding_hash("Server-To-Client", &[1; 32], b"key");
        let c = binding_hash("Client-To-Server", &[2; 32], b"key");
        assert_eq!(a.len(), 32);
        assert!(a != b && a != c);
    }
}
