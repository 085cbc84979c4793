//! Authentication mechanisms and their security contexts: Basic, NTLM
//! ([MS-NLMP]), Kerberos, Negotiate (SPNEGO, [RFC 4178]), CredSSP
//! ([`credssp`]), client certificates.
//!
//! One [`SecurityContext`] belongs to one TCP connection ([MS-WSMV] 2.2.9.1):
//! the transport drives [`SecurityContext::step`] with the tokens of the
//! `WWW-Authenticate` headers until it returns `Ok(None)`, then seals every
//! body with [`SecurityContext::wrap_winrm`] and opens the host's answers with
//! [`SecurityContext::unwrap_winrm`].
//!
//! ```no_run
//! use wsman::auth::{new_context, AuthOptions, Credentials, Mechanism, Secret};
//!
//! let creds = Credentials::parse("CORP\\alice", Secret::password("secret"));
//! let opts = AuthOptions::new(Mechanism::Negotiate, creds);
//! let mut ctx = new_context(&opts, "server.corp.example")?;
//! // `Authorization: {scheme} {base64(token)}` on an empty POST ...
//! let first = ctx.step(None)?.expect("a first token");
//! # let from_host: Vec<u8> = first;
//! // ... then the token of each `WWW-Authenticate` answer, until `Ok(None)`.
//! let _next = ctx.step(Some(&from_host))?;
//! if ctx.is_complete() {
//!     let (signature, sealed) = ctx.wrap_winrm(b"<s:Envelope/>")?;
//!     # let _ = (signature, sealed);
//! }
//! # Ok::<(), wsman::Error>(())
//! ```
//!
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
//! [RFC 4178]: https://www.rfc-editor.org/rfc/rfc4178
use std::fmt;

use zeroize::Zeroizing;

mod basic;
pub mod channel_bindings;
pub mod credssp;
#[cfg(feature = "gssapi")]
pub mod kerberos;
pub mod ntlm;

pub use basic::BasicContext;
pub use ntlm::NtlmContext;

/// The secret that proves who the user is. Zeroized on drop, redacted in
/// `Debug`.
#[derive(Clone)]
pub enum Secret {
    /// A clear-text password (every mechanism).
    Password(Zeroizing<String>),
    /// The NT one-way function of the password, MD4(UTF-16LE(password))
    /// ([MS-NLMP] 3.3.1 `NTOWFv1`): pass-the-hash for NTLM only.
    ///
    /// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
    NtHash(Zeroizing<[u8; 16]>),
    /// No secret: use what the system already holds (a Kerberos credential
    /// cache made by `kinit`, found through `KRB5CCNAME`).
    None,
}

impl Secret {
    /// A password secret.
    pub fn password(p: impl Into<String>) -> Secret {
        Secret::Password(Zeroizing::new(p.into()))
    }

    /// An NT hash secret (NTLM only), without naming the `zeroize` crate.
    pub fn nt_hash(hash: [u8; 16]) -> Secret {
        Secret::NtHash(Zeroizing::new(hash))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::NtHash(_) => f.write_str("NtHash(<redacted>)"),
            Secret::None => f.write_str("None"),
        }
    }
}

/// Who to authenticate as. Secrets zeroized on drop, redacted in Debug.
#[derive(Clone)]
pub struct Credentials {
    /// The account name without domain or realm.
    pub username: String,
    /// The NetBIOS domain (`DOMAIN\user`) or Kerberos realm / DNS domain
    /// (`user@REALM`), if given.
    pub domain: Option<String>,
    /// The password, NT hash, or nothing (use a credential cache).
    pub secret: Secret,
}

impl Credentials {
    /// Splits `user`, `DOMAIN\user` or `user@REALM` into user name and domain.
    pub fn parse(user: &str, secret: Secret) -> Credentials {
        let (username, domain) = if let Some((d, u)) = user.split_once('\\') {
            (u.to_string(), Some(d.to_string()))
        } else if let Some((u, d)) = user.rsplit_once('@') {
            (u.to_string(), Some(d.to_string()))
        } else {
            (user.to_string(), None)
        };
        let domain = domain.filter(|d| !d.is_empty());
        Credentials {
            username,
            domain,
            secret,
        }
    }

