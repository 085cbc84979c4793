//! Issue 8's hostile-testing findings, end to end through the `wsman`
//! binary against the test host: a man in the middle that repeats output
//! streams or plants escape sequences and huge texts in the host's answers
//! (a rewriting forwarder over plain HTTP with Basic), the local state
//! folder under concurrent use, SIGTERM / SIGHUP while a command runs, a
//! second command on a busy session, and a password in the URL.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::cli::{ok, stderr, stdout};
use integration_tests::TestHost;

/// Rewrites the body of each answer of the host.
type Rewrite = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// A TCP forwarder between `wsman` and the host that passes requests on
/// and rewrites the bodies of the answers (HTTP/1.1 with Content-Length).
struct Forwarder {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Forwarder {
    fn start(upstream: &str, rewrite: Rewrite) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forwarder");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let (upstream, rewrite) = (upstream.clone(), rewrite.clone());
                std::thread::spawn(move || {
                    let _ = relay(client, &upstream, &*rewrite);
                });
            }
        });
        Forwarder { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/wsman", self.port)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One HTTP message: the head (through the empty line) and the body.
fn read_message(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

fn relay(
    client: TcpStream,
    upstream: &str,
    rewrite: &dyn Fn(&[u8]) -> Vec<u8>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    let (mut from_client, mut to_client) = (BufReader::new(client.try_clone()?), client);
    let (mut from_server, mut to_server) = (BufReader::new(server.try_clone()?), server);
    loop {
        let Some((head, body)) = read_message(&mut from_client)? else {
            return Ok(());
        };
        to_server.write_all(head.as_bytes())?;
        to_server.write_all(&body)?;
        let Some((head, body)) = read_message(&mut from_server)? else {
            return Ok(());
        };
        let body = rewrite(&body);
        let head: String = head
            .split_inclusive("\r\n")
            .map(|l| {
                if l.to_ascii_lowercase().starts_with("content-length:") {
                    format!("Content-Length: {}\r\n", body.len())
                } else {
                    l.to_string()
                }
            })
            .collect();
        to_client.write_all(head.as_bytes())?;
        to_client.write_all(&body)?;
    }
}

/// Each `rsp:Stream` of a pipeline's stdout, twice: the man in the middle
/// of finding 3.
fn repeat_pipeline_streams(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut rest = &text[..];
    while let Some(i) = rest.find("<rsp:Stream ") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let open_end = rest.find('>').expect("a whole tag");
        let open = &rest[..=open_end];
        let repeat = !open.ends_with("/>")
            && open.contains("Name=\"stdout\"")
            && open.contains("CommandId=");
        if !repeat {
            out.push_str(open);
            rest = &rest[open_end + 1..];
            continue;
        }
        let close = rest.find("</rsp:Stream>").expect("a closed stream") + "</rsp:Stream>".len();
        out.push_str(&rest[..close]);
        out.push_str(&rest[..close]);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out.into_bytes()
}

/// Issue 8's CLIXML: 16 levels of objects each referencing the level
/// below twice, about 1.3 KB that expand 2^16 times (before the fix: built
/// in full, ~100 MB, no error; 18 levels were refused only after 2 s and
/// 290 MB).
fn reference_bomb() -> String {
    let mut doc = String::from(
        "<Obj RefId=\"0\"><TN RefId=\"0\"><T>Bomb</T></TN><MS><Obj N=\"l0\" RefId=\"1\">\
         <MS><S N=\"a\">aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</S><I32 N=\"b\">1</I32></MS></Obj>",
    );
    for i in 1..=16 {
        doc += &format!(
            "<Obj N=\"l{i}\" RefId=\"{}\"><LST><Ref RefId=\"{i}\"/><Ref RefId=\"{i}\"/></LST></Obj>",
            i + 1
        );
    }
    doc + "</MS></Obj>"
}

/// Every whole PIPELINE_OUTPUT message in a pipeline's stdout stream gets
/// the reference bomb as its body (finding 4).
fn bomb_pipeline_output(body: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    const PIPELINE_OUTPUT: u32 = 0x0004_1004;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut rest = &text[..];
    while let Some(i) = rest.find("<rsp:Stream ") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let open_end = rest.find('>').expect("a whole tag");
        out.push_str(&rest[..=open_end]);
        let open = &rest[..=open_end];
        rest = &rest[open_end + 1..];
        if open.ends_with("/>") || !open.contains("CommandId=") {
            continue;
        }
        let close = rest.find("</rsp:Stream>").expect("a closed stream");
        let Ok(data) = b64.decode(rest[..close].trim()) else {
            continue;
        };
        let mut rebuilt = Vec::new();
        let mut at = 0;
        while at + 21 <= data.len() {
            let len = u32::from_be_bytes(data[at + 17..at + 21].try_into().unwrap()) as usize;
            let (head, blob) = (&data[at..at + 21], &data[at + 21..at + 21 + len]);
            let whole = head[16] == 3;
            if whole
                && blob.len() >= 40
                && u32::from_le_bytes(blob[4..8].try_into().unwrap()) == PIPELINE_OUTPUT
            {
                let mut msg = blob[..40].to_vec();
                msg.extend_from_slice(reference_bomb().as_bytes());
                rebuilt.extend_from_slice(&head[..17]);
                rebuilt.extend_from_slice(&(msg.len() as u32).to_be_bytes());
                rebuilt.extend_from_slice(&msg);
            } else {
                rebuilt.extend_from_slice(&data[at..at + 21 + len]);
            }
            at += 21 + len;
        }
        out.push_str(&b64.encode(&rebuilt));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out.into_bytes()
}

/// Retitles and clears a terminal that prints it as it is.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J";
/// What `wsman` shows instead.
const SHOWN: &str = "\\x1b]0;pwned\\x07\\x1b[2J";

/// The Identify answer's vendor and every fault message replaced with text
/// holding escape sequences; fault messages are also made 16 MB long.
fn plant_escapes(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let text = text.replace(
        "<wsmid:ProductVendor>Microsoft Corporation<",
        &format!("<wsmid:ProductVendor>Evil{HOSTILE}Corp<"),
    );
    match (text.find("<f:Message>"), text.find("</f:Message>")) {
        (Some(a), Some(b)) => {
            let long = "A".repeat(16 << 20);
            format!("{}<f:Message>bad{HOSTILE}{long}{}", &text[..a], &text[b..]).into_bytes()
        }
        _ => text.into_bytes(),
    }
}

struct Cli {
    url: String,
    user: String,
    password: String,
    state_dir: PathBuf,
}

impl Cli {
    fn new(host: &TestHost, state_dir: &Path) -> Cli {
        Cli {
            url: host.url().to_string(),
            user: host.get("user").unwrap().to_string(),
            password: host.get("password").unwrap().to_string(),
            state_dir: state_dir.to_path_buf(),
        }
    }

    /// The shared command line (`integration_tests::Cli`) to `url`.
    fn to(&self, url: &str) -> integration_tests::Cli {
        integration_tests::Cli::new()
            .url(url)
            .auth("basic")
            .user(&self.user)
            .password(&self.password)
            .state_dir(&self.state_dir)
    }

    fn command(&self, url: &str, args: &[&str]) -> Command {
        self.to(url).command(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.to(&self.url).run(args)
    }

    fn run_via(&self, url: &str, args: &[&str]) -> Output {
        self.to(url).run(args)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(&self.url, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wsman")
    }

    /// The InstanceIds of the PowerShell sessions the host keeps for us.
    fn remote_sessions(&self) -> Vec<String> {
        let o = self.run(&["--json", "session", "list", "--remote"]);
        let out = ok(&o);
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON lines");
                v["InstanceId"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsman-harden-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Processes (but `except` and this test) whose command line holds
/// `marker`: the commands the host's WinRS shells started.
fn processes_with(marker: &str, except: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            if pid == except || pid == std::process::id() {
                return None;
            }
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

fn basic_host() -> Option<TestHost> {
    TestHost::start(&["--auth", "basic", "--allow-unencrypted"])
}

#[test]
fn hostile_answers_are_refused_or_shown_harmlessly() {
    let Some(host) = basic_host() else { return };
    let dir = temp_dir("hostile");
    let cli = Cli::new(&host, &dir);
    let upstream = host
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();

    // Finding 3: each stdout stream of the pipeline repeated.
    assert_eq!(ok(&cli.run(&["invoke", "1..3"])), "1\n2\n3\n");
    let fwd = Forwarder::start(&upstream, Arc::new(repeat_pipeline_streams));
    let o = cli.run_via(&fwd.url(), &["invoke", "1..3"]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("arrived a second time"),
        "{}",
        stderr(&o)
    );
    let lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(lines.len(), unique.len(), "printed twice: {lines:?}");
    drop(fwd);

    // Finding 4: a PIPELINE_OUTPUT whose references expand 2^16 times is
    // refused (a clear error, the session still removed).
    let fwd = Forwarder::start(&upstream, Arc::new(bomb_pipeline_output));
    let o = cli.run_via(&fwd.url(), &["invoke", "1..3"]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).contains("references expand"), "{}", stderr(&o));
    drop(fwd);
    assert!(cli.remote_sessions().is_empty());

    // Finding 7: escape sequences in Identify fields and fault texts are
    // shown, not obeyed; a 16 MB fault text is cut.
    let fwd = Forwarder::start(&upstream, Arc::new(plant_escapes));
    let o = cli.run_via(&fwd.url(), &["identify"]);
    let out = ok(&o);
    assert!(out.contains(&format!("Evil{SHOWN}Corp")), "{out}");
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    let o = cli.run_via(&fwd.url(), &["get", "wmicimv2/NoSuchClass"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("bad{SHOWN}AAAA")),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(!err.contains('\x1b') && !err.contains('\x07'));
    assert!(err.len() < 5000, "{} bytes on stderr", err.len());
    assert!(
        err.contains("more bytes]"),
        "{}",
        &err[err.len().saturating_sub(200)..]
    );
    drop(fwd);

    // Text the script writes: escaped on stderr (errors, warnings); output
    // values to a pipe byte-exact.
    let o = cli.run(&[
        "invoke",
        "Write-Warning \"w`e[2Jw\"; Write-Error \"e`e]0;t`ae\"; \"v`e[1mv\"",
    ]);
    assert_eq!(stdout(&o), "v\x1b[1mv\n");
    let err = stderr(&o);
    assert!(err.contains("WARNING: w\\x1b[2Jw"), "{err}");
    assert!(err.contains("e\\x1b]0;t\\x07e"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(cli.remote_sessions().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_state_folder_keeps_every_record_and_never_reuses_an_id() {
    let Some(host) = basic_host() else { return };
    let dir = temp_dir("state");
    let cli = Cli::new(&host, &dir);

    // Finding 8: six `session new` at once on one folder.
    let children: Vec<Child> = (0..6)
        .map(|_| cli.spawn(&["--json", "session", "new"]))
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut ids: Vec<u64> = outputs
        .iter()
        .map(|o| {
            let v: serde_json::Value = serde_json::from_str(ok(o).trim()).unwrap();
            v["Id"].as_u64().unwrap()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    let listed = ok(&cli.run(&["--json", "session", "list"]));
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert_eq!(cli.remote_sessions().len(), 6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("sessions.json")), 0o600);
    }

    // Removed Ids are not given again.
    for id in 1..=6 {
        ok(&cli.run(&["session", "remove", &id.to_string()]));
    }
    assert!(cli.remote_sessions().is_empty());
    let v: serde_json::Value =
        serde_json::from_str(ok(&cli.run(&["--json", "session", "new"])).trim()).unwrap();
    assert_eq!(v["Id"], 7);
    ok(&cli.run(&["session", "remove", "7"]));

    // A record at the top of the Id range: refused before anything is
    // made on the host, no panic, no wrap to 0.
    let top = serde_json::json!([{
        "id": u32::MAX, "name": "top", "computer_name": cli.url,
        "instance_id": "00000000-0000-0000-0000-000000000001",
        "configuration": "Microsoft.PowerShell", "user": cli.user,
    }]);
    std::fs::write(dir.join("sessions.json"), top.to_string()).unwrap();
    let o = cli.run(&["session", "new"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has been given out"), "{}", stderr(&o));
    assert!(cli.remote_sessions().is_empty());

    // The record cannot be written once the session exists (the folder
    // is replaced while the host's answer to the Disconnect is held back):
    // the error names the InstanceId and how to reach the session.
    std::fs::remove_dir_all(&dir).unwrap();
    let upstream = host
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let slow = Forwarder::start(
        &upstream,
        Arc::new(|body: &[u8]| {
            if String::from_utf8_lossy(body).contains("DisconnectResponse") {
                std::thread::sleep(Duration::from_secs(4));
            }
            body.to_vec()
        }),
    );
    let child = cli
        .command(&slow.url(), &["session", "new"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let made = wait_until(Duration::from_secs(20), || cli.remote_sessions().len() == 1);
    let moved = dir.with_extension("moved");
    std::fs::rename(&dir, &moved).unwrap();
    std::fs::write(&dir, b"no longer a folder").unwrap();
    let o = child.wait_with_output().unwrap();
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&moved, &dir).unwrap();
    assert!(made, "the session never appeared: {}", stderr(&o));
    let remote = cli.remote_sessions();
    assert_eq!(remote.len(), 1);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&remote[0]), "{err}");
    assert!(
        err.contains(&format!("session connect {}", remote[0])),
        "{err}"
    );
    // What it says works.
    ok(&cli.run(&["session", "connect", &remote[0]]));
    ok(&cli.run(&["session", "remove", &remote[0]]));
    assert!(cli.remote_sessions().is_empty());
    drop(slow);

    // A state folder that cannot be written: nothing made on the host.
    let blocker = temp_dir("blocker");
    std::fs::write(&blocker, b"a file, not a folder").unwrap();
    let cannot = Cli {
        state_dir: blocker.join("state"),
        ..Cli::new(&host, &dir)
    };
    let o = cannot.run(&["session", "new"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot save session records"),
        "{}",
        stderr(&o)
    );
    assert!(cli.remote_sessions().is_empty());
    let _ = std::fs::remove_file(&blocker);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `signal` to a `wsman` running `args` once the host has its
/// session and the script had a moment to start; its output.
fn signal_while_running(cli: &Cli, args: &[&str], signal: &str, sessions_before: usize) -> Output {
    let child = cli.spawn(args);
    let pid = child.id();
    let started = wait_until(Duration::from_secs(30), || {
        cli.remote_sessions().len() > sessions_before
    });
    if !started {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    let t0 = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(started, "the session never appeared: {}", stderr(&o));
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t0.elapsed()
    );
    o
}

#[test]
fn sigterm_and_sighup_clean_up_and_a_busy_session_is_refused() {
    let Some(host) = basic_host() else { return };
    let dir = temp_dir("signals");
    let cli = Cli::new(&host, &dir);

    // Finding 9: the temporary session of `invoke` is removed.
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let o = signal_while_running(&cli, &["invoke", "Start-Sleep 30; 'never'"], signal, 0);
        assert_eq!(o.status.code(), Some(code), "{signal}: {}", stderr(&o));
        assert!(!stdout(&o).contains("never"));
        assert!(
            stderr(&o).contains("stopping the pipeline"),
            "{}",
            stderr(&o)
        );
        assert!(
            cli.remote_sessions().is_empty(),
            "SIG{signal} left a session on the host"
        );
    }

    // WinRS: the remote command is terminated and the shell deleted.
    let marker = format!("sleep 3{}", std::process::id() % 1000);
    let child = cli.spawn(&["exec", "sh", "-c", &format!("{marker}; echo never")]);
    let pid = child.id();
    let started = wait_until(Duration::from_secs(20), || {
        !processes_with(&marker, pid).is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(started, "the remote command never started: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("terminating the remote command"),
        "{}",
        stderr(&o)
    );
    assert!(
        wait_until(Duration::from_secs(10), || processes_with(&marker, pid)
            .is_empty()),
        "the remote command outlived SIGTERM"
    );

    // A PSSession is left disconnected, and usable.
    let v: serde_json::Value =
        serde_json::from_str(ok(&cli.run(&["--json", "session", "new", "--name", "s1"])).trim())
            .unwrap();
    let iid = v["InstanceId"].as_str().unwrap().to_string();
    let child = cli.spawn(&["session", "invoke", "s1", "Start-Sleep 30; 'never'"]);
    let pid = child.id();
    // Finding 10: while it runs, a second command on s1 is refused
    // before anything reaches the host.
    std::thread::sleep(Duration::from_secs(3));
    let second = cli.run(&["session", "invoke", "s1", "'second'"]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(stderr(&second).contains("is busy"), "{}", stderr(&second));
    let second = cli.run(&["session", "invoke", "--disconnected", "s1", "'second'"]);
    assert!(stderr(&second).contains("is busy"), "{}", stderr(&second));
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    let listed = ok(&cli.run(&["session", "list", "--remote"]));
    let line = listed
        .lines()
        .find(|l| l.contains(&iid))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("Disconnected"), "{line}");
    assert_eq!(
        ok(&cli.run(&["session", "invoke", "s1", "'alive'"])),
        "alive\n"
    );
    // Nothing of the refused scripts turns up later.
    let received = ok(&cli.run(&["session", "receive", "s1"]));
    assert!(!received.contains("second"), "{received}");
    ok(&cli.run(&["session", "remove", "s1"]));
    assert!(cli.remote_sessions().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_password_in_the_url_is_refused_and_never_shown() {
    let o = integration_tests::Cli::new()
        .url("http://bob:secretpw@127.0.0.1:9/wsman")
        .run(&["identify"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("secretpw"), "{all}");
    assert!(all.contains("do not belong in the URL"), "{all}");
}
