//! Transport tests against small independent peers (`tests/peers/*.py`):
//! pyspnego's NTLM acceptor unseals what we seal and seals what we unseal,
//! Python's `ssl`/`hashlib` compute the channel binding we must match, a
//! Python CONNECT proxy tunnels us. Every peer listens on 127.0.0.1 with a
//! port chosen at run time and is killed by pid when its test ends. Tests
//! skip with a message when the project's venv (`.venv`) is missing.
#[path = "peers/harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret, SecurityContext};
use wsman::transport::{ClientCertificate, Endpoint, ProxySetting, Transport, TransportConfig};
use wsman::Error;

use harness::{python, Peer};

const DEADLINE: Duration = Duration::from_secs(20);

/// The client side of the peer's fake mechanism: two legs, then XOR 0x5A
/// sealing behind a `FAKESIG<seq>` header, one sequence per direction.
struct FakeContext {
    step: u8,
    seq_out: u32,
    seq_in: u32,
}

impl SecurityContext for FakeContext {
    fn http_scheme(&self) -> &'static str {
        "Negotiate"
    }
    fn step(&mut self, server_token: Option<&[u8]>) -> wsman::Result<Option<Vec<u8>>> {
        self.step += 1;
        match (self.step, server_token) {
            (1, None) => Ok(Some(b"fake-1".to_vec())),
            (2, Some(b"fake-challenge")) => Ok(Some(b"fake-2:fake-challenge".to_vec())),
            (3, Some(b"fake-done")) => Ok(None),
            (s, t) => Err(Error::Protocol {
                message: format!("fake context: unexpected leg {s} with {t:?}"),
            }),
        }
    }
    fn is_complete(&self) -> bool {
        self.step >= 2
    }
    fn encryption_protocol(&self) -> Option<&'static str> {
        Some("application/HTTP-SPNEGO-session-encrypted")
    }
    fn wrap_winrm(&mut self, p: &[u8]) -> wsman::Result<(Vec<u8>, Vec<u8>)> {
        let mut sig = b"FAKESIG".to_vec();
        sig.extend_from_slice(&self.seq_out.to_le_bytes());
        self.seq_out += 1;
        Ok((sig, p.iter().map(|b| b ^ 0x5a).collect()))
    }
    fn unwrap_winrm(&mut self, h: &[u8], d: &[u8]) -> wsman::Result<Vec<u8>> {
        let mut sig = b"FAKESIG".to_vec();
        sig.extend_from_slice(&self.seq_in.to_le_bytes());
        if h != sig {
            return Err(Error::Protocol {
                message: "fake context: bad signature".into(),
            });
        }
        self.seq_in += 1;
        Ok(d.iter().map(|b| b ^ 0x5a).collect())
    }
}

fn config(url: &str, mech: Mechanism, user: &str, password: &str) -> TransportConfig {
    let creds = Credentials::parse(user, Secret::password(password));
    let mut c = TransportConfig::new(
        Endpoint::parse(url, false).unwrap(),
        AuthOptions::new(mech, creds),
    );
    c.proxy = ProxySetting::None;
    c.connect_timeout = Duration::from_secs(5);
    c
}

fn fake_config(url: &str) -> TransportConfig {
    let mut c = config(url, Mechanism::Negotiate, "alice", "unused");
    c.context_factory = Some(Arc::new(|_, _| {
        Ok(Box::new(FakeContext {
            step: 0,
            seq_out: 0,
            seq_in: 0,
        }))
    }));
    c
}

fn soap(i: usize) -> Vec<u8> {
    format!("<s:Envelope><s:Body>request {i} \u{e9}\u{4e2d}</s:Body></s:Envelope>").into_bytes()
}

