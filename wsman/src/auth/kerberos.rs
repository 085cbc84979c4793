//! Kerberos ([RFC 4121]) and SPNEGO ([RFC 4178]) through the system's MIT
//! GSSAPI (`libgssapi_krb5`, via the safe `libgssapi` crate), as WinRM uses
//! them ([MS-WSMV] 3.1.4.1.30.1 and 2.2.9.1):
//! - credentials from an existing credential cache (`kinit`, `KRB5CCNAME`),
//!   or acquired with the password by `gss_acquire_cred_with_password`
//!   (MIT keeps those in a private `MEMORY:` cache of the process);
//! - the SPN `service@host` (a host-based service name: `HTTP`, `WSMAN`,
//!   `host`), mutual authentication, confidentiality and integrity, channel
//!   bindings (application data only, as Windows sends them);
//! - delegation on request ([`AuthOptions::delegate`](super::AuthOptions::delegate)):
//!   `GSS_C_DELEG_FLAG` ([RFC 2743] 2.2.1, [RFC 4121] 4.1.1.1) forwards the
//!   user's TGT to the host, as Windows' Kerberos delegation does, so that a
//!   command there can reach a second host as the user; a TGT the KDC did not
//!   make forwardable cannot be delegated, and the handshake then fails with
//!   an error that says so;
//! - WinRM's sealing: `gss_wrap_iov` with a HEADER, the DATA and a PADDING
//!   buffer; the header (the wrap token header with its rotated checksum)
//!   is what WinRM frames as the "signature", the data (plus padding, empty
//!   for AES) follows it.
//!
//! [RFC 4121]: https://www.rfc-editor.org/rfc/rfc4121
//! [RFC 4178]: https://www.rfc-editor.org/rfc/rfc4178
//! [RFC 2743]: https://www.rfc-editor.org/rfc/rfc2743
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext as _};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{
    OidSet, GSS_MECH_KRB5, GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL,
};
use libgssapi::util::{GssIov, GssIovType};

use super::{Credentials, Secret, SecurityContext};
use crate::{Error, Result};

/// Which GSSAPI mechanism, and so which HTTP scheme and sealing protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GssMech {
    /// Raw Kerberos tokens under the `Kerberos` HTTP scheme,
    /// "application/HTTP-Kerberos-session-encrypted".
    Kerberos,
    /// SPNEGO tokens (Kerberos inside) under `Negotiate`,
    /// "application/HTTP-SPNEGO-session-encrypted".
    Spnego,
}

/// A Kerberos or SPNEGO client context for one connection.
pub struct GssContext {
    ctx: ClientCtx,
    mech: GssMech,
    channel_bindings: Option<Vec<u8>>,
    /// The first token, made eagerly by [`GssContext::new`] so that a
    /// Negotiate context can fall back to NTLM when Kerberos cannot work.
    first: Option<Vec<u8>>,
    target: String,
    /// Whether the TGT must be delegated (checked once the context is complete).
    delegate: bool,
}

fn gss_err(what: &str, e: libgssapi::error::Error) -> Error {
    Error::Authentication {
        message: format!("{what}: {e}"),
    }
}

/// The client principal for a name given as `user`, `user@REALM` or
/// `DOMAIN\user` (realm upper-cased, as Windows does).
fn principal(creds: &Credentials) -> String {
    match &creds.domain {
        Some(d) => format!("{}@{}", creds.username, d.to_uppercase()),
        None => creds.username.clone(),
    }
}

