//! The proxy named by the environment (`http_proxy`), end to end: the host
//! name is one only the proxy knows, so the request can only arrive through
//! the tunnel. Its own test binary with one test, because it sets process
//! environment variables.
#[path = "peers/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{python, Peer};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, Transport, TransportConfig};

#[tokio::test]
async fn http_proxy_from_the_environment_tunnels_ntlm() {
    let Some(py) = python() else { return };
    let host = Peer::start(&py, "winrm_peer.py", &["--auth", "ntlm"]);
    let proxy = Peer::start(
        &py,
        "connect_proxy.py",
        &["--auth", "bob:pw", "--map", "winrm.test"],
    );
    for var in [
        "HTTP_PROXY",
        "NO_PROXY",
        "no_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var(
        "http_proxy",
        format!("http://bob:pw@127.0.0.1:{}", proxy.port),
    );

    let url = format!("http://winrm.test:{}/wsman", host.port);
    let creds = Credentials::parse("CORP\\alice", Secret::password("Passw0rd!"));
    // TransportConfig::new reads the proxy from the environment by default.
    let cfg = TransportConfig::new(
        Endpoint::parse(&url, false).unwrap(),
        AuthOptions::new(Mechanism::Ntlm, creds),
    );
    let mut t = Transport::connect(cfg).unwrap();
    for i in 0..2 {
        let body = format!("<s:Envelope>{i}</s:Envelope>").into_bytes();
        assert_eq!(
            t.send(&body, Duration::from_secs(20)).await.unwrap().body,
            body
        );
    }
    assert_eq!(
        proxy.events(),
        vec![format!("CONNECT winrm.test:{}", host.port)]
    );
    assert_eq!((host.count("CONN"), host.count("REQ sealed")), (1, 2));
    std::env::remove_var("http_proxy");
}
