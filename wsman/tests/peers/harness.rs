//! Shared by the transport test binaries: finding the project's venv,
//! scratch folders, and peer scripts run as child processes that are killed
//! by pid when dropped.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn python() -> Option<PathBuf> {
    let p = std::env::var_os("WSMAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import spnego, cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(p)
    } else {
        eprintln!(
            "SKIP: no Python venv with pyspnego at {} (run scripts/setup.sh)",
            p.display()
        );
        None
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "wsman-transport-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running peer script; killed by pid on drop, pass or fail.
pub struct Peer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    pub dir: TempDir,
}

impl Peer {
    pub fn start(python: &Path, script: &str, args: &[&str]) -> Peer {
        Peer::start_with_env(python, script, args, &[])
    }

    /// Starts `script` with `args` (`{dir}` stands for the peer's scratch
    /// folder) and extra environment variables; waits for `PORT <n>`.
    pub fn start_with_env(
        python: &Path,
        script: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Peer {
        let dir = TempDir::new();
        let log = dir.0.join("events.log");
        std::fs::write(&log, "").unwrap();
        let users = dir.0.join("ntlm_users");
        std::fs::write(&users, "CORP:alice:Passw0rd!\n").unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers")
            .join(script);
        let mut cmd = Command::new(python);
        cmd.arg(script).arg("--log").arg(&log);
        for a in args {
            if *a == "{dir}" {
                cmd.arg(&dir.0);
            } else {
                cmd.arg(a);
            }
        }
        let mut child = cmd
            .env("NTLM_USER_FILE", &users)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start peer");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = match line.trim().strip_prefix("PORT ").map(str::parse) {
            Some(Ok(p)) => p,
            _ => {
                let _ = child.kill();
                panic!("peer did not report its port: {line:?}");
            }
        };
        Peer {
            child,
            port,
            log,
            dir,
        }
    }

    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }

    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/wsman", self.port)
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.0.join("cert.pem")
    }

    /// `tls-server-end-point:` + the hash the peer computed with hashlib.
    pub fn expected_channel_binding(&self) -> Vec<u8> {
        let hex = self
            .events()
            .into_iter()
            .find_map(|e| e.strip_prefix("CB ").map(str::to_string))
            .expect("peer logged its certificate hash");
        let mut v = b"tls-server-end-point:".to_vec();
        v.extend(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()),
        );
        v
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