/// Credentials for `creds`; `target` (`service@host`) only names the host
/// in errors.
fn acquire(creds: &Credentials, mech: GssMech, target: &str) -> Result<Option<Cred>> {
    // SPNEGO in MIT GSSAPI negotiates only mechanisms it holds credentials
    // for, and wants them acquired for the SPNEGO mechanism itself.
    let mut mechs = OidSet::new();
    let oid = match mech {
        GssMech::Kerberos => GSS_MECH_KRB5,
        GssMech::Spnego => GSS_MECH_SPNEGO,
    };
    mechs.add(oid).map_err(|e| gss_err("GSSAPI", e))?;
    let who = principal(creds);
    let name = if creds.username.is_empty() {
        None
    } else {
        Some(
            Name::new(who.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))
                .map_err(|e| gss_err(&format!("bad Kerberos principal {who}"), e))?,
        )
    };
    match &creds.secret {
        Secret::Password(pw) => {
            Cred::acquire_with_password(name.as_ref(), pw, None, CredUsage::Initiate, Some(&mechs))
                .map(Some)
                .map_err(|e| {
                    gss_err(
                        &format!(
                            "Kerberos: getting a ticket for {who} with the password (to reach {target}) failed"
                        ),
                        e,
                    )
                })
        }
        Secret::None => match Cred::acquire(name.as_ref(), None, CredUsage::Initiate, Some(&mechs))
        {
            Ok(c) => Ok(Some(c)),
            // The cache holds another principal (or the name is not a
            // Kerberos one): use whatever the default cache has.
            Err(_) if name.is_some() => {
                Cred::acquire(None, None, CredUsage::Initiate, Some(&mechs))
                    .map(Some)
                    .map_err(|e| gss_err(&no_cache(target), e))
            }
            Err(e) => Err(gss_err(&no_cache(target), e)),
        },
        Secret::NtHash(_) => Err(Error::Config {
            message: "Kerberos cannot use an NT hash; use NTLM or a password".into(),
        }),
    }
}

fn no_cache(target: &str) -> String {
    format!("Kerberos: no usable credential cache to reach {target} (run kinit, or set KRB5CCNAME)")
}

impl GssContext {
    /// Acquires credentials and makes the first token for `service@host`;
    /// with `delegate`, asks for the user's TGT to be forwarded to the host
    /// (`GSS_C_DELEG_FLAG`). Fails with [`Error::Authentication`] when no
    /// ticket can be had (wrong password, no KDC, no cache, unknown SPN).
    pub fn new(
        creds: &Credentials,
        mech: GssMech,
        service: &str,
        host: &str,
        channel_bindings: Option<&[u8]>,
        delegate: bool,
    ) -> Result<GssContext> {
        let target = format!("{service}@{host}");
        let cred = acquire(creds, mech, &target)?;
        let name = Name::new(target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| gss_err(&format!("bad service name {target}"), e))?;
        let mut flags = CtxFlags::GSS_C_MUTUAL_FLAG
            | CtxFlags::GSS_C_REPLAY_FLAG
            | CtxFlags::GSS_C_SEQUENCE_FLAG
            | CtxFlags::GSS_C_CONF_FLAG
            | CtxFlags::GSS_C_INTEG_FLAG;
        if delegate {
            flags |= CtxFlags::GSS_C_DELEG_FLAG;
        }
        let oid = match mech {
            GssMech::Kerberos => GSS_MECH_KRB5,
            GssMech::Spnego => GSS_MECH_SPNEGO,
        };
        let mut ctx = ClientCtx::new(cred, name, flags, Some(oid));
        let first = ctx
            .step(None, channel_bindings)
            .map_err(|e| gss_err(&format!("Kerberos: no service ticket for {target}"), e))?
            .map(|b| b.to_vec());
        // MIT's SPNEGO also offers other installed mechanisms (gss-ntlmssp);
        // when Kerberos itself could not make a token it would send NTLM
        // inside SPNEGO. The caller falls back to raw NTLM instead.
        if mech == GssMech::Spnego
            && first
                .as_deref()
                .is_some_and(|t| t.windows(8).any(|w| w == b"NTLMSSP\0"))
        {
            return Err(Error::Authentication {
                message: format!("Kerberos: no service ticket for {target}"),
            });
        }
        Ok(GssContext {
            ctx,
            mech,
            channel_bindings: channel_bindings.map(<[u8]>::to_vec),
            first,
            target,
            delegate,
        })
    }