async fn five_sealed_round_trips(peer: &Peer, cfg: TransportConfig) {
    let mut t = Transport::connect(cfg).unwrap();
    for i in 0..5 {
        let r = t.send(&soap(i), DEADLINE).await.unwrap();
        assert_eq!((r.status, r.body), (200, soap(i)), "request {i}");
        assert!(t.is_sealing());
    }
    let s = t.stats();
    assert_eq!(
        (s.connections, s.auth_handshakes, s.requests, s.resends),
        (1, 1, 5, 0)
    );
    assert_eq!(peer.count("CONN"), 1, "{:?}", peer.events());
    assert_eq!(peer.count("AUTH_OK"), 1, "{:?}", peer.events());
    assert_eq!(peer.count("REQ sealed"), 5, "{:?}", peer.events());
    assert_eq!(peer.count("REQ plain"), 0);
}

#[tokio::test]
async fn fake_context_sealed_round_trips_share_one_connection() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "fake"]);
    five_sealed_round_trips(&peer, fake_config(&peer.url("http"))).await;
}

#[tokio::test]
async fn ntlm_sealed_round_trips_with_pyspnego_share_one_connection() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let cfg = config(
        &peer.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    five_sealed_round_trips(&peer, cfg).await;
}

#[tokio::test]
async fn ntlm_wrong_password_names_user_and_host() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let cfg = config(&peer.url("http"), Mechanism::Ntlm, "CORP\\alice", "wrong");
    let mut t = Transport::connect(cfg).unwrap();
    let e = t.send(&soap(0), DEADLINE).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert!(msg.contains("alice") && msg.contains("127.0.0.1"), "{msg}");
    assert!(!msg.contains("wrong"), "the password leaked: {msg}");
    assert_eq!(peer.count("REQ"), 0, "no body may be sent unauthenticated");
}

#[tokio::test]
async fn basic_over_http_is_refused_unless_allowed() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "basic", "--basic", "alice:secret"],
    );
    let cfg = config(&peer.url("http"), Mechanism::Basic, "alice", "secret");
    let e = Transport::connect(cfg.clone()).unwrap_err();
    assert!(matches!(e, Error::Encryption { .. }), "{e:?}");
    assert!(e.to_string().contains("allow_unencrypted"), "{e}");
    assert_eq!(peer.count("CONN"), 0, "nothing may reach the host");

    let mut allowed = cfg;
    allowed.allow_unencrypted = true;
    let mut t = Transport::connect(allowed).unwrap();
    for i in 0..2 {
        let r = t.send(&soap(i), DEADLINE).await.unwrap();
        assert_eq!(r.body, soap(i));
    }
    assert!(!t.is_sealing());
    assert_eq!((peer.count("CONN"), peer.count("REQ plain")), (1, 2));
}

#[tokio::test]
async fn basic_wrong_password_is_an_authentication_error() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "basic", "--basic", "alice:secret"],
    );
    let mut cfg = config(&peer.url("http"), Mechanism::Basic, "alice", "nope");
    cfg.allow_unencrypted = true;
    let mut t = Transport::connect(cfg).unwrap();
    let e = t.send(&soap(0), DEADLINE).await.unwrap_err();
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert!(e.to_string().contains("alice"), "{e}");
}

#[tokio::test]
async fn https_self_signed_needs_the_ca_or_insecure() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &[
            "--auth",
            "basic",
            "--gen-cert",
            "{dir}",
            "--key",
            "ec",
            "--sig-hash",
            "sha384",
        ],
    );
    let cfg = config(&peer.url("https"), Mechanism::Basic, "alice", "secret");

    let mut t = Transport::connect(cfg.clone()).unwrap();
    let e = t.send(&soap(0), DEADLINE).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("not trusted") && msg.contains("ca_file"),
        "{msg}"
    );
    assert_eq!(peer.count("REQ"), 0);

    let mut with_ca = cfg.clone();
    with_ca.tls.ca_file = Some(peer.cert());
    let mut t = Transport::connect(with_ca).unwrap();
    assert_eq!(t.send(&soap(1), DEADLINE).await.unwrap().body, soap(1));
    assert_eq!(t.stats().tls_handshakes, 1);
    assert!(
        !t.is_sealing(),
        "TLS protects HTTPS bodies; no message sealing"
    );

    let mut insecure = cfg;
    insecure.tls.insecure = true;
    let mut t = Transport::connect(insecure).unwrap();
    assert_eq!(t.send(&soap(2), DEADLINE).await.unwrap().body, soap(2));
    assert_eq!(peer.count("REQ plain"), 2);
}

