//! A TCP forwarder between a client and the test host that reads HTTP/1.1
//! messages whole and, at a chosen request, cuts the connection or stalls:
//! the network failures of a fault-injection run. It can also cut every
//! live connection at once and refuse new ones (an outage).
//!
//! Requests are counted across all connections, only those with a body
//! (SOAP envelopes: the empty authentication `POST`s are not counted),
//! from one. At request number `at`, [`Fault`] says what goes wrong. Plain
//! threads and blocking sockets, so it serves a `wsman` child process as
//! well as an in-process client; stopped (every socket shut down) when
//! dropped.
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What happens to the chosen request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection is closed when the request arrives; none of it reaches the host.
    DropRequest,
    /// Half of the request reaches the host, then the connection is closed.
    HalfRequest,
    /// The request reaches the host, which answers; the answer is not
    /// forwarded and the connection is closed (the answer is lost).
    LoseAnswer,
    /// Half of the answer is forwarded, then the connection is closed.
    HalfAnswer,
    /// The answer is held back this long, then forwarded.
    Stall(Duration),
    /// The answer is replaced by a SOAP fault in clear text (HTTP 500), as
    /// a man in the middle of a sealed channel could send.
    PlainFault,
}

/// The fault [`Fault::PlainFault`] sends.
pub const PLAIN_FAULT_TEXT: &str = "Injected by a man in the middle";

fn plain_fault() -> Vec<u8> {
    let body = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header/><s:Body>\
         <s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason>\
         <s:Text xml:lang=\"en-US\">{PLAIN_FAULT_TEXT}</s:Text></s:Reason></s:Fault>\
         </s:Body></s:Envelope>"
    );
    let mut out = format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

impl Fault {
    /// The cuts of the matrix: before, midway through and after the request
    /// (both directions), and midway through the answer.
    pub const CUTS: [Fault; 4] = [
        Fault::DropRequest,
        Fault::HalfRequest,
        Fault::LoseAnswer,
        Fault::HalfAnswer,
    ];
}

/// Which request a planned fault hits.
#[derive(Debug, Clone)]
enum Target {
    /// The N-th SOAP request.
    Index(usize),
    /// The first request whose bytes contain this text (readable only
    /// when bodies are not sealed: Basic with `--no-encryption`).
    Containing(Vec<u8>),
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<Option<(Target, Fault)>>,
    requests: AtomicUsize,
    fired: AtomicBool,
    stop: AtomicBool,
    refusing: AtomicBool,
    accepted: AtomicUsize,
    live: Mutex<Vec<(usize, TcpStream)>>,
    next_id: AtomicUsize,
}

