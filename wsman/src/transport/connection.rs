//! The connection behind a [`super::Transport`]: dialing (proxy, TLS,
//! channel binding), the authentication legs, sealed exchanges, and the
//! one resend after a dropped connection (see [`super::Resend`]).
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::Instrument;

use super::body_pool;
use super::encryption;
use super::proxy::{self, Proxy};
use super::tls;
use super::{Endpoint, Resend, Response, Stats, TransportConfig};
use crate::auth::{Mechanism, SecurityContext};
use crate::{Error, Result};

/// `Authorization` value for certificate authentication (DSP0226 C.3.5,
/// the `https/mutual` security profile, as [MS-WSMV] 3.1.4.1.30.1 uses it).
///
/// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
const CERTIFICATE_PROFILE: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";
const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// The most hyper buffers per connection (its default is about 400 kB).
const READ_BUFFER_MAX: usize = 64 * 1024;
const USER_AGENT_VALUE: &str = concat!("winrm-rs/", env!("CARGO_PKG_VERSION"));
/// More legs than any mechanism needs (NTLM 2, Kerberos 1-2, SPNEGO 3,
/// CredSSP about 6).
const MAX_AUTH_LEGS: usize = 16;

/// How an exchange failed: a connection that dropped before the request
/// was written may always be retried on a new one, one that dropped later
/// only for a request that may run twice; anything else may not.
enum Failure {
    /// The connection was closed before any of the request was written.
    Unsent(Error),
    /// The connection dropped after the request was (or may have been)
    /// written: the host may have acted on it.
    Dropped(Error),
    /// No answer came before the deadline: the host may have acted on the
    /// request, and its answer may still be on the way. Not sent again by
    /// the transport (that would double the wait).
    TimedOut(Error),
    Fatal(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Unsent(e) | Failure::Dropped(e) | Failure::TimedOut(e) | Failure::Fatal(e) => {
                e
            }
        }
    }
}

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    /// In a buffer of the [`body_pool`].
    body: Vec<u8>,
}

/// One TCP (+TLS) connection with its HTTP/1.1 driver and security context.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
    ctx: Option<Box<dyn SecurityContext>>,
    /// `protocol=` of `multipart/encrypted` when bodies are sealed.
    sealing: Option<&'static str>,
    /// Sent on every request (Basic, certificate profile).
    authorization: Option<HeaderValue>,
    channel_bindings: Option<Vec<u8>>,
    /// A request was started and its answer not consumed: the caller
    /// dropped `send` midway (a `select!` or timeout around it). The
    /// sealing sequence numbers are then out of step, so the connection
    /// must not be reused.
    in_flight: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

pub(super) struct Inner {
    config: TransportConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    proxy: Option<Proxy>,
    conn: Option<Conn>,
    pub(super) stats: Stats,
    /// The body of the last request: its memory is the next body's once
    /// the HTTP driver has let go of it ([`reuse_body`]).
    sent_body: Option<Bytes>,
}

