//! Ctrl+C (SIGINT) where a command waits on the host, through the `wsman`
//! binary against the test host: `session receive` leaves the session
//! disconnected with the rest of the output kept there (exit 130), `get`
//! and `enumerate` exit 130 with only whole items printed; and `--arg`
//! with `session invoke --disconnected`.
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::forwarder::{Fault, Forwarder};
use integration_tests::helpers::TempDir;
use integration_tests::{wsman_bin, TestHost};

fn start_host() -> Option<TestHost> {
    TestHost::start(&["--auth", "basic", "--allow-unencrypted"])
}

/// `wsman -H URL -a basic --no-encryption -u USER` with the host's password
/// and the state folder `state`.
fn wsman(host: &TestHost, url: &str, state: &Path) -> Command {
    let mut c = Command::new(wsman_bin());
    c.args(["-H", url, "-a", "basic", "--no-encryption", "-u"])
        .arg(host.get("user").unwrap())
        .env("WSMAN_PASSWORD", host.get("password").unwrap())
        .env("WSMAN_STATE_DIR", state)
        .env_remove("WSMAN_HOST")
        .env_remove("WSMAN_USER")
        .env_remove("WSMAN_PROFILE");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// What an interrupted run left: exit code, stdout, stderr, and how long
/// it took to exit after the signal.
struct Interrupted {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    after_signal: Duration,
}

/// Runs `cmd`, sends it SIGINT once `ready(stdout so far)` holds, and
/// waits (bounded) for it to exit.
fn interrupt_when(mut cmd: Command, ready: impl Fn(&str) -> bool) -> Interrupted {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsman");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().unwrap();
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&text(&seen.lock().unwrap())) {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "never ready to interrupt; stdout: {}\nstderr: {}",
                text(&seen.lock().unwrap()),
                text(&err_reader.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let it reach its wait on the network.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("wsman did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let after_signal = signalled.elapsed();
    reader.join().unwrap();
    let stdout = text(&seen.lock().unwrap());
    Interrupted {
        code: status.code(),
        stdout,
        stderr: text(&err_reader.join().unwrap()),
        after_signal,
    }
}

#[test]
fn ctrl_c_in_session_receive_leaves_the_session_disconnected_and_loses_nothing() {
    let Some(host) = start_host() else {
        return;
    };
    let state = TempDir::new("interrupt-receive");
    let run = |args: &[&str]| wsman(&host, host.url(), state.path()).args(args).output();
    ok(run(&["session", "new", "--name", "rcv"]).unwrap());
    ok(run(&[
        "session",
        "invoke",
        "--disconnected",
        "rcv",
        "'first'; Start-Sleep 5; 'last'",
    ])
    .unwrap());
    let mut receive = wsman(&host, host.url(), state.path());
    receive.args(["session", "receive", "rcv"]);
    let r = interrupt_when(receive, |out| out.contains("first"));
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(
        r.after_signal < Duration::from_secs(4),
        "waited for the script: {:?}",
        r.after_signal
    );
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["first"],
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("left disconnected") && r.stderr.contains("session receive rcv"),
        "{}",
        r.stderr
    );
    // The session is disconnected on the host, its script still running.
    let listed = ok(run(&["session", "list", "--remote"]).unwrap());
    let line = listed.lines().find(|l| l.starts_with("rcv ")).unwrap_or("");
    assert!(line.contains("Disconnected"), "{listed}");
    // The rest comes with the next receive: nothing lost, nothing twice.
    let rest = ok(run(&["session", "receive", "rcv"]).unwrap());
    assert_eq!(rest.lines().collect::<Vec<_>>(), ["last"]);
    ok(run(&["session", "remove", "rcv"]).unwrap());
}

#[test]
fn arguments_go_with_a_disconnected_command() {
    let Some(host) = start_host() else {
        return;
    };
    let state = TempDir::new("interrupt-args");
    let run = |args: &[&str]| wsman(&host, host.url(), state.path()).args(args).output();
    ok(run(&["session", "new", "--name", "args"]).unwrap());
    let started = run(&[
        "session",
        "invoke",
        "--disconnected",
        "args",
        "--arg",
        "alpha",
        "--arg",
        "-b c",
        "param($x, $y) \"x=$x\"; \"y=$y\"",
    ])
    .unwrap();
    let said = text(&started.stderr);
    ok(started);
    assert!(said.contains("session receive"), "{said}");
    let out = ok(run(&["session", "receive", "args"]).unwrap());
    assert_eq!(out.lines().collect::<Vec<_>>(), ["x=alpha", "y=-b c"]);
    ok(run(&["session", "remove", "args"]).unwrap());
}

fn host_addr(host: &TestHost) -> SocketAddr {
    host.url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn ctrl_c_while_get_waits_prints_nothing_and_exits_130() {
    let Some(host) = start_host() else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let url = fwd.url();
    let state = TempDir::new("interrupt-get");
    fwd.plan_matching("transfer/Get", Fault::Stall(Duration::from_secs(30)));
    let mut get = wsman(&host, &url, state.path());
    get.args(["get", "winrm/config"]);
    let r = interrupt_when(get, |_| fwd.fired());
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(
        r.after_signal < Duration::from_secs(5),
        "{:?}",
        r.after_signal
    );
    assert_eq!(r.stdout, "", "nothing half-printed");
    assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
}

#[test]
fn ctrl_c_while_enumerate_pulls_keeps_whole_items_and_exits_130() {
    let Some(host) = start_host() else {
        return;
    };
    let fwd = Forwarder::start(host_addr(&host));
    let url = fwd.url();
    let state = TempDir::new("interrupt-enumerate");
    // The first batch (20 items) arrives; the Pull for more hangs.
    fwd.plan_matching("enumeration/Pull", Fault::Stall(Duration::from_secs(30)));
    let mut enumerate = wsman(&host, &url, state.path());
    enumerate.args(["enumerate", "wmicimv2/Win32_Service"]);
    let r = interrupt_when(enumerate, |_| fwd.fired());
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(
        r.after_signal < Duration::from_secs(5),
        "{:?}",
        r.after_signal
    );
    // Twenty items, each whole and followed by its blank line.
    let items: Vec<_> = r.stdout.split("\n\n").collect();
    assert_eq!(items.len(), 21, "{}", r.stdout);
    assert_eq!(items[20], "", "the output ends after a whole item");
    assert!(
        items[..20].iter().all(|i| i.contains("Name")),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("stopped after 20 item(s)"),
        "{}",
        r.stderr
    );
}
