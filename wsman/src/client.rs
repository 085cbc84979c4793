//! The WS-Management client: the [`soap`](crate::soap) codec and one
//! [`Transport`] joined into the operations of DSP0226 and [MS-WSMV] 3.1.4
//! (Identify, Get, Enumerate/Pull, and the shell operations).
//!
//! One `Client` is one authenticated connection; requests are sent one at a
//! time in order. Receive long-polls that end in `w:TimedOut` are retried
//! transparently by [`Client::receive`]. Each operation tells the transport
//! whether it may be resent after a dropped connection ([`Resend`], the
//! [resend rule](crate::transport#the-resend-rule)): Create, Command, Send,
//! Receive, Signal, Delete, Connect with `connectXml` and Pull are never
//! sent twice blindly. Shell requests carry a `wsmv:OperationID`; when the
//! host handles them robustly ([MS-WSMV] 3.1.4.1.39) a request whose answer
//! was lost is retransmitted so the host sends its kept answer again;
//! otherwise a lost Receive answer is an error saying output may be lost
//! ([`crate::transport::answer_lost`]), and a Delete whose answer was lost
//! is asked again, the shell being gone then counting as success.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use std::time::Duration;

use crate::fault::FaultKind;
use crate::robust::{self, PendingReceive, Robust, MAX_RETRANSMISSIONS};
use crate::soap::request::{self, BufferMode, CommandLine, SendStream, ShellCreate};
use crate::soap::response::{
    self, Connected, Created, Enumeration, Identify, Received, Resource, ShellInfo,
};
use crate::soap::{ns, Header, Selector, WsOption};
use crate::transport::{
    maybe_delivered, AnswerLost, MaybeDelivered, Resend, Response, Stats, Transport,
    TransportConfig,
};
use crate::{Error, Result};

/// Settings every request carries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `wsman:OperationTimeout` of each request (default 20 s).
    pub operation_timeout: Duration,
    /// `wsman:MaxEnvelopeSize` in bytes (default 512000, Windows 8 and
    /// later; PowerShell 2 hosts take 153600).
    pub max_envelope_size: u32,
    /// `wsman:Locale` and `wsmv:DataLocale` (default `en-US`).
    pub locale: String,
    /// `wsmv:SessionId`: one per client ([MS-WSMV] 3.1.4.1.37).
    pub session_id: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            operation_timeout: Duration::from_secs(20),
            max_envelope_size: 512_000,
            locale: "en-US".into(),
            session_id: crate::soap::new_message_id(),
        }
    }
}

/// Expands the short resource names `winrm` users know into URIs:
/// `winrm/config...` → `http://schemas.microsoft.com/wbem/wsman/1/config...`,
/// `wmicimv2/CLASS` → the WMI `root/cimv2` class, `wmi/NS/CLASS` → a WMI
/// class in another namespace, `shell` / `cmd` → the WinRS URIs. Full URIs
/// are returned as they are.
pub fn resolve_resource_uri(resource: &str) -> String {
    if resource.contains("://") {
        return resource.to_string();
    }
    let lower = resource.to_ascii_lowercase();
    if lower == "winrm/config" || lower.starts_with("winrm/config/") {
        return format!("{}{}", ns::uri::CONFIG, &resource["winrm/config".len()..]);
    }
    if let Some(class) = lower
        .starts_with("wmicimv2/")
        .then(|| &resource["wmicimv2/".len()..])
    {
        return format!("{}{}", ns::uri::WMI_CIMV2_PREFIX, class);
    }
    if lower.starts_with("wmi/") {
        return format!(
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/{}",
            &resource["wmi/".len()..]
        );
    }
    match lower.as_str() {
        "shell" => ns::uri::SHELL.to_string(),
        "cmd" | "shell/cmd" => ns::uri::SHELL_CMD.to_string(),
        _ => format!("http://schemas.microsoft.com/wbem/wsman/1/{resource}"),
    }
}