impl Inner {
    pub(super) fn new(config: TransportConfig) -> Result<Inner> {
        let tls = if config.endpoint.is_https() {
            tls::server_name(&config.endpoint.host, &config.tls)?;
            Some(tls::client_config(&config.tls)?)
        } else {
            None
        };
        let proxy = proxy::resolve(&config.proxy, &config.endpoint, |k| std::env::var(k).ok())?;
        if let Some(p) = &proxy {
            tracing::debug!(proxy = ?p, "using a proxy");
        }
        Ok(Inner {
            config,
            tls,
            proxy,
            conn: None,
            stats: Stats::default(),
            sent_body: None,
        })
    }

    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.config.endpoint
    }

    pub(super) fn channel_bindings(&self) -> Option<&[u8]> {
        self.conn.as_ref()?.channel_bindings.as_deref()
    }

    pub(super) fn is_sealing(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.sealing.is_some())
    }

    pub(super) fn drop_connection(&mut self) {
        self.conn = None;
    }

    pub(super) async fn send(
        &mut self,
        body: &[u8],
        deadline: Duration,
        resend: Resend,
    ) -> Result<Response> {
        let span = tracing::debug_span!("wsman_send", endpoint = %self.config.endpoint);
        self.send_inner(body, deadline, resend)
            .instrument(span)
            .await
    }

    async fn send_inner(
        &mut self,
        body: &[u8],
        deadline: Duration,
        resend: Resend,
    ) -> Result<Response> {
        let mut resent = false;
        loop {
            if self.conn.as_ref().is_some_and(|c| c.sender.is_closed()) {
                tracing::debug!("the host closed the idle connection");
                self.conn = None;
            }
            if self.conn.as_ref().is_some_and(|c| c.in_flight) {
                tracing::debug!("a previous send was cancelled midway; opening a new connection");
                self.conn = None;
            }
            if self.conn.is_none() {
                let conn = self.open(deadline).await?;
                self.conn = Some(conn);
            }
            let conn = self.conn.as_mut().expect("connected above");
            conn.in_flight = true;
            let sent = send_body(conn, &self.config, body, &mut self.sent_body, deadline).await;
            conn.in_flight = false;
            match sent {
                Ok(raw) => {
                    self.stats.requests += 1;
                    let result = interpret(conn, &self.config, raw);
                    if let Err(Error::Authentication { .. } | Error::Protocol { .. }) = &result {
                        self.conn = None;
                    }
                    return result;
                }
                Err(Failure::Unsent(e)) if !resent => {
                    tracing::debug!(error = %e, "connection closed before the request was written; reconnecting, re-authenticating and sending it");
                    self.conn = None;
                    self.stats.resends += 1;
                    resent = true;
                }
                Err(Failure::Dropped(e)) if !resent && resend == Resend::Idempotent => {
                    tracing::debug!(error = %e, "connection dropped; reconnecting, re-authenticating and resending");
                    self.conn = None;
                    self.stats.resends += 1;
                    resent = true;
                }
                Err(Failure::Dropped(e) | Failure::TimedOut(e))
                    if resend == Resend::OnlyIfUnsent =>
                {
                    self.conn = None;
                    return Err(Error::Transport {
                        message: format!(
                            "the connection to {} dropped (or no answer came) after the request was \
                             sent, so the host may or may not have acted on it; it is not sent again \
                             because running it twice could repeat a command or its input, or lose \
                             the output in its answer",
                            self.config.endpoint.authority()
                        ),
                        source: Some(Box::new(super::MaybeDelivered(e))),
                    });
                }
                Err(f) => {
                    self.conn = None;
                    return Err(f.into_error());
                }
            }
        }
    }

    /// Dials, shakes hands and authenticates a new connection.
    async fn open(&mut self, deadline: Duration) -> Result<Conn> {
        let ep = &self.config.endpoint;
        let mech = self.config.auth.mechanism;
        // Over HTTP the context is known before dialing, so a context that
        // cannot seal is refused before anything is sent.
        let anonymous = self.config.anonymous;
        let mut ctx = if !ep.is_https() && mech != Mechanism::Certificate && !anonymous {
            Some(self.new_context(None)?)
        } else {
            None
        };
        let sealing = match &ctx {
            Some(c) if !self.config.allow_unencrypted => match c.encryption_protocol() {
                Some(p) => Some(p),
                None if c.http_scheme().eq_ignore_ascii_case("Basic") => {
                    return Err(super::basic_over_http(ep));
                }
                None => {
                    return Err(Error::Encryption {
                        message: format!(
                            "the {mech:?} security context cannot encrypt messages, and {ep} is plain HTTP: \
                             use an https endpoint, or allow unencrypted bodies (TransportConfig::allow_unencrypted) if the host does"
                        ),
                    })
                }
            },
            _ => None,
        };
        let connect_timeout = self.config.connect_timeout;
        let (sender, driver, channel_bindings) =
            match tokio::time::timeout(connect_timeout, self.dial()).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(Error::Timeout {
                        message: format!(
                            "connecting to {} took longer than {:?} (connect timeout)",
                            self.dial_target(),
                            connect_timeout
                        ),
                    })
                }
            };
        if ctx.is_none() && mech != Mechanism::Certificate && !anonymous {
            ctx = Some(self.new_context(channel_bindings.clone())?);
        }
        let cfg = &self.config;
        let mut conn = Conn {
            sender,
            driver,
            ctx,
            sealing,
            authorization: None,
            channel_bindings,
            in_flight: false,
        };
        if anonymous {
            // Nothing to present: the request goes as it is.
        } else if mech == Mechanism::Certificate {
            conn.authorization = Some(HeaderValue::from_static(CERTIFICATE_PROFILE));
        } else {
            authenticate(&mut conn, cfg, deadline)
                .await
                .map_err(Failure::into_error)?;
        }
        self.stats.auth_handshakes += 1;
        Ok(conn)
    }

    fn new_context(&self, channel_bindings: Option<Vec<u8>>) -> Result<Box<dyn SecurityContext>> {
        let mut opts = self.config.auth.clone();
        opts.channel_bindings = channel_bindings;
        let host = &self.config.endpoint.host;
        match &self.config.context_factory {
            Some(f) => f(&opts, host),
            None => crate::auth::new_context(&opts, host),
        }
    }

    fn dial_target(&self) -> String {
        match &self.proxy {
            Some(p) => format!("proxy {}:{}", p.host, p.port),
            None => self.config.endpoint.authority(),
        }
    }

    async fn dial(
        &mut self,
    ) -> Result<(
        SendRequest<Full<Bytes>>,
        tokio::task::JoinHandle<()>,
        Option<Vec<u8>>,
    )> {
        let ep = &self.config.endpoint;
        let (host, port) = match &self.proxy {
            Some(p) => (p.host.as_str(), p.port),
            None => (ep.host.as_str(), ep.port),
        };
        let mut tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| Error::Transport {
                message: format!("cannot connect to {}", self.dial_target()),
                source: Some(Box::new(e)),
            })?;
        let _ = tcp.set_nodelay(true);
        self.stats.connections += 1;
        tracing::debug!(peer = ?tcp.peer_addr().ok(), "TCP connected");
        if let Some(p) = &self.proxy {
            proxy::connect_tunnel(&mut tcp, p, &ep.authority()).await?;
        }
        let Some(tls_config) = &self.tls else {
            let (s, d) = start_http(tcp, ep).await?;
            return Ok((s, d, None));
        };
        let name = tls::server_name(&ep.host, &self.config.tls)?;
        let connector = tokio_rustls::TlsConnector::from(tls_config.clone());
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| tls_failure(ep, &self.config.tls, e))?;
        self.stats.tls_handshakes += 1;
        let leaf = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| Error::Protocol {
                message: format!("{ep}: the TLS server sent no certificate"),
            })?;
        let cb = tls::channel_binding_data(leaf.as_ref())?;
        tracing::debug!(channel_binding_len = cb.len(), "TLS established");
        let (s, d) = start_http(stream, ep).await?;
        Ok((s, d, Some(cb)))
    }
}

