//! Where and how to connect: the equivalent of PowerShell's
//! `WSManConnectionInfo` (endpoint, authentication, TLS, proxy, session
//! configuration, timeouts).
//!
//! The short way is [`ConnectionInfo::builder`]:
//!
//! ```
//! use pssession::ConnectionInfo;
//! use wsman::auth::Mechanism;
//!
//! let info = ConnectionInfo::builder("server01")
//!     .user("CORP\\alice")
//!     .password("secret")
//!     .auth(Mechanism::Ntlm)
//!     .build()?;
//! assert_eq!(info.computer_name(), "http://server01:5985/wsman");
//! # Ok::<(), pssession::Error>(())
//! ```
use std::path::PathBuf;
use std::time::Duration;

use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::client::{Client as WsmanClient, ClientOptions};
use wsman::soap::ns;
use wsman::transport::{Endpoint, TransportConfig};

use crate::Result;

/// Everything needed to reach one host.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Transport: endpoint, authentication, TLS, proxy, encryption policy.
    pub transport: TransportConfig,
    /// Operation timeout, envelope size, locale.
    pub options: ClientOptions,
    /// The session configuration (endpoint) name: `Microsoft.PowerShell`
    /// by default; JEA endpoints have their own.
    pub configuration: String,
}

impl ConnectionInfo {
    /// A builder for `host` (`server01`, `server01:5986` or a full URL):
    /// Negotiate authentication, HTTP with message encryption unless
    /// [`ConnectionBuilder::https`], TLS verified against the platform's
    /// roots, the default session configuration.
    pub fn builder(host: impl Into<String>) -> ConnectionBuilder {
        ConnectionBuilder {
            host: host.into(),
            https: false,
            user: String::new(),
            secret: Secret::None,
            mechanism: Mechanism::Negotiate,
            allow_unencrypted: false,
            ca_file: None,
            configuration: None,
            operation_timeout: None,
            delegate: false,
        }
    }

    /// Connection info with the default session configuration.
    pub fn new(transport: TransportConfig) -> ConnectionInfo {
        ConnectionInfo {
            transport,
            options: ClientOptions::default(),
            configuration: "Microsoft.PowerShell".into(),
        }
    }

    /// The PowerShell resource URI of the session configuration
    /// ([MS-PSRP] 3.1.5.3.1).
    pub fn resource_uri(&self) -> String {
        if self.configuration.contains("://") {
            self.configuration.clone()
        } else {
            format!("{}{}", ns::uri::POWERSHELL_PREFIX, self.configuration)
        }
    }

    /// The endpoint URL as text (`http://host:5985/wsman`).
    pub fn computer_name(&self) -> String {
        self.transport.endpoint.to_string()
    }

    /// The host part of the endpoint, as PowerShell shows `ComputerName`.
    pub fn host_name(&self) -> String {
        self.transport.endpoint.host.clone()
    }

    /// The OperationTimeout each request carries.
    pub fn operation_timeout(&self) -> Duration {
        self.options.operation_timeout
    }

    /// A new WS-Management client (one connection) with a fresh
    /// `wsmv:SessionId`.
    pub fn wsman_client(&self) -> Result<WsmanClient> {
        let mut options = self.options.clone();
        options.session_id = wsman::soap::new_message_id();
        Ok(WsmanClient::new(self.transport.clone(), options)?)
    }
}

/// Builds a [`ConnectionInfo`] in one expression; see
/// [`ConnectionInfo::builder`]. What it does not cover (proxy, client
/// certificate, SPN, timeouts of the transport) is set on the built value's
/// [`ConnectionInfo::transport`].
#[derive(Debug)]
#[must_use]
pub struct ConnectionBuilder {
    host: String,
    https: bool,
    user: String,
    secret: Secret,
    mechanism: Mechanism,
    allow_unencrypted: bool,
    ca_file: Option<PathBuf>,
    configuration: Option<String>,
    operation_timeout: Option<Duration>,
    delegate: bool,
}

