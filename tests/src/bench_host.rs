//! A WinRM host for benchmarks: NTLM authentication (a real acceptor, so the
//! client's own handshake and sealing run), then every sealed request is
//! answered with the next of a list of canned SOAP bodies, sealed as Windows
//! seals them ([MS-WSMV] 2.2.9.1.1, [MS-NLMP] 3.4.3). It does no PowerShell
//! and keeps no state beyond the NTLM session, so it answers at memory
//! speed and what a benchmark measures is the client.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
//! [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsman::auth::ntlm::{crypto, flags, messages, NtlmContext, Session};
use wsman::transport::encryption;

/// The user the bench host accepts.
pub const USER: &str = "bench";
/// Its password.
pub const PASSWORD: &str = "Bench-Passw0rd";
const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
const SERVER_CHALLENGE: [u8; 8] = *b"benchsrv";

/// A running bench host (a thread of its own with its own runtime, so the
/// client's thread does only the client's work); stopped when dropped.
pub struct BenchHost {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BenchHost {
    /// Starts a host on 127.0.0.1 (port chosen by the system) answering the
    /// n-th sealed request of each connection with `bodies[n % len]`.
    pub fn start(bodies: Vec<Vec<u8>>) -> std::io::Result<BenchHost> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let bodies = Arc::new(bodies);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("bench host runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                let serve = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            return;
                        };
                        let bodies = bodies.clone();
                        tokio::spawn(async move {
                            let _ = serve_connection(stream, &bodies).await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
        });
        Ok(BenchHost {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/wsman`.
    pub fn url(&self) -> String {
        format!("http://{}/wsman", self.addr)
    }
}

impl Drop for BenchHost {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A ReceiveResponse as the test host and Windows shape it: one
/// `rsp:Stream` per PSRP fragment, for `command_id`, with `CommandState`
/// Done when `done`.
pub fn receive_response(command_id: &str, fragments: &[Vec<u8>], done: bool) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = String::from(concat!(
        r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
        r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
        r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
        r#"xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>"#,
        r#"<a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action>"#,
        r#"<a:MessageID>uuid:2F5C1F4E-5E3A-4B43-9C5B-0C7B8E9D7A11</a:MessageID>"#,
        r#"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"#,
        r#"</s:Header><s:Body><rsp:ReceiveResponse>"#,
    ));
    for f in fragments {
        s.push_str(r#"<rsp:Stream Name="stdout" CommandId=""#);
        s.push_str(command_id);
        s.push_str(r#"">"#);
        b64.encode_string(f, &mut s);
        s.push_str("</rsp:Stream>");
    }
    let state = if done { "Done" } else { "Running" };
    s.push_str(&format!(
        r#"<rsp:CommandState CommandId="{command_id}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/{state}">"#
    ));
    if done {
        s.push_str("<rsp:ExitCode>0</rsp:ExitCode>");
    }
    s.push_str("</rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>");
    s.into_bytes()
}

/// One PSRP message in one fragment ([MS-PSRP] 2.2.4): ObjectId, FragmentId
/// 0, start and end, the blob.
pub fn whole_fragment(object_id: u64, message: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(21 + message.len());
    f.extend_from_slice(&object_id.to_be_bytes());
    f.extend_from_slice(&0u64.to_be_bytes());
    f.push(0x03);
    f.extend_from_slice(&(message.len() as u32).to_be_bytes());
    f.extend_from_slice(message);
    f
}

/// A CHALLENGE_MESSAGE offering what Windows offers ([MS-NLMP] 2.2.1.2).
fn challenge() -> Vec<u8> {
    let offered = flags::CLIENT & !flags::NEGOTIATE_OEM;
    let name = crypto::utf16le("BENCH");
    let mut info = name_pair(2, &name); // MsvAvNbDomainName
    info.extend(name_pair(1, &name)); // MsvAvNbComputerName
    info.extend_from_slice(&[0, 0, 0, 0]); // MsvAvEOL
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&(name.len() as u16).to_le_bytes());
    m.extend_from_slice(&56u32.to_le_bytes());
    m.extend_from_slice(&offered.to_le_bytes());
    m.extend_from_slice(&SERVER_CHALLENGE);
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&(info.len() as u16).to_le_bytes());
    m.extend_from_slice(&((56 + name.len()) as u32).to_le_bytes());
    m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]); // VERSION
    m.extend_from_slice(&name);
    m.extend_from_slice(&info);
    m
}

fn name_pair(id: u16, value: &[u8]) -> Vec<u8> {
    let mut p = id.to_le_bytes().to_vec();
    p.extend_from_slice(&(value.len() as u16).to_le_bytes());
    p.extend_from_slice(value);
    p
}

/// The session an AUTHENTICATE_MESSAGE establishes, when its NTProofStr
/// proves the password ([MS-NLMP] 3.2.5.1.2, 3.3.2, 3.4.5.1).
fn accept(token: &[u8]) -> Option<Session> {
    let auth = messages::Authenticate::parse(token).ok()?;
    if auth.nt_response.len() < 16 {
        return None;
    }
    let user = messages::from_utf16le(&auth.user);
    let domain = messages::from_utf16le(&auth.domain);
    let key = crypto::ntowf_v2(&crypto::nt_hash(PASSWORD), &user, &domain);
    let (proof, temp) = auth.nt_response.split_at(16);
    if crypto::hmac_md5(&key[..], &[&SERVER_CHALLENGE, temp]) != proof {
        return None;
    }
    let base = crypto::hmac_md5(&key[..], &[proof]);
    let exported: [u8; 16] = if auth.flags & flags::NEGOTIATE_KEY_EXCH != 0 {
        crypto::rc4k(&base, &auth.encrypted_session_key)
            .try_into()
            .ok()?
    } else {
        base
    };
    Some(Session::server(&exported, auth.flags))
}

struct Request {
    authorization: Option<String>,
    content_type: String,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 64 * 1024 || !fill(stream, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut req = Request {
        authorization: None,
        content_type: String::new(),
        body: Vec::new(),
    };
    let mut length = 0usize;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "authorization" => req.authorization = Some(value.to_string()),
            "content-type" => req.content_type = value.to_string(),
            _ => {}
        }
    }
    while buf.len() < length {
        if !fill(stream, buf).await {
            return None;
        }
    }
    req.body = buf.drain(..length).collect();
    Some(req)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 64 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nServer: bench-host\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await
}

async fn serve_connection(mut stream: TcpStream, bodies: &[Vec<u8>]) -> std::io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut buf = Vec::new();
    let mut ctx: Option<NtlmContext> = None;
    let mut served = 0usize;
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let token = req
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Negotiate "))
            .and_then(|t| b64.decode(t.trim()).ok());
        match (token, &mut ctx) {
            (Some(tok), _) if tok.get(8) == Some(&1) => {
                let h = format!(
                    "WWW-Authenticate: Negotiate {}\r\n",
                    b64.encode(challenge())
                );
                respond(&mut stream, "401 Unauthorized", &h, b"").await?;
            }
            (Some(tok), _) if tok.get(8) == Some(&3) => match accept(&tok) {
                Some(s) => {
                    ctx = Some(NtlmContext::established(s, "HTTP/bench"));
                    respond(&mut stream, "200 OK", "", b"").await?;
                }
                None => respond(&mut stream, "401 Unauthorized", "", b"").await?,
            },
            (_, Some(c)) if encryption::is_sealed(&req.content_type) => {
                if encryption::unseal(c, &req.content_type, &req.body).is_err() {
                    respond(&mut stream, "400 Bad Request", "", b"").await?;
                    continue;
                }
                let body = &bodies[served % bodies.len()];
                served += 1;
                let (ct, sealed) = encryption::seal(c, PROTOCOL, body)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let h = format!("Content-Type: {ct}\r\n");
                respond(&mut stream, "200 OK", &h, &sealed).await?;
            }
            _ => {
                let h = "WWW-Authenticate: Negotiate\r\n";
                respond(&mut stream, "401 Unauthorized", h, b"").await?;
            }
        }
    }
    Ok(())
}

/// Sealing as the host does it: the `Content-Type` and body of `plaintext`
/// sealed with `session` (benchmarks of the client's unsealing).
pub fn seal_as_host(session: Session, plaintext: &[u8]) -> (String, Vec<u8>) {
    let mut ctx = NtlmContext::established(session, "HTTP/bench");
    encryption::seal(&mut ctx, PROTOCOL, plaintext).expect("sealing")
}

/// CPU time this thread has used, in nanoseconds (`/proc/thread-self/schedstat`;
/// `None` where the kernel does not keep it).
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
