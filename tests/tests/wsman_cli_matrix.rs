//! The plain WS-Management side of `wsman` — `identify`, `get`, `enumerate`,
//! `exec` — through every authentication mode and transport, against the
//! independent test host (pyspnego acceptors, an MIT KDC): each command a
//! separate `wsman` process, and the same operations through
//! `wsman::client::Client` on one connection.
//!
//! Modes: Basic over HTTP (`--no-encryption`) and over HTTPS, NTLM sealed,
//! Kerberos with a password (sealed), Kerberos from a `kinit` cache,
//! Negotiate (Kerberos inside SPNEGO, and its NTLM fallback), NTLM with the
//! NT hash, NTLM and Kerberos over HTTPS with channel binding (host `--cbt
//! strict`), and a TLS client certificate. Each `wsman` command line is
//! built by `integration_tests::Cli`. Also: the errors a user meets (wrong
//! password, a host that requires encryption, an untrusted certificate, an
//! unreachable host), and that no secret ever reaches stdout or stderr,
//! `-vv` included.
//!
//! One host serves the whole matrix (started once, stopped by pid on drop);
//! the checks run one after another so the host's counters belong to one
//! command at a time. Every failure is collected and a table of the matrix is
//! printed (`cargo test ... -- --nocapture` shows it).
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use integration_tests::{venv_python, Cli, TempDir, TestHost};
use wsman::auth::{AuthOptions, Credentials, Mechanism, Secret};
use wsman::client::{resolve_resource_uri, Client, ClientOptions};
use wsman::soap::request::{CommandLine, Enumerate, ShellCreate};
use wsman::soap::{ns, Selector};
use wsman::transport::{ClientCertificate, Endpoint, ProxySetting, TransportConfig};

/// The account's password: distinctive, so finding it in any output is
/// certain to be a leak.
const PASSWORD: &str = "Mx7-Quokka-Lantern-4412";
/// A wrong password, equally distinctive.
const WRONG_PASSWORD: &str = "Wrong-Pelican-Orbit-9034";
const USER: &str = "vagrant";
/// How many Win32_Service instances the host has (more than one Pull's worth).
const SERVICES: usize = 60;

// ---------------------------------------------------------------- helpers

/// Every secret a test uses: none may appear in any output.
struct Secrets(Vec<String>);

impl Secrets {
    fn new(nt_hash: Option<&str>) -> Secrets {
        let mut v = vec![PASSWORD.to_string(), WRONG_PASSWORD.to_string()];
        for pw in [PASSWORD, WRONG_PASSWORD] {
            // What a Basic Authorization header would carry.
            v.push(B64.encode(format!("{USER}:{pw}")));
            v.push(B64.encode(format!("{USER}@TEST.LOCAL:{pw}")));
        }
        if let Some(h) = nt_hash {
            v.push(h.to_ascii_lowercase());
            v.push(h.to_ascii_uppercase());
        }
        Secrets(v)
    }

    fn assert_absent(&self, what: &str, o: &Output) {
        for text in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(text);
            for s in &self.0 {
                assert!(
                    !text.contains(s.as_str()),
                    "{what}: a secret appears in the output:\n{text}"
                );
            }
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(what: &str, o: &Output) -> String {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Removes ANSI colour sequences (the log may be coloured).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `GET` or `POST` on the host's unauthenticated test endpoints.
fn host_http(stats_url: &str, method: &str, path: &str) -> String {
    let authority = stats_url
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .expect("stats_url is http://HOST:PORT/...");
    let mut s = std::net::TcpStream::connect(authority).expect("connect to the stats endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    body.to_string()
}

/// The host's counters since the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HostStats {
    requests: u64,
    auth_handshakes: u64,
    auth_failures: u64,
    /// TCP connections that carried WS-Management traffic (the stats
    /// requests themselves are not counted).
    connections: u64,
}

struct Stats<'a>(&'a str);

impl Stats<'_> {
    fn reset(&self) {
        host_http(self.0, "POST", "/testhost/stats/reset");
    }

    fn read(&self) -> HostStats {
        let v: serde_json::Value =
            serde_json::from_str(&host_http(self.0, "GET", "/testhost/stats")).unwrap();
        let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("stats.{k}: {v}"));
        let connections = v["clients"]
            .as_object()
            .map(|c| {
                c.values()
                    .filter(|c| {
                        ["requests", "auth_handshakes", "auth_failures"]
                            .iter()
                            .any(|k| c[k].as_u64().unwrap_or(0) > 0)
                            || !c["user"].is_null()
                    })
                    .count() as u64
            })
            .unwrap_or(0);
        HostStats {
            requests: n("requests"),
            auth_handshakes: n("auth_handshakes"),
            auth_failures: n("auth_failures"),
            connections,
        }
    }
}

