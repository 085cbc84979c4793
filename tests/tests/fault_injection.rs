//! Fault injection: the `wsman` binary against the test host through a
//! forwarder ([`integration_tests::forwarder`]) that cuts the connection at
//! a chosen request — before it, midway through it, after it (the answer
//! lost) or midway through the answer — or stalls the answer. Every run
//! must end with the exact output (the sequence 1..N, nothing missing,
//! nothing twice) or a non-zero exit with a message on stderr that says
//! what went wrong; output printed before such an error must still be a
//! gap-free prefix unless the message says output was lost. Nothing may run
//! past its bound.
//!
//! Scenarios: a long `invoke` (PowerShell, robust connections), pipeline
//! input (`invoke --input -`), the `session receive` of a disconnected
//! pipeline, `exec` with stdin (WinRS `cmd`, which has no robust
//! connections: lost answers must be reported), the same `invoke` against
//! a host without robust connections (`--no-robust`, as Windows 7), and
//! stalls shorter and longer than the HTTP deadline.
//!
//! CI runs a short form (fewer objects, cut points sampled at the start,
//! middle and end). `FAULT_MATRIX=full` cuts at every request index with
//! the sizes of issue 8 (200,000 objects, 30 MB of input); each scenario
//! prints its matrix (cuts, exact, failed clearly, wrong) on stderr.
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::forwarder::{Fault, Forwarder};
use integration_tests::{wsman_bin, Cli, TestHost};

fn full() -> bool {
    std::env::var("FAULT_MATRIX").is_ok_and(|v| v == "full")
}

/// The size of a scenario: `FAULT_SIZE` if set, else `full` in the full
/// matrix, else `short`.
fn size(short: usize, full_size: usize) -> usize {
    match std::env::var("FAULT_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => n,
        None if full() => full_size,
        None => short,
    }
}

fn host_addr(host: &TestHost) -> SocketAddr {
    let url = host.url();
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// What one run of `wsman` gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    killed: bool,
}