    /// With delegation asked for, whether the completed context delegated
    /// the TGT; MIT drops `GSS_C_DELEG_FLAG` silently when the TGT is not
    /// forwardable, which the user must hear about.
    fn check_delegated(&self) -> Result<()> {
        if !self.delegate || !self.ctx.is_complete() {
            return Ok(());
        }
        let flags = self
            .ctx
            .flags()
            .map_err(|e| gss_err("Kerberos: reading the context flags", e))?;
        if flags.contains(CtxFlags::GSS_C_DELEG_FLAG) {
            return Ok(());
        }
        Err(Error::Authentication {
            message: format!(
                "Kerberos: delegation to {} was asked for, but the user's ticket-granting ticket \
                 is not forwardable, so nothing was delegated (get a forwardable ticket with \
                 `kinit -f`, and check that the KDC allows forwardable tickets for the user)",
                self.target
            ),
        })
    }
}

impl SecurityContext for GssContext {
    fn http_scheme(&self) -> &'static str {
        match self.mech {
            GssMech::Kerberos => "Kerberos",
            GssMech::Spnego => "Negotiate",
        }
    }

    fn step(&mut self, server_token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.ctx.is_complete() {
            return Ok(None);
        }
        let Some(tok) = server_token else {
            return Err(Error::Authentication {
                message: format!(
                    "{} refused the Kerberos ticket (no token in the answer)",
                    self.target
                ),
            });
        };
        let out = self
            .ctx
            .step(Some(tok), self.channel_bindings.as_deref())
            .map_err(|e| {
                gss_err(
                    &format!("Kerberos authentication to {} failed", self.target),
                    e,
                )
            })?;
        self.check_delegated()?;
        Ok(out.map(|b| b.to_vec()).filter(|b| !b.is_empty()))
    }

    fn is_complete(&self) -> bool {
        self.first.is_none() && self.ctx.is_complete()
    }

    fn encryption_protocol(&self) -> Option<&'static str> {
        Some(match self.mech {
            GssMech::Kerberos => "application/HTTP-Kerberos-session-encrypted",
            GssMech::Spnego => "application/HTTP-SPNEGO-session-encrypted",
        })
    }

    fn wrap_winrm(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        if !self.is_complete() {
            return Err(Error::Encryption {
                message: "cannot seal before Kerberos authentication completed".into(),
            });
        }
        let mut data = plaintext.to_vec();
        let mut iov = [
            GssIov::new_alloc(GssIovType::Header),
            GssIov::new(GssIovType::Data, &mut data),
            GssIov::new_alloc(GssIovType::Padding),
        ];
        self.ctx
            .wrap_iov(true, &mut iov)
            .map_err(|e| Error::Encryption {
                message: format!("Kerberos wrap failed: {e}"),
            })?;
        let header = iov[0].to_vec();
        let padding = iov[2].to_vec();
        drop(iov);
        data.extend_from_slice(&padding);
        Ok((header, data))
    }

    fn unwrap_winrm(&mut self, header: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        if !self.is_complete() {
            return Err(Error::Encryption {
                message: "cannot unseal before Kerberos authentication completed".into(),
            });
        }
        let mut header = header.to_vec();
        let mut plain = data.to_vec();
        let mut empty: [u8; 0] = [];
        let mut iov = [
            GssIov::new(GssIovType::Header, &mut header),
            GssIov::new(GssIovType::Data, &mut plain),
            GssIov::new(GssIovType::Data, &mut empty),
        ];
        self.ctx.unwrap_iov(&mut iov).map_err(|e| Error::Protocol {
            message: format!("Kerberos unwrap of the host's message failed: {e}"),
        })?;
        let n = iov[1].len();
        drop(iov);
        plain.truncate(n);
        Ok(plain)
    }
}

impl GssContext {
    /// GSS_Wrap with confidentiality into one token: how CredSSP seals its
    /// pubKeyAuth and authInfo with the inner context ([MS-CSSP] 3.1.5).
    ///
    /// [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
    pub fn wrap_token(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.ctx
            .wrap(true, data)
            .map(|b| b.to_vec())
            .map_err(|e| Error::Encryption {
                message: format!("Kerberos wrap failed: {e}"),
            })
    }

    /// GSS_Unwrap of one token sealed by the host.
    pub fn unwrap_token(&mut self, token: &[u8]) -> Result<Vec<u8>> {
        self.ctx
            .unwrap(token)
            .map(|b| b.to_vec())
            .map_err(|e| Error::Protocol {
                message: format!("Kerberos unwrap of the host's message failed: {e}"),
            })
    }
}