    /// `user@domain`, `user` — for messages (never contains the secret).
    pub fn display_name(&self) -> String {
        match &self.domain {
            Some(d) => format!("{}\\{}", d, self.username),
            None => self.username.clone(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .field("secret", &self.secret)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

/// The authentication mechanism ([MS-WSMV] 2.2.9 and 3.1.4.1.x).
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// HTTP Basic: `base64(user:password)`; cannot seal.
    Basic,
    /// NTLMv2 ([MS-NLMP]), sent under the `Negotiate` HTTP scheme as Windows does.
    ///
    /// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
    Ntlm,
    /// Kerberos through GSSAPI under the `Kerberos` HTTP scheme.
    Kerberos,
    /// SPNEGO: Kerberos when it works, otherwise NTLM.
    Negotiate,
    /// TLS client certificate (handled by the transport).
    Certificate,
    /// CredSSP ([MS-CSSP]).
    ///
    /// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
    CredSsp,
}

/// A mechanism name [`Mechanism`]'s `FromStr` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown authentication mechanism {0:?} (basic, ntlm, kerberos, negotiate, certificate, credssp)"
)]
pub struct UnknownMechanism(pub String);

impl std::str::FromStr for Mechanism {
    type Err = UnknownMechanism;

    /// The mechanism by its lower-case name, as WinRM's `Auth` settings
    /// and the `-a` option of the `wsman` binary spell it (any case).
    fn from_str(name: &str) -> Result<Mechanism, UnknownMechanism> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "basic" => Mechanism::Basic,
            "ntlm" => Mechanism::Ntlm,
            "kerberos" => Mechanism::Kerberos,
            "negotiate" => Mechanism::Negotiate,
            "certificate" => Mechanism::Certificate,
            "credssp" => Mechanism::CredSsp,
            _ => return Err(UnknownMechanism(name.to_string())),
        })
    }
}

/// Everything needed to make a [`SecurityContext`].
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Which mechanism.
    pub mechanism: Mechanism,
    /// Who to authenticate as.
    pub credentials: Credentials,
    /// SPN service class; default `"HTTP"` (also `WSMAN`, `host`).
    pub spn_service: String,
    /// SPN host; default: the URL's host.
    pub spn_host: Option<String>,
    /// Application data of the channel bindings (`tls-server-end-point:` +
    /// certificate hash, [RFC 5929]), set by the transport after TLS.
    ///
    /// [RFC 5929]: https://www.rfc-editor.org/rfc/rfc5929
    pub channel_bindings: Option<Vec<u8>>,
    /// Kerberos delegation: ask for the user's ticket-granting ticket to be
    /// forwarded to the host (`GSS_C_DELEG_FLAG`, [RFC 4121] 4.1.1.1), so a
    /// command there can reach a second host as the user (what Windows'
    /// Kerberos delegation and `-Authentication Kerberos` with a
    /// delegation-trusted host do). For [`Mechanism::Kerberos`] and
    /// [`Mechanism::Negotiate`] only (which then never falls back to NTLM);
    /// the TGT must be forwardable (`kinit -f`). Default `false`.
    ///
    /// [RFC 4121]: https://www.rfc-editor.org/rfc/rfc4121
    pub delegate: bool,
}

impl AuthOptions {
    /// Options with the default SPN (`HTTP@<url host>`) and no channel bindings.
    pub fn new(mechanism: Mechanism, credentials: Credentials) -> AuthOptions {
        AuthOptions {
            mechanism,
            credentials,
            spn_service: "HTTP".to_string(),
            spn_host: None,
            channel_bindings: None,
            delegate: false,
        }
    }
}

