//! Several pipelines at once in one PSSession (`PsSession::invoke_many`)
//! against the independent test host (psrpcore server), which runs at most
//! MaxRunspaces pipelines of a pool at once, each in its own thread.
use std::sync::Arc;

use integration_tests::{connection, connection_at, TestHost};
use psrp::types::PSInvocationState;
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use uuid::Uuid;
use wsman::auth::Mechanism;

async fn open(host: &TestHost, max_runspaces: i32) -> PsSession {
    let opts = SessionOptions {
        max_runspaces: Some(max_runspaces),
        ..Default::default()
    };
    let s = PsSession::open(&connection(host, Mechanism::Ntlm), opts, Box::new(NullHost))
        .await
        .unwrap();
    assert_eq!(s.max_runspaces(), max_runspaces);
    s
}

fn as_text(v: &psrp::clixml::Value) -> String {
    pssession::format::to_text(v)
}

/// What arrived, in arrival order: (script index, output text), with
/// `"<end>"` for a pipeline's Finished; and the final state per script.
async fn run_tagged(
    s: &mut PsSession,
    scripts: &[&str],
) -> (Vec<(usize, String)>, Vec<Option<PSInvocationState>>) {
    let mut group = s.invoke_many(scripts).await.unwrap();
    let ids: Vec<Uuid> = group.ids();
    assert_eq!(ids.len(), scripts.len());
    let mut seen = Vec::new();
    let mut states = vec![None; scripts.len()];
    while let Some((id, e)) = group.next().await.unwrap() {
        let i = ids.iter().position(|p| *p == id).expect("one of ours");
        assert!(states[i].is_none(), "event after Finished for script {i}");
        match e {
            PipelineEvent::Output(v) => seen.push((i, as_text(&v))),
            PipelineEvent::Finished { state, .. } => {
                states[i] = Some(state);
                seen.push((i, "<end>".to_string()));
            }
            _ => {}
        }
    }
    (seen, states)
}

fn position(seen: &[(usize, String)], i: usize, text: &str) -> usize {
    seen.iter()
        .position(|(j, t)| *j == i && t == text)
        .unwrap_or_else(|| panic!("{text} of script {i} never arrived: {seen:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pipelines_run_at_once_and_each_keeps_its_order() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let mut s = open(&host, 3).await;
    let scripts = [
        "'a1'; Start-Sleep 2; 'a2'",
        "'b1'; Start-Sleep 1; 'b2'",
        "'c1'",
    ];
    let (seen, states) = run_tagged(&mut s, &scripts).await;

    // Every output exactly once, in its pipeline's order, Finished last.
    let of = |i: usize| -> Vec<&str> {
        seen.iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, t)| t.as_str())
            .collect()
    };
    assert_eq!(of(0), ["a1", "a2", "<end>"], "{seen:?}");
    assert_eq!(of(1), ["b1", "b2", "<end>"], "{seen:?}");
    assert_eq!(of(2), ["c1", "<end>"], "{seen:?}");
    assert!(states
        .iter()
        .all(|s| *s == Some(PSInvocationState::Completed)));

    // Run one after the other, a2 would come before b1 and c1. Here the
    // others' output arrives while A sleeps, and C ends before A does.
    let a2 = position(&seen, 0, "a2");
    assert!(position(&seen, 1, "b1") < a2, "{seen:?}");
    assert!(position(&seen, 2, "c1") < a2, "{seen:?}");
    assert!(
        position(&seen, 2, "<end>") < position(&seen, 0, "<end>"),
        "{seen:?}"
    );

    // The session goes on as before: one pipeline at a time.
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_set_before_is_seen_by_every_pipeline() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let mut s = open(&host, 3).await;
    s.run("$x = 5").await.unwrap();
    let results = s
        .run_many(&["$x", "'two'; $x", "Start-Sleep 1; $x"])
        .await
        .unwrap();
    let outputs: Vec<Vec<String>> = results
        .iter()
        .map(|(_, r)| r.output.iter().map(as_text).collect())
        .collect();
    assert_eq!(outputs, [vec!["5"], vec!["two", "5"], vec!["5"]]);
    for (_, r) in &results {
        assert_eq!(r.state, Some(PSInvocationState::Completed));
        assert!(!r.had_errors());
    }
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_pipeline_does_not_stop_the_others() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let mut s = open(&host, 3).await;
    let results = s
        .invoke_many(&["'before'; Start-Sleep 1; 'ok1'", "throw 'boom'", "'ok3'"])
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = |i: usize| -> Vec<String> { results[i].1.output.iter().map(as_text).collect() };
    assert_eq!(text(0), ["before", "ok1"]);
    assert_eq!(results[0].1.state, Some(PSInvocationState::Completed));
    assert_eq!(text(2), ["ok3"]);
    assert_eq!(results[2].1.state, Some(PSInvocationState::Completed));

    let failed = &results[1].1;
    assert_eq!(failed.state, Some(PSInvocationState::Failed));
    let error = failed.error.as_ref().expect("the terminating error");
    assert!(
        error
            .to_string
            .as_deref()
            .unwrap_or_default()
            .contains("boom")
            || as_text(&error.exception).contains("boom"),
        "{error:?}"
    );
    assert!(failed.had_errors());
    s.close().await.unwrap();
}