#[tokio::test]
async fn channel_binding_matches_python_hashlib() {
    let Some(py) = python() else { return };
    for (key, hash) in [
        ("rsa", "sha256"),
        ("ec", "sha384"),
        ("rsa", "sha512"),
        ("rsa", "sha1"),
    ] {
        let peer = Peer::start(
            &py,
            "winrm_peer.py",
            &[
                "--auth",
                "basic",
                "--gen-cert",
                "{dir}",
                "--key",
                key,
                "--sig-hash",
                hash,
            ],
        );
        let mut cfg = config(&peer.url("https"), Mechanism::Basic, "alice", "secret");
        cfg.tls.insecure = true;
        let mut t = Transport::connect(cfg).unwrap();
        t.send(&soap(0), DEADLINE).await.unwrap();
        let expected = peer.expected_channel_binding();
        let want_len = match hash {
            "sha384" => 48,
            "sha512" => 64,
            _ => 32,
        };
        assert_eq!(expected.len(), "tls-server-end-point:".len() + want_len);
        assert_eq!(t.channel_bindings(), Some(&expected[..]), "{key}/{hash}");
    }
}

#[tokio::test]
async fn ntlm_over_https_binds_the_channel_as_pyspnego_expects() {
    let Some(py) = python() else { return };
    let args = [
        "--auth",
        "ntlm",
        "--gen-cert",
        "{dir}",
        "--sig-hash",
        "sha384",
        "--cbt",
    ];
    let peer = Peer::start(&py, "winrm_peer.py", &args);
    let mut cfg = config(
        &peer.url("https"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    cfg.tls.ca_file = Some(peer.cert());
    let mut t = Transport::connect(cfg.clone()).unwrap();
    for i in 0..2 {
        assert_eq!(t.send(&soap(i), DEADLINE).await.unwrap().body, soap(i));
    }
    assert_eq!(peer.count("AUTH_OK"), 1);

    // The acceptor expects another certificate's bindings: refused.
    let mut args = args.to_vec();
    args.push("--wrong-cbt");
    let peer = Peer::start(&py, "winrm_peer.py", &args);
    let mut cfg = config(
        &peer.url("https"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    cfg.tls.ca_file = Some(peer.cert());
    let e = Transport::connect(cfg)
        .unwrap()
        .send(&soap(0), DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert_eq!(peer.count("AUTH_FAIL"), 1, "{:?}", peer.events());
}

#[tokio::test]
async fn dropped_connection_reconnects_reauthenticates_and_resends_once() {
    let Some(py) = python() else { return };
    // The peer closes the connection instead of answering the 2nd body.
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "ntlm", "--drop-request", "2"],
    );
    let cfg = config(
        &peer.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    let mut t = Transport::connect(cfg).unwrap();
    for i in 0..3 {
        assert_eq!(
            t.send(&soap(i), DEADLINE).await.unwrap().body,
            soap(i),
            "request {i}"
        );
    }
    let s = t.stats();
    assert_eq!(
        (s.connections, s.auth_handshakes, s.resends, s.requests),
        (2, 2, 1, 3)
    );
    assert_eq!(peer.count("CONN"), 2, "{:?}", peer.events());
    assert_eq!(
        peer.count("AUTH_OK"),
        2,
        "a new connection needs a new security context"
    );
    assert_eq!(peer.count("DROP"), 1);
    assert_eq!(peer.count("REQ sealed"), 3);
}

#[tokio::test]
async fn idle_connection_closed_by_host_is_replaced() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "fake", "--close-after", "1"],
    );
    let mut t = Transport::connect(fake_config(&peer.url("http"))).unwrap();
    for i in 0..3 {
        assert_eq!(t.send(&soap(i), DEADLINE).await.unwrap().body, soap(i));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(t.stats().connections, 3);
    assert_eq!(peer.count("AUTH_OK"), 3);
}

#[tokio::test]
async fn soap_fault_with_500_is_returned_as_a_response() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let cfg = config(
        &peer.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    let mut t = Transport::connect(cfg).unwrap();
    let fault = b"<s:Envelope><s:Body><s:Fault>FAULT</s:Fault></s:Body></s:Envelope>".to_vec();
    let r = t.send(&fault, DEADLINE).await.unwrap();
    assert_eq!((r.status, r.body), (500, fault));
    // the connection stays usable
    assert_eq!(t.send(&soap(1), DEADLINE).await.unwrap().status, 200);
    assert_eq!(t.stats().connections, 1);
}

#[tokio::test]
async fn host_requiring_encryption_is_explained() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "fake", "--require-encryption"],
    );
    let mut cfg = fake_config(&peer.url("http"));
    cfg.allow_unencrypted = true;
    let mut t = Transport::connect(cfg).unwrap();
    let e = t.send(&soap(0), DEADLINE).await.unwrap_err();
    assert!(matches!(e, Error::Encryption { .. }), "{e:?}");
    assert!(e.to_string().contains("AllowUnencrypted"), "{e}");
}

