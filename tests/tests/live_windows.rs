//! Against a real Windows host, when one is reachable: set `WINRM_HOST`
//! (name or URL), `WINRM_USER`, `WINRM_PASSWORD`, and optionally
//! `WINRM_AUTH` (negotiate | ntlm | kerberos | basic; negotiate by
//! default), `WINRM_HTTPS=1`, `WINRM_CA_FILE` (PEM trust anchors),
//! `WINRM_INSECURE=1` (skip certificate checks). The host side is set up
//! as `shared/docs/live-windows.md` describes. Without `WINRM_HOST` every
//! test prints why it skips and passes.
use psrp::types::{PSInvocationState, RunspacePoolState};
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use pssession::winrs::{OutputStream, WinRsShell};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, TransportConfig};

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The connection the environment describes, or `None` (with the skip
/// message printed) when `WINRM_HOST` is not set.
fn live(test: &str) -> Option<pssession::ConnectionInfo> {
    let Ok(host) = std::env::var("WINRM_HOST") else {
        println!(
            "SKIP: set WINRM_HOST, WINRM_USER, WINRM_PASSWORD to run {test} against a \
             Windows host (see shared/docs/live-windows.md)"
        );
        return None;
    };
    let user = std::env::var("WINRM_USER").expect("WINRM_USER is required with WINRM_HOST");
    let password =
        std::env::var("WINRM_PASSWORD").expect("WINRM_PASSWORD is required with WINRM_HOST");
    let mech = match std::env::var("WINRM_AUTH")
        .unwrap_or_else(|_| "negotiate".into())
        .to_ascii_lowercase()
        .as_str()
    {
        "negotiate" => Mechanism::Negotiate,
        "ntlm" => Mechanism::Ntlm,
        "kerberos" => Mechanism::Kerberos,
        "basic" => Mechanism::Basic,
        other => panic!("WINRM_AUTH={other}: expected negotiate, ntlm, kerberos or basic"),
    };
    let https = flag("WINRM_HTTPS");
    let endpoint = Endpoint::parse(&host, https).expect("WINRM_HOST is a host name or URL");
    let creds = Credentials::parse(&user, Secret::password(&password));
    let mut t = TransportConfig::new(endpoint, AuthOptions::new(mech, creds));
    if let Ok(ca) = std::env::var("WINRM_CA_FILE") {
        t.tls.ca_file = Some(ca.into());
    }
    t.tls.insecure = flag("WINRM_INSECURE");
    // Basic over plain HTTP cannot be sealed: the host must allow it
    // (AllowUnencrypted), and so must we.
    t.allow_unencrypted = mech == Mechanism::Basic && !https;
    Some(pssession::ConnectionInfo::new(t))
}

fn texts(values: &[psrp::clixml::Value]) -> Vec<String> {
    values.iter().map(pssession::format::to_text).collect()
}

#[tokio::test]
async fn identify() {
    let Some(info) = live("identify") else { return };
    let mut c = info.wsman_client().unwrap();
    let id = c.identify().await.unwrap();
    assert_eq!(id.product_vendor.as_deref(), Some("Microsoft Corporation"));
    let version = id.protocol_version.unwrap_or_default();
    assert!(
        version.contains("wsman"),
        "ProtocolVersion is a WS-Management URI: {version}"
    );
}

#[tokio::test]
async fn get_winrm_config() {
    let Some(info) = live("get_winrm_config") else {
        return;
    };
    let mut c = info.wsman_client().unwrap();
    let uri = wsman::client::resolve_resource_uri("winrm/config");
    let config = c.get(&uri, &[]).await.unwrap();
    assert!(config.xml.contains("MaxEnvelopeSizekb"), "{}", config.xml);
}

#[tokio::test]
async fn winrs_echo_and_exit_code() {
    let Some(info) = live("winrs_echo_and_exit_code") else {
        return;
    };
    let mut shell = WinRsShell::open(&info, false).await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = shell
        .run(
            "cmd.exe",
            &["/c".into(), "echo hello& echo oops 1>&2& exit 3".into()],
            None,
            |stream, data| match stream {
                OutputStream::Stdout => out.extend_from_slice(data),
                OutputStream::Stderr => err.extend_from_slice(data),
            },
        )
        .await
        .unwrap();
    assert_eq!(code, 3);
    assert_eq!(String::from_utf8_lossy(&out).trim_end(), "hello");
    assert_eq!(String::from_utf8_lossy(&err).trim_end(), "oops");
    shell.close().await.unwrap();
}

/// The PSSession lifecycle a user goes through: a variable kept between
/// pipelines, a pipeline left running across a disconnect, the session
/// listed as Disconnected, taken over from a new client that receives the
/// pipeline's output, and removed.
#[tokio::test]
async fn pssession_disconnect_and_connect_from_a_new_client() {
    let Some(info) = live("pssession_disconnect_and_connect_from_a_new_client") else {
        return;
    };
    let name = format!("wsman-live-{}", uuid::Uuid::new_v4().simple());
    let opts = SessionOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    assert_eq!(s.state(), RunspacePoolState::Opened);
    let r = s.run("$x = 42").await.unwrap();
    assert!(r.output.is_empty());
    assert_eq!(r.state, Some(PSInvocationState::Completed));
    let r = s.run("$x").await.unwrap();
    assert_eq!(texts(&r.output), ["42"]);

    let pid = s
        .start("'first'; Start-Sleep -Seconds 2; 'second'")
        .await
        .unwrap();
    s.disconnect(None, None).await.unwrap();
    assert_eq!(s.state(), RunspacePoolState::Disconnected);
    let id = s.instance_id();

    let listed = PsSession::list(&info).await.unwrap();
    let me = listed
        .iter()
        .find(|r| r.instance_id == id)
        .expect("the disconnected session is listed");
    assert_eq!(me.state, "Disconnected");
    assert_eq!(me.name.as_deref(), Some(name.as_str()));
    assert!(me.pipelines.contains(&pid), "{:?}", me.pipelines);

    let mut s2 = PsSession::connect(&info, id, Box::new(NullHost))
        .await
        .unwrap();
    assert_eq!(s2.state(), RunspacePoolState::Opened);
    let mut p = s2.receive_pipeline(pid).await.unwrap();
    let mut out = Vec::new();
    let mut end = None;
    while let Some(e) = p.next().await.unwrap() {
        match e {
            PipelineEvent::Output(v) => out.push(pssession::format::to_text(&v)),
            PipelineEvent::Finished { state, .. } => end = Some(state),
            _ => {}
        }
    }
    assert_eq!(out, ["first", "second"]);
    assert_eq!(end, Some(PSInvocationState::Completed));
    let r = s2.run("$x").await.unwrap();
    assert_eq!(texts(&r.output), ["42"]);
    s2.close().await.unwrap();
    let listed = PsSession::list(&info).await.unwrap();
    assert!(listed.iter().all(|r| r.instance_id != id), "removed");
}

/// `wsman copy` both ways through the PSSession API: a file of a few
/// chunks, in several pipelines, to the host (its SHA-256 reported by the host and by
/// Get-FileHash equal to ours), back again byte for byte, then the errors a
/// user meets (a missing remote file, a folder as destination), each
/// leaving no partial file.
#[tokio::test]
async fn copy_file_to_the_host_and_back() {
    use pssession::copy::{copy_from_host, copy_to_host, CopyOptions};
    let Some(info) = live("copy_file_to_the_host_and_back") else {
        return;
    };
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let temp = texts(&s.run("$env:TEMP").await.unwrap().output).remove(0);
    let remote = format!(r"{temp}\wsman-live-{}.bin", uuid::Uuid::new_v4().simple());
    let local_dir = std::env::temp_dir().join(format!("wsman-live-{}", std::process::id()));
    std::fs::create_dir_all(&local_dir).unwrap();
    let local = local_dir.join("up.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    // 200,000 bytes in chunks of 48 KiB, at most 96 KiB per pipeline: the
    // copy to the host takes three pipelines, the file kept open between.
    let options = CopyOptions {
        chunk_size: Some(48 * 1024),
        segment_size: Some(96 * 1024),
        ..Default::default()
    };
    let mut steps = 0;
    let up = copy_to_host(&mut s, &local, &remote, &mut |_| steps += 1, &options)
        .await
        .unwrap();
    assert_eq!(up.path, remote);
    assert_eq!(up.bytes, 200_000);
    assert_eq!(up.remote_digest.as_deref(), Some(up.digest.as_str()));
    assert!(steps >= 5, "one progress call per chunk: {steps}");
    let hash = s
        .run(&format!(
            "(Get-FileHash -Algorithm SHA256 -LiteralPath '{remote}').Hash"
        ))
        .await
        .unwrap();
    assert_eq!(texts(&hash.output), [up.digest.to_uppercase()]);

    let back = local_dir.join("down.bin");
    let down = copy_from_host(&mut s, &remote, &back, &mut |_| {}, &options)
        .await
        .unwrap();
    assert_eq!(down.digest, up.digest);
    assert_eq!(std::fs::read(&back).unwrap(), data);

    let missing = format!("{remote}.missing");
    let e = copy_from_host(
        &mut s,
        &missing,
        &local_dir.join("none"),
        &mut |_| {},
        &options,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!local_dir.join("none").exists());
    let e = copy_to_host(&mut s, &local, &temp, &mut |_| {}, &options)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");

    let left = s
        .run(&format!(
            "Remove-Item -LiteralPath '{remote}'; Test-Path -LiteralPath '{remote}.wsman-partial'"
        ))
        .await
        .unwrap();
    assert_eq!(texts(&left.output), ["False"]);
    s.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&local_dir);
}
