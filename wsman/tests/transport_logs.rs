//! `tracing` output of the transport at trace level: bodies are there,
//! secrets never (passwords, Basic credentials, NTLM tokens). Its own test
//! binary: `tracing` caches per-callsite interest process-wide, so a scoped
//! subscriber is only reliable when no other test runs at the same time.
#[path = "peers/harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::{python, Peer};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, ProxySetting, Transport, TransportConfig};

const DEADLINE: Duration = Duration::from_secs(20);

fn config(url: &str, mech: Mechanism, user: &str, password: &str) -> TransportConfig {
    let creds = Credentials::parse(user, Secret::password(password));
    let mut c = TransportConfig::new(
        Endpoint::parse(url, false).unwrap(),
        AuthOptions::new(mech, creds),
    );
    c.proxy = ProxySetting::None;
    c
}

fn soap(i: usize) -> Vec<u8> {
    format!("<s:Envelope><s:Body>request {i}</s:Body></s:Envelope>").into_bytes()
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_at_trace_level_never_show_secrets() {
    use base64::Engine;
    let Some(py) = python() else { return };
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let basic = Peer::start(
        &py,
        "winrm_peer.py",
        &["--auth", "basic", "--basic", "alice:S3cr3t-Value"],
    );
    let mut cfg = config(
        &basic.url("http"),
        Mechanism::Basic,
        "alice",
        "S3cr3t-Value",
    );
    cfg.allow_unencrypted = true;
    Transport::connect(cfg)
        .unwrap()
        .send(&soap(0), DEADLINE)
        .await
        .unwrap();

    let ntlm = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let cfg = config(
        &ntlm.url("http"),
        Mechanism::Ntlm,
        "CORP\\alice",
        "Passw0rd!",
    );
    Transport::connect(cfg)
        .unwrap()
        .send(&soap(1), DEADLINE)
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("HTTP request") && logs.contains("redacted"),
        "{logs}"
    );
    assert!(
        logs.contains("request 1"),
        "bodies are logged at trace level: {logs}"
    );
    let basic_b64 = base64::engine::general_purpose::STANDARD.encode("alice:S3cr3t-Value");
    for secret in ["S3cr3t-Value", basic_b64.as_str(), "Passw0rd!", "TlRMTVNT"] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}
