//! Kerberos and Negotiate through the whole transport, against a throwaway
//! MIT realm (`tests/peers/krb_realm.py`) and pyspnego's acceptor over MIT
//! GSSAPI in the HTTP peer: the `Kerberos` scheme with the AP-REP arriving
//! on the final 200 (mutual authentication), `HTTP-Kerberos-session-encrypted`
//! sealing, and SPNEGO from a `kinit` credential cache. The KDC and peers
//! listen on 127.0.0.1 at ports chosen at run time and are stopped by pid.
//! One test function: MIT GSSAPI reads `KRB5_CONFIG`/`KRB5CCNAME` from the
//! process environment, which must not change under another test.
#![cfg(feature = "gssapi")]
#[path = "peers/harness.rs"]
mod harness;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use harness::{python, Peer, TempDir};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, ProxySetting, Transport, TransportConfig};

const REALM: &str = "TRANSPORT.TEST";
const USER: &str = "alice";
const PASSWORD: &str = "krb-Transp0rt";

/// The KDC daemon, stopped by pid on drop.
struct Kdc(String);

impl Drop for Kdc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.0).status();
    }
}

fn tools_present() -> bool {
    ["krb5kdc", "kdb5_util", "kadmin.local", "kinit"]
        .iter()
        .all(|p| {
            ["/usr/sbin", "/usr/bin"]
                .iter()
                .any(|d| Path::new(d).join(p).exists())
        })
}

async fn sealed_round_trips(peer: &Peer, mech: Mechanism, secret: Secret) -> Transport {
    let creds = Credentials::parse(&format!("{USER}@{REALM}"), secret);
    let url = format!("http://localhost:{}/wsman", peer.port);
    let mut cfg = TransportConfig::new(
        Endpoint::parse(&url, false).unwrap(),
        AuthOptions::new(mech, creds),
    );
    cfg.proxy = ProxySetting::None;
    let mut t = Transport::connect(cfg).unwrap();
    for i in 0..5 {
        let body = format!("<s:Envelope>kerberos {i} \u{e9}</s:Envelope>").into_bytes();
        let r = t
            .send(&body, Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("{mech:?} request {i}: {e}; peer: {:?}", peer.events()));
        assert_eq!((r.status, r.body), (200, body));
    }
    assert!(t.is_sealing());
    let s = t.stats();
    assert_eq!((s.connections, s.auth_handshakes, s.requests), (1, 1, 5));
    assert_eq!(peer.count("CONN"), 1, "{:?}", peer.events());
    assert_eq!(peer.count("REQ sealed"), 5, "{:?}", peer.events());
    assert_eq!(peer.count("BAD_PROTOCOL"), 0, "{:?}", peer.events());
    t
}

#[tokio::test]
async fn kerberos_and_negotiate_sealed_over_http() {
    let Some(py) = python() else { return };
    if !tools_present() {
        eprintln!(
            "SKIP: MIT KDC programs missing (apt-get install krb5-kdc krb5-admin-server krb5-user)"
        );
        return;
    }
    let dir = TempDir::new();
    let d = dir.0.display().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/krb_realm.py");
    let out = Command::new(&py)
        .arg(script)
        .args([&d, REALM, USER, PASSWORD])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _kdc = match stdout.trim().strip_prefix("KDC ") {
        Some(pid) => Kdc(pid.to_string()),
        None => panic!("the realm did not start: {stdout}"),
    };
    let krb5_conf = format!("{d}/krb5.conf");
    let keytab = format!("{d}/http.keytab");
    let ccache = format!("FILE:{d}/ccache");
    std::env::set_var("KRB5_CONFIG", &krb5_conf);
    std::env::set_var("KRB5CCNAME", &ccache);
    let env = [
        ("KRB5_CONFIG", krb5_conf.as_str()),
        ("KRB5_KTNAME", keytab.as_str()),
    ];

    // The Kerberos scheme with a password: AP-REQ on the empty POST, AP-REP
    // on the 200, then HTTP-Kerberos-session-encrypted bodies.
    let peer = Peer::start_with_env(&py, "winrm_peer.py", &["--auth", "kerberos"], &env);
    sealed_round_trips(&peer, Mechanism::Kerberos, Secret::password(PASSWORD)).await;
    assert_eq!(
        peer.count(&format!("AUTH_OK kerberos {USER}@{REALM}")),
        1,
        "{:?}",
        peer.events()
    );

    // Negotiate (SPNEGO) with the ticket of a `kinit` cache and no secret.
    let mut kinit = Command::new("kinit")
        .arg(format!("{USER}@{REALM}"))
        .env("KRB5_CONFIG", &krb5_conf)
        .env("KRB5CCNAME", &ccache)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(kinit.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(kinit.wait().unwrap().success(), "kinit failed");
    let peer = Peer::start_with_env(&py, "winrm_peer.py", &["--auth", "negotiate"], &env);
    sealed_round_trips(&peer, Mechanism::Negotiate, Secret::None).await;
    assert_eq!(peer.count(&format!("AUTH_OK negotiate {USER}@{REALM}")), 1);
}