/// A WS-Management client on one connection.
#[derive(Debug)]
pub struct Client {
    transport: Transport,
    to: String,
    options: ClientOptions,
    /// A request was sent and its answer never read: the caller dropped the
    /// future (a Receive cancelled by Ctrl+C, say). Its answer would still
    /// arrive first on this connection, so the next request opens a new one.
    in_flight: bool,
    /// [MS-WSMV] 3.1.4.1.39 state: robust resources, lost Receives.
    robust: Robust,
    /// The last shell request was answered after a retransmission.
    retransmitted: bool,
    retransmissions: u64,
    /// The envelope of the last shell request, its memory reused for the
    /// next (a Send carries up to MaxEnvelopeSize).
    envelope: String,
}

impl Client {
    /// A client for `config` (nothing is sent yet).
    pub fn new(config: TransportConfig, options: ClientOptions) -> Result<Client> {
        let to = config.endpoint.to_string();
        Ok(Client {
            transport: Transport::connect(config)?,
            to,
            options,
            in_flight: false,
            robust: Robust::default(),
            retransmitted: false,
            retransmissions: 0,
            envelope: String::new(),
        })
    }

    /// The options requests carry.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Mutable options (e.g. a different OperationTimeout from now on).
    pub fn options_mut(&mut self) -> &mut ClientOptions {
        &mut self.options
    }

    /// Connection counters of the transport, and the retransmissions.
    pub fn stats(&self) -> Stats {
        Stats {
            retransmissions: self.retransmissions,
            ..self.transport.stats()
        }
    }

    /// The endpoint URL (`wsa:To`).
    pub fn endpoint(&self) -> &str {
        &self.to
    }

    /// Drops the connection; the next request opens and authenticates a new one.
    pub fn drop_connection(&mut self) {
        self.transport.disconnect();
    }

    /// A request header for `resource_uri` with this client's settings.
    pub fn header(&self, resource_uri: &str) -> Header {
        let mut h = Header::new(self.to.clone(), resource_uri);
        h.max_envelope_size = self.options.max_envelope_size;
        h.operation_timeout = Some(self.options.operation_timeout);
        h.locale = Some(self.options.locale.clone());
        h.data_locale = Some(self.options.locale.clone());
        h.session_id = Some(self.options.session_id.clone());
        h
    }

    fn shell_header(&self, resource_uri: &str, shell_id: &str) -> Header {
        let mut h = self.header(resource_uri).with_selector("ShellId", shell_id);
        h.operation_id = Some(crate::soap::new_message_id());
        h
    }

    /// Takes over what `other` learned about the host's robust connections
    /// (for a second connection to the same host and shell, such as a
    /// pipeline's own Receive connection).
    pub fn inherit_robust(&mut self, other: &Client) {
        self.robust.inherit(&other.robust);
    }

    /// Whether the host handled the last request to `resource_uri` robustly
    /// (its answer echoed the `wsmv:OperationID`, [MS-WSMV] 3.1.4.1.39).
    pub fn is_robust(&self, resource_uri: &str) -> bool {
        self.robust.supports(resource_uri)
    }

    /// Sends one envelope; returns the body of a 200 answer, or the fault of
    /// a 500 one as [`Error::Fault`]. Not sent again once written if the
    /// connection drops ([`Resend::OnlyIfUnsent`]); see
    /// [`call_with`](Self::call_with).
    pub async fn call(&mut self, envelope: &str) -> Result<Vec<u8>> {
        self.call_with(envelope, Resend::OnlyIfUnsent).await
    }

    /// [`call`](Self::call) under the given resend rule.
    pub async fn call_with(&mut self, envelope: &str, resend: Resend) -> Result<Vec<u8>> {
        let resp = self.exchange(envelope, resend, None).await?;
        self.finish(resp)
    }

    /// One HTTP exchange. `operation_timeout` is the request's own when it
    /// differs from the client's.
    async fn exchange(
        &mut self,
        envelope: &str,
        resend: Resend,
        operation_timeout: Option<Duration>,
    ) -> Result<Response> {
        // The HTTP deadline must outlast the host's OperationTimeout.
        let deadline =
            operation_timeout.unwrap_or(self.options.operation_timeout) + Duration::from_secs(15);
        if self.in_flight {
            tracing::debug!("a previous request was abandoned: opening a new connection");
            self.transport.disconnect();
        }
        self.in_flight = true;
        let resp = self
            .transport
            .send_with(envelope.as_bytes(), deadline, resend)
            .await;
        self.in_flight = false;
        resp
    }

