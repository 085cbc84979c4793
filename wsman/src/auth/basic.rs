//! HTTP Basic authentication ([RFC 7617]): one leg, `base64(user:password)`,
//! no message sealing (so only over HTTPS, or HTTP when explicitly allowed).
//!
//! [RFC 7617]: https://www.rfc-editor.org/rfc/rfc7617
use zeroize::Zeroizing;

use super::{Credentials, Secret, SecurityContext};
use crate::{Error, Result};

/// The Basic "context": a single token, never seals.
pub struct BasicContext {
    /// `user:password` (WinRM takes `DOMAIN\user` or `user@domain` as given).
    pair: Zeroizing<String>,
    done: bool,
}

impl BasicContext {
    /// Builds the context; needs a password.
    pub fn new(creds: &Credentials) -> Result<BasicContext> {
        let Secret::Password(pw) = &creds.secret else {
            return Err(Error::Config {
                message: format!(
                    "Basic authentication for {} needs a password",
                    creds.display_name()
                ),
            });
        };
        let user = match &creds.domain {
            Some(d) if d.contains('.') => format!("{}@{}", creds.username, d),
            Some(d) => format!("{}\\{}", d, creds.username),
            None => creds.username.clone(),
        };
        let mut pair = Zeroizing::new(String::with_capacity(user.len() + pw.len() + 1));
        pair.push_str(&user);
        pair.push(':');
        pair.push_str(pw);
        Ok(BasicContext { pair, done: false })
    }
}

impl SecurityContext for BasicContext {
    fn http_scheme(&self) -> &'static str {
        "Basic"
    }

    /// The `Authorization: Basic` value is base64 of the returned bytes; the
    /// transport base64-encodes every token the same way.
    fn step(&mut self, _server_token: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(self.pair.as_bytes().to_vec()))
    }

    fn is_complete(&self) -> bool {
        self.done
    }

    fn encryption_protocol(&self) -> Option<&'static str> {
        None
    }

    fn wrap_winrm(&mut self, _plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        Err(Error::Encryption {
            message: "Basic authentication cannot seal messages; use HTTPS".into(),
        })
    }

    fn unwrap_winrm(&mut self, _header: &[u8], _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Encryption {
            message: "Basic authentication cannot unseal messages".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_user_colon_password() {
        let c = Credentials::parse("CORP\\alice", Secret::password("pw:1"));
        let mut ctx = BasicContext::new(&c).unwrap();
        assert_eq!(ctx.step(None).unwrap().unwrap(), b"CORP\\alice:pw:1");
        assert!(ctx.is_complete());
        assert_eq!(ctx.step(None).unwrap(), None);
        assert!(ctx.encryption_protocol().is_none());
        assert!(ctx.wrap_winrm(b"x").is_err());
    }

    #[test]
    fn needs_password() {
        let c = Credentials::parse("alice", Secret::None);
        assert!(matches!(BasicContext::new(&c), Err(Error::Config { .. })));
    }
}