/// Processes whose command line contains `marker`, other than `except`.
fn processes_with(marker: &str, except: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == except || pid == std::process::id() {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(pid);
            }
        }
    }
    found
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// The NT hash of `password`, computed by pyspnego (an independent MD4).
fn nt_hash_of(password: &str) -> Option<String> {
    let py = venv_python()?;
    let out = Command::new(py)
        .arg("-c")
        .arg("import sys; from spnego._ntlm_raw.crypto import ntowfv1; print(ntowfv1(sys.argv[1]).hex())")
        .arg(password)
        .output()
        .ok()?;
    let h = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && h.len() == 32).then_some(h)
}

// ---------------------------------------------------------------- modes

/// One way to authenticate, as CLI arguments and as a library configuration.
struct Mode {
    name: &'static str,
    url: String,
    mech: Mechanism,
    /// `-u`, if any.
    user: Option<String>,
    secret: ModeSecret,
    ca_file: Option<String>,
    cert: Option<(String, String)>,
    allow_unencrypted: bool,
    /// KRB5CCNAME for this mode (the `kinit` cache, or an empty one).
    ccache: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ModeSecret {
    Password,
    NtHash,
    /// A `kinit` cache or the client certificate: no secret given.
    None,
}

impl Mode {
    fn cli_auth(&self) -> &'static str {
        match self.mech {
            Mechanism::Basic => "basic",
            Mechanism::Ntlm => "ntlm",
            Mechanism::Kerberos => "kerberos",
            Mechanism::Negotiate => "negotiate",
            Mechanism::Certificate => "certificate",
            Mechanism::CredSsp => "credssp",
        }
    }

    /// Bodies sealed by the security context (plain HTTP, not Basic).
    fn sealed(&self) -> bool {
        self.url.starts_with("http://") && !self.allow_unencrypted
    }

    fn transport_config(&self, env: &Env) -> TransportConfig {
        let secret = match self.secret {
            ModeSecret::Password => Secret::password(PASSWORD),
            ModeSecret::NtHash => {
                let hex = env.nt_hash.as_deref().expect("an NT hash");
                let mut h = [0u8; 16];
                for (i, b) in h.iter_mut().enumerate() {
                    *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
                }
                Secret::nt_hash(h)
            }
            ModeSecret::None => Secret::None,
        };
        let creds = Credentials::parse(self.user.as_deref().unwrap_or(""), secret);
        let mut cfg = TransportConfig::new(
            Endpoint::parse(&self.url, false).unwrap(),
            AuthOptions::new(self.mech, creds),
        );
        cfg.proxy = ProxySetting::None;
        cfg.allow_unencrypted = self.allow_unencrypted;
        cfg.tls.ca_file = self.ca_file.as_ref().map(PathBuf::from);
        if let Some((cert, key)) = &self.cert {
            cfg.tls.client_certificate = Some(ClientCertificate {
                cert_file: cert.into(),
                key_file: key.into(),
            });
        }
        cfg
    }
}

/// What every check needs: the host, its Kerberos settings, the secrets.
struct Env {
    host: TestHost,
    krb5_config: String,
    nt_hash: Option<String>,
    secrets: Secrets,
}

impl Env {
    fn stats(&self) -> Stats<'_> {
        Stats(self.host.get("stats_url").expect("stats_url"))
    }

    /// The `wsman` command line of `mode` (stdin from /dev/null unless
    /// piped), with `password` for a mode that takes one.
    fn cli(&self, mode: &Mode, password: &str) -> Cli {
        let mut cli = Cli::new()
            .url(&mode.url)
            .auth(mode.cli_auth())
            .no_encryption(mode.allow_unencrypted)
            .unset("RUST_LOG")
            .env("KRB5_CONFIG", &self.krb5_config)
            .env("KRB5CCNAME", &mode.ccache);
        if let Some(u) = &mode.user {
            cli = cli.user(u);
        }
        cli = match mode.secret {
            ModeSecret::Password => cli.password(password),
            ModeSecret::NtHash => cli.nt_hash(self.nt_hash.as_deref().expect("an NT hash")),
            ModeSecret::None => cli,
        };
        if let Some(ca) = &mode.ca_file {
            cli = cli.arg("--ca-file").arg(ca);
        }
        if let Some((cert, key)) = &mode.cert {
            cli = cli.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        cli
    }

    /// Runs `wsman` to the end; `stdin` is piped in when given. Fails if a
    /// secret appears in its output.
    fn run(&self, mode: &Mode, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_with(mode, args, stdin, PASSWORD)
    }

    fn run_with(&self, mode: &Mode, args: &[&str], stdin: Option<&[u8]>, pw: &str) -> Output {
        let cli = self.cli(mode, pw);
        let out = match stdin {
            None => cli.run(args),
            Some(data) => cli.run_stdin(args, data),
        };
        self.secrets
            .assert_absent(&format!("{} {args:?}", mode.name), &out);
        out
    }
}

// ---------------------------------------------------------------- the matrix