    /// Sends the shell request `build` writes for `h` (which carries a
    /// `wsmv:OperationID`), learning from the answer whether the host
    /// handles the resource robustly. When the answer is lost and the host
    /// does, the same request is retransmitted with the OperationID marked
    /// `s:mustUnderstand="true"` ([MS-WSMV] 3.2.5.3), up to
    /// [`MAX_RETRANSMISSIONS`] times, each on a new connection; otherwise
    /// the error of the transport ([`MaybeDelivered`]) is returned.
    async fn call_robust(
        &mut self,
        h: &Header,
        build: impl Fn(&Header, &mut String),
    ) -> Result<Vec<u8>> {
        let mut buf = std::mem::take(&mut self.envelope);
        let result = self.call_robust_in(h, build, &mut buf).await;
        buf.clear();
        self.envelope = buf;
        result
    }

    /// [`call_robust`](Self::call_robust) building each envelope in `buf`.
    async fn call_robust_in(
        &mut self,
        h: &Header,
        build: impl Fn(&Header, &mut String),
        buf: &mut String,
    ) -> Result<Vec<u8>> {
        let mut h = h.clone();
        let mut tries = 0;
        self.retransmitted = h.retransmission;
        loop {
            buf.clear();
            build(&h, buf);
            let e = match self
                .exchange(buf, Resend::OnlyIfUnsent, h.operation_timeout)
                .await
            {
                Ok(resp) => {
                    if let Some(id) = &h.operation_id {
                        if let Ok(info) = response::parse_header(&resp.body) {
                            self.robust.note_answer(&h.resource_uri, id, &info)?;
                        }
                    }
                    return self.finish(resp);
                }
                Err(e) => e,
            };
            let lost = maybe_delivered(&e) || (h.retransmission && robust::unreachable(&e));
            if !(lost && self.robust.supports(&h.resource_uri) && tries < MAX_RETRANSMISSIONS) {
                if h.retransmission && !maybe_delivered(&e) && robust::unreachable(&e) {
                    // The first copy was written; whether it was acted on is unknown.
                    return Err(Error::Transport {
                        message: format!(
                            "the answer of {} was lost and retransmitting the request failed: the \
                             host may or may not have acted on it",
                            self.to
                        ),
                        source: Some(Box::new(MaybeDelivered(e))),
                    });
                }
                return Err(e);
            }
            tries += 1;
            tracing::info!(
                operation = h.operation_id.as_deref().unwrap_or(""),
                attempt = tries,
                error = %e,
                "the answer was lost; retransmitting the request (robust connection)"
            );
            h.retransmission = true;
            self.retransmitted = true;
            self.retransmissions += 1;
            tokio::time::sleep(Duration::from_millis(100 << tries)).await;
        }
    }

    /// The body of a 200 answer, or the fault of a 500 one as [`Error::Fault`].
    fn finish(&self, resp: Response) -> Result<Vec<u8>> {
        match resp.status {
            200 => Ok(resp.body),
            status => match response::parse_fault(&resp.body) {
                Ok(Some(fault)) => {
                    let in_clear =
                        !self.transport.is_sealing() && !self.transport.endpoint().is_https();
                    Err(encryption_refusal(&fault, in_clear, &self.to)
                        .unwrap_or_else(|| fault.into()))
                }
                _ => Err(Error::Protocol {
                    message: format!("{} answered HTTP {status} without a SOAP fault", self.to),
                }),
            },
        }
    }

    /// Identify (DSP0226 11): protocol version, vendor and product version.
    pub async fn identify(&mut self) -> Result<Identify> {
        let mut buf = String::new();
        request::identify(&mut buf);
        let body = self.call_with(&buf, Resend::Idempotent).await?;
        response::parse_identify(&body)
    }

