//! Where and how to connect: the equivalent of PowerShell's
//! `WSManConnectionInfo` (endpoint, authentication, TLS, proxy, session
//! configuration, timeouts).
use std::time::Duration;

use wsman::client::{Client as WsmanClient, ClientOptions};
use wsman::soap::ns;
use wsman::transport::TransportConfig;

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
