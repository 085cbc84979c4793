//! Thousands of PSSessions from one process: opens K sessions at once from
//! one tokio runtime (two worker threads) against the independent test host
//! (NTLM, sealed over HTTP), runs `$x = 1; $x` in each, closes them, and
//! reports per phase the wall time, the process's resident memory (and so
//! the memory per open session) and its thread count from
//! `/proc/self/status`, which shows there is no thread per session.
//!
//! A measurement, not a test. Usage (release, as a user would run it):
//!
//! ```sh
//! cargo run --release -p integration-tests --example many_sessions -- 100 500 1000
//! cargo run --release -p integration-tests --example many_sessions -- --open-at-once 64 1000
//! cargo run --release -p integration-tests --example many_sessions -- --outputs 20000 50
//! ```
//!
//! `--outputs M` also runs `1..M` in each session (consumed one event at a
//! time) before closing: what a session keeps after a long output shows in
//! the memory after the run.
//!
//! Each K is a round on the same host (`--max-shells-per-user` set to the
//! largest K); the test host's own CPU time per round is printed too, as the
//! Python host, not the client, is what limits the rate. `--open-at-once N`
//! lets at most N opens (connect, NTLM handshake, Create, Receive) be in
//! flight, the rest waiting their turn; the sessions opened stay open
//! together all the same. The test host listens with a backlog of 64
//! connections (`request_queue_size`): a thousand connects at once overflow
//! it and the kernel drops the SYNs, which the client's TCP resends after
//! 1, 3, 7, 15, 31 s, so without a cap some opens of a 1000 round time out
//! at the host's door.
use std::time::{Duration, Instant};

use integration_tests::TestHost;
use pssession::host::NullHost;
use pssession::session::{PipelineEvent, PsSession, SessionOptions};
use tokio::task::JoinSet;
use wsman::auth::Mechanism;

fn connection(host: &TestHost) -> pssession::ConnectionInfo {
    let mut info = integration_tests::connection(host, Mechanism::Ntlm);
    // A thousand Receives queue at a single-process Python host: give them
    // time rather than fail a round on the default OperationTimeout.
    info.options.operation_timeout = Duration::from_secs(30);
    info
}