/// Totals from the host's stats endpoint: (requests, connections).
fn stats(host: &TestHost) -> (u64, u64) {
    let v = host.stats();
    (
        TestHost::stat(&v, "requests"),
        TestHost::stat(&v, "connections"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_running_pipeline_receives_on_a_connection_of_its_own() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let mut s = open(&host, 3).await;
    let mut last = stats(&host);
    let mut new_connections = || {
        let now = stats(&host);
        // Each stats query is a connection of its own: not counted.
        let d = now.1 - last.1 - 1;
        last = now;
        d
    };

    // One pipeline at a time uses the session's connection only.
    s.run("'one'").await.unwrap();
    assert_eq!(new_connections(), 0);

    // Three at once: each running pipeline keeps a Receive outstanding on
    // a connection of its own (an HTTP/1.1 connection carries one request
    // at a time, and a Receive waits up to the OperationTimeout), while
    // the session's connection stays free for the Commands, the Sends
    // answering host calls and the Signals releasing finished pipelines.
    // So: one extra authenticated connection per concurrent pipeline.
    let results = s
        .invoke_many(&["'a'; Start-Sleep 1; 'a'", "'b'", "'c'"])
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(results.iter().all(|(_, r)| !r.had_errors()));
    let three = new_connections();
    println!("3 pipelines at once, MaxRunspaces 3: {three} new connections");
    assert_eq!(three, 3);

    // Five scripts with MaxRunspaces 3: two wait here until a runspace is
    // free, and reuse the Receive connection of a pipeline that ended, so
    // no more connections than pipelines running at once.
    let scripts = ["Start-Sleep 1; 'x'"; 5];
    let results = s
        .invoke_many(&scripts)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    for (_, r) in &results {
        assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["x"]);
        assert_eq!(r.state, Some(PSInvocationState::Completed));
    }
    let five = new_connections();
    println!("5 pipelines, MaxRunspaces 3: {five} new connections");
    assert_eq!(five, 3);

    // And the session's own connection still serves it.
    s.run("'still here'").await.unwrap();
    assert_eq!(new_connections(), 0);
    s.close().await.unwrap();
}

/// A TCP forwarder to the host that cuts, before forwarding, any
/// connection carrying a Receive for one poisoned CommandId (the bodies are
/// in clear: Basic over HTTP), including the connections that already did.
struct Forwarder {
    addr: std::net::SocketAddr,
    shared: std::sync::Arc<Shared>,
    accept: tokio::task::AbortHandle,
}

#[derive(Default)]
struct Shared {
    /// `DesiredStream CommandId="…"` of the pipeline whose Receives fail.
    poison: std::sync::Mutex<Option<String>>,
    /// Each live connection: what the client sent on it, and its task.
    live: std::sync::Mutex<Vec<(Arc<std::sync::Mutex<String>>, tokio::task::AbortHandle)>>,
}

impl Forwarder {
    async fn start(upstream: std::net::SocketAddr) -> Forwarder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let seen = Arc::new(std::sync::Mutex::new(String::new()));
                let (shared, mine) = (s.clone(), seen.clone());
                // Listed before its pump can check the poison (which takes
                // this lock), so that `poison` sees every connection.
                let _poison = s.poison.lock().unwrap();
                let task = tokio::spawn(async move {
                    if let Ok(up) = tokio::net::TcpStream::connect(upstream).await {
                        pump(down, up, &shared, &mine).await;
                    }
                });
                s.live.lock().unwrap().push((seen, task.abort_handle()));
            }
        })
        .abort_handle();
        Forwarder {
            addr,
            shared,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/wsman", self.addr)
    }

    /// From now on every Receive for `command_id` fails: the connections
    /// that carried one are cut, and so is any that carries one later.
    fn poison(&self, command_id: &str) {
        let pattern = format!("DesiredStream CommandId=\"{command_id}\"");
        // Held while the connections are looked at: a request is either
        // seen here or checked against the poison by its pump.
        let mut poison = self.shared.poison.lock().unwrap();
        for (seen, task) in self.shared.live.lock().unwrap().iter() {
            if seen.lock().unwrap().contains(&pattern) {
                task.abort();
            }
        }
        *poison = Some(pattern);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.accept.abort();
        for (_, task) in self.shared.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Copies both ways until either side closes or the client sends a
/// poisoned Receive.
async fn pump(
    down: tokio::net::TcpStream,
    up: tokio::net::TcpStream,
    shared: &Shared,
    seen: &std::sync::Mutex<String>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let requests = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = down_r.read(&mut buf).await {
            let poisoned = {
                let poison = shared.poison.lock().unwrap();
                let mut seen = seen.lock().unwrap();
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                poison.as_ref().is_some_and(|p| seen.contains(p.as_str()))
            };
            if poisoned || up_w.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let answers = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = up_r.read(&mut buf).await {
            if down_w.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receive_connection_that_fails_fails_its_pipeline_only() {
    let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let upstream = {
        let rest = host.url().trim_start_matches("http://");
        let hostport = rest.split('/').next().unwrap();
        tokio::net::lookup_host(hostport)
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let forwarder = Forwarder::start(upstream).await;
    let info = connection_at(&host, &forwarder.url(), Mechanism::Basic);
    let opts = SessionOptions {
        max_runspaces: Some(3),
        ..Default::default()
    };
    let mut s = PsSession::open(&info, opts, Box::new(NullHost))
        .await
        .unwrap();

    let mut group = s
        .invoke_many(&[
            "'a1'; Start-Sleep 3; 'a2'",
            "'b1'; Start-Sleep 1; 'b2'",
            "'c1'",
        ])
        .await
        .unwrap();
    let ids = group.ids();
    // A's Receives fail from now on (its outstanding one and the one the
    // transport sends again on a new connection): A ends as Failed here.
    forwarder.poison(&ids[0].hyphenated().to_string().to_uppercase());
    let mut outputs = vec![Vec::new(); 3];
    let mut ends = vec![None; 3];
    while let Some((id, e)) = group.next().await.unwrap() {
        let i = ids.iter().position(|p| *p == id).unwrap();
        match e {
            PipelineEvent::Output(v) => outputs[i].push(as_text(&v)),
            PipelineEvent::Finished { state, error } => ends[i] = Some((state, error)),
            _ => {}
        }
    }
    drop(group);

    let (state, error) = ends[0].clone().expect("A ended");
    assert_eq!(state, PSInvocationState::Failed, "{outputs:?}");
    let error = error.expect("why A failed");
    println!("A: {}", error.to_string.as_deref().unwrap_or_default());
    assert_eq!(error.fully_qualified_error_id, "ReceiveConnectionFailed");
    assert!(
        error
            .to_string
            .as_deref()
            .is_some_and(|m| m.contains("connection")),
        "{error:?}"
    );
    assert!(!outputs[0].contains(&"a2".to_string()), "{outputs:?}");

    // The others were not disturbed.
    assert_eq!(outputs[1], ["b1", "b2"]);
    assert_eq!(outputs[2], ["c1"]);
    for end in &ends[1..] {
        assert_eq!(
            end.as_ref().map(|(s, _)| *s),
            Some(PSInvocationState::Completed)
        );
    }

    // Nor was the session, whose connection carried no poisoned Receive.
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_the_host_refuses_fails_that_pipeline_only() {
    // The host allows 3 operations per user: the shell and two commands.
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--max-concurrent-operations", "3"])
    else {
        return;
    };
    let mut s = open(&host, 3).await;
    let results = s
        .invoke_many(&[
            "'a1'; Start-Sleep 2; 'a2'",
            "'b1'; Start-Sleep 2; 'b2'",
            "'c1'",
        ])
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = |i: usize| -> Vec<String> { results[i].1.output.iter().map(as_text).collect() };
    assert_eq!(text(0), ["a1", "a2"]);
    assert_eq!(text(1), ["b1", "b2"]);
    assert_eq!(results[0].1.state, Some(PSInvocationState::Completed));
    assert_eq!(results[1].1.state, Some(PSInvocationState::Completed));

    let refused = &results[2].1;
    assert!(refused.output.is_empty());
    assert_eq!(refused.state, Some(PSInvocationState::Failed));
    let error = refused.error.as_ref().expect("why C failed");
    assert_eq!(error.fully_qualified_error_id, "CommandRefused");
    let message = error.to_string.as_deref().unwrap_or_default();
    assert!(message.contains("concurrent operations"), "{message}");

    // With A and B done, the quota has room again.
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}

/// An interactive host whose user types `typed` at every Read-Host.
struct Typist;

impl pssession::host::Host for Typist {
    fn is_interactive(&self) -> bool {
        true
    }
    fn read_line(&mut self, _prompt_hint: Option<&str>) -> Option<String> {
        Some("typed".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_calls_are_answered_while_another_pipeline_waits() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let opts = SessionOptions {
        max_runspaces: Some(3),
        ..Default::default()
    };
    let mut s = PsSession::open(&connection(&host, Mechanism::Ntlm), opts, Box::new(Typist))
        .await
        .unwrap();
    let scripts = [
        "'a1'; Start-Sleep 2; 'a2'",
        "$n = Read-Host 'name'; \"hi $n\"",
        "Read-Host 'again'",
    ];
    let (seen, states) = run_tagged(&mut s, &scripts).await;
    assert!(states
        .iter()
        .all(|s| *s == Some(PSInvocationState::Completed)));
    // The Read-Host answers go out on the session's connection while A's
    // Receive waits on its own: B and C end before A does.
    let a2 = position(&seen, 0, "a2");
    assert!(position(&seen, 1, "hi typed") < a2, "{seen:?}");
    assert!(position(&seen, 2, "typed") < a2, "{seen:?}");
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pipeline_is_stopped_and_a_queued_one_never_starts() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    // MaxRunspaces 2: C waits here until A or B is done.
    let mut s = open(&host, 2).await;
    let mut group = s
        .invoke_many(&[
            "'a1'; Start-Sleep 30; 'a2'",
            "'b1'; Start-Sleep 1; 'b2'",
            "'c1'",
        ])
        .await
        .unwrap();
    let ids = group.ids();
    group.stop(ids[2]).await.unwrap();
    let mut outputs = vec![Vec::new(); 3];
    let mut states = [None; 3];
    while let Some((id, e)) = group.next().await.unwrap() {
        let i = ids.iter().position(|p| *p == id).unwrap();
        match e {
            PipelineEvent::Output(v) => {
                let t = as_text(&v);
                if t == "a1" {
                    group.stop(id).await.unwrap();
                }
                outputs[i].push(t);
            }
            PipelineEvent::Finished { state, .. } => states[i] = Some(state),
            _ => {}
        }
    }
    drop(group);
    assert_eq!(outputs[0], ["a1"], "A stopped before a2");
    assert_eq!(states[0], Some(PSInvocationState::Stopped));
    assert_eq!(outputs[1], ["b1", "b2"]);
    assert_eq!(states[1], Some(PSInvocationState::Completed));
    assert!(outputs[2].is_empty(), "C never ran: {:?}", outputs[2]);
    assert_eq!(states[2], Some(PSInvocationState::Stopped));
    let r = s.run("'after'").await.unwrap();
    assert_eq!(r.output.iter().map(as_text).collect::<Vec<_>>(), ["after"]);
    s.close().await.unwrap();
}