/// The forwarder; see the [module documentation](self).
pub struct Forwarder {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on a free loopback port and forwards to `upstream`, with no
    /// fault planned.
    pub fn start(upstream: SocketAddr) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forwarder");
        listener.set_nonblocking(true).expect("nonblocking accept");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(None),
            requests: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            refusing: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            live: Mutex::new(Vec::new()),
            next_id: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((down, _)) if s.refusing.load(Ordering::SeqCst) => drop(down),
                    Ok((down, _)) => {
                        s.accepted.fetch_add(1, Ordering::SeqCst);
                        let s = s.clone();
                        thread::spawn(move || serve(down, &s));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Forwarder {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT/wsman`.
    pub fn url(&self) -> String {
        format!("http://{}/wsman", self.addr)
    }

    /// Plans `fault` for request number `at` (from 1, counting from now)
    /// and resets the counters.
    pub fn plan(&self, at: usize, fault: Fault) {
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.fired.store(false, Ordering::SeqCst);
        *self.shared.plan.lock().unwrap() = Some((Target::Index(at), fault));
    }

    /// Plans `fault` for the first request whose bytes contain `text` (a
    /// SOAP action, say; bodies must be unsealed) and resets the counters.
    pub fn plan_matching(&self, text: &str, fault: Fault) {
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.fired.store(false, Ordering::SeqCst);
        *self.shared.plan.lock().unwrap() =
            Some((Target::Containing(text.as_bytes().to_vec()), fault));
    }

    /// Forwards everything from now on, and resets the counters.
    pub fn clear(&self) {
        *self.shared.plan.lock().unwrap() = None;
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.fired.store(false, Ordering::SeqCst);
    }

    /// SOAP requests seen since the last [`plan`](Self::plan) or [`clear`](Self::clear).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Whether the planned fault happened.
    pub fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }

    /// The next SOAP request reaches the host; its answer is lost with the
    /// connection ([`Fault::LoseAnswer`] planned for the next request).
    pub fn lose_next_answer(&self) {
        self.plan(1, Fault::LoseAnswer);
    }

    /// Refuses new connections (accepts and closes them at once, as a
    /// balancer without a backend would) while `on`.
    pub fn refuse(&self, on: bool) {
        self.shared.refusing.store(on, Ordering::SeqCst);
    }

    /// Connections accepted (and forwarded) so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Shuts down every live connection on both sides.
    pub fn cut(&self) {
        for (_, s) in self.shared.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

/// One HTTP message read whole: its bytes and the length of its body.
fn read_message(r: &mut impl BufRead) -> Option<(Vec<u8>, usize)> {
    let mut msg = Vec::new();
    let mut length = 0usize;
    loop {
        let start = msg.len();
        let n = r.read_until(b'\n', &mut msg).ok()?;
        if n == 0 {
            return None;
        }
        let line = &msg[start..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let text = String::from_utf8_lossy(line).to_ascii_lowercase();
        if let Some(v) = text.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let start = msg.len();
    msg.resize(start + length, 0);
    r.read_exact(&mut msg[start..]).ok()?;
    Some((msg, length))
}

fn serve(down: TcpStream, s: &Shared) {
    let Ok(up) = TcpStream::connect(s.upstream) else {
        return;
    };
    let _ = up.set_nodelay(true);
    let _ = down.set_nodelay(true);
    let id = s.next_id.fetch_add(1, Ordering::SeqCst);
    {
        let mut live = s.live.lock().unwrap();
        for x in [&down, &up] {
            if let Ok(c) = x.try_clone() {
                live.push((id, c));
            }
        }
    }
    let (Ok(dr), Ok(ur)) = (down.try_clone(), up.try_clone()) else {
        return;
    };
    let (mut dr, mut ur) = (BufReader::new(dr), BufReader::new(ur));
    let (mut dw, mut uw) = (&down, &up);
    while let Some((req, body)) = read_message(&mut dr) {
        let fault = if body > 0 {
            let n = s.requests.fetch_add(1, Ordering::SeqCst) + 1;
            let mut plan = s.plan.lock().unwrap();
            let hit = match &*plan {
                Some((Target::Index(at), f)) if *at == n => Some(*f),
                Some((Target::Containing(t), f))
                    if !s.fired.load(Ordering::SeqCst)
                        && req.windows(t.len()).any(|w| w == t.as_slice()) =>
                {
                    Some(*f)
                }
                _ => None,
            };
            if hit.is_some() {
                s.fired.store(true, Ordering::SeqCst);
                if matches!(&*plan, Some((Target::Containing(_), _))) {
                    *plan = None;
                }
            }
            hit
        } else {
            None
        };
        match fault {
            Some(Fault::DropRequest) => break,
            Some(Fault::HalfRequest) => {
                let _ = uw.write_all(&req[..req.len() / 2]);
                break;
            }
            _ => {
                if uw.write_all(&req).is_err() {
                    break;
                }
            }
        }
        let Some((resp, _)) = read_message(&mut ur) else {
            break;
        };
        match fault {
            Some(Fault::LoseAnswer) => break,
            Some(Fault::HalfAnswer) => {
                let _ = dw.write_all(&resp[..resp.len() / 2]);
                break;
            }
            Some(Fault::Stall(d)) => thread::sleep(d),
            Some(Fault::PlainFault) => {
                if dw.write_all(&plain_fault()).is_err() {
                    break;
                }
                continue;
            }
            _ => {}
        }
        if dw.write_all(&resp).is_err() {
            break;
        }
    }
    let _ = down.shutdown(Shutdown::Both);
    let _ = up.shutdown(Shutdown::Both);
    s.live.lock().unwrap().retain(|(i, _)| *i != id);
}