fn tls_failure(ep: &Endpoint, opts: &tls::TlsOptions, e: std::io::Error) -> Error {
    let cert_problem = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    let message = if cert_problem {
        let hint = if opts.ca_file.is_some() {
            "the extra CA given (TlsOptions::ca_file) did not sign it, or the name does not match"
        } else {
            "it is not signed by a CA of the platform's roots (a self-signed or private CA \
             certificate needs TlsOptions::ca_file)"
        };
        format!("the TLS certificate of {} is not trusted; {hint}", ep.host)
    } else {
        format!("TLS handshake with {} failed", ep.authority())
    };
    Error::Transport {
        message,
        source: Some(Box::new(e)),
    }
}

async fn start_http<IO>(
    io: IO,
    ep: &Endpoint,
) -> Result<(SendRequest<Full<Bytes>>, tokio::task::JoinHandle<()>)>
where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // hyper's read buffer grows to fit a whole Receive (up to ~400 kB by
    // default) and stays that size while the connection idles: with
    // thousands of sessions, each would keep it. 64 KiB reads still fill it.
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .max_buf_size(READ_BUFFER_MAX)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::Transport {
            message: format!("HTTP/1.1 setup with {} failed", ep.authority()),
            source: Some(Box::new(e)),
        })?;
    let driver = tokio::spawn(
        async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended");
            }
        }
        .in_current_span(),
    );
    Ok((sender, driver))
}

fn build_request(
    ep: &Endpoint,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
    authorization: Option<&HeaderValue>,
) -> Result<Request<Full<Bytes>>> {
    let body: Bytes = body.into();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(ep.path.as_str())
        .header(HOST, ep.authority())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(CONTENT_LENGTH, body.len());
    if let Some(ct) = content_type {
        b = b.header(CONTENT_TYPE, ct);
    }
    if let Some(a) = authorization {
        b = b.header(AUTHORIZATION, a.clone());
    }
    b.body(Full::new(body)).map_err(|e| Error::Config {
        message: format!("cannot build the HTTP request for {ep}: {e}"),
    })
}

