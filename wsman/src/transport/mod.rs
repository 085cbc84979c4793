//! HTTP(S) transport: one owned TCP (and TLS) connection per security
//! context, message sealing, proxies and timeouts ([MS-WSMV] 2.2.9).
//!
//! A [`Transport`] is one HTTP/1.1 keep-alive connection to one host, driven
//! by hyper's connection-level client. NTLM and Kerberos seal messages with
//! keys bound to the connection that authenticated ([MS-WSMV] 2.2.9.1), so
//! no pool ever moves a request to another connection. The flow:
//!
//! 1. [`Transport::connect`] checks the configuration (nothing goes on the
//!    wire): credentials or bodies in clear over plain HTTP are refused
//!    unless [`TransportConfig::allow_unencrypted`] is set.
//! 2. The first [`Transport::send`] connects (through a `CONNECT` proxy if
//!    one applies), does the TLS handshake for `https`, computes the
//!    `tls-server-end-point` channel binding, then authenticates with an
//!    empty `POST` (`Content-Length: 0`) carrying the tokens of the security
//!    context until it is complete.
//! 3. Every SOAP body then goes on that connection, sealed as
//!    `multipart/encrypted` over HTTP (see [`encryption`]), in clear over
//!    HTTPS (TLS protects it) or with Basic (`Authorization` on each
//!    request).
//! 4. If the connection drops, the transport reconnects, authenticates a
//!    new security context and sends the request again, once, when that is
//!    safe (the resend rule below).
//!
//! # The resend rule
//!
//! A request whose connection dropped after it was written may or may not
//! have reached the host; without [MS-WSMV] 3.1.4.1.39 robust connections
//! the client cannot ask which. So each request says what a second copy
//! would do ([`Resend`]):
//!
//! - a connection found closed **before any of the request was written**
//!   (the host closed it while idle; hyper hands the request back) is
//!   replaced and the request sent on the new one, whatever it is: the
//!   host provably never saw it;
//! - [`Resend::Idempotent`] requests are also sent again when the drop came
//!   after writing: a second copy changes nothing or fails harmlessly —
//!   Identify, Get, Enumerate, Disconnect, Reconnect, Connect to a command;
//! - [`Resend::OnlyIfUnsent`] requests are not: Create, Command and Send
//!   could start a shell or a command twice or repeat input, Connect with
//!   `connectXml` repeats PSRP fragments, Pull would skip a batch of the
//!   enumeration, Receive would skip the output the host put in the lost
//!   answer, and Signal and Delete are not repeated blindly either. The
//!   error ([`MaybeDelivered`]) says the host may or may not have acted on
//!   the request; a deadline passing after the request was written counts
//!   the same. [`crate::client::Client`] then retransmits the request as
//!   [MS-WSMV] 3.1.4.1.39 robust connections allow (the host sends again
//!   the answer it kept), or reports the loss.
//!
//! [`Transport::send`] treats its body as idempotent (the caller knows
//! what it sends; [`crate::client::Client`] declares each operation with
//! [`Transport::send_with`]).
//!
//! ```no_run
//! # async fn demo() -> wsman::Result<()> {
//! use std::time::Duration;
//! use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
//! use wsman::transport::{Endpoint, Transport, TransportConfig};
//!
//! let endpoint = Endpoint::parse("server01", true)?; // https://server01:5986/wsman
//! let creds = Credentials::parse("CORP\\alice", Secret::password("..."));
//! let config = TransportConfig::new(endpoint, AuthOptions::new(Mechanism::Negotiate, creds));
//! let mut transport = Transport::connect(config)?;
//! let soap = b"<s:Envelope>...</s:Envelope>";
//! // The deadline must exceed the request's wsman:OperationTimeout.
//! let response = transport.send(soap, Duration::from_secs(70)).await?;
//! println!("HTTP {} with {} bytes", response.status, response.body.len());
//! # Ok(()) }
//! ```
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AuthOptions, Mechanism, SecurityContext};
use crate::{Error, Result};

pub mod body_pool;
mod connection;
pub mod encryption;
pub mod endpoint;
pub mod proxy;
pub mod tls;

pub use endpoint::{Endpoint, Scheme};
pub use proxy::ProxySetting;
pub use tls::{ClientCertificate, TlsOptions};

/// Makes the security context of each new connection: `(options with the
/// channel bindings filled in, URL host)`. The default is
/// [`crate::auth::new_context`]; tests and embedders may supply their own.
pub type ContextFactory =
    Arc<dyn Fn(&AuthOptions, &str) -> Result<Box<dyn SecurityContext>> + Send + Sync>;

