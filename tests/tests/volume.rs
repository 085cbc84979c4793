//! Output volume through the PSSession API against the independent test
//! host (psrpcore server, NTLM sealed): a pipeline that writes 200,000
//! integers delivers every one, in order, consumed one event at a time, and
//! the client holds none of them while doing so (memory stays flat).
//!
//! Wall time and memory beside pypsrp for up to 1,000,000 outputs are
//! measured by `tests/bench/volume.sh`, not here.
use client::host::NullHost;
use client::session::{PipelineEvent, PsSession, SessionOptions};
use integration_tests::TestHost;
use psrp::types::PSInvocationState;
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::transport::{Endpoint, TransportConfig};

/// How many integers the host writes (`1..N`).
const N: i64 = 200_000;

/// After this many outputs the client's memory is taken as the baseline.
const WARM_UP: i64 = 20_000;

/// How much the process may grow while the remaining 180,000 outputs
/// stream through. Streaming, it grows by 0.7 to 1.9 MB (allocator noise);
/// holding those outputs as `Value`s in a Vec grows it by about 6 MB, and
/// holding their raw messages by more.
const MAX_GROWTH_KB: u64 = 4 * 1024;

fn connection(host: &TestHost) -> client::ConnectionInfo {
    let endpoint = Endpoint::parse(host.url(), false).unwrap();
    let creds = Credentials::parse(
        host.get("user").unwrap(),
        Secret::password(host.get("password").unwrap()),
    );
    client::ConnectionInfo::new(TransportConfig::new(
        endpoint,
        AuthOptions::new(Mechanism::Ntlm, creds),
    ))
}

/// The process's resident set (kB) from `/proc/self/status`; `None` where
/// there is no procfs.
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_integer_of_a_long_output_arrives_in_order_in_flat_memory() {
    let Some(host) = TestHost::start(&["--auth", "ntlm"]) else {
        return;
    };
    let info = connection(&host);
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
    drop(p);
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