    /// Get (DSP0226 7.3) of a resource, addressed by selectors.
    pub async fn get(&mut self, resource_uri: &str, selectors: &[Selector]) -> Result<Resource> {
        let mut h = self.header(resource_uri);
        h.selectors.extend_from_slice(selectors);
        let mut buf = String::new();
        request::get(&h, &mut buf);
        let body = self.call_with(&buf, Resend::Idempotent).await?;
        response::parse_get(&body)
    }

    /// Enumerate (DSP0226 8.2): the first batch; continue with
    /// [`Client::pull`] while [`Enumeration::is_done`] is false.
    pub async fn enumerate(
        &mut self,
        resource_uri: &str,
        e: &request::Enumerate,
        selectors: &[Selector],
    ) -> Result<Enumeration> {
        let mut h = self.header(resource_uri);
        h.selectors.extend_from_slice(selectors);
        let mut buf = String::new();
        request::enumerate(&h, e, &mut buf);
        let body = self.call_with(&buf, Resend::Idempotent).await?;
        response::parse_enumerate(&body)
    }

    /// Pull (DSP0226 8.4): the next batch of an enumeration.
    pub async fn pull(
        &mut self,
        resource_uri: &str,
        context: &str,
        max_elements: Option<u32>,
    ) -> Result<Enumeration> {
        let h = self.header(resource_uri);
        let mut buf = String::new();
        request::pull(&h, context, max_elements, &mut buf);
        let body = self.call(&buf).await?;
        response::parse_pull(&body)
    }

    /// Every item of an enumeration, pulled to the end (for small lists
    /// such as shells; stream large ones with [`Client::pull`]).
    pub async fn enumerate_all(
        &mut self,
        resource_uri: &str,
        e: &request::Enumerate,
    ) -> Result<Vec<String>> {
        let mut batch = self.enumerate(resource_uri, e, &[]).await?;
        let mut items = std::mem::take(&mut batch.items);
        while !batch.is_done() {
            let ctx = batch.context.clone().unwrap_or_default();
            batch = self.pull(resource_uri, &ctx, e.max_elements).await?;
            items.append(&mut batch.items);
        }
        Ok(items)
    }

    /// The shells this user has on the host ([MS-WSMV] 3.1.4.8): PowerShell
    /// RunspacePools and WinRS shells, with state and name.
    pub async fn enumerate_shells(&mut self) -> Result<Vec<ShellInfo>> {
        let e = request::Enumerate {
            optimize: true,
            max_elements: Some(32000),
            ..Default::default()
        };
        let mut batch = self.enumerate(ns::uri::SHELL, &e, &[]).await?;
        let mut shells = batch.shells()?;
        while !batch.is_done() {
            let ctx = batch.context.clone().unwrap_or_default();
            batch = self.pull(ns::uri::SHELL, &ctx, e.max_elements).await?;
            shells.extend(batch.shells()?);
        }
        Ok(shells)
    }

    /// The CommandIds of a shell's commands ([MS-WSMV] 3.1.4.8 with a
    /// selector filter on ShellId).
    pub async fn enumerate_commands(&mut self, shell_id: &str) -> Result<Vec<String>> {
        let e = request::Enumerate {
            optimize: true,
            max_elements: Some(32000),
            filter: Some(request::Filter::Selectors(vec![Selector::new(
                "ShellId", shell_id,
            )])),
            ..Default::default()
        };
        let items = self.enumerate_all(ns::uri::SHELL_COMMAND, &e).await?;
        Ok(items.iter().filter_map(|x| command_id_of(x)).collect())
    }

    /// Creates a shell ([MS-WSMV] 3.1.4.5); `options` go in the OptionSet
    /// (e.g. `protocolversion` for PowerShell, `WINRS_CODEPAGE` for WinRS).
    pub async fn create_shell(
        &mut self,
        resource_uri: &str,
        shell: &ShellCreate,
        options: Vec<WsOption>,
    ) -> Result<Created> {
        let mut h = self.header(resource_uri);
        h.options = options;
        h.operation_id = Some(crate::soap::new_message_id());
        let body = self
            .call_robust(&h, |h, out| request::create_shell(h, shell, out))
            .await?;
        response::parse_create(&body)
    }