/// Everything a [`Transport`] needs.
#[derive(Clone)]
pub struct TransportConfig {
    /// The host's WS-Management URL.
    pub endpoint: Endpoint,
    /// How to authenticate. [`Mechanism::Certificate`] authenticates at the
    /// TLS level with [`TlsOptions::client_certificate`].
    pub auth: AuthOptions,
    /// TLS settings for `https` endpoints.
    pub tls: TlsOptions,
    /// Proxy selection; by default from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub proxy: ProxySetting,
    /// Limit on DNS resolution + TCP connect + proxy `CONNECT` + TLS
    /// handshake. Default 30 s.
    pub connect_timeout: Duration,
    /// `--no-encryption`: over plain HTTP, send bodies unsealed and allow
    /// Basic (the host must have `AllowUnencrypted=true`; everything,
    /// including a Basic password, is readable on the network). Without it
    /// plain HTTP requires a mechanism that seals (Negotiate, NTLM,
    /// Kerberos, CredSSP). Has no effect over HTTPS.
    pub allow_unencrypted: bool,
    /// Largest response body accepted (default 64 MiB); bigger answers are
    /// an error rather than unbounded memory.
    pub max_response_size: usize,
    /// Overrides how security contexts are made (see [`ContextFactory`]).
    pub context_factory: Option<ContextFactory>,
    /// Send requests without any authentication (no `Authorization`
    /// header, nothing sealed): only an Identify is answered so, as
    /// `Test-WSMan` (`-Authentication None`) asks ([MS-WSMV] 3.1.4.16).
    pub anonymous: bool,
}

impl TransportConfig {
    /// A configuration with the defaults: proxy from the environment, TLS
    /// verified against the platform's roots, 30 s connect timeout,
    /// encryption required over HTTP.
    pub fn new(endpoint: Endpoint, auth: AuthOptions) -> TransportConfig {
        TransportConfig {
            endpoint,
            auth,
            tls: TlsOptions::default(),
            proxy: ProxySetting::default(),
            connect_timeout: Duration::from_secs(30),
            allow_unencrypted: false,
            max_response_size: 64 * 1024 * 1024,
            context_factory: None,
            anonymous: false,
        }
    }
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfig")
            .field("endpoint", &self.endpoint.to_string())
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("proxy", &"..")
            .field("connect_timeout", &self.connect_timeout)
            .field("allow_unencrypted", &self.allow_unencrypted)
            .field("max_response_size", &self.max_response_size)
            .field("context_factory", &self.context_factory.is_some())
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

/// An HTTP answer the WS-Management layer parses: `200` with the SOAP
/// response, or `500` with a SOAP fault ([MS-WSMV] 2.2.4.7). Sealed bodies
/// are already unsealed.
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status: 200 or 500.
    pub status: u16,
    /// The SOAP envelope.
    pub body: Vec<u8>,
}

/// Whether a request may be sent again on a new connection after its
/// connection dropped once it was written (see the
/// [resend rule](self#the-resend-rule)). A request the connection dropped
/// before writing is always sent again, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// A second copy does no harm (Identify, Get, Enumerate, Disconnect,
    /// Reconnect): sent again once.
    Idempotent,
    /// A second copy could act twice or lose output (Create, Command,
    /// Send, Receive, Signal, Delete, Connect with `connectXml`, Pull): an
    /// error instead, saying so.
    OnlyIfUnsent,
}

/// The source of the [`Error::Transport`] for a [`Resend::OnlyIfUnsent`]
/// request whose connection dropped after it was written: the host may or
/// may not have acted on it. Holds the network error. A caller that can
/// find out (a Command's CommandId among the shell's commands, say) tests
/// for it with [`maybe_delivered`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MaybeDelivered(#[source] pub Error);

/// Whether `e` says a request that must not run twice was written before
/// its connection dropped and was not sent again ([`MaybeDelivered`]).
pub fn maybe_delivered(e: &Error) -> bool {
    transport_source_is::<MaybeDelivered>(e)
}

/// The source of the [`Error::Transport`] for a Receive whose answer was
/// lost (the connection dropped, or no answer came, after the request was
/// written) on a host that does not keep answers for a retransmission
/// ([MS-WSMV] 3.1.4.1.39: its answers carry no `wsmv:OperationID`). The
/// host may have taken output from its buffers for that answer, so output
/// may be missing: the caller reports it instead of receiving on as if
/// nothing happened. Test with [`answer_lost`].
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AnswerLost(#[source] pub Error);

/// Whether `e` says the answer to a Receive was lost and cannot be asked
/// for again ([`AnswerLost`]): output may be missing.
pub fn answer_lost(e: &Error) -> bool {
    transport_source_is::<AnswerLost>(e)
}

/// Whether `e` is a transport error whose source is a `T`.
fn transport_source_is<T: std::error::Error + 'static>(e: &Error) -> bool {
    match e {
        Error::Transport {
            source: Some(s), ..
        } => s.is::<T>(),
        _ => false,
    }
}