#[tokio::test]
async fn proxy_connect_tunnel_with_credentials() {
    let Some(py) = python() else { return };
    let host = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let proxy = Peer::start(&py, "connect_proxy.py", &["--auth", "bob:pr%xy"]);
    let target = format!("127.0.0.1:{}", host.port);

    let mut cfg = config(
        &host.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    cfg.proxy = ProxySetting::Url(format!("http://bob:pr%25xy@127.0.0.1:{}", proxy.port));
    let mut t = Transport::connect(cfg.clone()).unwrap();
    for i in 0..3 {
        assert_eq!(t.send(&soap(i), DEADLINE).await.unwrap().body, soap(i));
    }
    assert_eq!(proxy.events(), vec![format!("CONNECT {target}")]);
    assert_eq!(host.count("CONN"), 1);

    cfg.proxy = ProxySetting::Url(format!("http://127.0.0.1:{}", proxy.port));
    let e = Transport::connect(cfg)
        .unwrap()
        .send(&soap(0), DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert!(e.to_string().contains("proxy"), "{e}");
    assert_eq!(proxy.count("DENIED"), 1);
}

#[tokio::test]
async fn connect_to_a_closed_port_fails_fast() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = fake_config(&format!("http://127.0.0.1:{port}/wsman"));
    cfg.connect_timeout = Duration::from_secs(10);
    let started = Instant::now();
    let e = Transport::connect(cfg)
        .unwrap()
        .send(&soap(0), DEADLINE)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

/// A TCP listener that accepts and never answers.
async fn silent_listener() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (port, task)
}

#[tokio::test]
async fn connect_timeout_covers_a_proxy_that_never_answers() {
    let (port, task) = silent_listener().await;
    let mut cfg = fake_config("http://127.0.0.1:1/wsman");
    cfg.proxy = ProxySetting::Url(format!("http://127.0.0.1:{port}"));
    cfg.connect_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let e = Transport::connect(cfg)
        .unwrap()
        .send(&soap(0), DEADLINE)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    task.abort();
}

#[tokio::test]
async fn read_deadline_is_enforced() {
    let (port, task) = silent_listener().await;
    let mut cfg = config(
        &format!("http://127.0.0.1:{port}/wsman"),
        Mechanism::Basic,
        "a",
        "b",
    );
    cfg.allow_unencrypted = true;
    let mut t = Transport::connect(cfg).unwrap();
    let started = Instant::now();
    let e = t
        .send(&soap(0), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("OperationTimeout"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    task.abort();
}

#[tokio::test]
async fn client_certificate_authentication() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "cert", "--gen-cert", "{dir}"],
    );
    let creds = Credentials::parse("client", Secret::None);
    let mut cfg = TransportConfig::new(
        Endpoint::parse(&peer.url("https"), false).unwrap(),
        AuthOptions::new(Mechanism::Certificate, creds),
    );
    cfg.proxy = ProxySetting::None;
    cfg.tls.ca_file = Some(peer.cert());
    cfg.tls.client_certificate = Some(ClientCertificate {
        cert_file: peer.dir.0.join("client-cert.pem"),
        key_file: peer.dir.0.join("client-key.pem"),
    });
    let mut t = Transport::connect(cfg.clone()).unwrap();
    for i in 0..2 {
        assert_eq!(t.send(&soap(i), DEADLINE).await.unwrap().body, soap(i));
    }
    assert_eq!((peer.count("CONN"), peer.count("AUTH_OK cert")), (1, 1));

    // A key that does not belong to the certificate is a configuration error.
    let mut wrong = cfg;
    wrong.tls.client_certificate = Some(ClientCertificate {
        cert_file: peer.dir.0.join("client-cert.pem"),
        key_file: peer.dir.0.join("key.pem"),
    });
    let e = Transport::connect(wrong).unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[tokio::test]
async fn unexpected_status_is_a_clear_error() {
    let Some(py) = python() else { return };
    let peer = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "basic", "--gen-cert", "{dir}"],
    );
    let mut cfg = config(&peer.url("https"), Mechanism::Basic, "alice", "secret");
    cfg.tls.insecure = true;
    let mut t = Transport::connect(cfg).unwrap();
    let e = t.send(b"<big>STATUS413</big>", DEADLINE).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        e.to_string().contains("413") && e.to_string().contains("MaxEnvelopeSize"),
        "{e}"
    );
}