impl ConnectionBuilder {
    /// `user`, `DOMAIN\\user` or `user@REALM`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// The password (kept in memory that is zeroed when dropped).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.secret = Secret::password(password);
        self
    }

    /// The authentication mechanism (default [`Mechanism::Negotiate`]).
    pub fn auth(mut self, mechanism: Mechanism) -> Self {
        self.mechanism = mechanism;
        self
    }

    /// HTTPS (port 5986 unless the host names one).
    pub fn https(mut self, https: bool) -> Self {
        self.https = https;
        self
    }

    /// Over plain HTTP, allow bodies in clear (needed for Basic; the host
    /// must have `AllowUnencrypted=true`).
    pub fn allow_unencrypted(mut self, allow: bool) -> Self {
        self.allow_unencrypted = allow;
        self
    }

    /// An extra trusted CA (PEM) for HTTPS.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The session configuration (default `Microsoft.PowerShell`; JEA
    /// endpoints have their own name).
    pub fn configuration(mut self, name: impl Into<String>) -> Self {
        self.configuration = Some(name.into());
        self
    }

    /// The OperationTimeout of each request (default 20 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// Kerberos delegation for a second hop: forward the user's
    /// ticket-granting ticket to the host (`GSS_C_DELEG_FLAG`, [RFC 4121]
    /// 4.1.1.1; see [`AuthOptions::delegate`]), so a command there, such as
    /// `Invoke-Command -ComputerName server02 { ... }`, reaches another host
    /// as the user. With [`Mechanism::Kerberos`] or [`Mechanism::Negotiate`];
    /// the ticket must be forwardable (`kinit -f`). Opening the session
    /// fails with [`crate::Error`] (authentication) when nothing could be
    /// delegated, and with another mechanism it is a configuration error.
    ///
    /// ```
    /// use pssession::ConnectionInfo;
    /// use wsman::auth::Mechanism;
    ///
    /// let info = ConnectionInfo::builder("server01")
    ///     .auth(Mechanism::Kerberos)
    ///     .delegate(true)
    ///     .build()?;
    /// assert!(info.transport.auth.delegate);
    /// # Ok::<(), pssession::Error>(())
    /// ```
    ///
    /// [RFC 4121]: https://www.rfc-editor.org/rfc/rfc4121
    pub fn delegate(mut self, delegate: bool) -> Self {
        self.delegate = delegate;
        self
    }

    /// The connection info; fails when the host is not a valid endpoint.
    pub fn build(self) -> Result<ConnectionInfo> {
        let endpoint = Endpoint::parse(&self.host, self.https)?;
        let credentials = Credentials::parse(&self.user, self.secret);
        let mut auth = AuthOptions::new(self.mechanism, credentials);
        auth.delegate = self.delegate;
        let mut transport = TransportConfig::new(endpoint, auth);
        transport.allow_unencrypted = self.allow_unencrypted;
        transport.tls.ca_file = self.ca_file;
        let mut info = ConnectionInfo::new(transport);
        if let Some(c) = self.configuration {
            info.configuration = c;
        }
        if let Some(t) = self.operation_timeout {
            info.options.operation_timeout = t;
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_what_it_is_given() {
        let info = ConnectionInfo::builder("web1")
            .https(true)
            .user("alice@CORP.EXAMPLE")
            .password("pw")
            .auth(Mechanism::Kerberos)
            .ca_file("/etc/ca.pem")
            .configuration("JEA")
            .operation_timeout(Duration::from_secs(7))
            .build()
            .unwrap();
        assert_eq!(info.computer_name(), "https://web1:5986/wsman");
        assert_eq!(info.transport.auth.mechanism, Mechanism::Kerberos);
        assert_eq!(info.transport.auth.credentials.username, "alice");
        assert_eq!(
            info.transport.tls.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(
            info.resource_uri(),
            "http://schemas.microsoft.com/powershell/JEA"
        );
        assert_eq!(info.operation_timeout(), Duration::from_secs(7));
        assert!(!info.transport.allow_unencrypted);
    }

    #[test]
    fn builder_refuses_a_bad_endpoint() {
        assert!(ConnectionInfo::builder("http://h")
            .https(true)
            .build()
            .is_err());
    }
}
