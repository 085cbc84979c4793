//! Output volume through the PSSession API against the independent test
//! host (psrpcore server, NTLM sealed): a pipeline that writes 200,000
//! integers delivers every one, in order, consumed one event at a time, and
//! the client holds none of them while doing so (memory stays flat); and
//! sessions that have received a long output do not keep the memory it
//! took, so many sessions in one process stay cheap.
//!
//! Wall time and memory beside pypsrp for up to 1,000,000 outputs are
//! measured by `tests/bench/volume.sh`, not here.
use integration_tests::{connection, TestHost};
use psrp::types::PSInvocationState;
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use wsman::auth::Mechanism;

/// How many integers the host writes (`1..N`).
const N: i64 = 200_000;

/// After this many outputs the client's memory is taken as the baseline.
const WARM_UP: i64 = 20_000;

/// How much the process may grow while the remaining 180,000 outputs
/// stream through. Streaming, it grows by 0.7 to 1.9 MB (allocator noise);
/// holding those outputs as `Value`s in a Vec grows it by about 6 MB, and
/// holding their raw messages by more.
const MAX_GROWTH_KB: u64 = 4 * 1024;

/// The process's resident set (kB) from `/proc/self/status`; `None` where
/// there is no procfs.
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The tests measure the process's memory: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_integer_of_a_long_output_arrives_in_order_in_flat_memory() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = connection(&host, Mechanism::Ntlm);
    let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
        .await
        .unwrap();
    let mut p = s.invoke(&format!("1..{N}")).await.unwrap();
    let mut expected = 1i64;
    let mut baseline = None;
    let mut peak = 0u64;
    let mut finished = None;
    while let Some(e) = p.next().await.unwrap() {
        match e {
            PipelineEvent::Output(v) => {
                let got = v.as_i64();
                assert_eq!(
                    got,
                    Some(expected),
                    "output {expected} out of order or lost"
                );
                if expected == WARM_UP {
                    baseline = rss_kb();
                }
                if expected % 10_000 == 0 {
                    peak = peak.max(rss_kb().unwrap_or(0));
                }
                expected += 1;
            }
            PipelineEvent::Finished { state, .. } => finished = Some(state),
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(expected - 1, N, "count of outputs");
    assert_eq!(finished, Some(PSInvocationState::Completed));
    if let Some(base) = baseline {
        let growth = peak.saturating_sub(base);
        eprintln!("RSS after {WARM_UP} outputs: {base} kB; peak to {N}: {peak} kB (+{growth} kB)");
        assert!(
            growth <= MAX_GROWTH_KB,
            "the client grew by {growth} kB while {} outputs streamed through",
            N - WARM_UP
        );
    }
    // The session is still usable after the long pipeline.
    let r = s.run("$x = 1; $x").await.unwrap();
    assert_eq!(r.output.len(), 1);
    s.close().await.unwrap();
}

/// Sessions in [`sessions_do_not_keep_the_memory_of_a_long_output`].
const SESSIONS: usize = 16;

/// Outputs each of them receives: more than one Receive carries (a
/// 512,000-byte envelope holds about 4,900 of these integers).
const EACH: i64 = 6_000;

/// How much the process may grow from the sessions' long outputs: about
/// 3 MB here (allocator and connection buffers; 4.5 to 5.7 MB when hyper's
/// read buffer was left to grow to ~400 kB per connection). A RunspacePool
/// that kept the room of its largest burst of events added about 1.7 MB
/// per session.
const MAX_KEPT_KB: u64 = 8 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_do_not_keep_the_memory_of_a_long_output() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = connection(&host, Mechanism::Ntlm);
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let mut s = PsSession::open(&info, SessionOptions::default(), Box::new(NullHost))
            .await
            .unwrap();
        assert_eq!(s.run("1..3").await.unwrap().output.len(), 3);
        sessions.push(s);
    }
    let before = rss_kb();
    for s in &mut sessions {
        let mut p = s.invoke(&format!("1..{EACH}")).await.unwrap();
        let mut last = 0;
        while let Some(e) = p.next().await.unwrap() {
            if let PipelineEvent::Output(v) = e {
                last = v.as_i64().unwrap();
            }
        }
        assert_eq!(last, EACH);
    }
    let after = rss_kb();
    if let (Some(before), Some(after)) = (before, after) {
        let kept = after.saturating_sub(before);
        eprintln!(
            "{SESSIONS} sessions, {EACH} outputs each: RSS {before} kB -> {after} kB (+{kept} kB)"
        );
        assert!(
            kept <= MAX_KEPT_KB,
            "{SESSIONS} open sessions kept {kept} kB after their long outputs"
        );
    }
    for s in sessions {
        s.close().await.unwrap();
    }
}
