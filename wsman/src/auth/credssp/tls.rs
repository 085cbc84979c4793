//! CredSSP's own TLS channel, run over memory ([MS-CSSP] 3.1.5 step 1):
//! the TLS records travel base64-encoded in the `Authorization: CredSSP`
//! headers, then seal the WinRM bodies (MS-WSMV 2.2.9.1.1).
//!
//! The host's certificate is self-signed (Windows makes one for its WSMan
//! CredSSP listener); CredSSP does not trust it through a CA but binds its
//! public key inside the authenticated exchange (pubKeyAuth). The verifier
//! here therefore accepts any certificate, while still checking that the
//! host holds the certificate's private key (the handshake signature).
//! TLS 1.2 only, as Windows' CredSSP speaks it.
//!
//! [MS-CSSP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-cssp/
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::transport::tls::AcceptAnyCertificate;
use crate::{Error, Result};

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::Authentication {
        message: format!("the CredSSP TLS channel failed: {e}"),
    }
}

/// A TLS client whose records go to and come from byte buffers.
pub(crate) struct MemoryTls {
    conn: ClientConnection,
}

impl MemoryTls {
    /// A client for `host` (sent as SNI when it is a DNS name).
    pub fn new(host: &str) -> Result<MemoryTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .map_err(tls_error)?
            .dangerous()
            // Any certificate, as CredSSP requires: its key is checked later by
            // pubKeyAuth; handshake signatures are still verified with it.
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        let name = ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::try_from("credssp.invalid").expect("a valid name"));
        let conn = ClientConnection::new(Arc::new(config), name).map_err(tls_error)?;
        Ok(MemoryTls { conn })
    }

    /// Whether the handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The DER of the host's certificate, once the handshake is done.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.conn.peer_certificates()?.first().map(|c| c.as_ref())
    }

    /// The TLS records waiting to be sent.
    pub fn take_records(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).map_err(tls_error)?;
        }
        Ok(out)
    }

    /// Takes in the host's records; returns the application data they held.
    pub fn receive(&mut self, mut records: &[u8]) -> Result<Vec<u8>> {
        let mut plain = Vec::new();
        while !records.is_empty() {
            let n = self.conn.read_tls(&mut records).map_err(tls_error)?;
            self.conn.process_new_packets().map_err(tls_error)?;
            match self.conn.reader().read_to_end(&mut plain) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(tls_error(e)),
            }
            if n == 0 {
                break;
            }
        }
        Ok(plain)
    }

    /// Encrypts `plaintext` into TLS application-data records.
    pub fn send(&mut self, mut plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plaintext.len() + 64);
        while !plaintext.is_empty() {
            let n = self.conn.writer().write(plaintext).map_err(tls_error)?;
            plaintext = &plaintext[n..];
            while self.conn.wants_write() {
                self.conn.write_tls(&mut out).map_err(tls_error)?;
            }
            if n == 0 && !plaintext.is_empty() {
                return Err(tls_error("the TLS layer took no data"));
            }
        }
        Ok(out)
    }
}