#[tokio::test]
async fn ipv6_loopback_endpoint() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "fake", "--bind", "::1"]);
    let mut t = Transport::connect(fake_config(&format!("[::1]:{}", peer.port))).unwrap();
    assert_eq!(
        t.endpoint().to_string(),
        format!("http://[::1]:{}/wsman", peer.port)
    );
    assert_eq!(t.send(&soap(0), DEADLINE).await.unwrap().body, soap(0));
    assert_eq!(peer.count("REQ sealed"), 1);
}

#[tokio::test]
async fn a_cancelled_send_does_not_poison_the_next_one() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let cfg = config(
        &peer.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    let mut t = Transport::connect(cfg).unwrap();
    assert_eq!(t.send(&soap(0), DEADLINE).await.unwrap().body, soap(0));
    // The caller gives up on a slow answer (e.g. a select! with Ctrl-C).
    let slow = b"<s:Envelope>SLOW</s:Envelope>";
    let cancelled = tokio::time::timeout(Duration::from_millis(200), t.send(slow, DEADLINE)).await;
    assert!(cancelled.is_err(), "the peer answers SLOW after 1 s");
    // The unread sealed answer would put NTLM's sequence numbers out of
    // step: the next send must use a fresh, re-authenticated connection.
    assert_eq!(t.send(&soap(1), DEADLINE).await.unwrap().body, soap(1));
    let s = t.stats();
    assert_eq!((s.connections, s.auth_handshakes), (2, 2));
}

#[tokio::test]
async fn proxy_tunnels_tls_with_channel_binding() {
    let Some(py) = python() else { return };
    let host = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "ntlm", "--gen-cert", "{dir}", "--cbt"],
    );
    let proxy = Peer::start(&py, "connect_proxy.py", &[]);
    let mut cfg = config(
        &host.url("https"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    cfg.tls.ca_file = Some(host.cert());
    cfg.proxy = ProxySetting::Url(format!("http://127.0.0.1:{}", proxy.port));
    let mut t = Transport::connect(cfg).unwrap();
    assert_eq!(t.send(&soap(0), DEADLINE).await.unwrap().body, soap(0));
    // TLS runs end to end through the tunnel: the certificate (and so the
    // channel binding) is the host's, not the proxy's.
    assert_eq!(
        t.channel_bindings(),
        Some(&host.expected_channel_binding()[..])
    );
    assert_eq!(proxy.count("CONNECT"), 1);
    assert_eq!(host.count("AUTH_OK"), 1);
}