/// Counters for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections opened.
    pub connections: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// Security contexts established (authentication handshakes done).
    pub auth_handshakes: u64,
    /// HTTP requests carrying a SOAP body that were answered.
    pub requests: u64,
    /// Requests sent again on a new connection after the old one dropped
    /// (see [`Resend`]).
    pub resends: u64,
    /// Requests retransmitted by [`crate::client::Client`] after their
    /// answer was lost, for the host to send its kept answer again
    /// ([MS-WSMV] 3.1.4.1.39; counted by the client, 0 in a bare transport).
    ///
    /// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
    pub retransmissions: u64,
}

/// One authenticated connection to a WS-Management host; see the
/// [module documentation](self). `Send`, so a session task can own it.
pub struct Transport {
    inner: connection::Inner,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.inner.endpoint().to_string())
            .field("stats", &self.inner.stats)
            .finish()
    }
}

impl Transport {
    /// Validates `config` and prepares the connection; nothing is sent
    /// until the first [`send`](Self::send).
    ///
    /// Errors: [`Error::Encryption`] for Basic or `allow_unencrypted`-less
    /// unsealed traffic over plain HTTP; [`Error::Config`] for a bad CA
    /// file, client certificate or proxy URL, or certificate
    /// authentication over HTTP.
    pub fn connect(config: TransportConfig) -> Result<Transport> {
        let ep = &config.endpoint;
        if config.auth.mechanism == Mechanism::Certificate {
            if !ep.is_https() {
                return Err(Error::Config {
                    message: format!(
                        "certificate authentication needs HTTPS; {ep} is plain HTTP (use an https:// endpoint)"
                    ),
                });
            }
            if config.tls.client_certificate.is_none() {
                return Err(Error::Config {
                    message: "certificate authentication needs a client certificate and key".into(),
                });
            }
        }
        if !ep.is_https()
            && !config.allow_unencrypted
            && matches!(config.auth.mechanism, Mechanism::Basic)
        {
            return Err(basic_over_http(ep));
        }
        Ok(Transport {
            inner: connection::Inner::new(config)?,
        })
    }

    /// Sends one SOAP envelope and returns the host's answer (sealing and
    /// unsealing as negotiated). `deadline` bounds each HTTP exchange: it
    /// must exceed the envelope's `wsman:OperationTimeout`, or a Receive
    /// long-poll is cut off before the host answers.
    ///
    /// Connects and authenticates first if needed; if the connection turns
    /// out to be closed, reconnects, re-authenticates and resends once, as
    /// [`Resend::Idempotent`]: use [`send_with`](Self::send_with) for a
    /// request that must not run twice.
    ///
    /// Errors: [`Error::Authentication`] when the host refuses the user,
    /// [`Error::Encryption`] when the host demands encryption that was
    /// turned off, [`Error::Timeout`] when `deadline` passes,
    /// [`Error::Transport`] for network, TLS and unexpected HTTP statuses
    /// (413: the message exceeded the host's `MaxEnvelopeSize`).
    pub async fn send(&mut self, soap_body: &[u8], deadline: Duration) -> Result<Response> {
        self.inner
            .send(soap_body, deadline, Resend::Idempotent)
            .await
    }

    /// [`send`](Self::send) under the given resend rule: with
    /// [`Resend::OnlyIfUnsent`], a connection that dropped after the body
    /// was written is an [`Error::Transport`] saying the host may or may
    /// not have acted on it, and nothing is sent again.
    pub async fn send_with(
        &mut self,
        soap_body: &[u8],
        deadline: Duration,
        resend: Resend,
    ) -> Result<Response> {
        self.inner.send(soap_body, deadline, resend).await
    }

    /// Counters: connections, handshakes, requests, resends.
    pub fn stats(&self) -> Stats {
        self.inner.stats
    }

    /// The channel-binding application data of the current TLS connection
    /// (`tls-server-end-point:` + hash), once connected over HTTPS.
    pub fn channel_bindings(&self) -> Option<&[u8]> {
        self.inner.channel_bindings()
    }

    /// Whether message bodies are sealed by the security context on the
    /// current connection (`multipart/encrypted`).
    pub fn is_sealing(&self) -> bool {
        self.inner.is_sealing()
    }

