//! A Receive answered with a `w:TimedOut` fault is "nothing yet", whatever
//! the HTTP status the fault came with: Windows sends 500, and a recorded
//! Windows answer (pypsrp's `test_psrp_long_running_cmdlet`, message 4)
//! came with 200.
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::client::{Client, ClientOptions};
use wsman::transport::{Endpoint, ProxySetting, TransportConfig};

const TIMED_OUT: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="127.0.0.1"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

/// Answers each request on one connection with `status` and the fault.
async fn serve(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wsman", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            let Some(head_end) = text.find("\r\n\r\n") else {
                continue;
            };
            let len: usize = text[..head_end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() < head_end + 4 + len {
                continue;
            }
            buf.drain(..head_end + 4 + len);
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{TIMED_OUT}",
                TIMED_OUT.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    url
}

async fn receive_once_against(status: u16) {
    let url = serve(status).await;
    let creds = Credentials::parse("u", Secret::password("p"));
    let mut t = TransportConfig::new(
        Endpoint::parse(&url, false).unwrap(),
        AuthOptions::new(Mechanism::Basic, creds),
    );
    t.allow_unencrypted = true;
    t.proxy = ProxySetting::None;
    t.connect_timeout = Duration::from_secs(5);
    let mut c = Client::new(t, ClientOptions::default()).unwrap();
    let uri = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell";
    let shell = "0AE3F5D2-59D7-4A3A-A9B6-C4B4F1E1F7B1";
    let got = c.receive_once(uri, shell, None, "stdout").await.unwrap();
    assert!(
        got.is_none(),
        "HTTP {status}: a timed-out Receive has nothing"
    );
}

#[tokio::test]
async fn timed_out_receive_with_http_500_is_nothing_yet() {
    receive_once_against(500).await;
}

#[tokio::test]
async fn timed_out_receive_with_http_200_is_nothing_yet() {
    receive_once_against(200).await;
}
