//! The PSSession API against the independent test host (psrpcore server,
//! pyspnego auth): the lifecycle a Rust user goes through.
use integration_tests::{connection, TestHost};
use psrp::types::PSInvocationState;
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use wsman::auth::Mechanism;

fn as_text(v: &psrp::clixml::Value) -> String {
    pssession::format::to_text(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_persist_across_pipelines_and_a_disconnect() {
    let Some(host) = TestHost::start(&["--auth", "basic,ntlm", "--allow-unencrypted"]) else {
        return;
    };
    for mech in [Mechanism::Basic, Mechanism::Ntlm] {
        let info = connection(&host, mech);
        let opts = SessionOptions {
            name: Some("api-test".into()),
            ..Default::default()
        };
        let mut s = PsSession::open(&info, opts, Box::new(NullHost))
            .await
            .unwrap();
        let r = s.run("$x = 42").await.unwrap();
        assert!(r.output.is_empty());
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        let r = s.run("$x").await.unwrap();
        assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["42"]);

        // A script that keeps producing while we are away.
        let pid = s.start("'first'; Start-Sleep 1; 'second'").await.unwrap();
        s.disconnect(None, None).await.unwrap();
        let id = s.instance_id();

        let listed = PsSession::list(&info).await.unwrap();
        let me = listed.iter().find(|r| r.instance_id == id).expect("listed");
        assert_eq!(me.name.as_deref(), Some("api-test"));
        assert_eq!(me.state, "Disconnected");

        // Another client connects and receives the buffered output in order.
        let mut s2 = PsSession::connect(&info, id, Box::new(NullHost))
            .await
            .unwrap();
        let mut p = s2.receive_pipeline(pid).await.unwrap();
        let mut out = Vec::new();
        while let Some(e) = p.next().await.unwrap() {
            if let PipelineEvent::Output(v) = e {
                out.push(as_text(&v));
            }
        }
        assert_eq!(out, ["first", "second"]);
        let r = s2.run("$x").await.unwrap();
        assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["42"]);
        s2.close().await.unwrap();
        let listed = PsSession::list(&info).await.unwrap();
        assert!(listed.iter().all(|r| r.instance_id != id), "removed");
    }
}

/// The one-line connection builder and the pipeline as a `Stream`, as a
/// program embedding the library would use them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_and_stream_of_events() {
    use futures_util::StreamExt;
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = pssession::ConnectionInfo::builder(host.url())
        .user(host.get("user").unwrap())
        .password(host.get("password").unwrap())
        .auth(Mechanism::Ntlm)
        .build()
        .unwrap();
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let p = s.invoke("1..3; Write-Warning 'w'").await.unwrap();
    let mut events = Box::pin(p.into_stream());
    let mut seen = Vec::new();
    while let Some(e) = events.next().await {
        match e.unwrap() {
            PipelineEvent::Output(v) => seen.push(as_text(&v)),
            PipelineEvent::Warning(_) => seen.push("warning".into()),
            PipelineEvent::Finished { state, .. } => seen.push(format!("{state:?}")),
            _ => {}
        }
    }
    drop(events);
    assert_eq!(seen, ["1", "2", "3", "warning", "Completed"]);
    // The session is still usable after the stream ended.
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}