/// `Authorization` as it may be logged: the scheme and the token size.
fn redacted(v: Option<&HeaderValue>) -> String {
    match v.and_then(|v| v.to_str().ok()) {
        None => "-".into(),
        Some(s) => match s.split_once(' ') {
            Some((scheme, rest)) => format!("{scheme} <redacted {} chars>", rest.len()),
            None => "<redacted>".into(),
        },
    }
}

/// One request/response on the connection, bounded by `deadline`.
async fn round_trip(
    sender: &mut SendRequest<Full<Bytes>>,
    cfg: &TransportConfig,
    req: Request<Full<Bytes>>,
    deadline: Duration,
) -> std::result::Result<RawResponse, Failure> {
    let ep = &cfg.endpoint;
    tracing::debug!(
        method = %req.method(),
        path = %req.uri(),
        content_type = ?req.headers().get(CONTENT_TYPE),
        content_length = ?req.headers().get(CONTENT_LENGTH),
        authorization = %redacted(req.headers().get(AUTHORIZATION)),
        "HTTP request"
    );
    let transport = |what: &str, e: hyper::Error| Error::Transport {
        message: format!("connection to {} {what}", ep.authority()),
        source: Some(Box::new(e)),
    };
    let dropped = |what: &str, e: hyper::Error| Failure::Dropped(transport(what, e));
    let exchange = async {
        sender
            .ready()
            .await
            .map_err(|e| Failure::Unsent(transport("is closed", e)))?;
        let resp = sender.try_send_request(req).await.map_err(|mut e| {
            // hyper hands the request back when none of it was written.
            let unsent = e.take_message().is_some();
            let e = e.into_error();
            if unsent {
                Failure::Unsent(transport("closed before the request was written", e))
            } else if e.is_parse() {
                Failure::Fatal(Error::Protocol {
                    message: format!("{} sent an invalid HTTP response: {e}", ep.authority()),
                })
            } else {
                dropped("dropped before the answer", e)
            }
        })?;
        let (parts, body) = resp.into_parts();
        let body = read_body(body, cfg.max_response_size)
            .await
            .map_err(|e| match e {
                BodyError::Dropped(e) => dropped("dropped while reading the answer", e),
                BodyError::TooLarge => Failure::Fatal(Error::Protocol {
                    message: format!(
                        "the answer of {} is larger than {} bytes",
                        ep.authority(),
                        cfg.max_response_size
                    ),
                }),
            })?;
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    let raw = match tokio::time::timeout(deadline, exchange).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(Failure::TimedOut(Error::Timeout {
                message: format!(
                    "no answer from {ep} within {deadline:?}; the deadline must exceed the request's OperationTimeout"
                ),
            }))
        }
    };
    tracing::debug!(
        status = raw.status.as_u16(),
        content_type = ?raw.headers.get(CONTENT_TYPE),
        content_length = raw.body.len(),
        www_authenticate = ?offered_schemes(&raw.headers),
        "HTTP response"
    );
    Ok(raw)
}

enum BodyError {
    Dropped(hyper::Error),
    TooLarge,
}

/// The whole body of an answer, read into a buffer of the [`body_pool`]
/// (hyper hands it over in pieces of its read buffer's size).
async fn read_body(
    mut body: hyper::body::Incoming,
    limit: usize,
) -> std::result::Result<Vec<u8>, BodyError> {
    use hyper::body::Body as _;
    let hint = body.size_hint();
    if hint.lower() > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    // A small answer of known length (most: a Send's, a Signal's, a fault)
    // gets its own buffer and leaves the pool's to the large ones, which
    // callers hand back.
    let mut buf = match hint.exact() {
        Some(n) if n < body_pool::SMALL as u64 => Vec::with_capacity(n as usize),
        _ => body_pool::take(),
    };
    buf.reserve(hint.lower() as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Dropped)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// The schemes of the `WWW-Authenticate` challenges (no tokens).
fn offered_schemes(h: &HeaderMap) -> Vec<String> {
    h.get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|c| {
            let s = c.split_whitespace().next()?;
            // "realm=..." continuation of a Basic challenge is not a scheme
            (!s.contains('=')).then(|| s.to_string())
        })
        .collect()
}

