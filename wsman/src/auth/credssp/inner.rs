//! The authentication inside CredSSP ([MS-CSSP] 3.1.5): SPNEGO, with
//! Kerberos when a ticket for the host can be had (feature `gssapi`, MIT
//! GSSAPI's SPNEGO), otherwise NTLM in our own SPNEGO ([`SpnegoNtlm`]),
//! as Windows' CredSSP uses Negotiate.
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
use super::spnego::SpnegoNtlm;
#[cfg(feature = "gssapi")]
use crate::auth::kerberos::{GssContext, GssMech};
use crate::auth::Credentials;
#[cfg(feature = "gssapi")]
use crate::auth::SecurityContext as _;
use crate::Result;

/// The SPNEGO context whose tokens travel in `negoTokens`.
pub enum Inner {
    /// NTLM in SPNEGO.
    Ntlm(Box<SpnegoNtlm>),
    /// Kerberos in SPNEGO, through GSSAPI.
    #[cfg(feature = "gssapi")]
    Kerberos(Box<GssContext>),
}

impl Inner {
    /// Kerberos for the service of `spn` (`HTTP/host`: `HTTP@host`) when
    /// the credentials get a ticket for it, else NTLM for `spn`. The ticket
    /// is not forwarded: CredSSP delegates the password itself (TSCredentials).
    pub fn new(creds: &Credentials, spn: &str) -> Result<Inner> {
        #[cfg(feature = "gssapi")]
        if let Some((service, host)) = spn.split_once('/') {
            if let Ok(ctx) = GssContext::new(creds, GssMech::Spnego, service, host, None, false) {
                return Ok(Inner::Kerberos(Box::new(ctx)));
            }
        }
        Inner::ntlm(creds, spn)
    }

    /// NTLM in SPNEGO for `spn`, without trying Kerberos.
    pub fn ntlm(creds: &Credentials, spn: &str) -> Result<Inner> {
        Ok(Inner::Ntlm(Box::new(SpnegoNtlm::new(creds, spn)?)))
    }

    /// The mechanism's name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Inner::Ntlm(_) => "NTLM",
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(_) => "Kerberos",
        }
    }

    /// The next SPNEGO token.
    pub fn step(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        match self {
            Inner::Ntlm(c) => c.step(token),
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(c) => c.step(token),
        }
    }

    /// The keys are known: pubKeyAuth can be sealed (NTLM: before the
    /// host's mechListMIC arrives, as it comes with the host's pubKeyAuth).
    pub fn can_wrap(&self) -> bool {
        match self {
            Inner::Ntlm(c) => c.can_wrap(),
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(c) => c.is_complete(),
        }
    }

    /// SPNEGO finished on our side (the host's last token checked).
    pub fn is_complete(&self) -> bool {
        match self {
            Inner::Ntlm(c) => c.is_complete(),
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(c) => c.is_complete(),
        }
    }

    /// GSS_Wrap (confidentiality) of `data`.
    pub fn wrap(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Inner::Ntlm(c) => c.wrap(data),
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(c) => c.wrap_token(data),
        }
    }

    /// GSS_Unwrap of what the host sealed.
    pub fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Inner::Ntlm(c) => c.unwrap(data),
            #[cfg(feature = "gssapi")]
            Inner::Kerberos(c) => c.unwrap_token(data),
        }
    }
}
