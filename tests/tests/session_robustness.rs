//! A live session against the test host when nothing happens for a while
//! and when the network drops: keep-alive, recovery of a Receive cut
//! midway, giving up after the reconnect window (the session is left on
//! the host for another client), and which requests the transport resends.
//!
//! The network is a TCP forwarder ([`integration_tests::forwarder`])
//! between the client and the host that can cut every live connection,
//! refuse new ones and lose the answer of the next request.
use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::forwarder::Forwarder;
use integration_tests::{Cli, TestHost};
use psrp::types::{Command as PsCommand, PowerShell};
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use wsman::auth::Mechanism;

fn host_addr(host: &TestHost) -> SocketAddr {
    let url = host.url();
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    authority.parse().unwrap()
}

/// NTLM (sealed) to `url` as the host's user; requests wait at most 1 s
/// on the host, so a Receive abandoned by a cut ends there within a second
/// (the test host, unlike WinRM, does not notice its client went away).
fn connection(host: &TestHost, url: &str) -> pssession::ConnectionInfo {
    let mut info = integration_tests::connection_at(host, url, Mechanism::Ntlm);
    info.options.operation_timeout = Duration::from_secs(1);
    info
}

fn text(v: &psrp::clixml::Value) -> String {
    pssession::format::to_text(v)
}

async fn host_state_of(info: &pssession::ConnectionInfo, s: &PsSession) -> String {
    PsSession::list(info)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.instance_id == s.instance_id())
        .map(|r| r.state)
        .unwrap_or_else(|| "gone".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_holds_an_idle_session_connected_and_without_it_the_host_disconnects() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--idle-timeout", "3"]) else {
        return;
    };
    let info = connection(&host, host.url());
    let mut idle = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let mut kept = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    assert_eq!(kept.idle_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(kept.keep_alive_interval(), Duration::from_secs(1));
    idle.run("$x = 1").await.unwrap();
    kept.run("$x = 7").await.unwrap();

    // Twice the idle timeout, keeping one of the two alive.
    let until = Instant::now() + Duration::from_secs(6);
    let mut ticks = 0;
    while Instant::now() < until {
        tokio::time::sleep(kept.keep_alive_interval()).await;
        kept.keep_alive().await.unwrap();
        ticks += 1;
    }
    assert!(ticks >= 3, "{ticks}");
    assert_eq!(host_state_of(&info, &idle).await, "Disconnected");
    assert_eq!(host_state_of(&info, &kept).await, "Connected");
    let r = kept.run("$x").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["7"]);
    assert!(
        idle.run("$x").await.is_err(),
        "the host disconnected the session left alone"
    );
    kept.close().await.unwrap();
}