/// The token of the `scheme` challenge, if any. `Ok(None)` for a bare
/// `WWW-Authenticate: Negotiate`.
fn challenge_token(h: &HeaderMap, scheme: &str) -> Result<Option<Vec<u8>>> {
    for v in h.get_all(WWW_AUTHENTICATE).iter() {
        let Ok(v) = v.to_str() else { continue };
        for c in v.split(',') {
            let mut it = c.trim().splitn(2, ' ');
            let s = it.next().unwrap_or_default();
            if !s.eq_ignore_ascii_case(scheme) {
                continue;
            }
            let token = it.next().unwrap_or_default().trim();
            if token.is_empty() {
                return Ok(None);
            }
            return base64::engine::general_purpose::STANDARD
                .decode(token)
                .map(Some)
                .map_err(|_| Error::Protocol {
                    message: format!("the host's {scheme} token is not valid base64"),
                });
        }
    }
    Ok(None)
}

fn refused(cfg: &TransportConfig, detail: &str) -> Error {
    let user = cfg.auth.credentials.display_name();
    let ep = &cfg.endpoint;
    let mut message = format!(
        "{} refused user {user} ({:?} authentication){detail}",
        ep.host, cfg.auth.mechanism
    );
    if cfg.auth.mechanism == Mechanism::Basic {
        if !ep.is_https() {
            // Windows answers 401 both to a wrong password and to Basic in
            // clear when AllowUnencrypted=false: name both causes.
            message.push_str(
                ": either the user name or password is wrong, or the host requires encryption \
                 (AllowUnencrypted=false), which Basic over plain HTTP cannot give: use HTTPS \
                 (an https:// endpoint) or a mechanism that encrypts (negotiate, ntlm, kerberos)",
            );
        }
        message.push_str("; Basic needs a local account and Auth/Basic=true on the host");
    }
    Error::Authentication { message }
}

/// Runs the handshake of the connection's security context: empty `POST`s
/// with `Authorization: <scheme> <token>` until the context is complete.
async fn authenticate(
    conn: &mut Conn,
    cfg: &TransportConfig,
    deadline: Duration,
) -> std::result::Result<(), Failure> {
    let ctx = conn.ctx.as_mut().expect("a context for this mechanism");
    let scheme = ctx.http_scheme();
    let b64 = base64::engine::general_purpose::STANDARD;
    let fatal = Failure::Fatal;
    if scheme.eq_ignore_ascii_case("Basic") {
        // Basic: one token, sent with every request; no handshake.
        let token = ctx.step(None).map_err(fatal)?.unwrap_or_default();
        let mut v =
            HeaderValue::try_from(format!("Basic {}", b64.encode(token))).map_err(|_| {
                fatal(Error::Config {
                    message: "the Basic token is not a valid header value".into(),
                })
            })?;
        v.set_sensitive(true);
        conn.authorization = Some(v);
        return Ok(());
    }
    let mut out = ctx.step(None).map_err(fatal)?;
    for _leg in 0..MAX_AUTH_LEGS {
        let Some(token) = out.take() else {
            if ctx.is_complete() {
                return Ok(());
            }
            return Err(fatal(Error::Authentication {
                message: format!("the {scheme} context stopped before completing"),
            }));
        };
        let mut auth =
            HeaderValue::try_from(format!("{scheme} {}", b64.encode(&token))).map_err(|_| {
                fatal(Error::Protocol {
                    message: "invalid authorization header".into(),
                })
            })?;
        auth.set_sensitive(true);
        let req = build_request(&cfg.endpoint, None, Vec::new(), Some(&auth)).map_err(fatal)?;
        let raw = round_trip(&mut conn.sender, cfg, req, deadline)
            .await
            .map_err(|f| match f {
                Failure::Unsent(e) | Failure::Dropped(e) => fatal(Error::Transport {
                    message: format!(
                        "{} closed the connection during {scheme} authentication",
                        cfg.endpoint.host
                    ),
                    source: Some(Box::new(e)),
                }),
                f => f,
            })?;
        let server_token = challenge_token(&raw.headers, scheme).map_err(fatal)?;
        match raw.status.as_u16() {
            200 => {
                if let Some(st) = server_token {
                    if ctx.step(Some(&st)).map_err(fatal)?.is_some() {
                        tracing::debug!(
                            "context produced a token after the host accepted; not sent"
                        );
                    }
                }
                if !ctx.is_complete() {
                    return Err(fatal(Error::Authentication {
                        message: format!(
                            "{} answered 200 before the {scheme} handshake finished; cannot establish message security",
                            cfg.endpoint.host
                        ),
                    }));
                }
                return Ok(());
            }
            401 => match server_token {
                Some(st) if !ctx.is_complete() => out = ctx.step(Some(&st)).map_err(fatal)?,
                _ => {
                    let offered = offered_schemes(&raw.headers);
                    let detail = if offered.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
                        String::new()
                    } else {
                        format!(
                            ": the host does not offer {scheme} (it offers: {})",
                            if offered.is_empty() {
                                "nothing".to_string()
                            } else {
                                offered.join(", ")
                            }
                        )
                    };
                    return Err(fatal(refused(cfg, &detail)));
                }
            },
            _ => return Err(fatal(unexpected_status(cfg, raw.status, &raw.body))),
        }
    }
    Err(fatal(Error::Protocol {
        message: format!("{scheme} authentication did not finish in {MAX_AUTH_LEGS} legs"),
    }))
}