/// One security context per TCP connection ([MS-WSMV] 2.2.9.1).
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
pub trait SecurityContext: Send {
    /// HTTP scheme for the Authorization header: "Negotiate", "Kerberos", "Basic".
    fn http_scheme(&self) -> &'static str;
    /// Next token to send (None in = first leg). Ok(None) = done, nothing more to send.
    fn step(&mut self, server_token: Option<&[u8]>) -> crate::Result<Option<Vec<u8>>>;
    /// Whether the handshake has finished.
    fn is_complete(&self) -> bool;
    /// The `protocol=` of multipart/encrypted: "application/HTTP-SPNEGO-session-encrypted" or
    /// "application/HTTP-Kerberos-session-encrypted"; None when this context cannot seal (Basic).
    fn encryption_protocol(&self) -> Option<&'static str>;
    /// Seal one message for WinRM: returns (signature/header bytes, encrypted bytes); the transport
    /// frames them (u32 LE header length + header + data).
    ///
    /// The encrypted bytes are as long as the plaintext, except with
    /// Kerberos RC4-HMAC, where the wrap padding (1 byte) follows them; pypsrp
    /// then announces `OriginalContent: ...;Length=` as the plaintext plus
    /// that padding, i.e. the length of the encrypted bytes.
    fn wrap_winrm(&mut self, plaintext: &[u8]) -> crate::Result<(Vec<u8>, Vec<u8>)>;
    /// Open one message sealed by the host: `header` is the signature or
    /// wrap-token header, `data` the encrypted bytes. The result is as long
    /// as `data` (with Kerberos RC4-HMAC it ends with the padding, as
    /// pyspnego's `unwrap_winrm` leaves it).
    fn unwrap_winrm(&mut self, header: &[u8], data: &[u8]) -> crate::Result<Vec<u8>>;
    /// [`wrap_winrm`](Self::wrap_winrm) appending the framed part to `out`:
    /// the header length (`u32` little-endian), the header and the
    /// encrypted bytes ([MS-WSMV] 2.2.9.1.1). Contexts that can seal in
    /// place override it to save the copies.
    fn wrap_winrm_into(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> crate::Result<()> {
        let (header, data) = self.wrap_winrm(plaintext)?;
        let len = u32::try_from(header.len()).map_err(|_| crate::Error::Protocol {
            message: "signature longer than 4 GiB".into(),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&data);
        Ok(())
    }
    /// [`unwrap_winrm`](Self::unwrap_winrm) in place: on success the
    /// first `n` bytes of `data` are the plaintext, `n` returned. Contexts
    /// that can unseal in place override it to save the copies.
    fn unwrap_winrm_in_place(&mut self, header: &[u8], data: &mut [u8]) -> crate::Result<usize> {
        let plain = self.unwrap_winrm(header, data)?;
        let Some(dst) = data.get_mut(..plain.len()) else {
            return Err(crate::Error::Protocol {
                message: "the unsealed message is longer than the sealed one".into(),
            });
        };
        dst.copy_from_slice(&plain);
        Ok(plain.len())
    }
}

/// Makes the security context for one connection to `target_host` (the URL
/// host, used for the SPN unless [`AuthOptions::spn_host`] is set).
///
/// - `Basic`: one token, no sealing.
/// - `Ntlm`: NTLMv2 tokens under the `Negotiate` scheme.
/// - `Kerberos` (feature `gssapi`): GSSAPI's Kerberos under `Kerberos`;
///   credentials are acquired and the first token made here, so a wrong
///   password, a missing ticket or an unknown SPN fail now with
///   [`crate::Error::Authentication`]. This talks to the KDC (blocking).
/// - `Negotiate`: SPNEGO with Kerberos inside when a ticket can be had
///   (feature `gssapi`), otherwise NTLM tokens sent raw under `Negotiate`
///   (what Windows and pypsrp do), when the credentials allow NTLM.
/// - `CredSsp`: [`credssp::CredSspContext`] under `CredSSP`, with SPNEGO
///   inside (Kerberos when a ticket can be had, else NTLM); needs a
///   password (it is delegated to the host).
/// - `Certificate` is TLS-level (the transport handles it):
///   [`crate::Error::Config`].
pub fn new_context(
    opts: &AuthOptions,
    target_host: &str,
) -> crate::Result<Box<dyn SecurityContext>> {
    let host = opts.spn_host.as_deref().unwrap_or(target_host);
    let ntlm_spn = format!("{}/{}", opts.spn_service, host);
    let cb = opts.channel_bindings.as_deref();
    let creds = &opts.credentials;
    // CredSSP delegates by design; Kerberos and Negotiate on request.
    let cannot_delegate = match opts.mechanism {
        Mechanism::Basic => Some("Basic"),
        Mechanism::Ntlm => Some("NTLM"),
        Mechanism::Certificate => Some("certificate"),
        _ => None,
    };
    if let Some(name) = cannot_delegate.filter(|_| opts.delegate) {
        return Err(crate::Error::Config {
            message: format!(
                "{name} authentication cannot delegate credentials: delegation needs \
                 Kerberos (Kerberos or Negotiate) or CredSSP"
            ),
        });
    }
    match opts.mechanism {
        Mechanism::Basic => Ok(Box::new(BasicContext::new(creds)?)),
        Mechanism::Ntlm => Ok(Box::new(NtlmContext::new(creds, &ntlm_spn, cb)?)),
        #[cfg(feature = "gssapi")]
        Mechanism::Kerberos => Ok(Box::new(kerberos::GssContext::new(
            creds,
            kerberos::GssMech::Kerberos,
            &opts.spn_service,
            host,
            cb,
            opts.delegate,
        )?)),
        #[cfg(not(feature = "gssapi"))]
        Mechanism::Kerberos => Err(crate::Error::Config {
            message: "Kerberos needs the wsman crate's `gssapi` feature".into(),
        }),
        Mechanism::Negotiate => {
            #[cfg(feature = "gssapi")]
            if !matches!(creds.secret, Secret::NtHash(_)) {
                let krb = kerberos::GssContext::new(
                    creds,
                    kerberos::GssMech::Spnego,
                    &opts.spn_service,
                    host,
                    cb,
                    opts.delegate,
                );
                match krb {
                    Ok(ctx) => return Ok(Box::new(ctx)),
                    // NTLM cannot delegate: no silent fallback when delegation was asked for.
                    Err(e) if matches!(creds.secret, Secret::None) || opts.delegate => {
                        return Err(e)
                    }
                    Err(_) => {} // no Kerberos for this host: NTLM below
                }
            }
            if opts.delegate {
                return Err(crate::Error::Config {
                    message: "delegation needs Kerberos, but Negotiate would use NTLM here \
                              (an NT hash, or a build without Kerberos)"
                        .into(),
                });
            }
            Ok(Box::new(NtlmContext::new(creds, &ntlm_spn, cb)?))
        }
        Mechanism::Certificate => Err(crate::Error::Config {
            message: "client certificate authentication happens in TLS; \
                      there is no message-level security context for it"
                .into(),
        }),
        Mechanism::CredSsp => Ok(Box::new(credssp::CredSspContext::new(
            creds, host, &ntlm_spn,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mechanisms_by_name() {
        use super::{Mechanism, UnknownMechanism};
        assert_eq!("ntlm".parse(), Ok(Mechanism::Ntlm));
        assert_eq!("Kerberos".parse(), Ok(Mechanism::Kerberos));
        assert_eq!("CredSSP".parse(), Ok(Mechanism::CredSsp));
        assert_eq!(
            "digest".parse::<Mechanism>(),
            Err(UnknownMechanism("digest".into()))
        );
    }

    use super::*;

    #[test]
    fn parse_forms() {
        let c = Credentials::parse("CORP\\alice", Secret::None);
        assert_eq!(c.username, "alice");
        assert_eq!(c.domain.as_deref(), Some("CORP"));
        let c = Credentials::parse("bob@EXAMPLE.COM", Secret::None);
        assert_eq!(c.username, "bob");
        assert_eq!(c.domain.as_deref(), Some("EXAMPLE.COM"));
        let c = Credentials::parse("carol", Secret::None);
        assert_eq!(c.username, "carol");
        assert_eq!(c.domain, None);
    }

    #[test]
    fn delegation_needs_kerberos() {
        for mech in [Mechanism::Ntlm, Mechanism::Basic, Mechanism::Certificate] {
            let mut o = AuthOptions::new(mech, Credentials::parse("u", Secret::password("pw")));
            o.delegate = true;
            let err = new_context(&o, "h").err().expect("refused");
            assert!(
                matches!(&err, crate::Error::Config { message } if message.contains("cannot delegate")),
                "{err}"
            );
        }
        // Negotiate with an NT hash would be NTLM: no silent fallback.
        let mut o = AuthOptions::new(
            Mechanism::Negotiate,
            Credentials::parse("u", Secret::nt_hash([1; 16])),
        );
        o.delegate = true;
        let err = new_context(&o, "h").err().expect("refused");
        assert!(
            err.to_string().contains("delegation needs Kerberos"),
            "{err}"
        );
        o.delegate = false;
        assert!(new_context(&o, "h").is_ok());
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Credentials::parse("CORP\\alice", Secret::password("hunter2"));
        let dbg = format!("{c:?} {c}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("redacted"));
        let h = Secret::NtHash(Zeroizing::new([0xab; 16]));
        assert!(!format!("{h:?}").contains("ab"));
    }
}