/// The outcomes of one mode's checks, in order: `Err` holds the panic message.
type Row = Vec<(&'static str, Result<(), String>)>;

/// Outcomes by mode and check, printed as a table; fails if any failed.
#[derive(Default)]
struct Matrix {
    checks: Vec<&'static str>,
    rows: Vec<(&'static str, Row)>,
}

impl Matrix {
    fn check(&mut self, mode: &'static str, what: &'static str, f: impl FnOnce()) {
        let t0 = Instant::now();
        let r = std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())
        });
        eprintln!(
            "{mode} / {what}: {} ({} ms)",
            if r.is_ok() { "ok" } else { "FAILED" },
            t0.elapsed().as_millis()
        );
        if !self.checks.contains(&what) {
            self.checks.push(what);
        }
        match self.rows.iter_mut().find(|(m, _)| *m == mode) {
            Some((_, v)) => v.push((what, r)),
            None => self.rows.push((mode, vec![(what, r)])),
        }
    }

    fn finish(self) {
        let width = self.rows.iter().map(|(m, _)| m.len()).max().unwrap_or(4);
        let mut table = format!("{:width$}", "mode");
        for c in &self.checks {
            table.push_str(&format!(" | {c}"));
        }
        table.push('\n');
        let mut failures = Vec::new();
        for (mode, results) in &self.rows {
            table.push_str(&format!("{mode:width$}"));
            for c in &self.checks {
                let cell = match results.iter().find(|(w, _)| w == c) {
                    None => "-",
                    Some((_, Ok(()))) => "pass",
                    Some((_, Err(e))) => {
                        failures.push(format!("{mode} / {c}: {e}"));
                        "FAIL"
                    }
                };
                table.push_str(&format!(" | {cell:width$}", width = c.len()));
            }
            table.push('\n');
        }
        println!("{table}");
        assert!(
            failures.is_empty(),
            "{} failed:\n{}\n\n{table}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

fn check_identify(env: &Env, mode: &Mode) {
    let out = ok("identify", &env.run(mode, &["identify"], None));
    assert!(out.contains("Microsoft Corporation"), "{out}");
    assert!(
        out.contains("wsman.xsd"),
        "ProtocolVersion is printed: {out}"
    );
    // ProductVersion only comes back to an authenticated Identify.
    assert!(out.contains("OS: 10.0.17763"), "{out}");
}

fn check_get(env: &Env, mode: &Mode) {
    let out = ok(
        "get --xml",
        &env.run(mode, &["get", "winrm/config", "--xml"], None),
    );
    assert!(out.contains("<cfg:Config"), "{out}");
    assert!(out.contains("MaxEnvelopeSizekb>500<"), "{out}");
    // By default, readable `Name : Value` text, nested elements indented.
    let out = ok("get", &env.run(mode, &["get", "winrm/config"], None));
    assert!(!out.contains('<'), "no XML by default: {out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split(" : ").next().map(str::trim) == Some(name))
            .unwrap_or_else(|| panic!("no {name} line: {out}"))
            .to_string()
    };
    assert!(line("MaxEnvelopeSizekb").ends_with(" : 500"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("    ") && l.contains(" : ")),
        "nested elements indented: {out}"
    );
    let out = ok(
        "get --json",
        &env.run(mode, &["get", "winrm/config", "--json"], None),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["Config"]["MaxEnvelopeSizekb"], "500", "{v}");
    assert_eq!(v["Config"]["MaxTimeoutms"], "60000", "{v}");
    // An instance by selector.
    let out = ok(
        "get -s",
        &env.run(
            mode,
            &[
                "get",
                "wmicimv2/Win32_Service",
                "-s",
                "Name=WinRM",
                "--json",
            ],
            None,
        ),
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["Win32_Service"]["Name"], "WinRM", "{v}");
    // A resource the host does not have: its fault, exit 5.
    let o = env.run(mode, &["get", "wmicimv2/Win32_NoSuchClass"], None);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("DestinationUnreachable"),
        "{}",
        stderr(&o)
    );
}

fn check_enumerate(env: &Env, mode: &Mode) {
    let stats = env.stats();
    stats.reset();
    let out = ok(
        "enumerate",
        &env.run(
            mode,
            &["enumerate", "wmicimv2/Win32_Service", "--json"],
            None,
        ),
    );
    let names: BTreeSet<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["Win32_Service"]["Name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(out.lines().count(), SERVICES, "{out}");
    assert_eq!(names.len(), SERVICES, "every service once: {names:?}");
    assert!(names.contains("WinRM"), "{names:?}");
    let s = stats.read();
    // One Enumerate and several Pulls, all on one connection.
    assert!(s.requests >= 3, "Enumerate + at least two Pulls: {s:?}");
    assert_eq!(s.connections, 1, "{s:?}");
    let handshakes = if mode.mech == Mechanism::Basic {
        s.requests // the host counts Basic once per request
    } else {
        1
    };
    assert_eq!(s.auth_handshakes, handshakes, "{s:?}");
    // A WQL filter narrows it down.
    let out = ok(
        "enumerate --filter",
        &env.run(
            mode,
            &[
                "enumerate",
                "wmicimv2/*",
                "--filter",
                "select * from Win32_Service where Name = 'WinRM'",
                "--xml",
            ],
            None,
        ),
    );
    assert_eq!(out.lines().count(), 1, "one item, one line of XML: {out}");
    assert!(out.contains("WinRM"), "{out}");
    // The same as text: one item, `Name : Value` lines.
    let out = ok(
        "enumerate --filter (text)",
        &env.run(
            mode,
            &[
                "enumerate",
                "wmicimv2/*",
                "--filter",
                "select * from Win32_Service where Name = 'WinRM'",
            ],
            None,
        ),
    );
    let names: Vec<&str> = out.lines().filter(|l| l.starts_with("Name ")).collect();
    assert_eq!(names.len(), 1, "{out}");
    assert!(names[0].ends_with(" : WinRM"), "{out}");
}

fn check_exec_streams(env: &Env, mode: &Mode) {
    let o = env.run(
        mode,
        &[
            "exec",
            "sh",
            "-c",
            "echo out-1; echo err-1 >&2; echo 'out-2 caf\u{e9}'; exit 7",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(7),
        "the remote exit code is ours: {}",
        stderr(&o)
    );
    assert_eq!(
        stdout(&o),
        "out-1\nout-2 caf\u{e9}\n",
        "stderr: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("err-1"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("out-"), "{}", stderr(&o));
}

fn check_exec_stdin(env: &Env, mode: &Mode) {
    let input = "alpha\nbeta\ngamma \u{e9}\n";
    let o = env.run(mode, &["exec", "cat"], Some(input.as_bytes()));
    assert_eq!(ok("exec cat", &o), input);
    // Empty stdin: the command sees end of input at once.
    let o = env.run(mode, &["exec", "wc", "-c"], Some(b""));
    assert_eq!(ok("exec wc -c", &o).trim(), "0");
}

/// More stdin than one envelope holds goes in several Sends, none too large,
/// and arrives intact (`cksum` there and here agree).
fn check_exec_big_stdin(env: &Env, mode: &Mode) {
    let line = "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    let input = line.repeat(12_000); // 768 000 bytes; the envelope is 512 000
    let stats = env.stats();
    stats.reset();
    let o = env.run(mode, &["exec", "cksum"], Some(input.as_bytes()));
    let remote = ok("exec with big stdin", &o);
    let mut local = Command::new("cksum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    local
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let expected = String::from_utf8(local.wait_with_output().unwrap().stdout).unwrap();
    assert!(expected.contains(" 768000"), "{expected}");
    assert_eq!(remote.trim(), expected.trim(), "the bytes arrived intact");
    let s = stats.read();
    assert_eq!(s.connections, 1, "{s:?}");
    // Create, Command, two Sends or more, Receive(s), Delete.
    assert!(s.requests >= 6, "{s:?}");
}

fn check_exec_terminate(env: &Env, mode: &Mode, marker: &str) {
    let script = format!("sleep {marker}; echo never");
    let cli = env.cli(mode, PASSWORD);
    let child = cli.spawn(&["exec", "sh", "-c", &script]);
    let me = child.id();
    let started = wait_until(Duration::from_secs(15), || {
        !processes_with(&format!("sleep {marker}"), me).is_empty()
    });
    if !started {
        let _ = Command::new("kill").arg(me.to_string()).status();
        let o = child.wait_with_output().unwrap();
        panic!("the remote command never started: {}", stderr(&o));
    }
    // Give the client time to reach its Receive, then Ctrl+C it.
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    Command::new("kill")
        .arg("-INT")
        .arg(me.to_string())
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    env.secrets.assert_absent("exec terminate", &o);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("terminating"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("never"), "{}", stdout(&o));
    assert!(
        wait_until(Duration::from_secs(5), || processes_with(
            &format!("sleep {marker}"),
            me
        )
        .is_empty()),
        "the remote command is still running after the terminate"
    );
}

/// `wsman exec ... | head`: once stdout's reader has gone, the remote
/// command is terminated and wsman exits 141 (as after SIGPIPE), even for a
/// command that would never end.
fn check_exec_closed_stdout(env: &Env, mode: &Mode) {
    let marker = format!("wsman-pipe-{}", std::process::id());
    let script = format!("yes {marker}");
    let cli = env.cli(mode, PASSWORD);
    let mut child = cli.spawn(&["exec", "sh", "-c", &script]);
    let mut first = [0u8; 64];
    child
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut first)
        .expect("output arrives");
    assert!(String::from_utf8_lossy(&first).starts_with(&marker));
    // The reader is gone now (the pipe was dropped).
    let t0 = Instant::now();
    let exited = wait_until(Duration::from_secs(15), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let o = child.wait_with_output().unwrap();
    assert!(exited, "wsman kept running after stdout closed");
    assert_eq!(
        o.status.code(),
        Some(141),
        "{} ({:?})",
        stderr(&o),
        t0.elapsed()
    );
    assert!(
        wait_until(Duration::from_secs(5), || processes_with(&marker, 0)
            .is_empty()),
        "the remote command is still running"
    );
}

/// `wsman enumerate ... | head` with the reader gone: no Pull after the
/// first batch that could not be written.
fn check_enumerate_closed_stdout(env: &Env, mode: &Mode) {
    let stats = env.stats();
    stats.reset();
    let cli = env.cli(mode, PASSWORD);
    let mut child = cli.spawn(&["enumerate", "wmicimv2/Win32_Service"]);
    drop(child.stdout.take()); // closed before the first item is written
    let o = child.wait_with_output().unwrap();
    env.secrets.assert_absent("enumerate, stdout closed", &o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stats.read();
    assert_eq!(s.requests, 1, "the Enumerate only, no Pull: {s:?}");
}

fn check_wrong_password(env: &Env, mode: &Mode) {
    let o = env.run_with(mode, &["get", "winrm/config"], None, WRONG_PASSWORD);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(USER), "names the user: {err}");
    assert!(
        err.contains("localhost") || err.contains("127.0.0.1"),
        "names the host: {err}"
    );
}

/// `-vv` logs requests and bodies, with `Authorization` values redacted.
fn check_verbose_log(env: &Env, mode: &Mode) {
    let o = env.run(mode, &["-vv", "get", "winrm/config"], None);
    ok("-vv get", &o);
    let log = strip_ansi(&stderr(&o));
    assert!(log.contains("SOAP request"), "-vv shows bodies: {log}");
    assert!(log.contains("cfg:Config"), "-vv shows the answer: {log}");
    let mut redacted = 0;
    for line in log.lines().filter(|l| l.contains("authorization=")) {
        let value = line.split("authorization=").nth(1).unwrap();
        let value = value.split(" content").next().unwrap().trim();
        let mut parts = value.splitn(2, ' ');
        let (first, rest) = (parts.next().unwrap(), parts.next().unwrap_or(""));
        let clean = first == "-" || first.starts_with("<redacted") || rest.starts_with("<redacted");
        assert!(clean, "an Authorization value is logged: {line}");
        redacted += usize::from(first != "-");
    }
    assert!(
        redacted > 0,
        "the Authorization header is logged (redacted): {log}"
    );
    // The first token's size tells which mechanism served: an NTLM
    // NEGOTIATE_MESSAGE is about 40 bytes, a Kerberos AP-REQ several hundred.
    let first_token = log
        .split("<redacted ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    let inner = if mode.name.contains("krb") || mode.mech == Mechanism::Kerberos {
        Some(first_token.is_some_and(|n| n > 300))
    } else if matches!(mode.mech, Mechanism::Ntlm | Mechanism::Negotiate) {
        Some(first_token.is_some_and(|n| n < 100))
    } else {
        None
    };
    assert_ne!(
        inner,
        Some(false),
        "not the expected mechanism: the first token has {first_token:?} base64 chars"
    );
    // Tokens never appear, whatever the key: NTLMSSP and GSS-API prefixes.
    for token_start in [
        "TlRMTVNTUA",
        "Negotiate YII",
        "Kerberos YII",
        "Negotiate oY",
    ] {
        assert!(
            !log.contains(token_start),
            "{token_start} in the log: {log}"
        );
    }
    assert_eq!(
        log.contains("multipart/encrypted"),
        mode.sealed(),
        "sealed exactly when expected: {log}"
    );
}

/// N requests on one `Client`: one TCP connection and one authentication,
/// seen the same way by the host and by the transport.
fn check_library(env: &Env, mode: &Mode) {
    let stats = env.stats();
    stats.reset();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (n, client_stats) = rt.block_on(async {
        let mut c = Client::new(mode.transport_config(env), ClientOptions::default()).unwrap();
        let mut n = 0u64;
        let id = c.identify().await.unwrap();
        n += 1;
        assert_eq!(id.product_vendor.as_deref(), Some("Microsoft Corporation"));
        for _ in 0..3 {
            let r = c
                .get(&resolve_resource_uri("winrm/config"), &[])
                .await
                .unwrap();
            n += 1;
            assert!(r.xml.contains("MaxEnvelopeSizekb"), "{}", r.xml);
        }
        let winrm = c
            .get(
                &resolve_resource_uri("wmicimv2/Win32_Service"),
                &[Selector::new("Name", "WinRM")],
            )
            .await
            .unwrap();
        n += 1;
        assert!(winrm.xml.contains("WinRM"), "{}", winrm.xml);
        let e = Enumerate {
            optimize: true,
            max_elements: Some(25),
            ..Default::default()
        };
        let uri = resolve_resource_uri("wmicimv2/Win32_Service");
        let mut batch = c.enumerate(&uri, &e, &[]).await.unwrap();
        n += 1;
        let mut items = std::mem::take(&mut batch.items);
        while !batch.is_done() {
            let ctx = batch.context.clone().unwrap();
            batch = c.pull(&uri, &ctx, e.max_elements).await.unwrap();
            n += 1;
            items.append(&mut batch.items);
        }
        assert_eq!(items.len(), SERVICES);
        // A WinRS command on the same connection.
        let created = c
            .create_shell(ns::uri::SHELL_CMD, &ShellCreate::winrs(), vec![])
            .await
            .unwrap();
        n += 1;
        let shell = created.shell_id().unwrap().to_string();
        let line = CommandLine {
            command_id: None,
            command: Some("echo".into()),
            arguments: vec!["library".into()],
        };
        let cmd = c
            .command(ns::uri::SHELL_CMD, &shell, &line, vec![])
            .await
            .unwrap();
        n += 1;
        let mut out = Vec::new();
        loop {
            let r = c
                .receive(ns::uri::SHELL_CMD, &shell, Some(&cmd), "stdout stderr")
                .await
                .unwrap();
            n += 1;
            for s in &r.streams {
                out.extend_from_slice(&s.data);
            }
            if r.command_state.as_ref().is_some_and(|s| s.is_done()) {
                break;
            }
        }
        assert_eq!(String::from_utf8_lossy(&out), "library\n");
        c.delete_shell(ns::uri::SHELL_CMD, &shell).await.unwrap();
        n += 1;
        (n, c.stats())
    });
    let host = stats.read();
    assert!(n >= 11, "{n}");
    assert_eq!(client_stats.connections, 1, "{client_stats:?}");
    assert_eq!(client_stats.auth_handshakes, 1, "{client_stats:?}");
    assert_eq!(client_stats.requests, n, "{client_stats:?}");
    assert_eq!(client_stats.resends, 0, "{client_stats:?}");
    let https = mode.url.starts_with("https://");
    assert_eq!(
        client_stats.tls_handshakes,
        u64::from(https),
        "{client_stats:?}"
    );
    assert_eq!(host.connections, 1, "the host saw one connection: {host:?}");
    assert_eq!(host.requests, n, "{host:?}");
    assert_eq!(host.auth_failures, 0, "{host:?}");
    let handshakes = if mode.mech == Mechanism::Basic { n } else { 1 };
    assert_eq!(host.auth_handshakes, handshakes, "{host:?}");
}

/// Runs every check for `mode`.
fn run_mode(m: &mut Matrix, env: &Env, mode: &Mode, marker: &str) {
    let name = mode.name;
    m.check(name, "identify", || check_identify(env, mode));
    m.check(name, "get (+--json, -s, fault)", || check_get(env, mode));
    m.check(name, "enumerate (60, Pulls)", || check_enumerate(env, mode));
    m.check(name, "exec out/err/exit", || check_exec_streams(env, mode));
    m.check(name, "exec stdin", || check_exec_stdin(env, mode));
    m.check(name, "exec terminate", || {
        check_exec_terminate(env, mode, marker)
    });
    m.check(name, "-vv redacted", || check_verbose_log(env, mode));
    if mode.secret == ModeSecret::Password {
        m.check(name, "wrong password", || check_wrong_password(env, mode));
    }
    // MIT GSSAPI reads the cache from the process environment.
    std::env::set_var("KRB5CCNAME", &mode.ccache);
    m.check(name, "library: 1 conn, 1 auth", || check_library(env, mode));
}

fn kinit(krb5_config: &str, ccache: &str, principal: &str) {
    let mut k = Command::new("kinit")
        .arg(principal)
        .env("KRB5_CONFIG", krb5_config)
        .env("KRB5CCNAME", ccache)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kinit");
    writeln!(k.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let o = k.wait_with_output().unwrap();
    assert!(o.status.success(), "kinit: {}", stderr(&o));
}

#[test]
fn every_auth_mode_and_transport() {
    let dir = TempDir::new("matrix");
    let users = dir.path().join("users");
    std::fs::write(&users, format!("{USER}:{PASSWORD}\n")).unwrap();
    let Some(host) = TestHost::start(&[
        "--https",
        "--auth",
        "basic,ntlm,kerberos,negotiate,certificate",
        "--allow-unencrypted",
        "--cbt",
        "strict",
        "--users",
        users.to_str().unwrap(),
    ]) else {
        return;
    };
    let krb5_config = host.get("krb5_config").expect("a realm").to_string();
    let realm = host.get("realm").unwrap().to_string();
    let url = host.url().to_string();
    let https_url = host.get("https_url").expect("--https").to_string();
    let ca = host.get("ca_file").unwrap().to_string();
    let cert = (
        host.get("client_cert").unwrap().to_string(),
        host.get("client_key").unwrap().to_string(),
    );
    let nt_hash = nt_hash_of(PASSWORD);
    let env = Env {
        secrets: Secrets::new(nt_hash.as_deref()),
        host,
        krb5_config: krb5_config.clone(),
        nt_hash,
    };
    std::env::set_var("KRB5_CONFIG", &krb5_config);
    let no_cache = format!("FILE:{}", dir.path().join("no-cache").display());
    let kinit_cache = format!("FILE:{}", dir.path().join("kinit-cache").display());
    let localhost = url.replace("127.0.0.1", "localhost");
    let krb_user = format!("{USER}@{realm}");
    let mode = |name, url: &str, mech, user: Option<&str>, secret| Mode {
        name,
        url: url.to_string(),
        mech,
        user: user.map(str::to_string),
        secret,
        ca_file: None,
        cert: None,
        allow_unencrypted: false,
        ccache: no_cache.clone(),
    };
    let mut modes = vec![
        Mode {
            allow_unencrypted: true,
            ..mode(
                "basic http",
                &url,
                Mechanism::Basic,
                Some(USER),
                ModeSecret::Password,
            )
        },
        mode(
            "ntlm sealed",
            &url,
            Mechanism::Ntlm,
            Some(USER),
            ModeSecret::Password,
        ),
        mode(
            "kerberos password",
            &localhost,
            Mechanism::Kerberos,
            Some(&krb_user),
            ModeSecret::Password,
        ),
        Mode {
            ccache: kinit_cache.clone(),
            ..mode(
                "kerberos kinit",
                &localhost,
                Mechanism::Kerberos,
                None,
                ModeSecret::None,
            )
        },
        mode(
            "negotiate (krb)",
            &localhost,
            Mechanism::Negotiate,
            Some(&krb_user),
            ModeSecret::Password,
        ),
        mode(
            "negotiate (ntlm)",
            &url,
            Mechanism::Negotiate,
            Some(USER),
            ModeSecret::Password,
        ),
        Mode {
            ca_file: Some(ca.clone()),
            ..mode(
                "ntlm https+cbt",
                &https_url,
                Mechanism::Ntlm,
                Some(USER),
                ModeSecret::Password,
            )
        },
        Mode {
            ca_file: Some(ca.clone()),
            ..mode(
                "kerberos https+cbt",
                &https_url.replace("127.0.0.1", "localhost"),
                Mechanism::Kerberos,
                Some(&krb_user),
                ModeSecret::Password,
            )
        },
        // Basic where it belongs: over HTTPS, without --no-encryption.
        Mode {
            ca_file: Some(ca.clone()),
            ..mode(
                "basic https",
                &https_url,
                Mechanism::Basic,
                Some(USER),
                ModeSecret::Password,
            )
        },
        Mode {
            ca_file: Some(ca.clone()),
            cert: Some(cert),
            ..mode(
                "certificate",
                &https_url,
                Mechanism::Certificate,
                None,
                ModeSecret::None,
            )
        },
    ];
    if env.nt_hash.is_some() {
        modes.insert(
            2,
            mode(
                "ntlm nt-hash",
                &url,
                Mechanism::Ntlm,
                Some(USER),
                ModeSecret::NtHash,
            ),
        );
    } else {
        eprintln!("SKIP: ntlm nt-hash mode (pyspnego could not compute the hash)");
    }

    if !cfg!(feature = "gssapi") {
        eprintln!("SKIP: Kerberos modes (built without the gssapi feature)");
        modes.retain(|m| m.mech != Mechanism::Kerberos && !m.name.contains("krb"));
    }
    let mut m = Matrix::default();
    for (i, mode) in modes.iter().enumerate() {
        if mode.ccache == kinit_cache {
            m.check(mode.name, "kinit", || {
                kinit(&krb5_config, &kinit_cache, &krb_user)
            });
        }
        run_mode(
            &mut m,
            &env,
            mode,
            &format!("{}.{}", 40 + i, std::process::id() % 1000),
        );
    }
    // Exceeding one envelope of stdin, once (the path is the same for all).
    m.check("ntlm sealed", "exec big stdin", || {
        check_exec_big_stdin(&env, &modes[1])
    });
    m.check("ntlm sealed", "exec, stdout closed", || {
        check_exec_closed_stdout(&env, &modes[1])
    });
    m.check("ntlm sealed", "enumerate, stdout closed", || {
        check_enumerate_closed_stdout(&env, &modes[1])
    });
    // --nt-hash given as an argument, and a wrong one.
    if let Some(hash) = env.nt_hash.clone() {
        let ntlm = &modes[1];
        m.check("ntlm nt-hash", "--nt-hash arg, wrong hash", || {
            let cli = env.cli(ntlm, PASSWORD).no_password();
            let o = cli.run(&["-vv", "--nt-hash", &hash, "identify"]);
            env.secrets.assert_absent("--nt-hash", &o);
            assert!(stdout(&o).contains("OS: 10.0.17763"), "{}", stderr(&o));
            let cli = env
                .cli(ntlm, PASSWORD)
                .nt_hash("00112233445566778899aabbccddeeff");
            let o = cli.run(&["get", "winrm/config"]);
            env.secrets.assert_absent("wrong --nt-hash", &o);
            assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
            assert!(stderr(&o).contains(USER), "{}", stderr(&o));
        });
    }
    // HTTPS without the CA: exit 4, and how to trust the host.
    m.check("ntlm https+cbt", "untrusted cert", || {
        let mode = Mode {
            ca_file: None,
            ..mode(
                "untrusted",
                &https_url,
                Mechanism::Ntlm,
                Some(USER),
                ModeSecret::Password,
            )
        };
        let o = env.run(&mode, &["identify"], None);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("not trusted"), "{err}");
        assert!(
            err.contains("--ca-file") && err.contains("--insecure"),
            "{err}"
        );
    });
    m.finish();
}

// ------------------------------------------------- hosts that say no

#[test]
fn host_requiring_encryption_is_named_as_the_cause() {
    let Some(host) = TestHost::start(&["--auth", "basic,ntlm"]) else {
        return;
    };
    let run = |auth: &str, extra: &[&str]| {
        // `--no-encryption` only where the check gives it.
        let cli = Cli::for_host_with(&host, auth).no_encryption(false);
        let o = cli.run(extra);
        assert!(!stderr(&o).contains(host.get("password").unwrap()));
        o
    };
    // Sealed, the host is happy.
    assert!(ok("ntlm sealed", &run("ntlm", &["identify"])).contains("OS: 10.0"));
    for (auth, cmd) in [("ntlm", "get"), ("ntlm", "exec"), ("basic", "get")] {
        let args: &[&str] = match cmd {
            "get" => &["--no-encryption", "get", "winrm/config"],
            _ => &["--no-encryption", "exec", "echo", "hi"],
        };
        let o = run(auth, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{auth} {cmd}: {err}");
        assert!(err.contains("requires encryption"), "{auth} {cmd}: {err}");
        assert!(
            err.contains("AllowUnencrypted=false"),
            "{auth} {cmd}: {err}"
        );
        assert!(err.contains("HTTPS"), "{auth} {cmd}: {err}");
    }
    // Basic over HTTP without --no-encryption: refused before anything is sent.
    let stats = Stats(host.get("stats_url").unwrap());
    stats.reset();
    let o = run("basic", &["get", "winrm/config"]);
    // A usage mistake (shared/docs/cli.md): exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-encryption"), "{}", stderr(&o));
    let s = stats.read();
    assert_eq!(
        (s.connections, s.requests, s.auth_failures),
        (0, 0, 0),
        "{s:?}"
    );

    // The library says the same.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds = Credentials::parse(USER, Secret::password(host.get("password").unwrap()));
    let mut cfg = TransportConfig::new(
        Endpoint::parse(host.url(), false).unwrap(),
        AuthOptions::new(Mechanism::Ntlm, creds),
    );
    cfg.proxy = ProxySetting::None;
    cfg.allow_unencrypted = true;
    let e = rt.block_on(async {
        let mut c = Client::new(cfg, ClientOptions::default()).unwrap();
        c.get(&resolve_resource_uri("winrm/config"), &[])
            .await
            .unwrap_err()
    });
    assert!(matches!(e, wsman::Error::Encryption { .. }), "{e:?}");
    assert!(e.to_string().contains("requires encryption"), "{e}");
}

/// A port where connections hang (a full accept queue: SYNs go
/// unanswered, as to an unreachable host). `None` when the platform
/// answers anyway.
fn black_hole() -> Option<(std::net::TcpListener, Vec<std::net::TcpStream>, u16)> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    let port = socket.local_addr().ok()?.port();
    // std listens with a backlog of 128: fill it, never accepting.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut held = Vec::new();
    for _ in 0..400 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => return Some((socket, held, port)),
        }
    }
    None
}

#[test]
fn unreachable_host_fails_within_the_connect_timeout() {
    let run = |url: &str| {
        let t0 = Instant::now();
        let o = Cli::new()
            .url(url)
            .auth("ntlm")
            .user(USER)
            .password(PASSWORD)
            .arg("--connect-timeout")
            .arg("2")
            .run(&["get", "winrm/config"]);
        assert!(!stderr(&o).contains(PASSWORD));
        (o, t0.elapsed())
    };
    // Nothing listens: refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (o, took) = run(&format!("http://127.0.0.1:{port}/wsman"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot connect"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(2), "{took:?}");

    // Nobody answers: given up after the connect timeout.
    match black_hole() {
        Some((_listener, _held, port)) => {
            let (o, took) = run(&format!("http://127.0.0.1:{port}/wsman"));
            assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
            assert!(stderr(&o).contains("connect timeout"), "{}", stderr(&o));
            assert!(
                took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
                "{took:?}"
            );
        }
        None => eprintln!("SKIP: cannot make a port that leaves connections unanswered"),
    }

    // TCP connects but TLS never answers: the same limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (o, took) = run(&format!("https://127.0.0.1:{port}/wsman"));
    drop(silent);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("connect timeout"), "{}", stderr(&o));
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn nt_hash_usage_errors_never_repeat_the_value() {
    let run = |args: &[&str]| {
        Cli::new()
            .url("http://127.0.0.1:9/wsman")
            .user(USER)
            .run(args)
    };
    let secret_ish = "Zz8846f7eaee8fb117ad06bdd830b7";
    let o = run(&["-a", "ntlm", "--nt-hash", secret_ish, "identify"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("32 hexadecimal digits"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(secret_ish), "{}", stderr(&o));
    let hash = "8846f7eaee8fb117ad06bdd830b7586c";
    let o = run(&["-a", "kerberos", "--nt-hash", hash, "identify"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("NTLM only"), "{}", stderr(&o));
    let o = run(&["-a", "ntlm", "--nt-hash", hash, "-p", "x", "identify"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains(hash), "{}", stderr(&o));
}