/// The largest body buffer kept for the next request (a Send fills
/// MaxEnvelopeSize, 500 KB by default; sealing adds little).
const MAX_KEPT_BODY: usize = 4 << 20;

/// The memory of the last request's body for the next one: taken back
/// when nothing else holds it any more (hyper dropped it once written),
/// else a new buffer.
fn reuse_body(sent: Option<Bytes>) -> Vec<u8> {
    match sent {
        Some(b) if b.is_unique() => {
            let mut v = Vec::from(b);
            v.clear();
            v
        }
        _ => Vec::new(),
    }
}

/// Sends `body` (sealed when the connection seals) in a buffer reused
/// from the last request, `sent` keeping a handle on it for the next.
async fn send_body(
    conn: &mut Conn,
    cfg: &TransportConfig,
    body: &[u8],
    sent: &mut Option<Bytes>,
    deadline: Duration,
) -> std::result::Result<RawResponse, Failure> {
    tracing::trace!(body = %String::from_utf8_lossy(body), "SOAP request");
    let mut buf = reuse_body(sent.take());
    let sealed_type;
    let content_type = match (conn.sealing, conn.ctx.as_mut()) {
        (Some(protocol), Some(ctx)) => {
            sealed_type = encryption::seal_into(ctx.as_mut(), protocol, body, &mut buf)
                .map_err(Failure::Fatal)?;
            sealed_type.as_str()
        }
        _ => {
            buf.extend_from_slice(body);
            SOAP_CONTENT_TYPE
        }
    };
    let keep = buf.capacity() <= MAX_KEPT_BODY;
    let buf = Bytes::from(buf);
    if keep {
        *sent = Some(buf.clone());
    }
    let req = build_request(
        &cfg.endpoint,
        Some(content_type),
        buf,
        conn.authorization.as_ref(),
    )
    .map_err(Failure::Fatal)?;
    round_trip(&mut conn.sender, cfg, req, deadline).await
}

fn looks_like_soap(content_type: &str, body: &[u8]) -> bool {
    content_type.to_ascii_lowercase().contains("xml")
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text
    }
}

fn unexpected_status(cfg: &TransportConfig, status: StatusCode, body: &[u8]) -> Error {
    let ep = &cfg.endpoint;
    let reason = status.canonical_reason().unwrap_or("");
    let text = snippet(body);
    let message = match status.as_u16() {
        413 => format!(
            "{ep} answered HTTP 413 (request entity too large): the message exceeds the host's \
             MaxEnvelopeSize or HTTP limits; send smaller pieces"
        ),
        404 => format!(
            "{ep} answered HTTP 404: no WS-Management listener at path {}",
            ep.path
        ),
        _ => format!("{ep} answered HTTP {} {reason}: {text}", status.as_u16()),
    };
    Error::Transport {
        message,
        source: None,
    }
}