/// A `/proc/<pid>/status` field in its unit (kB for memory); 0 without procfs.
fn status_field(pid: &str, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

struct Sample {
    rss_kb: u64,
    threads: u64,
}

fn sample() -> Sample {
    Sample {
        rss_kb: status_field("self", "VmRSS:"),
        threads: status_field("self", "Threads:"),
    }
}

/// Reports the errors of a phase (the first few) and returns how many.
fn report_errors(phase: &str, errors: &[String]) -> usize {
    for e in errors.iter().take(3) {
        eprintln!("  {phase} failed: {e}");
    }
    errors.len()
}

/// Runs `$x = 1; $x`, then, with `outputs` > 0, `1..outputs` consumed one
/// event at a time.
async fn work(s: &mut PsSession, outputs: u32) -> Result<(), String> {
    let r = s.run("$x = 1; $x").await.map_err(|e| e.to_string())?;
    if r.output.len() != 1 || r.output[0].as_i64() != Some(1) {
        return Err(format!("unexpected output {:?}", r.output));
    }
    if outputs == 0 {
        return Ok(());
    }
    let mut p = s
        .invoke(&format!("1..{outputs}"))
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0u32;
    while let Some(e) = p.next().await.map_err(|e| e.to_string())? {
        if let PipelineEvent::Output(v) = e {
            n += 1;
            if v.as_i64() != Some(i64::from(n)) {
                return Err(format!("output {n} was {v:?}"));
            }
        }
    }
    if n != outputs {
        return Err(format!("{n} outputs of {outputs}"));
    }
    Ok(())
}

async fn round(
    info: &pssession::ConnectionInfo,
    k: usize,
    open_at_once: usize,
    outputs: u32,
    host_pid: &str,
) {
    let before = sample();
    let host_cpu0 = cpu_seconds(host_pid);
    let own_cpu0 = cpu_seconds("self");

    // Open K sessions at once.
    let t = Instant::now();
    let mut tasks = JoinSet::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(open_at_once));
    for _ in 0..k {
        let info = info.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _turn = limit.acquire_owned().await;
            PsSession::open(&info, SessionOptions::default(), Box::new(NullHost)).await
        });
    }
    let mut sessions = Vec::with_capacity(k);
    let mut errors = Vec::new();
    let mut peak_threads = 0;
    while let Some(r) = tasks.join_next().await {
        peak_threads = peak_threads.max(status_field("self", "Threads:"));
        match r.expect("open task") {
            Ok(s) => sessions.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let open_time = t.elapsed();
    let open = sample();
    let opened = sessions.len();
    let open_errors = report_errors("open", &errors);

    // Run a pipeline in each, all at once.
    let t = Instant::now();
    let mut tasks = JoinSet::new();
    for mut s in sessions {
        tasks.spawn(async move {
            let ok = work(&mut s, outputs).await;
            (s, ok)
        });
    }
    let mut sessions = Vec::with_capacity(k);
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        peak_threads = peak_threads.max(status_field("self", "Threads:"));
        let (s, ok) = r.expect("run task");
        if let Err(e) = ok {
            errors.push(e);
        }
        sessions.push(s);
    }
    let run_time = t.elapsed();
    let ran = sample();
    let run_errors = report_errors("run", &errors);

    // Close them all at once.
    let t = Instant::now();
    let mut tasks = JoinSet::new();
    for s in sessions {
        tasks.spawn(async move { s.close().await });
    }
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        peak_threads = peak_threads.max(status_field("self", "Threads:"));
        if let Err(e) = r.expect("close task") {
            errors.push(e.to_string());
        }
    }
    let close_time = t.elapsed();
    let closed = sample();
    let close_errors = report_errors("close", &errors);
    let host_cpu = cpu_seconds(host_pid) - host_cpu0;
    let own_cpu = cpu_seconds("self") - own_cpu0;

    let per_session = open.rss_kb.saturating_sub(before.rss_kb) as f64 / opened.max(1) as f64;
    println!(
        "| {k:>5} | {:>5} | {opened:>5} | {:>7.2} | {:>7.2} | {:>7.2} | {:>7.2} | {:>7} | {:>7} | {:>7} | {:>7} | {per_session:>6.1} | {:>3} -> {:>3} (peak {:>3}) | {own_cpu:>6.1} | {host_cpu:>6.1} | {} |",
        open_at_once.min(k),
        open_time.as_secs_f64(),
        run_time.as_secs_f64(),
        close_time.as_secs_f64(),
        (open_time + run_time + close_time).as_secs_f64(),
        before.rss_kb,
        open.rss_kb,
        ran.rss_kb,
        closed.rss_kb,
        before.threads,
        closed.threads,
        peak_threads,
        open_errors + run_errors + close_errors,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut open_at_once = usize::MAX >> 4;
    let mut ks: Vec<usize> = Vec::new();
    let mut outputs = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--outputs" {
            let n = args.next().and_then(|n| n.parse().ok());
            outputs = n.expect("--outputs M: a number");
        } else if a == "--open-at-once" {
            let n = args.next().and_then(|n| n.parse().ok());
            open_at_once = n.expect("--open-at-once N: a number");
        } else {
            ks.push(a.parse().expect("K: a number of sessions"));
        }
    }
    let ks = if ks.is_empty() {
        vec![100, 500, 1000]
    } else {
        ks
    };
    let max = ks.iter().copied().max().unwrap_or(1).to_string();
    let ops = (ks.iter().copied().max().unwrap_or(1) * 4 + 100).to_string();
    let Some(host) = TestHost::start(&[
        "--auth",
        "ntlm",
        "--max-shells-per-user",
        &max,
        "--max-concurrent-operations",
        &ops,
    ]) else {
        return;
    };
    let host_pid = host.info["pid"].to_string();
    let info = connection(&host);
    println!(
        "|     K | at once | opened | open s | run s | close s | total s | RSS before kB | RSS all open kB | RSS after run kB | RSS closed kB | kB/session | threads | client CPU s | host CPU s | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for k in ks {
        round(&info, k, open_at_once, outputs, &host_pid).await;
    }
}