    /// The endpoint this transport talks to.
    pub fn endpoint(&self) -> &Endpoint {
        self.inner.endpoint()
    }

    /// Drops the connection (and its security context); the next
    /// [`send`](Self::send) opens a new one.
    pub fn disconnect(&mut self) {
        self.inner.drop_connection();
    }
}

fn basic_over_http(ep: &Endpoint) -> Error {
    Error::Encryption {
        message: format!(
            "refusing Basic authentication over plain HTTP to {ep}: the password and every message \
             would cross the network in clear. Use HTTPS, a mechanism that encrypts \
             (negotiate, ntlm, kerberos), or allow unencrypted bodies \
             (TransportConfig::allow_unencrypted) if you accept that and the host allows it \
             (AllowUnencrypted=true)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Credentials, Secret};

    fn assert_send<T: Send>() {}

    #[test]
    fn transport_is_send() {
        assert_send::<Transport>();
        assert_send::<TransportConfig>();
    }

    fn config(url: &str, mech: Mechanism) -> TransportConfig {
        let creds = Credentials::parse("alice", Secret::password("pw"));
        TransportConfig::new(
            Endpoint::parse(url, false).unwrap(),
            AuthOptions::new(mech, creds),
        )
    }

    #[test]
    fn basic_over_http_is_refused_up_front() {
        let e = Transport::connect(config("http://h", Mechanism::Basic)).unwrap_err();
        assert!(matches!(e, Error::Encryption { .. }), "{e:?}");
        assert!(e.to_string().contains("allow_unencrypted"), "{e}");
        let mut c = config("http://h", Mechanism::Basic);
        c.allow_unencrypted = true;
        assert!(Transport::connect(c).is_ok());
        assert!(Transport::connect(config("https://h", Mechanism::Basic)).is_ok());
    }

    #[test]
    fn certificate_needs_https_and_a_certificate() {
        let e = Transport::connect(config("http://h", Mechanism::Certificate)).unwrap_err();
        assert!(e.to_string().contains("HTTPS"), "{e}");
        let e = Transport::connect(config("https://h", Mechanism::Certificate)).unwrap_err();
        assert!(e.to_string().contains("client certificate"), "{e}");
    }

    /// A server answering each request on one connection with the next
    /// of `bodies`, sent chunked in small writes (several reads each).
    async fn answering(bodies: Vec<Vec<u8>>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wsman", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await?;
            for body in bodies {
                // read one request: headers, then Content-Length bytes
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") {
                    sock.read_exact(&mut byte).await?;
                    req.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&req).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                sock.read_exact(&mut vec![0u8; len]).await?;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n";
                sock.write_all(head.as_bytes()).await?;
                for piece in body.chunks(7_000) {
                    let chunk = format!("{:x}\r\n", piece.len());
                    sock.write_all(chunk.as_bytes()).await?;
                    sock.write_all(piece).await?;
                    sock.write_all(b"\r\n").await?;
                }
                sock.write_all(b"0\r\n\r\n").await?;
            }
            std::io::Result::Ok(())
        });
        url
    }

    #[tokio::test]
    async fn answers_arrive_whole_in_reused_buffers_and_oversized_ones_are_refused() {
        let big: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let small = b"<s:Envelope/>".to_vec();
        let url = answering(vec![big.clone(), small.clone(), big.clone()]).await;
        let mut c = config(&url, Mechanism::Basic);
        c.allow_unencrypted = true;
        c.max_response_size = 200_000;
        let mut t = Transport::connect(c).unwrap();
        let deadline = Duration::from_secs(10);
        // 300,000 bytes against a limit of 200,000: refused, connection dropped
        let e = t.send(b"<x/>", deadline).await.unwrap_err();
        assert!(e.to_string().contains("larger than 200000 bytes"), "{e}");
        let mut c = config(
            &answering(vec![big.clone(), small.clone(), big.clone()]).await,
            Mechanism::Basic,
        );
        c.allow_unencrypted = true;
        let mut t = Transport::connect(c).unwrap();
        let first = t.send(b"<x/>", deadline).await.unwrap();
        assert_eq!(first.body, big);
        body_pool::recycle(first.body);
        // the next answer may be read into that buffer: only its own bytes
        let second = t.send(b"<x/>", deadline).await.unwrap();
        assert_eq!(second.body, small);
        body_pool::recycle(second.body);
        let third = t.send(b"<x/>", deadline).await.unwrap();
        assert_eq!(third.body, big);
        assert_eq!(t.stats().connections, 1);
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = config("http://h", Mechanism::Negotiate);
        let t = format!("{c:?}");
        assert!(!t.contains("pw\""), "{t}");
    }
}