/// Turns the answer to a SOAP request into a [`Response`] or an error.
fn interpret(conn: &mut Conn, cfg: &TransportConfig, raw: RawResponse) -> Result<Response> {
    let ep = &cfg.endpoint;
    let content_type = raw
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let sealed = encryption::is_sealed(&content_type);
    let body = if sealed {
        let ctx = conn.ctx.as_mut().ok_or_else(|| Error::Protocol {
            message: format!("{ep} sent an encrypted body but no security context exists"),
        })?;
        encryption::unseal_owned(ctx.as_mut(), &content_type, raw.body)?
    } else {
        // A 200 answer or a 500 fault replacing a sealed answer in clear
        // could come from anyone on the path ([MS-WSMV] 2.2.9.1): refused.
        if conn.sealing.is_some()
            && matches!(raw.status.as_u16(), 200 | 500)
            && !raw.body.is_empty()
        {
            let what = if raw.status == StatusCode::OK {
                "an answer"
            } else {
                "a fault (HTTP 500)"
            };
            return Err(Error::Protocol {
                message: format!(
                    "{ep} sent {what} in clear text to an encrypted request; refusing the \
                     unprotected answer (it may not come from the host). The request may or may \
                     not have been carried out"
                ),
            });
        }
        raw.body
    };
    tracing::trace!(status = raw.status.as_u16(), body = %String::from_utf8_lossy(&body), "SOAP response");
    match raw.status.as_u16() {
        200 => Ok(Response { status: 200, body }),
        500 if !body.is_empty() && looks_like_soap(&content_type, &body) => {
            Ok(Response { status: 500, body })
        }
        500 if conn.sealing.is_none() && !ep.is_https() => Err(Error::Encryption {
            message: format!(
                "{ep} rejected the unencrypted message (HTTP 500 without a SOAP fault): the host \
                 probably requires encryption (AllowUnencrypted=false). Seal messages (do not allow \
                 unencrypted bodies; negotiate, ntlm, kerberos) or use HTTPS"
            ),
        }),
        401 => Err(refused(
            cfg,
            if conn.sealing.is_none() && !ep.is_https() && cfg.auth.mechanism != Mechanism::Basic {
                " after authentication; if the host requires encryption, do not send unencrypted bodies"
            } else if cfg.auth.mechanism == Mechanism::Basic {
                "" // no handshake: the credentials came with the request
            } else {
                " after authentication"
            },
        )),
        _ => Err(unexpected_status(cfg, raw.status, &body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn challenge_parsing() {
        let h = headers(&["Negotiate", "Kerberos", "Basic realm=\"WSMAN\""]);
        assert_eq!(challenge_token(&h, "Negotiate").unwrap(), None);
        assert_eq!(offered_schemes(&h), ["Negotiate", "Kerberos", "Basic"]);
        let h = headers(&["Basic realm=\"a\", Negotiate aGVsbG8="]);
        assert_eq!(
            challenge_token(&h, "negotiate").unwrap(),
            Some(b"hello".to_vec())
        );
        assert_eq!(challenge_token(&h, "Kerberos").unwrap(), None);
        assert!(challenge_token(&headers(&["Negotiate !!!"]), "Negotiate").is_err());
    }

    #[test]
    fn basic_refused_over_http_names_both_causes() {
        use crate::auth::{AuthOptions, Credentials, Secret};
        let cfg = |url: &str| {
            let creds = Credentials::parse("alice", Secret::password("pw"));
            TransportConfig::new(
                Endpoint::parse(url, false).unwrap(),
                AuthOptions::new(Mechanism::Basic, creds),
            )
        };
        let m = refused(&cfg("http://h1"), "").to_string();
        assert!(m.contains("h1") && m.contains("alice"), "{m}");
        assert!(m.contains("password is wrong"), "{m}");
        assert!(
            m.contains("requires encryption (AllowUnencrypted=false)"),
            "{m}"
        );
        let m = refused(&cfg("https://h1"), "").to_string();
        assert!(!m.contains("requires encryption"), "HTTPS encrypts: {m}");
    }

    #[test]
    fn authorization_is_redacted_in_logs() {
        let v = HeaderValue::from_static("Negotiate TlRMTVNTUAABAAAAB4IIog==");
        let r = redacted(Some(&v));
        assert!(r.starts_with("Negotiate <redacted"), "{r}");
        assert!(!r.contains("TlRM"));
    }
}
