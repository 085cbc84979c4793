//! Shared by the auth integration tests: the Python acceptor process
//! (`acceptor.py`), temporary folders, the handshake and sealing drivers.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use wsman::auth::SecurityContext;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

/// Whether the venv has pyspnego (and gssapi); prints why not otherwise.
pub fn python_ready(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import spnego, gssapi"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "SKIP {test}: no Python venv with pyspnego and gssapi at {} (run scripts/setup.sh)",
            python().display()
        );
    }
    ok
}

pub fn gss_ntlmssp_installed() -> bool {
    [
        "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so",
        "/usr/lib/aarch64-linux-gnu/gssntlmssp/gssntlmssp.so",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
        || std::fs::read_to_string("/etc/gss/mech.d/ntlmssp.conf").is_ok()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b64(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        base64::engine::general_purpose::STANDARD.encode(b)
    }
}

fn unb64(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }
}

/// A temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "wsman-auth-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A temporary folder, or `None` (after printing SKIP) without the venv.
    pub fn for_python(test: &str) -> Option<TempDir> {
        python_ready(test).then(|| TempDir::new(test))
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p.to_string_lossy().into_owned()
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The acceptor process; killed (by its own handle) on drop.
pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Peer {
        let script = repo_root().join("wsman/tests/auth_peers/acceptor.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start acceptor.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let ready = peer.read_line();
        assert_eq!(ready, "ready", "acceptor did not start: {ready}");
        peer
    }

    fn read_line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        l.trim_end().to_string()
    }

    /// Sends one command; `Err(message)` when the acceptor reports an error.
    pub fn call(&mut self, line: &str) -> Result<Vec<String>, String> {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let reply = self.read_line();
        let parts: Vec<String> = reply.split(' ').map(str::to_string).collect();
        if parts[0] == "error" || parts[0].is_empty() {
            Err(reply)
        } else {
            Ok(parts)
        }
    }

    /// Feeds a token to the acceptor: (its answer, complete).
    pub fn step(&mut self, token: &[u8]) -> Result<(Option<Vec<u8>>, bool), String> {
        let r = self.call(&format!("step {}", b64(token)))?;
        let tok = (r[1] != "-").then(|| unb64(&r[1]));
        Ok((tok, r[2] == "1"))
    }

    pub fn unwrap(&mut self, header: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let r = self.call(&format!("unwrap {} {}", b64(header), b64(data)))?;
        Ok(unb64(&r[1]))
    }

    pub fn wrap(&mut self, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let r = self.call(&format!("wrap {}", b64(data))).unwrap();
        (unb64(&r[1]), unb64(&r[2]))
    }

    pub fn user(&mut self) -> String {
        self.call("user").unwrap()[1..].join(" ")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the handshake the way the transport does: our token, the peer's
/// answer, until both sides are complete. `Err` carries the peer's or our
/// error message.
pub fn run_handshake(peer: &mut Peer, ctx: &mut dyn SecurityContext) -> Result<(), String> {
    let mut server_token: Option<Vec<u8>> = None;
    let mut peer_done = false;
    for _ in 0..10 {
        let ours = ctx
            .step(server_token.as_deref())
            .map_err(|e| format!("client: {e}"))?;
        match ours {
            Some(tok) => {
                let (answer, done) = peer.step(&tok)?;
                peer_done = done;
                server_token = answer;
            }
            None => break,
        }
        if peer_done && ctx.is_complete() {
            // A last token from the acceptor (Kerberos mutual auth) is fed
            // to the client once more.
            if let Some(t) = server_token.take() {
                let more = ctx.step(Some(&t)).map_err(|e| format!("client: {e}"))?;
                assert!(
                    more.is_none(),
                    "client wants another leg after the acceptor finished"
                );
            }
            break;
        }
    }
    if !(peer_done && ctx.is_complete()) {
        return Err(format!(
            "handshake did not complete (peer {peer_done}, client {})",
            ctx.is_complete()
        ));
    }
    Ok(())
}

/// Checks an unwrapped message: the body, then (Kerberos RC4 only, as
/// pyspnego and MIT leave it) the wrap padding, `n` bytes of value `n`. The
/// sealed data length is the plaintext plus that padding, which is what WinRM
/// puts in `OriginalContent: ...;Length=` (as pypsrp does).
fn assert_unwrapped(got: &[u8], body: &[u8], sealed_len: usize) {
    assert_eq!(
        got.len(),
        sealed_len,
        "unwrapped length = sealed data length"
    );
    assert_eq!(&got[..body.len()], body);
    let pad = &got[body.len()..];
    assert!(
        pad.len() <= 8 && pad.iter().all(|&b| b as usize == pad.len()),
        "padding {pad:?}"
    );
}

/// Sealed messages both ways, several times, including a large body.
pub fn exchange_sealed(peer: &mut Peer, ctx: &mut dyn SecurityContext) {
    let big: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let bodies: Vec<Vec<u8>> = vec![
        b"<s:Envelope>first</s:Envelope>".to_vec(),
        big,
        "second \u{e9} \u{2713}".as_bytes().to_vec(),
        b"x".to_vec(),
    ];
    for body in &bodies {
        let (h, d) = ctx.wrap_winrm(body).unwrap();
        let n = d.len().min(body.len());
        // One byte can encrypt to itself (1 time in 256): only longer
        // bodies can show that they were encrypted.
        if n > 8 {
            assert_ne!(&d[..n], &body[..n], "data must be encrypted");
        }
        let got = peer.unwrap(&h, &d).expect("peer unwraps our message");
        assert_unwrapped(&got, body, d.len());
        let (h, d) = peer.wrap(body);
        let got = ctx
            .unwrap_winrm(&h, &d)
            .expect("we unwrap the peer's message");
        assert_unwrapped(&got, body, d.len());
    }
    // A tampered message from the peer is rejected.
    let (h, mut d) = peer.wrap(b"tamper me");
    d[0] ^= 0x55;
    assert!(ctx.unwrap_winrm(&h, &d).is_err());
}
