//! Cross-crate integration tests and their helpers: starting the
//! independent test host (`fixtures/testhost`), locating the `wsman`
//! binary, and the small [`helpers`] the tests share.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench_host;
pub mod cli;
pub mod forwarder;
pub mod helpers;
pub mod replay;

pub use helpers::{connection, connection_at, replay_connection, Cli, TempDir};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Python of the project's venv (made by `scripts/setup.sh`), if present.
pub fn venv_python() -> Option<PathBuf> {
    let p = workspace_root().join(".venv/bin/python");
    p.exists().then_some(p)
}

/// A running test host, stopped (by pid) when dropped.
pub struct TestHost {
    child: Child,
    /// The JSON line the host printed once listening.
    pub info: serde_json::Value,
    pid_file: Option<PathBuf>,
}

impl TestHost {
    /// Starts `python -m testhost ARGS` and waits for its JSON line. `None`
    /// (with a message on stderr) when the venv is missing, so tests can skip.
    pub fn start(args: &[&str]) -> Option<TestHost> {
        let Some(python) = venv_python() else {
            eprintln!("SKIP: no .venv (run scripts/setup.sh) — the test host cannot start");
            return None;
        };
        let mut child = Command::new(python)
            .arg("-m")
            .arg("testhost")
            .args(args)
            .current_dir(workspace_root().join("fixtures/testhost"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the test host");
        let pid_file = std::env::var_os("TESTHOST_PID_DIR").map(|d| {
            let f = PathBuf::from(d).join(format!("{}.pid", child.id()));
            let _ = std::fs::write(&f, child.id().to_string());
            f
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the host never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the test host did not print its JSON line: {other:?}");
            }
        };
        let info: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("test host line is not JSON ({e}): {line}"));
        Some(TestHost {
            child,
            info,
            pid_file,
        })
    }

    /// A string field of the JSON line.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.info.get(key).and_then(|v| v.as_str())
    }

    /// The HTTP endpoint URL.
    pub fn url(&self) -> &str {
        self.get("url").expect("the host prints its url")
    }

    /// The host's counters (`GET /testhost/stats`): totals such as
    /// `requests`, `connections`, `auth_handshakes`. The query is itself a
    /// connection the host counts.
    pub fn stats(&self) -> serde_json::Value {
        use std::io::{Read, Write};
        let url = self
            .get("stats_url")
            .expect("the host prints its stats_url");
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        let mut s = std::net::TcpStream::connect(&addr).expect("reach the stats endpoint");
        write!(
            s,
            "GET /testhost/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send the stats query");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("read the stats answer");
        let json = &body[body.find("\r\n\r\n").expect("an HTTP answer") + 4..];
        serde_json::from_str(json).expect("stats are JSON")
    }

    /// One counter of [`stats`](Self::stats), 0 when absent.
    pub fn stat(stats: &serde_json::Value, key: &str) -> u64 {
        stats[key].as_u64().unwrap_or(0)
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        // SIGTERM lets the host stop its KDC and remove its folder; a kill
        // follows if it has not gone within five seconds.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(f) = &self.pid_file {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// The `wsman` binary built by cargo for this test run.
pub fn wsman_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join("wsman")
}