/// Runs `wsman -H url -a ntlm -u USER ARGS` with `stdin`, killed after `limit`.
fn wsman(
    host: &TestHost,
    url: &str,
    state: &std::path::Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Run {
    let started = Instant::now();
    let mut child = Command::new(wsman_bin())
        .args(["-H", url, "-a", "ntlm", "-u", host.get("user").unwrap()])
        .args(args)
        .env("WSMAN_PASSWORD", host.get("password").unwrap())
        .env("WSMAN_STATE_DIR", state)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wsman");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            killed = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
        killed,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Exact,
    FailedClearly,
    Wrong(String),
}

/// Judges a run that should print the lines 1..=n.
fn judge(run: &Run, n: usize) -> Outcome {
    if run.killed {
        return Outcome::Wrong(format!("still running after {:?}", run.elapsed));
    }
    let lines: Vec<&str> = run.stdout.lines().collect();
    let exact = lines.len() == n
        && lines
            .iter()
            .enumerate()
            .all(|(i, l)| l.trim() == (i + 1).to_string());
    match run.code {
        Some(0) if exact => Outcome::Exact,
        Some(0) => Outcome::Wrong(format!(
            "exit 0 with {} lines, not 1..{n}: {}",
            lines.len(),
            first_difference(&lines)
        )),
        Some(_) if run.stderr.trim().is_empty() => {
            Outcome::Wrong(format!("exit {:?} without a message", run.code))
        }
        Some(_) => {
            // Output before the error: no line twice, in order; a gap only
            // when the message says output was lost. Byte streams (exec)
            // may stop inside a line: a last line without its newline must
            // begin the number that was due.
            let mut lines = lines;
            let mut partial = None;
            if !run.stdout.is_empty() && !run.stdout.ends_with('\n') {
                partial = lines.pop();
            }
            let mut last = 0usize;
            for l in &lines {
                let Ok(v) = l.trim().parse::<usize>() else {
                    return Outcome::Wrong(format!("unexpected line {l:?}"));
                };
                if v <= last {
                    return Outcome::Wrong(format!("{v} after {last}: twice or out of order"));
                }
                if v != last + 1 && !run.stderr.contains("lost") {
                    return Outcome::Wrong(format!(
                        "{} to {} missing, and the error does not say output was lost: {}",
                        last + 1,
                        v - 1,
                        run.stderr.trim()
                    ));
                }
                last = v;
            }
            if let Some(p) = partial {
                if !(last + 1).to_string().starts_with(p.trim_end()) {
                    return Outcome::Wrong(format!("partial last line {p:?} after {last}"));
                }
            }
            Outcome::FailedClearly
        }
        None => Outcome::Wrong("killed by a signal".into()),
    }
}

fn first_difference(lines: &[&str]) -> String {
    for (i, l) in lines.iter().enumerate() {
        if l.trim() != (i + 1).to_string() {
            return format!("line {} is {l:?}", i + 1);
        }
    }
    "missing at the end".into()
}

/// The counts of one scenario's matrix.
#[derive(Default)]
struct Matrix {
    name: String,
    cuts: usize,
    exact: usize,
    clear: usize,
    /// What each run that failed clearly was, and its last stderr line.
    failures: Vec<String>,
    wrong: Vec<String>,
}

impl Matrix {
    fn new(name: &str) -> Matrix {
        Matrix {
            name: name.into(),
            ..Default::default()
        }
    }

    fn add(&mut self, what: String, run: &Run, outcome: Outcome) {
        self.cuts += 1;
        match outcome {
            Outcome::Exact => self.exact += 1,
            Outcome::FailedClearly => {
                self.clear += 1;
                let msg = run.stderr.lines().last().unwrap_or("").to_string();
                eprintln!("  {what}: exit {:?}: {}", run.code, cut(&msg, 240));
                self.failures.push(format!("{what}: {msg}"));
            }
            Outcome::Wrong(why) => {
                eprintln!(
                    "  {what}: WRONG: {why}\n    stderr: {}",
                    cut(&run.stderr, 600)
                );
                self.wrong.push(format!("{what}: {why}"));
            }
        }
    }

    fn report(&self) {
        eprintln!(
            "MATRIX {}: cuts {} exact {} failed-clearly {} wrong {}",
            self.name,
            self.cuts,
            self.exact,
            self.clear,
            self.wrong.len()
        );
        assert!(
            self.wrong.is_empty(),
            "{}: wrong runs:\n{}",
            self.name,
            self.wrong.join("\n")
        );
    }
}

fn cut(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// The request indexes to cut at: all of 1..=total in the full matrix (at
/// most `FAULT_MAX_POINTS`, default 200, evenly spread, with the first and
/// last), else the first two, the middle one and the last two.
fn cut_points(total: usize) -> Vec<usize> {
    if full() {
        let max: usize = std::env::var("FAULT_MAX_POINTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200)
            .max(2);
        if total <= max {
            return (1..=total).collect();
        }
        let mut v: Vec<usize> = (0..max).map(|i| 1 + i * (total - 1) / (max - 1)).collect();
        v.dedup();
        return v;
    }
    if total <= 5 {
        return (1..=total).collect();
    }
    vec![1, 2, total / 2, total - 1, total]
}

/// Runs `scenario` once without faults (it must be exact, and gives the
/// number of requests), then once per cut point and cut.
fn matrix(
    name: &str,
    fwd: &Forwarder,
    expected: usize,
    mut scenario: impl FnMut() -> Run,
) -> Matrix {
    let mut m = Matrix::new(name);
    fwd.clear();
    let clean = scenario();
    assert_eq!(
        judge(&clean, expected),
        Outcome::Exact,
        "{name} without faults: exit {:?}, stderr {}",
        clean.code,
        clean.stderr
    );
    let total = fwd.requests();
    eprintln!(
        "{name}: {total} requests without faults, {:?}",
        clean.elapsed
    );
    for at in cut_points(total) {
        for fault in Fault::CUTS {
            fwd.plan(at, fault);
            let run = scenario();
            if !fwd.fired() {
                continue;
            }
            let outcome = judge(&run, expected);
            m.add(
                format!("{name} request {at}/{total} {fault:?}"),
                &run,
                outcome,
            );
        }
    }
    fwd.clear();
    m
}

struct Setup {
    host: TestHost,
    fwd: Forwarder,
    state: std::path::PathBuf,
}

fn setup(extra: &[&str], tag: &str) -> Option<Setup> {
    let mut args = vec!["--auth", "ntlm"];
    args.extend_from_slice(extra);
    let host = TestHost::start(&args)?;
    let fwd = Forwarder::start(host_addr(&host));
    let state = std::env::temp_dir().join(format!("fault-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    Some(Setup { host, fwd, state })
}

/// The most a run may take: a cut costs at most one retransmission round
/// (about 1.5 s of back-off) and a new connection.
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_long_invoke_cut_anywhere_is_exact_or_fails_clearly() {
    let Some(s) = setup(&[], "invoke") else {
        return;
    };
    let n = size(3_000, 200_000);
    let script = format!("1..{n}");
    let url = s.fwd.url();
    let m = matrix("invoke", &s.fwd, n, || {
        wsman(&s.host, &url, &s.state, &["invoke", &script], None, LIMIT)
    });
    let stats = s.host.stats();
    eprintln!(
        "host answered {} retransmissions from its kept answers",
        TestHost::stat(&stats, "robust_retransmissions")
    );
    m.report();
    // PowerShell shells have robust connections: a lost answer is asked
    // for again, so every cut after the Create (whose answer tells the
    // client that the host is robust) ends exact.
    assert!(
        m.failures.iter().all(|f| f.contains("request 1/")),
        "{:#?}",
        m.failures
    );
    assert!(
        TestHost::stat(&stats, "robust_retransmissions") > 0,
        "retransmissions answered from kept answers"
    );
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn pipeline_input_cut_anywhere_is_exact_or_fails_clearly() {
    let Some(s) = setup(&[], "input") else {
        return;
    };
    // Each input line is one object the script writes back.
    // One Send per object: the short form keeps it small.
    let n = size(600, 3_500_000);
    let input: String = (1..=n).map(|i| format!("{i}\n")).collect();
    eprintln!("{} bytes of pipeline input", input.len());
    let url = s.fwd.url();
    let m = matrix("input", &s.fwd, n, || {
        wsman(
            &s.host,
            &url,
            &s.state,
            &["invoke", "--input", "-", "$input"],
            Some(input.as_bytes()),
            LIMIT,
        )
    });
    m.report();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn a_disconnected_pipelines_receive_cut_anywhere_is_exact_or_fails_clearly() {
    let Some(s) = setup(&[], "receive") else {
        return;
    };
    let n = size(3_000, 100_000);
    let script = format!("1..{n}");
    let url = s.fwd.url();
    let direct = s.host.url().to_string();
    let mut runs = 0;
    let m = matrix("session-receive", &s.fwd, n, || {
        // A new session and pipeline for each run (straight to the host),
        // then its output received through the forwarder.
        runs += 1;
        let name = format!("r{runs}");
        let new = wsman(
            &s.host,
            &direct,
            &s.state,
            &["session", "new", "--name", &name],
            None,
            LIMIT,
        );
        assert_eq!(new.code, Some(0), "session new: {}", new.stderr);
        let started = wsman(
            &s.host,
            &direct,
            &s.state,
            &["session", "invoke", "--disconnected", &name, &script],
            None,
            LIMIT,
        );
        assert_eq!(started.code, Some(0), "session invoke: {}", started.stderr);
        std::thread::sleep(Duration::from_millis(500));
        let run = wsman(
            &s.host,
            &url,
            &s.state,
            &["session", "receive", &name],
            None,
            LIMIT,
        );
        let _ = wsman(
            &s.host,
            &direct,
            &s.state,
            &["session", "remove", &name],
            None,
            LIMIT,
        );
        run
    });
    m.report();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn exec_with_stdin_cut_anywhere_is_exact_or_reports_the_loss() {
    let Some(s) = setup(&[], "exec") else {
        return;
    };
    let n = size(3_000, 200_000);
    let input: String = (1..=n).map(|i| format!("{i}\n")).collect();
    let url = s.fwd.url();
    let m = matrix("exec-stdin", &s.fwd, n, || {
        wsman(
            &s.host,
            &url,
            &s.state,
            &["exec", "cat"],
            Some(input.as_bytes()),
            LIMIT,
        )
    });
    m.report();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn without_robust_connections_a_lost_answer_is_reported_never_skipped() {
    let Some(s) = setup(&["--no-robust"], "norobust") else {
        return;
    };
    let n = size(3_000, 20_000);
    let script = format!("1..{n}");
    let url = s.fwd.url();
    let m = matrix("invoke-no-robust", &s.fwd, n, || {
        wsman(&s.host, &url, &s.state, &["invoke", &script], None, LIMIT)
    });
    m.report();
    assert_eq!(
        TestHost::stat(&s.host.stats(), "robust_retransmissions"),
        0,
        "the host keeps nothing"
    );
    assert!(
        m.failures.iter().any(|f| f.contains("lost output")),
        "a lost Receive answer is reported as lost output: {:#?}",
        m.failures
    );
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn stalls_shorter_and_longer_than_the_deadline_end_exact_and_bounded() {
    let Some(s) = setup(&[], "stall") else {
        return;
    };
    let n = 5_000;
    let script = format!("1..{n}");
    let url = s.fwd.url();
    let mut m = Matrix::new("stall");
    // --operation-timeout 1: the HTTP deadline is 1 + 15 s.
    for (stall, bound) in [(3, 60), (20, 90)] {
        for at in [2, 4] {
            s.fwd.plan(at, Fault::Stall(Duration::from_secs(stall)));
            let run = wsman(
                &s.host,
                &url,
                &s.state,
                &["--operation-timeout", "1", "invoke", &script],
                None,
                LIMIT,
            );
            assert!(s.fwd.fired());
            assert!(
                run.elapsed < Duration::from_secs(bound),
                "stall {stall}s at {at}: took {:?}",
                run.elapsed
            );
            let outcome = judge(&run, n);
            m.add(format!("stall {stall}s at request {at}"), &run, outcome);
        }
    }
    s.fwd.clear();
    m.report();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn over_a_sealed_channel_a_fault_in_clear_text_is_refused_and_reported() {
    let Some(s) = setup(&[], "plain") else {
        return;
    };
    let url = s.fwd.url();
    // Request 3 is the first Receive of `invoke` (Create, Command, Receive).
    for at in [1, 3] {
        s.fwd.plan(at, Fault::PlainFault);
        let run = wsman(&s.host, &url, &s.state, &["invoke", "'x'"], None, LIMIT);
        assert!(s.fwd.fired());
        assert_ne!(run.code, Some(0), "{}", run.stderr);
        assert!(
            run.stderr.contains("clear text") && run.stderr.contains("refusing"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr
                .contains(integration_tests::forwarder::PLAIN_FAULT_TEXT),
            "the injected fault is not shown as the host's: {}",
            run.stderr
        );
    }
    s.fwd.clear();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn after_a_lost_answer_without_robust_connections_the_next_receive_says_output_was_lost() {
    let Some(s) = setup(&["--no-robust"], "relost") else {
        return;
    };
    let url = s.fwd.url();
    let direct = s.host.url().to_string();
    let run = |url: &str, args: &[&str]| wsman(&s.host, url, &s.state, args, None, LIMIT);
    assert_eq!(
        run(&direct, &["session", "new", "--name", "x"]).code,
        Some(0)
    );
    let started = run(
        &direct,
        &["session", "invoke", "--disconnected", "x", "1..100000"],
    );
    assert_eq!(started.code, Some(0), "{}", started.stderr);
    std::thread::sleep(Duration::from_millis(500));
    // Connect, then the Receives: the answer of the fourth request is lost.
    s.fwd.plan(4, Fault::LoseAnswer);
    let first = run(&url, &["session", "receive", "x"]);
    assert!(s.fwd.fired());
    assert_ne!(first.code, Some(0));
    assert!(first.stderr.contains("lost output"), "{}", first.stderr);
    // What the host sends next may begin inside a message: said as lost
    // output too, never a bare protocol error; or it is whole objects.
    let second = run(&direct, &["session", "receive", "x"]);
    eprintln!(
        "second receive: exit {:?}: {}",
        second.code,
        cut(&second.stderr, 300)
    );
    if second.code != Some(0) {
        assert!(second.stderr.contains("lost output"), "{}", second.stderr);
    }
    let numbers: Vec<usize> = second
        .stdout
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice"
    );
    let _ = run(&direct, &["session", "remove", "x"]);
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn exec_whose_delete_answer_is_lost_still_succeeds() {
    // Issue 8 finding 5: a Delete sent again after its answer was lost
    // found the shell gone and turned a good `exec` into exit 5. Basic
    // without encryption, so the forwarder can find the Delete.
    let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let url = fwd.url();
    for fault in Fault::CUTS {
        fwd.plan_matching("transfer/Delete", fault);
        let run = Cli::for_host(&host)
            .url(&url)
            .run(&["exec", "-n", "seq", "1", "50"]);
        assert!(fwd.fired(), "{fault:?}: no Delete seen");
        let out = String::from_utf8_lossy(&run.stdout);
        let expected: String = (1..=50).map(|i| format!("{i}\n")).collect();
        assert_eq!(
            (run.status.code(), out.as_ref()),
            (Some(0), expected.as_str()),
            "{fault:?} of the Delete: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn a_session_receive_whose_connect_answer_is_lost_can_be_run_again() {
    let Some(s) = setup(&[], "reconnect") else {
        return;
    };
    let run = |url: &str, args: &[&str]| wsman(&s.host, url, &s.state, args, None, LIMIT);
    let direct = s.host.url().to_string();
    assert_eq!(
        run(&direct, &["session", "new", "--name", "c"]).code,
        Some(0)
    );
    let started = run(
        &direct,
        &["session", "invoke", "--disconnected", "c", "1..3000"],
    );
    assert_eq!(started.code, Some(0), "{}", started.stderr);
    std::thread::sleep(Duration::from_millis(500));
    // The first request of `session receive` is the Connect.
    s.fwd.plan(1, Fault::LoseAnswer);
    let first = run(&s.fwd.url(), &["session", "receive", "c"]);
    assert!(s.fwd.fired());
    assert_ne!(first.code, Some(0));
    assert!(
        first.stderr.contains("still on the host") && first.stderr.contains("session receive"),
        "{}",
        first.stderr
    );
    assert!(first.stdout.is_empty(), "{}", first.stdout);
    let again = run(&direct, &["session", "receive", "c"]);
    assert_eq!(judge(&again, 3000), Outcome::Exact, "{}", again.stderr);
    let _ = run(&direct, &["session", "remove", "c"]);
    let _ = std::fs::remove_dir_all(&s.state);
}

/// Judges one copy to the host: exact when wsman succeeded and the file on
/// the host's disk is the source byte for byte; failed clearly when wsman
/// exited non-zero with a message and left nothing partial on the host.
fn judge_copy(run: &Run, data: &[u8], dest: &std::path::Path) -> Outcome {
    let partial = dest.with_file_name(format!(
        "{}.wsman-partial",
        dest.file_name().unwrap().to_string_lossy()
    ));
    if run.killed {
        return Outcome::Wrong(format!("still running after {:?}", run.elapsed));
    }
    if partial.exists() {
        return Outcome::Wrong(format!("{} left on the host", partial.display()));
    }
    match run.code {
        Some(0) => match std::fs::read(dest) {
            Ok(got) if got == data => Outcome::Exact,
            Ok(got) => Outcome::Wrong(format!(
                "exit 0 but the host has {} bytes, not the {} sent",
                got.len(),
                data.len()
            )),
            Err(e) => Outcome::Wrong(format!("exit 0 but no file on the host: {e}")),
        },
        Some(_) if !run.stderr.trim().is_empty() => {
            if dest.exists() && std::fs::read(dest).ok().as_deref() != Some(data) {
                Outcome::Wrong("a failed copy left a different file on the host".into())
            } else {
                Outcome::FailedClearly
            }
        }
        other => Outcome::Wrong(format!("exit {other:?} with nothing on stderr")),
    }
}

#[test]
fn a_copy_cut_anywhere_is_exact_or_fails_clearly_and_leaves_nothing_partial() {
    let Some(s) = setup(&[], "copy") else {
        return;
    };
    let Some(fs_root) = s.host.get("fs_root").map(std::path::PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(fs_root.join("C").join("fault")).unwrap();
    std::fs::create_dir_all(&s.state).unwrap();
    // Several chunks (one Send each), not a multiple of the chunk size.
    let n = size(400_000, 8 << 20);
    let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    let src = s.state.join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let src = src.to_string_lossy().into_owned();
    let url = s.fwd.url();
    let mut run_no = 0;
    let mut copy = || {
        run_no += 1;
        let name = format!("f{run_no}.bin");
        let dest = fs_root.join("C").join("fault").join(&name);
        let remote = format!("host:C:\\fault\\{name}");
        let run = wsman(
            &s.host,
            &url,
            &s.state,
            &["copy", &src, &remote],
            None,
            LIMIT,
        );
        (run, dest)
    };
    let mut m = Matrix::new("copy");
    s.fwd.clear();
    let (clean, dest) = copy();
    assert_eq!(
        judge_copy(&clean, &data, &dest),
        Outcome::Exact,
        "copy without faults: exit {:?}, stderr {}",
        clean.code,
        clean.stderr
    );
    let total = s.fwd.requests();
    eprintln!("copy: {total} requests without faults");
    for at in cut_points(total) {
        for fault in Fault::CUTS {
            s.fwd.plan(at, fault);
            let (run, dest) = copy();
            if !s.fwd.fired() {
                continue;
            }
            let outcome = judge_copy(&run, &data, &dest);
            m.add(
                format!("copy request {at}/{total} {fault:?}"),
                &run,
                outcome,
            );
        }
    }
    s.fwd.clear();
    m.report();
    let _ = std::fs::remove_dir_all(&s.state);
}

#[test]
fn a_release_whose_request_or_answer_is_cut_still_frees_the_command() {
    // The Signal that releases a finished pipeline is held by the session
    // and sent before its next Disconnect (here, the end of `session
    // invoke`). When its request or its answer is cut, the command is
    // still released: with MaxConcurrentCommandsPerShell 1 on the host,
    // every next pipeline of the session runs. Basic without encryption,
    // so the forwarder can find the Signal.
    let Some(host) = TestHost::start(&[
        "--auth",
        "basic",
        "--allow-unencrypted",
        "--max-commands-per-shell",
        "1",
    ]) else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let cli = Cli::for_host(&host).url(&fwd.url());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let new = cli.run(&["session", "new", "--name", "r"]);
    assert_eq!(new.status.code(), Some(0), "{}", text(&new.stderr));
    for (i, fault) in Fault::CUTS.into_iter().enumerate() {
        fwd.plan_matching("signal/terminate", fault);
        let run = cli.run(&["session", "invoke", "r", &format!("'{i}'")]);
        assert!(fwd.fired(), "{fault:?}: no release seen");
        assert_eq!(
            (run.status.code(), text(&run.stdout)),
            (Some(0), format!("{i}\n")),
            "{fault:?} of the release: {}",
            text(&run.stderr)
        );
    }
    let last = cli.run(&["session", "invoke", "r", "'end'"]);
    assert_eq!(
        (last.status.code(), text(&last.stdout)),
        (Some(0), "end\n".to_string()),
        "{}",
        text(&last.stderr)
    );
    let _ = cli.run(&["session", "remove", "r"]);
}