    /// Starts a command in a shell ([MS-WSMV] 3.1.4.11); returns its CommandId.
    pub async fn command(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command: &CommandLine,
        options: Vec<WsOption>,
    ) -> Result<String> {
        let mut h = self.shell_header(resource_uri, shell_id);
        h.options = options;
        let body = self
            .call_robust(&h, |h, out| request::command(h, command, out))
            .await?;
        Ok(response::parse_command(&body)?.command_id)
    }

    /// Sends input ([MS-WSMV] 3.1.4.13).
    pub async fn send(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        streams: &[SendStream<'_>],
    ) -> Result<()> {
        let h = self.shell_header(resource_uri, shell_id);
        let body = self
            .call_robust(&h, |h, out| request::send(h, streams, out))
            .await?;
        response::parse_ack(&body).map(|_| ())
    }

    /// One Receive ([MS-WSMV] 3.1.4.14): `Ok(None)` when the host answered
    /// `w:TimedOut` (nothing to say within OperationTimeout).
    pub async fn receive_once(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command_id: Option<&str>,
        streams: &str,
    ) -> Result<Option<Received>> {
        self.receive_once_within(resource_uri, shell_id, command_id, streams, None)
            .await
    }

    /// [`receive_once`](Self::receive_once) with its own OperationTimeout
    /// (e.g. a keep-alive's short poll) instead of the client's.
    pub async fn receive_once_within(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command_id: Option<&str>,
        streams: &str,
        operation_timeout: Option<Duration>,
    ) -> Result<Option<Received>> {
        let mut h = self.shell_header(resource_uri, shell_id);
        if let Some(t) = operation_timeout {
            h.operation_timeout = Some(t);
        }
        if resource_uri.starts_with(ns::uri::POWERSHELL_PREFIX) {
            h.options.push(WsOption::new(ns::option::KEEPALIVE, "True"));
        }
        let key = format!(
            "{resource_uri} {shell_id} {} {streams}",
            command_id.unwrap_or("")
        );
        let mut since = None;
        if let Some(p) = self.robust.take_pending(&key) {
            if p.expired() {
                return Err(Error::Transport {
                    message: format!(
                        "the answer to a Receive from {} was lost {}s ago, longer than the host \
                         keeps answers to send them again ([MS-WSMV] 3.2.5.3): the output it put \
                         in that answer is lost",
                        self.to,
                        p.since.elapsed().as_secs()
                    ),
                    source: Some(Box::new(AnswerLost(Error::Timeout {
                        message: "retransmission window passed".into(),
                    }))),
                });
            }
            // The answer to this Receive was lost: ask for it again.
            since = Some(p.since);
            h.message_id = p.message_id;
            h.operation_id = Some(p.operation_id);
            h.operation_timeout = p.operation_timeout;
            h.retransmission = true;
            self.retransmissions += 1;
        }
        // A fault is a fault whatever the HTTP status (a recorded Windows
        // w:TimedOut came with 200): parse_receive reports it as one.
        let received = match self
            .call_robust(&h, |h, out| request::receive(h, command_id, streams, out))
            .await
        {
            Ok(body) => {
                let parsed = response::parse_receive(&body).map(Some);
                crate::transport::body_pool::recycle(body);
                parsed
            }
            Err(e) if maybe_delivered(&e) || (h.retransmission && robust::unreachable(&e)) => {
                if self.robust.supports(resource_uri) || h.retransmission {
                    // Kept by the host: the next Receive asks for it again.
                    self.robust.keep_pending(PendingReceive {
                        key,
                        message_id: h.message_id.clone(),
                        operation_id: h.operation_id.clone().unwrap_or_default(),
                        operation_timeout: h.operation_timeout,
                        since: since.unwrap_or_else(std::time::Instant::now),
                    });
                    Err(e)
                } else {
                    Err(Error::Transport {
                        message: format!(
                            "the answer to a Receive from {} was lost (the connection dropped or no \
                             answer came in time), and the host does not keep answers to send them \
                             again (no wsmv:OperationID in its answers for this shell, [MS-WSMV] \
                             3.1.4.1.39): the output it put in that answer is lost",
                            self.to
                        ),
                        source: Some(Box::new(AnswerLost(e))),
                    })
                }
            }
            Err(e) => Err(e),
        };
        match received {
            Err(Error::Fault(f)) if f.kind() == FaultKind::TimedOut => Ok(None),
            other => other,
        }
    }

    /// Receive, retrying transparently while the host answers `w:TimedOut`.
    pub async fn receive(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command_id: Option<&str>,
        streams: &str,
    ) -> Result<Received> {
        loop {
            if let Some(r) = self
                .receive_once(resource_uri, shell_id, command_id, streams)
                .await?
            {
                return Ok(r);
            }
        }
    }

    /// Signals a command ([MS-WSMV] 3.1.4.12), e.g. terminate or PowerShell's stop.
    pub async fn signal(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command_id: Option<&str>,
        code: &str,
    ) -> Result<()> {
        let h = self.shell_header(resource_uri, shell_id);
        let body = self
            .call_robust(&h, |h, out| request::signal(h, command_id, code, out))
            .await?;
        response::parse_ack(&body).map(|_| ())
    }

    /// Deletes a shell ([MS-WSMV] 3.1.4.6). When the answer is lost, the
    /// Delete is retransmitted (robust host) or sent again; a shell that is
    /// gone by then was deleted by the first copy: success.
    pub async fn delete_shell(&mut self, resource_uri: &str, shell_id: &str) -> Result<()> {
        let h = self.shell_header(resource_uri, shell_id);
        let build = |h: &Header, out: &mut String| request::delete(h, out);
        let mut asked_again = false;
        let r = match self.call_robust(&h, build).await {
            Err(e) if maybe_delivered(&e) => {
                tracing::info!(error = %e, "the answer to Delete was lost; asking again");
                asked_again = true;
                let h = self.shell_header(resource_uri, shell_id);
                self.call_robust(&h, build).await
            }
            r => r,
        };
        match r {
            Ok(body) => response::parse_ack(&body).map(|_| ()),
            Err(Error::Fault(f))
                if (asked_again || self.retransmitted) && f.kind() == FaultKind::ShellNotFound =>
            {
                tracing::debug!("the shell is gone: the first Delete did it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Disconnects from a shell, leaving it running ([MS-WSMV] 3.1.4.15).
    pub async fn disconnect(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        idle_timeout: Option<Duration>,
        buffer_mode: Option<BufferMode>,
    ) -> Result<()> {
        let h = self.header(resource_uri).with_selector("ShellId", shell_id);
        let mut buf = String::new();
        request::disconnect(&h, idle_timeout, buffer_mode, &mut buf);
        let body = self.call_with(&buf, Resend::Idempotent).await?;
        response::parse_ack(&body).map(|_| ())
    }

    /// Reconnects the client that disconnected ([MS-WSMV] 3.1.4.16).
    pub async fn reconnect(&mut self, resource_uri: &str, shell_id: &str) -> Result<()> {
        let h = self.header(resource_uri).with_selector("ShellId", shell_id);
        let mut buf = String::new();
        request::reconnect(&h, &mut buf);
        let body = self.call_with(&buf, Resend::Idempotent).await?;
        response::parse_ack(&body).map(|_| ())
    }

    /// Connects to a shell from a new client ([MS-WSMV] 3.1.4.17), or, with
    /// `command_id`, to one of its commands. `connect_xml` is PowerShell's
    /// `connectXml` payload; `options` go in the OptionSet.
    pub async fn connect(
        &mut self,
        resource_uri: &str,
        shell_id: &str,
        command_id: Option<&str>,
        connect_xml: Option<&[u8]>,
        options: Vec<WsOption>,
    ) -> Result<Connected> {
        let mut h = self.shell_header(resource_uri, shell_id);
        h.options = options;
        let build =
            |h: &Header, out: &mut String| request::connect(h, command_id, connect_xml, out);
        // Connecting to a command again changes nothing; connectXml carries
        // PSRP fragments that must not arrive twice (unless retransmitted
        // to a robust host, which sends its kept answer instead).
        let body = match self.call_robust(&h, build).await {
            Err(e) if maybe_delivered(&e) && connect_xml.is_none() => {
                let h = self.shell_header(resource_uri, shell_id);
                self.call_robust(&h, build).await?
            }
            r => r?,
        };
        response::parse_connect(&body)
    }
}

/// A fault saying the host refuses unencrypted messages, answering a body
/// sent in clear over plain HTTP (`allow_unencrypted`, the CLI's
/// `--no-encryption`), becomes [`Error::Encryption`] saying what to change:
/// the host's own text (Windows: AllowUnencrypted=false) does not say that
/// the client chose not to seal.
fn encryption_refusal(fault: &crate::fault::Fault, in_clear: bool, to: &str) -> Option<Error> {
    let text = fault.text().unwrap_or_default().to_ascii_lowercase();
    let about_encryption = match fault.kind() {
        FaultKind::EncryptionRequired => true,
        FaultKind::AccessDenied => text.contains("encrypt"),
        _ => false,
    };
    (in_clear && about_encryption).then(|| Error::Encryption {
        message: format!(
            "{to} requires encryption (AllowUnencrypted=false) and refused a message sent \
             unencrypted because unencrypted bodies were allowed \
             (TransportConfig::allow_unencrypted): seal every message (negotiate, ntlm, \
             kerberos) or use HTTPS. \
             The host said: {fault}"
        ),
    })
}

/// The CommandId of an `rsp:Command` enumeration item.
fn command_id_of(item: &str) -> Option<String> {
    let start = item.find("CommandId>")? + "CommandId>".len();
    let end = item[start..].find('<')? + start;
    let id = item[start..end].trim();
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_resource_names_expand() {
        assert_eq!(
            resolve_resource_uri("winrm/config"),
            "http://schemas.microsoft.com/wbem/wsman/1/config"
        );
        assert_eq!(
            resolve_resource_uri("winrm/config/listener"),
            "http://schemas.microsoft.com/wbem/wsman/1/config/listener"
        );
        assert_eq!(
            resolve_resource_uri("wmicimv2/Win32_OperatingSystem"),
            "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_OperatingSystem"
        );
        assert_eq!(
            resolve_resource_uri("http://example/x"),
            "http://example/x",
            "full URIs are kept"
        );
    }

    #[test]
    fn unencrypted_refusal_says_to_turn_encryption_on() {
        let fault = crate::fault::Fault {
            code: "s:Sender".into(),
            subcode: Some("w:AccessDenied".into()),
            wsman_code: Some(5),
            message: Some("The service is configured to refuse unencrypted messages".into()),
            ..Default::default()
        };
        let e = encryption_refusal(&fault, true, "http://h:5985/wsman").unwrap();
        assert!(matches!(e, Error::Encryption { .. }), "{e:?}");
        let m = e.to_string();
        assert!(m.contains("requires encryption"), "{m}");
        assert!(
            m.contains("allow_unencrypted") && m.contains("refuse unencrypted"),
            "{m}"
        );
        // Sealed (or HTTPS) requests: the fault is the host's answer as it is.
        assert!(encryption_refusal(&fault, false, "http://h:5985/wsman").is_none());
        // Access denied for another reason stays a fault.
        let other = crate::fault::Fault {
            message: Some("Access is denied.".into()),
            ..fault.clone()
        };
        assert!(encryption_refusal(&other, true, "http://h:5985/wsman").is_none());
        // Windows' client-side wording is recognised by its message.
        let windows = crate::fault::Fault {
            code: "s:Sender".into(),
            message: Some("Unencrypted traffic is currently disabled".into()),
            ..Default::default()
        };
        assert!(encryption_refusal(&windows, true, "http://h:5985/wsman").is_some());
    }

    #[test]
    fn command_ids_come_from_enumeration_items() {
        let item = r#"<rsp:Command xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><rsp:CommandId>ABC-1</rsp:CommandId></rsp:Command>"#;
        assert_eq!(command_id_of(item).as_deref(), Some("ABC-1"));
        assert_eq!(command_id_of("<rsp:Command/>"), None);
    }
}
