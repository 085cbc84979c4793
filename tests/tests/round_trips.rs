//! Round trips, counted at the test host: each PSSession operation costs
//! no more HTTP requests than the protocol needs, and one connection with
//! one authentication serves a whole session. Prints the counts (they go
//! in the project's notes beside pypsrp's, from tests/bench/round_trips_pypsrp.py).
use integration_tests::TestHost;
use pssession::host::NullHost;
use pssession::session::{PsSession, SessionOptions};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, TransportConfig};

/// Totals from the host's stats endpoint.
fn stats(host: &TestHost) -> (u64, u64, u64) {
    let v = host.stats();
    let n = |k: &str| TestHost::stat(&v, k);
    (n("requests"), n("connections"), n("auth_handshakes"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_takes_the_round_trips_the_protocol_needs() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let endpoint = Endpoint::parse(host.url(), false).unwrap();
    let creds = Credentials::parse(
        host.get("user").unwrap(),
        Secret::password(host.get("password").unwrap()),
    );
    let info = pssession::ConnectionInfo::new(TransportConfig::new(
        endpoint,
        AuthOptions::new(Mechanism::Ntlm, creds),
    ));
    let mut last = stats(&host);
    let mut step = |name: &str| {
        let now = stats(&host);
        // Each stats query is a connection of its own: not counted.
        let d = (now.0 - last.0, now.1 - last.1 - 1, now.2 - last.2);
        println!(
            "{name:<28} requests {:>2}  connections {}  handshakes {}",
            d.0, d.1, d.2
        );
        last = now;
        d
    };

    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let (open, conns, auths) = step("New (open)");
    // Windows sends the pool's state in a Receive of its own, never with SESSION_CAPABILITY and
    // APPLICATION_PRIVATE_DATA (all 34 pypsrp recordings; the test host does the same since
    // issue 16), so opening costs Create and two Receives, as for pypsrp.
    assert_eq!(open, 3, "open = Create + Receive + Receive");
    assert_eq!((conns, auths), (1, 1), "one connection, one authentication");

    s.run("$x = 1").await.unwrap();
    let (invoke, conns, _) = step("Invoke one line");
    // Command + Receive: the Signal that releases the finished pipeline
    // on the host waits for the session's next Command.
    assert_eq!(invoke, 2, "invoke = Command + Receive");
    assert_eq!(conns, 0, "the session's connection is reused");
    assert_eq!(s.pending_releases().len(), 1);

    let pid = s.start("'a'; Start-Sleep 1; 'b'").await.unwrap();
    let (start, _, _) = step("Invoke, disconnected");
    // The previous pipeline's Signal terminate, then the Command.
    assert_eq!(start, 2, "Signal (release) + Command");
    assert!(s.pending_releases().is_empty());
    s.disconnect(None, None).await.unwrap();
    let (disconnect, _, _) = step("Disconnect");
    assert_eq!(disconnect, 1);

    let mut s2 = PsSession::connect(&info, s.instance_id(), Box::new(NullHost))
        .await
        .unwrap();
    let (connect, conns, auths) = step("Connect (new client)");
    // Connect carries the pool's state in its answer; the Receive after it
    // is the one MS-PSRP 3.1.4.10.3 asks for (and Windows' recording shows).
    assert_eq!(connect, 2, "Connect + Receive");
    assert_eq!((conns, auths), (1, 1));

    let p = s2.receive_pipeline(pid).await.unwrap();
    let r = p.collect().await.unwrap();
    assert_eq!(r.output.len(), 2);
    step("Receive (connect + receive)");

    s2.close().await.unwrap();
    let (remove, _, _) = step("Remove");
    assert_eq!(remove, 1, "Remove = Delete");
}

/// A pipeline run in a session that is then removed: Command + Receive,
/// then Delete alone (it frees every command of the shell: no Signal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_then_remove_sends_no_release() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = connection(&host);
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let before = stats(&host);
    let r = s.run("'done'").await.unwrap();
    assert_eq!(r.output.len(), 1);
    let after_run = stats(&host);
    assert_eq!(after_run.0 - before.0, 2, "invoke = Command + Receive");
    s.close().await.unwrap();
    let after_close = stats(&host);
    assert_eq!(after_close.0 - after_run.0, 1, "Remove = Delete, no Signal");
}

/// The release a session holds back still frees each finished pipeline
/// before the next Command: with MaxConcurrentCommandsPerShell at 1 on the
/// host, many pipelines in a row (one at a time and queued in a group)
/// all run, and none is left on the host once the releases are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_pipelines_stay_within_max_commands_per_shell() {
    let Some(host) = TestHost::start(&["--auth", "ntlm", "--max-commands-per-shell", "1"]) else {
        return;
    };
    let info = connection(&host);
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    for i in 0..6 {
        let r = s.run(&format!("{i} + 1")).await.unwrap();
        assert_eq!(r.output.len(), 1, "pipeline {i}: {r:?}");
        assert!(!r.had_errors(), "pipeline {i}: {r:?}");
    }
    // The last one is finished but not released yet.
    assert_eq!(s.pending_releases().len(), 1);
    let results = s.run_many(&["'a'", "'b'", "'c'"]).await.unwrap();
    assert_eq!(results.len(), 3);
    for (id, r) in &results {
        assert_eq!(r.output.len(), 1, "{id}: {r:?}");
    }
    assert_eq!(s.pending_releases().len(), 1);
    s.release_pending().await.unwrap();
    assert!(s.pending_releases().is_empty());
    // The host does enforce the quota: a pipeline still running takes the
    // shell's one command, and the next Command is refused.
    s.start("Start-Sleep 30").await.unwrap();
    let refused = s.run("1").await.unwrap_err().to_string();
    assert!(
        refused.contains("maximum number of concurrent commands per shell"),
        "{refused}"
    );
    s.close().await.unwrap();
}

fn connection(host: &TestHost) -> pssession::ConnectionInfo {
    let endpoint = Endpoint::parse(host.url(), false).unwrap();
    let creds = Credentials::parse(
        host.get("user").unwrap(),
        Secret::password(host.get("password").unwrap()),
    );
    pssession::ConnectionInfo::new(TransportConfig::new(
        endpoint,
        AuthOptions::new(Mechanism::Ntlm, creds),
    ))
}
