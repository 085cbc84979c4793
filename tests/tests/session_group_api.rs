//! The library's group of PSSessions (`pssession::group::SessionGroup`):
//! opened on several test hosts with one down, a script run in every
//! session (collected, and streamed with each event tagged by its
//! session), state kept per session, then removed from every host.
use std::time::Duration;

use integration_tests::TestHost;
use pssession::group::SessionGroup;
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession};
use pssession::{ConnectionInfo, SessionOptions};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, TransportConfig};

fn info(url: &str, password: &str) -> ConnectionInfo {
    let creds = Credentials::parse("vagrant", Secret::password(password));
    let mut t = TransportConfig::new(
        Endpoint::parse(url, false).unwrap(),
        AuthOptions::new(Mechanism::Basic, creds),
    );
    t.allow_unencrypted = true;
    t.connect_timeout = Duration::from_secs(5);
    ConnectionInfo::new(t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_on_two_hosts_with_one_down() {
    let start = || TestHost::start(&["--auth", "basic", "--allow-unencrypted"]);
    let (Some(a), Some(b)) = (start(), start()) else {
        return;
    };
    let pw = a.get("password").unwrap().to_string();
    let down = "http://127.0.0.1:9/wsman";
    let infos = vec![info(a.url(), &pw), info(down, &pw), info(b.url(), &pw)];
    let (mut group, failed) =
        SessionGroup::open(infos, SessionOptions::default(), 2, || Box::new(NullHost)).await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].computer_name.contains(":9/"));
    assert_eq!(group.len(), 2, "the live hosts' sessions, in order");
    assert_eq!(
        group.members()[0].computer_name,
        info(a.url(), &pw).computer_name()
    );

    // State persists per session; every member answers.
    for r in group.invoke("$n = 42").await {
        r.result.unwrap();
    }
    let results = group.invoke("$n").await;
    assert_eq!(results.len(), 2);
    for r in &results {
        let out = r.result.as_ref().unwrap();
        let text: Vec<String> = out.output.iter().map(pssession::format::to_text).collect();
        assert_eq!(text, ["42"], "{}", r.computer_name);
    }

    // Streaming: each event tagged with its member as it arrives.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let results = group.invoke_streaming("1; 2; 3", tx).await;
    assert!(results.iter().all(|r| r.result.is_ok()));
    let mut per_member = [Vec::new(), Vec::new()];
    while let Some(e) = rx.recv().await {
        assert_eq!(
            e.instance_id,
            group.members()[e.member].session.instance_id()
        );
        if let PipelineEvent::Output(v) = e.event {
            per_member[e.member].push(pssession::format::to_text(&v));
        }
    }
    for outs in per_member {
        assert_eq!(outs, ["1", "2", "3"]);
    }

    // Removed from both hosts.
    let closed = group.close().await;
    assert_eq!(closed.len(), 2);
    assert!(closed.iter().all(|r| r.result.is_ok()));
    for h in [&a, &b] {
        let left = PsSession::list(&info(h.url(), &pw)).await.unwrap();
        assert!(left.is_empty(), "{left:?}");
    }
}