#[test]
fn enter_keeps_its_session_alive_while_the_prompt_waits() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--idle-timeout", "3"]) else {
        return;
    };
    let cli = Cli::for_host_with(&host, "ntlm");
    let mut child = cli
        .command(&["enter"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "$x = 'still-here'").unwrap();
    // The person thinks for twice the idle timeout.
    std::thread::sleep(Duration::from_secs(7));
    writeln!(stdin, "$x").unwrap();
    writeln!(stdin, "exit").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("still-here"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

const SCRIPT: &str = "'a'; Start-Sleep 3; 'b'; Start-Sleep 3; 'c'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receive_cut_midway_reconnects_and_delivers_everything_once() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let fwd = Arc::new(Forwarder::start(host_addr(&host)));
    let info = connection(&host, &fwd.url());
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let before = s.stats();
    let mut p = s.invoke(SCRIPT).await.unwrap();
    let mut out = Vec::new();
    let mut cuts = Vec::new();
    while let Some(e) = p.next().await.unwrap() {
        if let PipelineEvent::Output(v) = e {
            out.push(text(&v));
            if out.len() == 1 {
                // Cut the network while the Receive waits for 'b'.
                let f = fwd.clone();
                cuts.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1000)).await;
                    f.cut();
                }));
            }
        }
    }
    for c in cuts {
        c.await.unwrap();
    }
    assert_eq!(out, ["a", "b", "c"], "in order, none lost, none twice");
    let after = s.stats();
    assert!(
        after.auth_handshakes > before.auth_handshakes,
        "NTLM again on the new connection: {before:?} -> {after:?}"
    );
    assert!(fwd.accepted() >= 2, "{}", fwd.accepted());
    // The session goes on as if nothing happened.
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_window_leaves_the_session_on_the_host_for_another_client() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--idle-timeout", "3"]) else {
        return;
    };
    let fwd = Arc::new(Forwarder::start(host_addr(&host)));
    let info = connection(&host, &fwd.url());
    let opts = SessionOptions {
        name: Some("robust".into()),
        reconnect_window: Some(Duration::from_secs(2)),
        ..Default::default()
    };
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    let id = s.instance_id();
    let mut p = s.invoke(SCRIPT).await.unwrap();
    let pid = p.id();
    let mut first = Vec::new();
    let started = Instant::now();
    let err = loop {
        match p.next().await {
            Ok(Some(PipelineEvent::Output(v))) => {
                first.push(text(&v));
                let f = fwd.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1000)).await;
                    f.refuse(true);
                    f.cut();
                });
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("the pipeline ended through an outage: {first:?}"),
            Err(e) => break e,
        }
    };
    let gave_up_after = started.elapsed();
    assert_eq!(first, ["a"]);
    assert!(
        gave_up_after < Duration::from_secs(6),
        "bounded: {gave_up_after:?}"
    );
    let m = err.to_string();
    assert!(m.contains("left on the host"), "{m}");
    assert!(m.contains(&id.to_string()) && m.contains("robust"), "{m}");
    assert!(m.contains("wsman session receive"), "{m}");
    assert!(m.contains("receive_pipeline"), "{m}");
    assert_eq!(wsman_cli::exit_code(&err), 4, "a connection failure: {m}");
    drop(s);

    // Another client, straight to the host: the session turns Disconnected
    // after its idle timeout, and its output is all there.
    let direct = connection(&host, host.url());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let listed = PsSession::list(&direct).await.unwrap();
        let me = listed.iter().find(|r| r.instance_id == id).expect("kept");
        if me.state == "Disconnected" {
            assert!(me.pipelines.contains(&pid), "{me:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still {}", me.state);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut s2 = PsSession::connect(&direct, id, Box::new(NullHost))
        .await
        .unwrap();
    let r = s2
        .receive_pipeline(pid)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let rest: Vec<String> = r.output.iter().map(text).collect();
    assert_eq!(rest, ["b", "c"], "the rest, none lost, none twice");
    s2.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_whose_answer_is_lost_are_retransmitted_to_a_robust_host() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let info = connection(&host, &fwd.url());
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    assert!(s.stats().retransmissions == 0);

    // A Receive (the keep-alive) whose answer is lost: retransmitted with
    // its OperationID (MS-WSMV 3.1.4.1.39) on a new connection, which
    // authenticates again; the transport does not resend it blindly.
    let before = s.stats();
    fwd.lose_next_answer();
    s.keep_alive().await.unwrap();
    let after = s.stats();
    assert_eq!(
        after.retransmissions,
        before.retransmissions + 1,
        "{after:?}"
    );
    assert_eq!(after.resends, before.resends, "{after:?}");
    assert_eq!(after.auth_handshakes, before.auth_handshakes + 1);

    // A Command whose answer is lost: retransmitted, and the host, which
    // kept its answer, does not start it twice.
    let sid = s.instance_id();
    let before = s.stats();
    fwd.lose_next_answer();
    let mut p = s.invoke("'a'; Start-Sleep 1; 'b'").await.unwrap();
    let listed = PsSession::list(&connection(&host, host.url()))
        .await
        .unwrap();
    let me = listed.iter().find(|r| r.instance_id == sid).unwrap();
    assert_eq!(me.pipelines, [p.id()], "the host got the Command once");
    let mut out = Vec::new();
    while let Some(e) = p.next().await.unwrap() {
        if let PipelineEvent::Output(v) = e {
            out.push(text(&v));
        }
    }
    assert_eq!(out, ["a", "b"]);
    assert_eq!(
        s.stats().resends,
        before.resends,
        "no blind resend of a Command"
    );
    assert!(s.stats().retransmissions > before.retransmissions);

    // A Send (pipeline input) whose answer is lost: retransmitted; the
    // input arrives once.
    let ps = PowerShell::new(vec![PsCommand::script("$input")]);
    let mut p = s.invoke_powershell(ps, true).await.unwrap();
    fwd.lose_next_answer();
    p.send_input(psrp::clixml::Value::String("x".into()))
        .await
        .unwrap();
    p.close_input().await.unwrap();
    let r = p.collect().await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["x"], "once");
    assert!(
        TestHost::stat(&host.stats(), "robust_retransmissions") >= 3,
        "answered from the kept answers: {}",
        host.stats()
    );
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_robust_connections_lost_answers_are_never_resent_blindly() {
    // A host without robust connections (Windows 7 / 2008 R2).
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--no-robust"]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let info = connection(&host, &fwd.url());
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let sid = s.instance_id();

    // A Receive whose answer is lost: the output in it cannot be had
    // again, and the error says so instead of receiving on past the gap.
    let before = s.stats();
    fwd.lose_next_answer();
    let e = s.keep_alive().await.unwrap_err();
    let m = e.to_string();
    assert!(m.contains("lost output"), "{m}");
    assert!(m.contains(&sid.to_string()), "{m}");
    assert!(m.contains("wsman session receive"), "{m}");
    let after = s.stats();
    assert_eq!(after.resends, before.resends, "not resent: {after:?}");
    assert_eq!(after.retransmissions, 0);

    // A connection the host closed while idle: the Command provably never
    // went out on it, so it goes out on a new one.
    fwd.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = s.run("'once'").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["once"]);

    // A Command whose answer is lost: not sent again; the session finds
    // its CommandId among the shell's commands, so the pipeline goes on.
    // (The release of 'once', held by the session, goes first, so the
    // lost answer is the Command's.)
    s.release_pending().await.unwrap();
    let before = s.stats();
    fwd.lose_next_answer();
    let mut p = s.invoke("'a'; Start-Sleep 1; 'b'").await.unwrap();
    let listed = PsSession::list(&connection(&host, host.url()))
        .await
        .unwrap();
    let me = listed.iter().find(|r| r.instance_id == sid).unwrap();
    assert_eq!(me.pipelines, [p.id()], "the host got the Command once");
    let mut out = Vec::new();
    while let Some(e) = p.next().await.unwrap() {
        if let PipelineEvent::Output(v) = e {
            out.push(text(&v));
        }
    }
    assert_eq!(out, ["a", "b"]);
    assert_eq!(s.stats().resends, before.resends, "no resend of a Command");

    // A Send (pipeline input) whose answer is lost: not sent again, and
    // the error says the host may have acted on it.
    let ps = PowerShell::new(vec![PsCommand::script("$input")]);
    let before = s.stats();
    let mut p = s.invoke_powershell(ps, true).await.unwrap();
    fwd.lose_next_answer();
    let e = p
        .send_input(psrp::clixml::Value::String("x".into()))
        .await
        .unwrap_err();
    let m = e.to_string();
    assert!(m.contains("may or may not have acted on it"), "{m}");
    assert!(m.contains("not sent again"), "{m}");
    assert_eq!(s.stats().resends, before.resends, "no resend of a Send");
    assert_eq!(s.stats().retransmissions, 0);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_host_disconnected_during_an_outage_is_reconnected_within_the_window() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--idle-timeout", "3"]) else {
        return;
    };
    let fwd = Arc::new(Forwarder::start(host_addr(&host)));
    let info = connection(&host, &fwd.url());
    let opts = SessionOptions {
        reconnect_window: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    let id = s.instance_id();
    let direct = connection(&host, host.url());
    let mut p = s.invoke(SCRIPT).await.unwrap();
    let mut out = Vec::new();
    let mut outage = None;
    while let Some(e) = p.next().await.unwrap() {
        if let PipelineEvent::Output(v) = e {
            out.push(text(&v));
            if outage.is_none() {
                // The network goes away until the host has disconnected
                // the session (its idle timeout passed), then comes back.
                let (f, d) = (fwd.clone(), direct.clone());
                outage = Some(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1000)).await;
                    f.refuse(true);
                    f.cut();
                    let deadline = Instant::now() + Duration::from_secs(15);
                    loop {
                        let listed = PsSession::list(&d).await.unwrap();
                        let me = listed.iter().find(|r| r.instance_id == id).unwrap();
                        if me.state == "Disconnected" {
                            break;
                        }
                        assert!(Instant::now() < deadline, "still {}", me.state);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    f.refuse(false);
                }));
            }
        }
    }
    outage.unwrap().await.unwrap();
    assert_eq!(out, ["a", "b", "c"], "in order, none lost, none twice");
    assert_eq!(host_state_of(&direct, &s).await, "Connected");
    let r = s.run("'back'").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["back"]);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pipelines_get_a_lost_answer_again_on_their_own_connections() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let info = connection(&host, &fwd.url());
    let opts = SessionOptions {
        max_runspaces: Some(2),
        ..Default::default()
    };
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();
    let mut group = s
        .invoke_many(&["1..3000", "'x'; Start-Sleep 1; 3001..6000"])
        .await
        .unwrap();
    let ids = group.ids();
    let mut outs = [Vec::new(), Vec::new()];
    let mut armed = false;
    while let Some((id, e)) = group.next().await.unwrap() {
        let k = ids.iter().position(|i| *i == id).unwrap();
        match e {
            PipelineEvent::Output(v) => {
                outs[k].push(text(&v));
                if !armed {
                    // The pipelines receive on their own connections by
                    // now: the next request loses its answer.
                    fwd.lose_next_answer();
                    armed = true;
                }
            }
            PipelineEvent::Finished { state, error } => {
                assert_eq!(error.map(|e| e.message().to_string()), None);
                assert_eq!(state, psrp::types::PSInvocationState::Completed);
            }
            _ => {}
        }
    }
    let first: Vec<String> = (1..=3000).map(|i| i.to_string()).collect();
    let mut second = vec!["x".to_string()];
    second.extend((3001..=6000).map(|i| i.to_string()));
    assert!(outs[0] == first, "pipeline 1: {} objects", outs[0].len());
    assert!(outs[1] == second, "pipeline 2: {} objects", outs[1].len());
    assert!(
        TestHost::stat(&host.stats(), "robust_retransmissions") >= 1,
        "the lost answer was sent again from the host's kept answers: {}",
        host.stats()
    );
    drop(group);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_release_whose_answer_is_lost_is_asked_again_and_frees_the_command() {
    // No robust connections: the lost answer cannot be retransmitted, so
    // the session sends the Signal again; the host, which carried out the
    // first, refuses the second (unknown CommandId), and the release is
    // done. MaxConcurrentCommandsPerShell 1: the next pipeline runs only
    // if the first was released.
    let Some(host) = TestHost::start(&[
        "--auth",
        "ntlm",
        "--no-robust",
        "--max-commands-per-shell",
        "1",
    ]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let info = connection(&host, &fwd.url());
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let r = s.run("'one'").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["one"]);
    assert_eq!(s.pending_releases().len(), 1);
    fwd.lose_next_answer();
    s.release_pending().await.unwrap();
    assert!(s.pending_releases().is_empty());
    let r = s.run("'two'").await.unwrap();
    assert_eq!(r.output.iter().map(text).collect::<Vec<_>>(), ["two"]);
    s.close().await.unwrap();
}
